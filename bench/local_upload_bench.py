#!/usr/bin/env python3
"""local_upload_bench: one file uploaded to sagemagic-local by the C client
(`sagemagic-aws s3 cp`) and by boto3's upload_file, in turn, several times
on one fresh service; prints the median MiB/s of each and their ratio.

    .venv/bin/python bench/local_upload_bench.py               (1 GiB, 3 runs)
    .venv/bin/python bench/local_upload_bench.py --size-mib 256 --runs 5
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "python"))
from local_service import LocalService  # noqa: E402

AWS_BIN = os.environ.get("SAGEMAGIC_AWS", str(ROOT / "build" / "sagemagic-aws"))


def write_source(path, size_mib):
    """Random bytes, on disk before any clock starts: the writeback of a
    fresh gigabyte would otherwise slow whichever client goes first."""
    with open(path, "wb") as f:
        for _ in range(size_mib):
            f.write(os.urandom(1 << 20))
        f.flush()
        os.fsync(f.fileno())


def c_client(svc, path, key):
    env = dict(os.environ, AWS_ACCESS_KEY_ID=svc.creds["AccessKeyId"],
               AWS_SECRET_ACCESS_KEY=svc.creds["SecretAccessKey"], AWS_REGION="us-east-1")
    start = time.perf_counter()
    subprocess.run([AWS_BIN, "s3", "cp", str(path), f"s3://bench/{key}",
                    "--endpoint-url", svc.endpoint, "--quiet"], env=env, check=True, timeout=600)
    return time.perf_counter() - start


def boto3_client(svc, path, key):
    s3 = svc.client("s3")
    start = time.perf_counter()
    s3.upload_file(str(path), "bench", key)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sm-upload-bench-") as tmp:
        src = Path(tmp) / "upload.bin"
        write_source(src, args.size_mib)
        with LocalService(Path(tmp) / "data").running() as svc:
            svc.client("s3").create_bucket(Bucket="bench")
            times = {"C client (sagemagic-aws s3 cp)": [], "boto3 upload_file": []}
            for run in range(args.runs):
                times["C client (sagemagic-aws s3 cp)"].append(c_client(svc, src, f"c{run}"))
                times["boto3 upload_file"].append(boto3_client(svc, src, f"b{run}"))
    rates = {name: args.size_mib / statistics.median(t) for name, t in times.items()}
    print(f"{args.size_mib} MiB, median of {args.runs} runs each, nproc {os.cpu_count()}")
    print("| client | MiB/s | runs (s) |\n|---|---|---|")
    for name, t in times.items():
        print(f"| {name} | {rates[name]:.0f} | {', '.join(f'{x:.2f}' for x in t)} |")
    c, b = rates.values()
    print(f"\nratio C / boto3: {c / b:.2f} (target >= 2)")


if __name__ == "__main__":
    main()
