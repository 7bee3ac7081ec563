"""Benchmark: `aicompute assess --timex` (the time-explicit LCA with bw_timex) against the plain
`aicompute assess` of the same campaign, whole processes (imports included), run alternately.

Run: python bench/timex.py [--runs 3] [CAMPAIGN | --twelve-months]
Prints min and median seconds of each and the time bw_timex adds. Targets: --timex on
examples/moshi_like.yaml in <= 30 s (issue 25); on a 10-phase campaign dated over 12 months
(`--twelve-months`: moshi_like's phases and one more, four months each over 2024, the last one
the whole year) in <= 10 s (issue 41). (Dated campaigns: bench/months.py.)
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


def twelve_months(path: Path) -> Path:
    """moshi_like's 9 phases and one more, dated over 2024 (as tests/test_timex.py)."""
    import yaml

    doc = yaml.safe_load((ROOT / "examples" / "moshi_like.yaml").read_text())
    phases = doc["phases"] + [dict(doc["phases"][0], name="extra evaluation", kind="evaluation", hours=300, nodes=8)]
    for k, p in enumerate(phases[:10]):
        p["start"], p["end"] = (f"2024-{min(k + 1, 9):02d}-01", f"2024-{min(k + 4, 12):02d}-28") if k < 9 else ("2024-01-01", "2024-12-31")
    doc["phases"], doc["campaign"]["name"] = phases[:10], "dated twelve months"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("campaign", nargs="?", default=str(ROOT / "examples" / "moshi_like.yaml"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--twelve-months", action="store_true", help="the 10-phase campaign dated over the 12 months of 2024")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        if args.twelve_months:
            args.campaign = str(twelve_months(data / "dated12.yaml"))
        timed(["setup", "--quiet"], data)
        timed(["assess", args.campaign, "--indicator", "climate"], data)  # written once: both warm
        plain, timex = [], []
        for _ in range(args.runs):
            plain.append(timed(["assess", args.campaign, "--indicator", "climate"], data))
            timex.append(timed(["assess", args.campaign, "--indicator", "climate", "--timex"], data))
    for label, t in (("assess", plain), ("assess --timex", timex)):
        print(f"{label:<16} min {min(t):6.2f} s  median {statistics.median(t):6.2f} s  ({args.runs} runs, whole process)")
    print(f"bw_timex adds {statistics.median(timex) - statistics.median(plain):.2f} s (median)")


if __name__ == "__main__":
    main()
