#!/usr/bin/env bash
# Install what sagemagic builds and tests with: Debian packages through
# apt-get (chromium too: the JupyterLab tests drive it with Playwright,
# which never downloads a browser of its own), Python test tools from PyPI
# into .venv. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(
  build-essential clang pkg-config git
  libsodium-dev libjansson-dev libcurl4-openssl-dev libssl-dev
  libmicrohttpd-dev libsqlite3-dev libxgboost-dev
  python3 python3-venv python3-pip
  chromium fonts-dejavu-core
)

missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing Debian packages: ${missing[*]}"
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "deps: need root or sudo for apt-get" >&2; exit 1; }
    sudo="sudo"
  fi
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}"
fi

req=tests/requirements.txt
stamp=.venv/.requirements-installed
if [ ! -x .venv/bin/python ]; then
  echo "deps: creating .venv"
  python3 -m venv .venv
fi
if [ ! -f "$stamp" ] || ! cmp -s "$req" "$stamp"; then
  echo "deps: installing Python test tools into .venv"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r "$req"
  cp "$req" "$stamp"
fi
