"""Benchmark: Monte Carlo of the moshi_like campaign on three indicators.

Ours: `bw_aicompute.uncertainty.run` (bw2calc's resampled matrices + sampled parameters and
recomputed formulas, one LU per iteration for the campaign and its 45 phase x stage shares, three
indicators). Naive: a new bw2calc LCA per iteration (use_distributions=True; exchange
distributions only, no parameters, totals only), lci + lcia on three methods.

Run: python bench/montecarlo.py [--iterations 1000] [--naive 100]    (target: 1000 in < 10 s)
"""

import argparse
import os
import tempfile
import time
import warnings
from pathlib import Path

os.environ["BRIGHTWAY2_DIR"] = tempfile.mkdtemp(prefix="bench_mc_")
os.environ.setdefault("BRIGHTWAY_NO_STRUCTLOG", "1")
os.environ.setdefault("TQDM_DISABLE", "1")
warnings.simplefilter("ignore")

import logging  # noqa: E402

logging.getLogger("brightway-stdout-feedback").addFilter(lambda r: r.levelno >= logging.ERROR)

import bw2calc as bc  # noqa: E402
import bw2data as bd  # noqa: E402

from bw_aicompute import uncertainty  # noqa: E402
from bw_aicompute.assessment import assess  # noqa: E402
from bw_aicompute.lca import method_for  # noqa: E402

EXAMPLE = Path(__file__).parents[1] / "examples" / "moshi_like.yaml"
INDICATORS = ["climate", "water", "adp_minerals"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=1000)
    parser.add_argument("--naive", type=int, default=100, help="iterations of the naive loop (it/s is what counts)")
    args = parser.parse_args()
    a = assess(EXAMPLE, indicators=INDICATORS)
    resolved = [method_for(i) for i in INDICATORS]

    t = time.perf_counter()
    mc = uncertainty.run(a.model, resolved, args.iterations, seed=42)
    ours = time.perf_counter() - t
    print(f"ours:  {args.iterations} iterations x 3 indicators (totals, 9 phases x 5 stages, sensitivity inputs) in {ours:.2f} s = {args.iterations / ours:.0f} it/s (target: 1000 in < 10 s)")

    t = time.perf_counter()
    cli_like = assess(EXAMPLE, indicators=INDICATORS, iterations=args.iterations, seed=42)
    print(f"whole assess(..., iterations={args.iterations}) incl. validation, writing and the deterministic solve: {time.perf_counter() - t:.2f} s")
    assert (cli_like.uncertainty.totals == mc.totals).all()

    fu = bd.get_node(database=a.model.key[0], code=a.model.key[1])
    methods = [m for _, m in resolved]
    t = time.perf_counter()
    for i in range(args.naive):
        lca = bc.LCA({fu: 1}, methods[0], use_distributions=True, seed_override=i + 1)
        lca.lci()
        lca.lcia()
        for m in methods[1:]:
            lca.switch_method(m)
            lca.lcia()
    naive = time.perf_counter() - t
    print(f"naive: {args.naive} iterations x 3 indicators (new LCA per iteration, totals only) in {naive:.2f} s = {args.naive / naive:.0f} it/s")
    print(f"ratio (ours / naive, iterations per second): {(args.iterations / ours) / (args.naive / naive):.1f} x")


if __name__ == "__main__":
    main()
