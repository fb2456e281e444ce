#!/usr/bin/env python3
"""A sweep's shards as Dask tasks, then the merge.

    python examples/dask_sweep.py --shards 4 [--scheduler tcp://HOST:8786] -- \\
        --tape tape.ndjson --strategies strategies.yaml --grid grid.yaml --out /shared/sweep

Task I runs `njord-backtest sweep ARGS --shard I/N` with one thread (the Dask workers are the
parallelism). Each shard stores its trials in --out, which every worker must see (a shared
filesystem), and skips the trials already there, so a rerun resumes. Once every shard is done,
the merge runs here and prints the table. Without --scheduler, a local cluster of --shards
worker processes runs the tasks. NJORD_BACKTEST names the binary (default: the one on PATH).
"""

import argparse
import os
import subprocess
import sys

from dask.distributed import Client, LocalCluster

BINARY = os.environ.get("NJORD_BACKTEST", "njord-backtest")


def run_shard(args: list[str], index: int, count: int) -> str:
    """Runs one shard; returns what it said on stderr, or raises with it."""
    cmd = [BINARY, "sweep", *args, "--shard", f"{index}/{count}", "--progress", "none",
           "--no-summary"]
    done = subprocess.run(cmd, env=dict(os.environ, RAYON_NUM_THREADS="1"),
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"shard {index}/{count} exited {done.returncode}: {done.stderr}")
    return done.stderr


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shards", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--scheduler", help="address of a running Dask scheduler")
    parser.add_argument("sweep", nargs=argparse.REMAINDER,
                        help="-- then the arguments of njord-backtest sweep")
    opts = parser.parse_args()
    args = opts.sweep[1:] if opts.sweep[:1] == ["--"] else opts.sweep
    if opts.shards < 1 or not args:
        parser.error("needs --shards 1 or more and the sweep's arguments after --")
    n = opts.shards
    if opts.scheduler:
        client = Client(opts.scheduler)
    else:
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    with client:
        futures = client.map(run_shard, [args] * n, range(n), [n] * n, pure=False)
        for said in client.gather(futures):
            sys.stderr.write(said)
    return subprocess.run([BINARY, "sweep", *args, "--merge"]).returncode


if __name__ == "__main__":
    sys.exit(main())
