"""Benchmark: a dated campaign of 12 months x 10 phases with a monthly mix file, assessed warm
(the campaign already written once, in the same process), against the same campaign undated
(one annual mix), run alternately.

Run: python bench/months.py [--runs 5]
Target of issue 25: <= 1 s warm. The monthly file is made up (shares varied month by month):
the package ships no monthly data.
"""

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

TECHNOLOGIES = ("coal", "gas", "oil", "nuclear", "hydro", "wind", "solar", "bio", "geo")


def files(folder: Path) -> tuple[Path, Path]:
    import yaml

    rows = ["month," + ",".join(TECHNOLOGIES)]
    for m in range(1, 13):
        rows.append(f"2025-{m:02d}," + ",".join(f"{(k + m) % 7 + 1}" for k in range(len(TECHNOLOGIES))))
    (folder / "months.csv").write_text("\n".join(rows) + "\n")
    phases = [{"name": f"phase {i}", "kind": "pretraining", "gpu_hours": 1000 * (i + 1), "start": "2025-01-01", "end": "2025-12-31"} for i in range(10)]
    doc = {"campaign": {"name": "dated bench"}, "site": {"country": "FR", "monthly_mix": "months.csv"}, "hardware": {"gpu": "H100 SXM 80GB"}, "phases": phases}
    dated = folder / "dated.yaml"
    dated.write_text(yaml.safe_dump(doc, sort_keys=False))
    undated = folder / "undated.yaml"
    doc = {**doc, "campaign": {"name": "undated bench"}, "site": {"country": "FR"}, "phases": [{k: v for k, v in p.items() if k not in ("start", "end")} for p in phases]}
    undated.write_text(yaml.safe_dump(doc, sort_keys=False))
    return dated, undated


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.update(BRIGHTWAY2_DIR=tmp, TQDM_DISABLE="1")
        from bw_aicompute.assessment import assess

        dated, undated = files(Path(tmp))
        a = assess(dated, indicators=["climate", "water_scarcity", "adp_minerals"])
        assess(undated, indicators=["climate", "water_scarcity", "adp_minerals"])
        print(f"{len(a.model.phases)} phases x {len(a.months)} months; {sum(len(pm.months) for pm in a.model.phases)} month activities")
        times = {"dated (12 monthly mixes)": [], "undated (annual mix)": []}
        for _ in range(args.runs):
            for label, path in (("dated (12 monthly mixes)", dated), ("undated (annual mix)", undated)):
                t = time.perf_counter()
                assess(path, indicators=["climate", "water_scarcity", "adp_minerals"])
                times[label].append(time.perf_counter() - t)
    for label, t in times.items():
        print(f"{label:<26} min {min(t):6.3f} s  median {statistics.median(t):6.3f} s  ({args.runs} runs, warm, in process)")
    print("target: dated <= 1 s warm")


if __name__ == "__main__":
    main()
