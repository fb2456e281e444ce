#!/usr/bin/env python3
"""A sweep's shards as Ray tasks, then the merge (the shape of examples/dask_sweep.py).

    python examples/ray_sweep.py --shards 4 [--address ray://HOST:10001] -- \\
        --tape tape.ndjson --strategies strategies.yaml --grid grid.yaml --out /shared/sweep

Task I runs `njord-backtest sweep ARGS --shard I/N` with one thread and one Ray CPU. Each shard
stores its trials in --out, which every node must see (a shared filesystem), and skips the trials
already there, so a rerun resumes. Once every shard is done, the merge runs here and prints the
table. Without --address, Ray starts on this machine. NJORD_BACKTEST names the binary.
"""

import argparse
import os
import subprocess
import sys

import ray

BINARY = os.environ.get("NJORD_BACKTEST", "njord-backtest")


@ray.remote(num_cpus=1)
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
    parser.add_argument("--address", help="address of a running Ray cluster")
    parser.add_argument("sweep", nargs=argparse.REMAINDER,
                        help="-- then the arguments of njord-backtest sweep")
    opts = parser.parse_args()
    args = opts.sweep[1:] if opts.sweep[:1] == ["--"] else opts.sweep
    if opts.shards < 1 or not args:
        parser.error("needs --shards 1 or more and the sweep's arguments after --")
    n = opts.shards
    ray.init(address=opts.address) if opts.address else ray.init(num_cpus=n)
    for said in ray.get([run_shard.remote(args, i, n) for i in range(n)]):
        sys.stderr.write(said)
    ray.shutdown()
    return subprocess.run([BINARY, "sweep", *args, "--merge"]).returncode


if __name__ == "__main__":
    sys.exit(main())
