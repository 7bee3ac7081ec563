"""Benchmark: `aicompute setup` in a fresh data directory, against the full install of every
LCIA method that bw2io ships (what `bw2setup()` would do if it worked, brightway2-io#277).

Run: python bench/setup.py [--skip-full]
Prints wall-clock seconds of each (whole processes, imports included) and their ratio.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FULL = r"""
import json, zipfile, warnings
from pathlib import Path
warnings.simplefilter("ignore")
import bw2data as bd, bw2io as bi
from bw2io.importers.base_lcia import LCIAImporter
bd.projects.set_current("full")
bi.create_default_biosphere3()
fp = Path(bi.__file__).parent / "data" / "lcia" / "lcia_39_ecoinvent.zip"
data = json.load(zipfile.ZipFile(fp).open("data.json"))
for m in data:
    m["name"] = tuple(m["name"])
    for cf in m["exchanges"]:
        cf["input"] = tuple(cf["input"])
imp = LCIAImporter("lcia_39_ecoinvent.zip")
imp.data = data
imp.write_methods(overwrite=True, verbose=False)
print(len(bd.methods), "methods")
"""


def timed(cmd: list[str], data_dir: Path) -> float:
    env = {**os.environ, "BRIGHTWAY2_DIR": str(data_dir), "TQDM_DISABLE": "1", "BRIGHTWAY_NO_STRUCTLOG": "1"}
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-full", action="store_true", help="skip the ~2-3 minute full install")
    args = parser.parse_args()
    aicompute = [sys.executable, "-m", "bw_aicompute", "setup", "--quiet"]
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "fresh"
        fresh.mkdir()
        t_fresh = timed(aicompute, fresh)
        t_again = timed(aicompute, fresh)
        print(f"aicompute setup, fresh data directory: {t_fresh:8.2f} s (target <= 10 s)")
        print(f"aicompute setup, second run (no-op):   {t_again:8.2f} s (process start and imports included)")
        from_python = (
            "import time,warnings; warnings.simplefilter('ignore'); import bw2data; from bw_aicompute import setup_project;"
            "t=time.perf_counter(); r=setup_project(); print(time.perf_counter()-t, r.changed)"
        )
        env = {**os.environ, "BRIGHTWAY2_DIR": str(fresh), "TQDM_DISABLE": "1", "BRIGHTWAY_NO_STRUCTLOG": "1"}
        out = subprocess.run([sys.executable, "-c", from_python], env=env, check=True, capture_output=True, text=True)
        seconds, changed = out.stdout.strip().splitlines()[-1].split()
        print(f"setup_project() second call, in Python: {float(seconds):7.3f} s (changed: {changed}; target < 1 s)")
        if not args.skip_full:
            full = Path(tmp) / "full"
            full.mkdir()
            t_full = timed([sys.executable, "-c", FULL], full)
            print(f"full install of all 762 bw2io methods: {t_full:8.2f} s")
            print(f"ratio full / aicompute setup:          {t_full / t_fresh:8.1f} x")


if __name__ == "__main__":
    main()
