"""Benchmark: start-up of a warm `aicompute assess`, whole processes, against a skilled user's
script with the same libraries.

- tool: `aicompute assess examples/moshi_like.yaml` in a set-up project where the campaign is
  already written (read, validate, the unchanged database kept, solve with the phase x stage
  breakdown, print the tables);
- fair baseline: a script that imports bw2data and bw2calc, opens the project, looks up the
  campaign's and its phases' node ids and runs one `bw2calc.MultiLCA` on the three indicators
  (totals per phase, no validation, no stages), with `PYPARDISO_MKL_RT` pointing pypardiso at
  MKL's runtime library (as the tool's command does), and without it.

Alternated, 5 runs each: min and median wall time. Then `python -X importtime` of each, the
largest imports listed.

Run: python bench/startup.py
"""

import glob
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).parents[1]
EXAMPLE = ROOT / "examples" / "moshi_like.yaml"
SCRIPT = """
import warnings; warnings.simplefilter("ignore")
import bw2calc as bc, bw2data as bd
from bw2data.backends import ActivityDataset as AD
bd.projects.set_current("aicompute")
db = "aicompute-campaign-moshi-like"
ids = dict(AD.select(AD.code, AD.id).where(AD.database == db).tuples())
demands = {code: {i: 1.0} for code, i in ids.items() if code == "campaign" or code.startswith("phase")}
methods = [m for m in bd.methods if m[0] in ("IPCC 2021", "EF v3.1") and ("global warming potential (GWP100)" in m[-1] or "user deprivation" in m[-1] or "metals/minerals" in m[-1])][:3]
config = {"impact_categories": methods}
mlca = bc.MultiLCA(demands=demands, method_config=config, data_objs=bd.get_multilca_data_objs(demands, config))
mlca.lci(); mlca.lcia()
print(len(mlca.scores))
"""


def wall(command: list[str], env: dict) -> float:
    t = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env)
    return time.perf_counter() - t


def imports(command: list[str], env: dict, top: int = 8) -> list[tuple[int, str]]:
    """The largest cumulative import times (us) of a process, top-level modules only."""
    err = subprocess.run([sys.executable, "-X", "importtime", *command], capture_output=True, text=True, env=env).stderr
    rows = [(int(m.group(2)), m.group(3)) for m in re.finditer(r"import time:\s+(\d+) \|\s+(\d+) \| (\S+)$", err, re.M)]
    return sorted(rows, reverse=True)[:top]


def main() -> None:
    env = {**os.environ, "BRIGHTWAY2_DIR": os.environ.get("BRIGHTWAY2_DIR") or tempfile.mkdtemp(prefix="bench_startup_"), "BRIGHTWAY_NO_STRUCTLOG": "1", "TQDM_DISABLE": "1"}
    aicompute = str(Path(sys.executable).with_name("aicompute"))
    subprocess.run([aicompute, "assess", str(EXAMPLE)], check=True, capture_output=True, env=env)  # set up and written
    mkl = sorted(glob.glob(os.path.join(sys.prefix, "lib", "*mkl_rt*")), key=len)
    with_mkl = {**env, "PYPARDISO_MKL_RT": mkl[0]} if mkl else env
    runs = {
        "aicompute assess (warm; tool)": ([aicompute, "assess", str(EXAMPLE)], env),
        "MultiLCA script, PYPARDISO_MKL_RT set": ([sys.executable, "-c", SCRIPT], with_mkl),
        "MultiLCA script as is": ([sys.executable, "-c", SCRIPT], env),
    }
    times: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(5):
        for label, (command, e) in runs.items():
            times[label].append(wall(command, e))
    tool = times[next(iter(runs))]
    for label, ts in times.items():
        print(f"{label}: min {min(ts):.2f} s, median {statistics.median(ts):.2f} s; this / tool (min) {min(ts) / min(tool):.2f}x")
    for label, (command, e) in list(runs.items())[:2]:
        cmd = ["-m", "bw_aicompute", *command[1:]] if command[0] == aicompute else command[1:]
        print(f"\nlargest imports of {label} (cumulative, s):")
        for us, name in imports(cmd, e):
            print(f"  {name}: {us / 1e6:.2f}")


if __name__ == "__main__":
    main()
