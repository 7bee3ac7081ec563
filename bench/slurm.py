"""Benchmark: SLURM accounting to campaigns at HPC-centre scale.

A file of about 1,000,000 records in the real `sacct --parsable2 --allocations` format (job
steps, arrays, running jobs, failed states; `tests/slurm_gen.py`) is read, classified with
`examples/slurm/rules.yaml` and aggregated into phases (`bw_aicompute.slurm.from_slurm`), in a
fresh process each time, against the baseline figure `pandas.read_csv(path, sep="|", dtype=str)`
of the same file alone, alternated, 3 runs each; wall time and peak resident memory.
Target: <= 20 s and <= 2 GB.

Run: python bench/slurm.py [--allocations 400000]
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from slurm_gen import lines  # noqa: E402

TOOL = "from bw_aicompute.slurm import from_slurm; a = from_slurm(sys.argv[1], sys.argv[2]); print(a.counts['records'], a.counts['gpu_hours'])"
BASE = "import pandas as pd; df = pd.read_csv(sys.argv[1], sep='|', dtype=str, keep_default_na=False); print(len(df))"
PEAK = "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], check=True, capture_output=True, text=True); print(r.stdout.strip()); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)"


def run(code: str, *args: str) -> tuple[float, int, str]:
    """Wall time (s), peak resident memory (MiB) and output of `code` in a fresh process."""
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", PEAK, sys.executable, "-c", "import sys; " + code, *args], check=True, capture_output=True, text=True).stdout.strip().split("\n")
    return time.perf_counter() - t, int(out[-1]), out[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--allocations", type=int, default=400_000)
    args = parser.parse_args()
    path = Path(tempfile.mkdtemp(prefix="bench_slurm_")) / "sacct.txt"
    text = lines(args.allocations, seed=0)
    path.write_text("\n".join(text) + "\n")
    print(f"{len(text) - 1:,} records, {path.stat().st_size / 1e6:.0f} MB")
    rules = str(ROOT / "examples" / "slurm" / "rules.yaml")
    tool, base = [], []
    for _ in range(3):
        tool.append(run(TOOL, str(path), rules))
        base.append(run(BASE, str(path)))
    for label, runs in (("from_slurm (read, classify, aggregate)", tool), ("pandas.read_csv alone (baseline)", base)):
        walls = [r[0] for r in runs]
        print(f"{label}: min {min(walls):.2f} s, median {statistics.median(walls):.2f} s, peak {max(r[1] for r in runs)} MiB (whole process)")
    print(f"result: {tool[0][2]}")


if __name__ == "__main__":
    main()
