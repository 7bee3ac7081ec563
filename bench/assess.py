"""Benchmark: assessing campaigns.

1. Each example campaign on three indicators (climate, water, adp_minerals), in a set-up project:
   validation, writing the campaign database and one MultiLCA over campaign, phases and stages.
2. 100 campaigns at once: 100 variants of moshi_like written to the project, then their totals on
   three indicators through ONE MultiLCA, against 100 separate bw2calc LCAs (lci once, then
   switch_method for the other two indicators).

Run: python bench/assess.py    (uses a temporary Brightway data directory)
"""

import os
import tempfile
import time
import warnings
from pathlib import Path

os.environ["BRIGHTWAY2_DIR"] = tempfile.mkdtemp(prefix="bench_assess_")
os.environ.setdefault("BRIGHTWAY_NO_STRUCTLOG", "1")
os.environ.setdefault("TQDM_DISABLE", "1")
warnings.simplefilter("ignore")

import logging  # noqa: E402

logging.getLogger("brightway-stdout-feedback").addFilter(lambda r: r.levelno >= logging.ERROR)

import bw2calc as bc  # noqa: E402
import bw2data as bd  # noqa: E402

from bw_aicompute import setup_project  # noqa: E402
from bw_aicompute.assessment import assess  # noqa: E402
from bw_aicompute.campaign import read_campaign, write_campaign  # noqa: E402
from bw_aicompute.lca import method_for, multi_scores  # noqa: E402

EXAMPLES = Path(__file__).parents[1] / "examples"
INDICATORS = ["climate", "water", "adp_minerals"]


def main() -> None:
    t = time.perf_counter()
    report = setup_project()
    print(f"setup (fresh data directory): {time.perf_counter() - t:.2f} s")
    assess(EXAMPLES / "bloom.yaml", indicators=INDICATORS)  # warm-up (imports, caches)
    for path in sorted(EXAMPLES.glob("*.yaml")):
        runs = []
        for _ in range(3):
            t = time.perf_counter()
            assess(path, indicators=INDICATORS)
            runs.append(time.perf_counter() - t)
        print(f"assess {path.name:<28} 3 indicators: {min(runs):.3f} s (best of 3)")

    base = read_campaign(EXAMPLES / "moshi_like.yaml")
    t = time.perf_counter()
    keys = []
    for i in range(100):
        base.name = f"moshi-like variant {i:03d}"
        for p in base.phases:
            p.node_hours *= 1.001
        keys.append(write_campaign(base, report.biosphere).key)
    print(f"write 100 campaign databases:           {time.perf_counter() - t:.2f} s")
    methods = [method_for(i)[1] for i in INDICATORS]
    nodes = [bd.get_node(database=k[0], code=k[1]) for k in keys]

    t = time.perf_counter()
    together = multi_scores({str(i): {n.id: 1.0} for i, n in enumerate(nodes)}, methods)
    t_multi = time.perf_counter() - t

    t = time.perf_counter()
    separate = {}
    for i, n in enumerate(nodes):
        lca = bc.LCA({n: 1}, methods[0])
        lca.lci()
        lca.lcia()
        separate[(methods[0], str(i))] = lca.score
        for m in methods[1:]:
            lca.switch_method(m)
            lca.lcia()
            separate[(m, str(i))] = lca.score
    t_single = time.perf_counter() - t
    worst = max(abs(together[k] - separate[k]) / abs(separate[k]) for k in separate if separate[k])
    print(f"100 campaigns x 3 indicators, one MultiLCA:   {t_multi:.2f} s")
    print(f"100 campaigns x 3 indicators, 100 LCAs:       {t_single:.2f} s")
    print(f"ratio (100 LCAs / one MultiLCA):              {t_single / t_multi:.1f} x  (largest relative difference {worst:.1e})")
    sweep_100(report.biosphere, methods)


def sweep_100(biosphere: str, methods: list) -> None:
    """100 variants of moshi_like (hours of every phase varied): `sweep` (validate, one
    database, one MultiLCA) against writing 100 campaign databases (node-hours x 1.001^i) and
    one MultiLCA of them (how variants were assessed before), alternated, 3 runs each."""
    import statistics

    from bw_aicompute.sweeps import Variation, sweep

    hours = [round(1000 * 1.001**i, 3) for i in range(100)]

    def tool() -> float:
        t = time.perf_counter()
        sweep([EXAMPLES / "moshi_like.yaml"], [Variation("phases.*.hours", hours)], indicators=INDICATORS)
        return time.perf_counter() - t

    def separate() -> float:
        t = time.perf_counter()
        base = read_campaign(EXAMPLES / "moshi_like.yaml")
        node_hours = [p.node_hours for p in base.phases]
        keys = []
        for i in range(len(hours)):
            base.name = f"moshi-like hours {i:03d}"
            for p, nh in zip(base.phases, node_hours):
                p.node_hours = nh * 1.001**i
            keys.append(write_campaign(base, biosphere).key)
        nodes = [bd.get_node(database=k[0], code=k[1]) for k in keys]
        multi_scores({str(i): {n.id: 1.0} for i, n in enumerate(nodes)}, methods)
        return time.perf_counter() - t

    ts, bs = [], []
    for _ in range(3):
        ts.append(tool())
        bs.append(separate())
    print(f"sweep of 100 variants (one database, one MultiLCA): min {min(ts):.2f} s, median {statistics.median(ts):.2f} s")
    print(f"100 campaign databases + one MultiLCA:              min {min(bs):.2f} s, median {statistics.median(bs):.2f} s  ({min(bs) / min(ts):.1f}x)")


if __name__ == "__main__":
    main()
