#!/usr/bin/env bash
# Install the kernel binary and its kernelspec, as `jupyter kernelspec
# install` lays them out: for the current user, or under PREFIX.
#   tools/install-kernel.sh BIN [PREFIX]
set -euo pipefail
bin=$1
prefix=${2:-}
here=$(cd "$(dirname "$0")/.." && pwd)
if [ -n "$prefix" ]; then
  bindir=$prefix/bin
  specdir=$prefix/share/jupyter/kernels/sagemagic
else
  bindir=$HOME/.local/bin
  specdir=${XDG_DATA_HOME:-$HOME/.local/share}/jupyter/kernels/sagemagic
fi
mkdir -p "$bindir" "$specdir"
install -m 0755 "$bin" "$bindir/sagemagic"
# the local service and the CLI go beside it: the kernel starts the service
# it finds next to itself
for tool in sagemagic-local sagemagic-aws; do
  if [ -x "$(dirname "$bin")/$tool" ]; then
    install -m 0755 "$(dirname "$bin")/$tool" "$bindir/$tool"
  fi
done
bindir=$(cd "$bindir" && pwd)
# The spec is replaced whole, as jupyter kernelspec install does.
rm -rf "$specdir"
mkdir -p "$specdir"
sed "s|@BIN@|$bindir/sagemagic|" "$here/kernelspec/kernel.json.in" > "$specdir/kernel.json"
cp "$here"/kernelspec/logo-* "$specdir/"
echo "installed $bindir/sagemagic (with sagemagic-local and sagemagic-aws) and the kernelspec in $specdir"
