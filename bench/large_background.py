"""A generated background database of ecoinvent's size and structure, for benchmarks and tests
(never ecoinvent data): `build(n_activities)` writes it into the current Brightway project.

Structure (what makes an LCA matrix factorise like ecoinvent's, unlike a random one):

* activities in topological order (upstream first), grouped in sectors; each consumes 4 to 12
  inputs, mostly from the sectors just upstream of its own (a banded, block-triangular matrix);
  2 % of them also take an input from a few activities downstream, which makes a few strongly
  connected cycles (the electricity-coal-steel loops of a real background);
* inputs per unit of output sum to at most 0.6 (a productive economy: the matrix is diagonally
  dominant, the Leontief series converges);
* about 25 biosphere exchanges per activity on `flows` elementary flows of the project's
  biosphere, the characterised ones of the climate, water and ADP indicators first;
* a lognormal distribution (geometric SD 1.05 to 1.5) on 90 % of the exchanges;
* the activities of a mapping file of `link-ecoinvent` (`inventories/ecoinvent/`) among the
  most downstream ones, under their exact names, so that `aicompute link-ecoinvent --database
  NAME --version 3.10` links the open foreground to it as to a licensed ecoinvent.

STATE (issue 26, started, not done): at 2,000 activities SuperLU fills 246,121 non-zeros for
18,077 in A (13.6x); at 20,000 (165,828 technosphere, 498,865 biosphere exchanges, built in 34 s)
26.7 M for 185,828 (143x, 54 s). The fill-in is SuperLU's COLAMD ordering, not the structure:
in its natural (topological) order the same matrix factorises with 1.1x fill in 0.11 s at 20,000
(1.2x, 0.002 s at 2,000), and MMD_AT_PLUS_A fills like COLAMD (137x). ecoinvent factorises in
0.2-1 s with COLAMD, so the generated matrix is harder than ecoinvent for that ordering: its
per-iteration times are not yet those of an ecoinvent-sized background. First measure at 2,000: tool 0.051 / 0.051 s per iteration vs fair baseline (the
loop of bench/montecarlo.py) 0.066 / 0.067 s (1.3x; 10 iterations, 3 runs).

Run: python bench/large_background.py [--activities 20000] [--iterations 20] [--repeat 3]
builds it in a temporary data directory, links moshi_like to it, and times Monte Carlo
iterations of the tool and of the fair baseline (bw2calc `use_distributions=True` + `next(lca)`),
alternated, min and median of `--repeat` runs.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).parents[1]
NAME = "synthetic-ecoinvent-3.10"


def _flows(bd, biosphere: str, count: int) -> list[tuple[str, str]]:
    """`count` flows of the biosphere, the characterised ones of the default indicators first."""
    from bw_aicompute.methods import resolve_indicator

    first: list = []
    for ind in ("climate", "water", "adp_minerals", "water_consumption"):
        first += [k for k, _ in bd.Method(resolve_indicator(ind).method).load()]
    keys = [bd.get_node(id=k).key if isinstance(k, int) else tuple(k) for k in dict.fromkeys(first)]
    rest = [f.key for f in bd.Database(biosphere) if f.key not in set(keys)]
    return (keys + rest)[:count]


def _lognormal(rng, amount: float) -> dict:
    if rng.random() > 0.9:
        return {"uncertainty type": 0}
    return {"uncertainty type": 2, "loc": math.log(abs(amount)), "scale": math.log(rng.uniform(1.05, 1.5)), "negative": amount < 0}


def build(n: int = 2000, name: str = NAME, seed: int = 0, flows: int = 2000, version: str = "3.10") -> dict:
    """Write the generated database `name` (n activities) into the current project.

    Returns
    -------
    dict
        activities, technosphere and biosphere exchanges, mapped activities, seconds.
    """
    import bw2data as bd

    from bw_aicompute.ecoinvent import load_mapping
    from bw_aicompute.project import find_biosphere

    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    bio = _flows(bd, find_biosphere(bd), flows)
    mapped = list({tuple(m["ecoinvent"][k] for k in ("name", "reference product", "location", "unit")): 0 for m in load_mapping(version)[0]})
    sector = max(20, n // 50)
    data = {}
    n_tech = n_bio = 0
    for i in range(n):
        key = (name, f"a{i}")
        if i >= n - len(mapped):
            act_name, product, location, unit = mapped[i - (n - len(mapped))]
        else:
            act_name, product, location, unit = f"synthetic activity {i}", f"product {i}", "GLO", "kilogram"
        excs = [{"input": key, "amount": 1.0, "type": "production"}]
        if i:
            lo = max(0, i - 3 * sector)
            k = int(rng.integers(4, 13))
            inputs = set(rng.integers(lo, i, size=k).tolist()) | ({int(rng.integers(0, i))} if rng.random() < 0.3 else set())
            if rng.random() < 0.02:  # a loop: an input from just downstream
                inputs.add(int(min(n - 1, i + rng.integers(1, 50))))
            inputs.discard(i)
            shares = rng.dirichlet(np.ones(len(inputs))) * rng.uniform(0.2, 0.6)
            for j, a in zip(sorted(inputs), shares):
                excs.append({"input": (name, f"a{j}"), "amount": float(a), "type": "technosphere", **_lognormal(rng, float(a))})
                n_tech += 1
        for f in rng.choice(len(bio), size=int(rng.integers(15, 36)), replace=False):
            a = float(rng.lognormal(-6, 2))
            excs.append({"input": bio[int(f)], "amount": a, "type": "biosphere", **_lognormal(rng, a)})
            n_bio += 1
        data[key] = {"name": act_name, "reference product": product, "location": location, "unit": unit, "type": "process", "exchanges": excs}
    if name in bd.databases:
        del bd.databases[name]
    bd.Database(name).write(data)
    return {"activities": n, "technosphere": n_tech, "biosphere": n_bio, "mapped": len(mapped), "seconds": time.perf_counter() - t0}


def fill_in(name: str = NAME) -> tuple[int, int]:
    """(non-zeros of the technosphere matrix, of its SuperLU factors L + U)."""
    import bw2calc as bc
    import bw2data as bd
    from scipy.sparse.linalg import splu

    node = next(iter(bd.Database(name)))
    lca = bc.LCA({node: 1})
    lca.lci()
    lu = splu(lca.technosphere_matrix.tocsc())
    return lca.technosphere_matrix.nnz, lu.L.nnz + lu.U.nnz


def _time_iterations(fu_id: int, methods: list, model, resolved, iterations: int) -> tuple[float, float]:
    """(seconds per iteration of the tool, of the fair baseline of bench/montecarlo.py)."""
    from montecarlo import baseline

    from bw_aicompute import uncertainty

    t = time.perf_counter()
    uncertainty.run(model, resolved, iterations, seed=1)
    tool = (time.perf_counter() - t) / iterations
    return tool, baseline(fu_id, methods, iterations) / iterations


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--activities", type=int, default=2000)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("BRIGHTWAY2_DIR", tempfile.mkdtemp(prefix="bench_large_"))
    os.environ.setdefault("TQDM_DISABLE", "1")
    import bw2data as bd

    from bw_aicompute import setup_project
    from bw_aicompute.assessment import assess, resolve_all
    from bw_aicompute.cli import main as cli
    from bw_aicompute.lca import node_ids

    setup_project("aicompute")
    bd.projects.set_current("aicompute")
    info = build(args.activities)
    nnz, lu = fill_in()
    print(f"generated {info['activities']:,} activities, {info['technosphere']:,} technosphere and {info['biosphere']:,} biosphere exchanges in {info['seconds']:.1f} s; SuperLU fill-in {lu:,} non-zeros for {nnz:,} in A ({lu / nnz:.1f}x)")
    assert cli(["link-ecoinvent", "--database", NAME, "--version", "3.10"]) == 0
    resolved = resolve_all(["climate", "water", "adp_minerals"], [])
    a = assess(ROOT / "examples" / "moshi_like.yaml", indicators=["climate", "water", "adp_minerals"], background="ecoinvent")
    fu = node_ids([a.model.key])[a.model.key]
    tool, base = [], []
    for _ in range(args.repeat):
        t, b = _time_iterations(fu, [m for _, m in resolved], a.model, resolved, args.iterations)
        tool.append(t), base.append(b)
    print(f"Monte Carlo per iteration, moshi_like on it, 3 indicators ({args.iterations} iterations, {args.repeat} runs, alternated):")
    print(f"  tool      min {min(tool):.4f} s  median {statistics.median(tool):.4f} s")
    print(f"  baseline  min {min(base):.4f} s  median {statistics.median(base):.4f} s  ({statistics.median(base) / statistics.median(tool):.1f}x)")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    sys.path.insert(0, str(Path(__file__).parent))
    main()
