"""Stress: N aicompute processes at once on one data directory, repeated.

Each round runs N `setup` on a fresh data directory, then N `assess` of different campaigns on
it, then N `assess` on another fresh directory; a round fails if any process exits non-zero,
prints a traceback or 'database is locked', or a campaign is missing afterwards.

Run: python bench/concurrency.py [--rounds 10] [--processes 4]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

EXAMPLES = Path(__file__).parents[1] / "examples"


def run(data_dir: str, commands: list[list[str]]) -> list[str]:
    env = {**os.environ, "BRIGHTWAY2_DIR": data_dir}
    procs = [subprocess.Popen([sys.executable, "-m", "bw_aicompute", *c], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for c in commands]
    problems = []
    for p in procs:
        _, err = p.communicate()
        if p.returncode != 0 or "Traceback" in err or "locked" in err:
            problems.append(f"exit {p.returncode}: {err.strip().splitlines()[-1] if err.strip() else ''}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--processes", type=int, default=4)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_conc_"))
    files = []
    for i in range(args.processes):
        doc = yaml.safe_load((EXAMPLES / "bloom.yaml").read_text())
        doc["campaign"]["name"] = f"campaign {i}"
        files.append(tmp / f"c{i}.yaml")
        files[-1].write_text(yaml.safe_dump(doc))
    failures = 0
    start = time.perf_counter()
    for r in range(args.rounds):
        a, b = tempfile.mkdtemp(dir=tmp), tempfile.mkdtemp(dir=tmp)
        problems = run(a, [["setup", "--quiet"]] * args.processes)
        problems += run(a, [["assess", str(f), "--indicator", "climate"] for f in files])
        problems += run(b, [["assess", str(f), "--indicator", "climate"] for f in files])
        for d in (a, b):
            status = subprocess.run([sys.executable, "-m", "bw_aicompute", "status"], env={**os.environ, "BRIGHTWAY2_DIR": d}, capture_output=True, text=True)
            problems += [f"campaign {i} missing in {d}" for i in range(args.processes) if f"aicompute-campaign-campaign-{i} " not in status.stdout]
        failures += bool(problems)
        print(f"round {r + 1}: {'ok' if not problems else '; '.join(problems)}", flush=True)
    print(f"{args.rounds - failures}/{args.rounds} rounds without a problem ({args.processes} processes, {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
