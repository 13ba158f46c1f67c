#!/usr/bin/env python3
"""hosting_bench: how long the hosting magics take on the local backend,
through jupyter_client against the built kernel (each figure is a cell's
round trip: execute_request until its idle).

A kernel with its own sagemagic-local in a temporary data dir trains one
small XGBoost job, then: %deploy to InService (5 times), %predict of one
CSV row (50 times), %endpoints over those 5 endpoints, %cleanup -f of
them. Prints the figures; nothing is written.

    .venv/bin/python bench/hosting_bench.py
"""
import pathlib
import statistics
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "python"))

from magics_helpers import Kernel, clean_env, stop_local_service  # noqa: E402
from test_magics_train import linear_rows  # noqa: E402


def timed(k, code):
    t0 = time.monotonic()
    k.ok(code)
    return time.monotonic() - t0


def main():
    base = pathlib.Path(tempfile.mkdtemp(prefix="hosting-bench-"))
    (base / "work").mkdir()
    env = clean_env(base / "home", SAGEMAGIC_LOCAL_DATA_DIR=str(base / "data"))
    k = Kernel(env, base / "work").start()
    try:
        (base / "work" / "t.csv").write_text(linear_rows(300, 1))
        k.ok("t = %upload t.csv\njob = %train xgboost --train $t --name j1 num_round=15",
             timeout=120)
        deploy = [timed(k, f"%deploy $job --name bench-{i}") for i in range(5)]
        predict = sorted(timed(k, "%predict bench-0 0.1,0.2,0.3") for _ in range(50))
        listing = timed(k, "%endpoints")
        cleanup = timed(k, "%cleanup -f")
    finally:
        k.stop()
        stop_local_service(base / "data")
    ms = 1000
    print(f"%deploy to InService: median {statistics.median(deploy) * ms:.0f} ms "
          f"(n=5, min {min(deploy) * ms:.0f}, max {max(deploy) * ms:.0f}; it polls "
          "every 250 ms on the local backend)")
    print(f"%predict of one row: median {statistics.median(predict) * ms:.1f} ms, "
          f"p90 {predict[44] * ms:.1f} ms (n=50)")
    print(f"%endpoints over 5 endpoints: {listing * ms:.0f} ms; "
          f"%cleanup -f of 5: {cleanup * ms:.0f} ms")


if __name__ == "__main__":
    main()
