"""Benchmark: `aicompute assess --timex` (the time-explicit LCA with bw_timex) against the plain
`aicompute assess` of the same campaign, whole processes (imports included), run alternately.

Run: python bench/timex.py [--runs 3] [CAMPAIGN]
Prints min and median seconds of each and the time bw_timex adds. Target of issue 25: --timex on
examples/moshi_like.yaml in <= 30 s. (Dated campaigns: bench/months.py.)
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).parents[1]


def timed(args: list[str], data_dir: Path) -> float:
    env = {**os.environ, "BRIGHTWAY2_DIR": str(data_dir), "TQDM_DISABLE": "1", "BRIGHTWAY_NO_STRUCTLOG": "1"}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "bw_aicompute", *args], env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("campaign", nargs="?", default=str(ROOT / "examples" / "moshi_like.yaml"))
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        timed(["setup", "--quiet"], data)
        timed(["assess", args.campaign, "--indicator", "climate"], data)  # written once: both warm
        plain, timex = [], []
        for _ in range(args.runs):
            plain.append(timed(["assess", args.campaign, "--indicator", "climate"], data))
            timex.append(timed(["assess", args.campaign, "--indicator", "climate", "--timex"], data))
    for label, t in (("assess", plain), ("assess --timex", timex)):
        print(f"{label:<16} min {min(t):6.2f} s  median {statistics.median(t):6.2f} s  ({args.runs} runs, whole process)")
    print(f"bw_timex adds {statistics.median(timex) - statistics.median(plain):.2f} s (median); target: --timex <= 30 s")


if __name__ == "__main__":
    main()
