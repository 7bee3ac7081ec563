"""Benchmark: SLURM accounting to campaigns at HPC-centre scale, against a skilled user's
pandas script.

A file of about 1,000,000 records in the real `sacct --parsable2 --allocations` format (job
steps, arrays, running jobs, failed states; `tests/slurm_gen.py`) is classified with
`examples/slurm/rules.yaml` into GPU-hours by phase:

- tool: `aicompute from-slurm SACCT --rules RULES --out CAMPAIGN.yaml` (read, validate every
  field with line numbers, classify, aggregate, print the report, write the campaign file
  validated), and `bw_aicompute.slurm.from_slurm` alone;
- fair baseline: `bench/slurm_script.py`, what a skilled pandas user writes (read_csv, drop job
  steps and unfinished jobs, regexes for Elapsed and AllocTRES, the rules in order, failed
  jobs moved, groupby), without validation, report or file.

Each a fresh process (Python start and imports included), alternated, 3 runs each: min and
median wall time and peak resident memory. The GPU-hours by phase of tool and script are
checked equal first.

With `--accounts N`: the same records spread over N accounts, and
`aicompute from-slurm --by account --assess` (one campaign per account, written and assessed
together as one sweep, the centre's total) timed as a whole process with its peak memory.

Run: python bench/slurm.py [--allocations 400000] [--repeat 3] [--accounts 2000]
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
sys.path.insert(0, str(ROOT / "bench"))

from slurm_gen import lines  # noqa: E402

FUNCTION = "import sys; from bw_aicompute.slurm import from_slurm; a = from_slurm(sys.argv[1], sys.argv[2]); print(a.counts['kept'])"
PEAK = "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], check=True, capture_output=True, text=True); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)"


def run(command: list[str]) -> tuple[float, int]:
    """Wall time (s) and peak resident memory (MiB) of `command` in a fresh process."""
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", PEAK, *command], check=True, capture_output=True, text=True).stdout.strip().split("\n")
    return time.perf_counter() - t, int(out[-1])


def same_result(path: Path, rules: str) -> None:
    """The tool's GPU-hours by (phase, kind, GPU model) equal the script's."""
    import slurm_script

    from bw_aicompute.slurm import from_slurm

    jobs = from_slurm(path, rules).jobs
    tool = jobs.groupby(["phase", "kind", "gpu"])["gpu_hours"].sum()
    base = slurm_script.main(str(path), rules)
    base.index.names = tool.index.names
    assert set(tool.index) == set(base.index), (tool, base)
    assert ((tool - base.reindex(tool.index)).abs() <= 1e-9 * tool.abs().max()).all()
    print(f"same GPU-hours by phase as the script: {len(tool)} phases, {tool.sum():,.1f} GPU-hours")


def accounts(text: list[str], n: int, folder: Path, repeat: int) -> None:
    """Whole-process time and peak memory of `from-slurm --by account --assess` with the
    allocations of `text` spread over `n` accounts, in a fresh Brightway directory (set up by a
    first, untimed run)."""
    import os
    import random

    rng = random.Random(1)
    rows = [text[0]] + [r if not r.split("|")[3] else "|".join([*r.split("|")[:3], f"acct{rng.randrange(n):05d}", *r.split("|")[4:]]) for r in text[1:]]
    path = folder / "sacct.txt"
    path.write_text("\n".join(rows) + "\n")
    os.environ["BRIGHTWAY2_DIR"] = str(folder / "bw")
    (folder / "bw").mkdir()
    aicompute = str(Path(sys.executable).with_name("aicompute"))
    rules = str(ROOT / "examples" / "slurm" / "rules.yaml")
    command = [aicompute, "from-slurm", str(path), "--rules", rules, "--by", "account", "--out", str(folder / "by"), "--assess", "--force"]
    run(command)  # sets the project up
    times = [run(command) for _ in range(repeat)]
    groups = len(list((folder / "by").glob("*.yaml")))
    walls = [t for t, _ in times]
    print(f"from-slurm --by account --assess, {len(rows) - 1:,} records, {groups:,} accounts: min {min(walls):.1f} s, median {statistics.median(walls):.1f} s, peak {max(m for _, m in times)} MiB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--allocations", type=int, default=400_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--accounts", type=int, help="only: per-account footprints of N accounts (from-slurm --by account --assess)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench_slurm_"))
    path = folder / "sacct.txt"
    text = lines(args.allocations, seed=0)
    if args.accounts:
        return accounts(text, args.accounts, folder, args.repeat)
    path.write_text("\n".join(text) + "\n")
    print(f"{len(text) - 1:,} records, {path.stat().st_size / 1e6:.0f} MB")
    rules = str(ROOT / "examples" / "slurm" / "rules.yaml")
    same_result(path, rules)
    aicompute = str(Path(sys.executable).with_name("aicompute"))
    commands = {
        "aicompute from-slurm (read, validate, classify, aggregate, report, write the campaign)": [aicompute, "from-slurm", str(path), "--rules", rules, "--out", str(folder / "campaign.yaml"), "--force"],
        "from_slurm() alone, in a process": [sys.executable, "-c", FUNCTION, str(path), rules],
        "pandas script (bench/slurm_script.py; baseline)": [sys.executable, str(ROOT / "bench" / "slurm_script.py"), str(path), rules],
    }
    runs: dict[str, list] = {k: [] for k in commands}
    for _ in range(args.repeat):
        for label, command in commands.items():
            runs[label].append(run(command))
    base = [r[0] for r in runs[list(commands)[-1]]]
    for label, rs in runs.items():
        walls = [r[0] for r in rs]
        ratio = f"; baseline / this (min) {min(base) / min(walls):.2f}x, (median) {statistics.median(base) / statistics.median(walls):.2f}x"
        print(f"{label}: min {min(walls):.2f} s, median {statistics.median(walls):.2f} s, peak {max(r[1] for r in rs)} MiB{ratio}")


if __name__ == "__main__":
    main()
