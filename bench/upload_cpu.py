#!/usr/bin/env python3
"""upload_cpu: where an upload's time goes, in CPU seconds rather than wall
time (which on a shared machine follows the other users): one file sent to
a fresh sagemagic-local by `sagemagic-aws s3 cp` and/or boto3's
upload_file, several times in turn; per GiB, the wall time and the CPU of
the client (rusage of the child, or this process for boto3) and of the
service (/proc/PID/stat, every thread it ever had), min and median.

With --timeline, one more C upload sampled every TICK seconds: both
processes' CPU and run-queue wait in cores (schedstat of each thread), the
service's threads blocked on the disk (state D) or runnable, and the MiB/s
the client reads and the service sends to storage (write_bytes: its body
writes go through io_uring and do not show in wchar).

    .venv/bin/python bench/upload_cpu.py                      (1 GiB, 3 runs, both)
    .venv/bin/python bench/upload_cpu.py --who c --runs 5 -- --max-connections 8
    .venv/bin/python bench/upload_cpu.py --who c --runs 0 --timeline 0.02
"""
import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "python"))
sys.path.insert(0, str(ROOT / "bench"))
from local_service import LocalService  # noqa: E402
import local_upload_bench as upload  # noqa: E402


def process_cpu(pid):
    """utime + stime of a process, its finished threads included."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def c_command(svc, path, key, extra):
    return [upload.AWS_BIN, "s3", "cp", str(path), f"s3://bench/{key}",
            "--endpoint-url", svc.endpoint, "--quiet", *extra]


def c_env(svc):
    return dict(os.environ, AWS_ACCESS_KEY_ID=svc.creds["AccessKeyId"],
                AWS_SECRET_ACCESS_KEY=svc.creds["SecretAccessKey"],
                AWS_REGION="us-east-1")


def one_upload(svc, who, path, key, extra):
    """(wall, client CPU, service CPU) in seconds."""
    s0 = process_cpu(svc.proc.pid)
    c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    p0 = time.process_time()
    start = time.perf_counter()
    if who == "c":
        subprocess.run(c_command(svc, path, key, extra), env=c_env(svc), check=True,
                       timeout=600)
    else:
        svc.client("s3").upload_file(str(path), "bench", key)
    wall = time.perf_counter() - start
    c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    client = (c1.ru_utime + c1.ru_stime - c0.ru_utime - c0.ru_stime if who == "c"
              else time.process_time() - p0)
    return wall, client, process_cpu(svc.proc.pid) - s0


class Threads:
    """schedstat of every thread a process has had, kept after they end."""

    def __init__(self, pid):
        self.pid, self.seen = pid, {}

    def sample(self):
        blocked = runnable = 0
        try:
            tids = os.listdir(f"/proc/{self.pid}/task")
        except OSError:
            tids = []
        for tid in tids:
            try:
                run, wait = Path(f"/proc/{self.pid}/task/{tid}/schedstat").read_text().split()[:2]
                state = Path(f"/proc/{self.pid}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except (OSError, ValueError):
                continue
            self.seen[tid] = (int(run), int(wait))
            blocked += state == "D"
            runnable += state == "R"
        io = {}
        try:
            for line in Path(f"/proc/{self.pid}/io").read_text().splitlines():
                name, value = line.split(":")
                io[name] = int(value)
        except OSError:
            pass
        return (sum(r for r, _ in self.seen.values()), sum(w for _, w in self.seen.values()),
                blocked, runnable, io)


def machine_ticks():
    """(busy, idle) clock ticks of all CPUs since boot; steal counts busy."""
    v = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(v) - v[3] - v[4], v[3] + v[4]


def timeline(svc, path, extra, tick):
    service = Threads(svc.proc.pid)
    proc = subprocess.Popen(c_command(svc, path, "timeline", extra), env=c_env(svc))
    client = Threads(proc.pid)
    start, rows, prev, last_client = time.perf_counter(), [], None, None
    hz = os.sysconf("SC_CLK_TCK")
    while True:
        done = proc.poll() is not None
        now = time.perf_counter() - start
        c = last_client if done else client.sample()
        last_client = c
        s = service.sample()
        m = machine_ticks()
        if prev and c:
            dt = now - prev[0]
            rows.append((now, (c[0] - prev[1][0]) / 1e9 / dt, (c[1] - prev[1][1]) / 1e9 / dt,
                         (s[0] - prev[2][0]) / 1e9 / dt, (s[1] - prev[2][1]) / 1e9 / dt,
                         s[2], s[3],
                         (c[4].get("rchar", 0) - prev[1][4].get("rchar", 0)) / 2**20 / dt,
                         (s[4].get("write_bytes", 0) - prev[2][4].get("write_bytes", 0)) / 2**20 / dt,
                         (m[0] - prev[3][0]) / hz / dt, (m[1] - prev[3][1]) / hz / dt))
        prev = (now, c, s, m)
        if done:
            break
        time.sleep(tick)
    print(f"\ntimeline of one C upload ({time.perf_counter() - start:.2f} s); CPU and run-queue "
          "wait in cores, service threads in state D / R, all CPUs busy / idle in cores")
    print("     t  cli_cpu cli_wait svc_cpu svc_wait  D  R  cli_MiB/s svc_MiB/s  busy  idle")
    for r in rows:
        print(f"{r[0]:6.2f} {r[1]:8.2f} {r[2]:8.2f} {r[3]:7.2f} {r[4]:8.2f} {r[5]:2d} {r[6]:2d}"
              f" {r[7]:10.0f} {r[8]:9.0f} {r[9]:5.2f} {r[10]:5.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--who", default="cb", help="c (sagemagic-aws), b (boto3), or both")
    parser.add_argument("--timeline", type=float, metavar="TICK",
                        help="then sample one more C upload every TICK s")
    parser.add_argument("extra", nargs="*", help="flags for sagemagic-aws s3 cp (after --)")
    args = parser.parse_args()
    results = {who: [] for who in args.who}
    with tempfile.TemporaryDirectory(prefix="sm-upload-cpu-") as tmp:
        src = Path(tmp) / "upload.bin"
        upload.write_source(src, args.size_mib)
        with LocalService(Path(tmp) / "data").running() as svc:
            svc.client("s3").create_bucket(Bucket="bench")
            for run in range(args.runs):
                for who in args.who:
                    results[who].append(one_upload(svc, who, src, f"{who}{run}", args.extra))
            if args.timeline:
                timeline(svc, src, args.extra, args.timeline)
    per_gib = 1024 / args.size_mib
    names = {"c": "sagemagic-aws s3 cp", "b": "boto3 upload_file"}
    for who, runs in results.items():
        if not runs:
            continue
        cols = list(zip(*runs))
        text = " | ".join(f"{label} min {min(v) * per_gib:.2f} median {statistics.median(v) * per_gib:.2f}"
                          for label, v in zip(("wall", "client CPU", "service CPU"), cols))
        print(f"{names[who]:20s} s per GiB: {text}")
    print("load average", ", ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
