"""Evaluation throughput (objects per minute) against the number of ``torchrun`` processes.

Runs ``clickseg evaluate`` on the same objects with 1 process (the baseline of this run) and
with each larger count, every process limited to its share of the CPU threads (or one GPU each
under CUDA), and prints objects per minute, the ratio to one process, and whether the merged
per-object CSV equals the one-process CSV row for row (timings left out).

    python benchmarks/bench_evaluation_processes.py --processes 1 2 --limit 16
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TIMING = {"seconds", "clicker_seconds"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rows(folder: Path) -> list[dict[str, str]]:
    with next(folder.glob("*.csv")).open() as handle:
        return [{k: v for k, v in r.items() if k not in TIMING} for r in csv.DictReader(handle)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--data", default="synthetic:em_cells")
    parser.add_argument("--data-option", action="append", default=["seed=2000", "slice_step=4"])
    parser.add_argument("--limit", type=int, default=16)
    parser.add_argument("--clicks", type=int, default=10)
    parser.add_argument("--model", default="default")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    print(
        f"{time.strftime('%Y-%m-%d')}  {platform.processor() or platform.machine()}  {cores} cores"
    )
    print(f"{args.data}, {args.limit} objects x {args.clicks} clicks, model {args.model}")
    print(f"{'processes':>9s} {'seconds':>8s} {'objects/min':>11s} {'vs 1':>6s}  same rows")
    base_rate, reference = None, None
    with tempfile.TemporaryDirectory() as scratch:
        for count in sorted(set([1, *args.processes])):
            out = Path(scratch) / f"p{count}"
            command = [
                sys.executable,
                "-m",
                "torch.distributed.run",
                "--nproc_per_node",
                str(count),
            ]
            command += ["--master_addr", "127.0.0.1", "--master_port", str(_free_port())]
            command += ["-m", "napari_clickseg.cli", "evaluate", "--model", args.model]
            command += ["--data", args.data, "--limit", str(args.limit), "--seed", "0"]
            command += ["--max-clicks", str(args.clicks), "--out", str(out)]
            for option in args.data_option:
                command += ["--data-option", option]
            threads = str(max(1, cores // count))
            env = {**os.environ, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
            start = time.perf_counter()
            subprocess.run(command, env=env, check=True, capture_output=True, text=True)
            seconds = time.perf_counter() - start
            rate = args.limit / seconds * 60
            rows = _rows(out)
            base_rate, reference = base_rate or rate, reference or rows
            print(
                f"{count:9d} {seconds:8.1f} {rate:11.1f} {rate / base_rate:5.2f}x  "
                f"{'yes' if rows == reference else 'NO'}",
                flush=True,
            )


if __name__ == "__main__":
    main()
