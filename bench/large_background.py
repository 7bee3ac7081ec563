"""A generated background database of ecoinvent's size and structure, for benchmarks and tests
(never ecoinvent data), and the benchmark of Monte Carlo and of the commands on it.

`build(n_activities)` writes it into the current Brightway project. Structure (what makes an LCA
matrix factorise like ecoinvent's, unlike a random one, whose fill-in is 30x to 400x):

* clusters of 40 activities (a product group in a region), linked in a supply tree: a cluster
  is supplied by the clusters whose parent it is (a random recursive tree), through their
  market (last activity);
* each activity draws 8 to 28 suppliers: 70 % from the activities before it in its cluster, 5 %
  from the markets of its supplying clusters, the rest from 0.2 % of the activities that are
  hubs consumed everywhere (electricity, transport, heat) with Zipf popularity; hubs consume
  their own cluster, which closes loops: a large strongly connected background, as in ecoinvent
  (Kuczenski 2016, Int J LCA 21, "Partial ordering of life cycle inventory databases");
* inputs per unit of output sum to 0.2-0.6 (a productive economy);
* 15 to 35 biosphere exchanges per activity on 2,000 flows of the project's biosphere, the
  characterised ones of the climate, water and ADP indicators first;
* a lognormal distribution (geometric SD 1.05 to 1.5) on 90 % of the exchanges;
* the activities of a mapping file of `link-ecoinvent` (`inventories/ecoinvent/`) as the markets
  of the most downstream clusters, under their exact names, so that `aicompute link-ecoinvent
  --database NAME --version 3.10` links the open foreground to it as to a licensed ecoinvent.

At 20,000 activities: about 250,000 technosphere and 500,000 biosphere exchanges; SuperLU
fills its technosphere matrix 18x with its default ordering (0.3-0.8 s per LU), PARDISO
factorises it in 0.1 s: the 0.2-1 s of an ecoinvent release.

Run: python bench/large_background.py [--activities 500 2000 20000] [--iterations N]
[--process-iterations 1000] [--repeat 3]. For each size, in a fresh temporary data directory:
build, link moshi_like to it, check the refined solves against one LU per iteration, time
Monte Carlo iterations of the tool and of the fair baseline (bw2calc `use_distributions=True`
+ `next(lca)`, bench/montecarlo.py, with pypardiso when installed) alternated in one process,
min and median of `--repeat` runs; then whole processes with peak memory, the same numbers in 1
and 2 processes, and the warm deterministic commands (assess, sweep of 100 variants, compare,
setup).
"""

from __future__ import annotations

import argparse
import contextlib
import io
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


def _inputs(rng, n: int, cluster: int, hubs: np.ndarray, hub_p: np.ndarray, children: list[list[int]]) -> list[set[int]]:
    """The suppliers of each activity: 8 to 28 draws, 70 % from the activities before it in its
    own cluster, 5 % from the market (last activity) of one of the clusters supplying its
    cluster, the rest from the hubs (by their popularity)."""
    out = []
    for i in range(n):
        c0, ch = (i // cluster) * cluster, children[i // cluster]
        ins: set[int] = set()
        for u in rng.random(int(rng.integers(8, 29))):
            if u < 0.05 and ch:
                ins.add(min(n - 1, int(ch[rng.integers(len(ch))]) * cluster + cluster - 1))
            elif u < 0.75 and i > c0:
                ins.add(int(rng.integers(c0, i)))
            else:
                ins.add(int(hubs[np.searchsorted(hub_p, rng.random())]))
        ins.discard(i)
        out.append(ins)
    return out


def structure(n: int, rng, cluster: int = 40, hub_share: float = 0.002) -> list[set[int]]:
    """Suppliers of each of `n` activities in ecoinvent's shape (see the module docstring):
    clusters of `cluster` activities in a supply tree (a random recursive tree: cluster c is
    supplied by the clusters whose parent it is), and `hub_share` of the activities as hubs
    consumed across clusters with Zipf popularity (exponent 1)."""
    clusters = (n + cluster - 1) // cluster
    children: list[list[int]] = [[] for _ in range(clusters)]
    for c in range(1, clusters):
        children[int(rng.integers(0, c))].append(c)
    hubs = rng.choice(n, size=max(1, int(n * hub_share)), replace=False)
    hub_p = np.cumsum(1.0 / np.arange(1, len(hubs) + 1))
    return _inputs(rng, n, cluster, hubs, hub_p / hub_p[-1], children)


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
    mapped = list({tuple(m["provider"][k] for k in ("name", "reference product", "location", "unit")): 0 for m in load_mapping(version).entries})
    suppliers = structure(n, rng)
    # the markets (last activities) of the most downstream clusters, then the ones before them
    spots = [i for last in (39, 38, 37) for i in range(last, n, 40)]
    where = dict(zip(spots, mapped))
    data = {}
    n_tech = n_bio = 0
    for i, inputs in enumerate(suppliers):
        key = (name, f"a{i}")
        act_name, product, location, unit = where.get(i, (f"synthetic activity {i}", f"product {i}", "GLO", "kilogram"))
        excs = [{"input": key, "amount": 1.0, "type": "production"}]
        shares = rng.dirichlet(np.ones(len(inputs))) * rng.uniform(0.2, 0.6) if inputs else []
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


def _median(xs: list[float]) -> str:
    return f"min {min(xs):.4g} / median {statistics.median(xs):.4g}"


def _process(args: list[str]) -> tuple[float, float]:
    """Wall time (s) and peak resident memory (MiB) of a whole process (bench/montecarlo.py)."""
    from montecarlo import process

    return process(args)


def accuracy(model, resolved, iterations: int = 25) -> tuple[float, list[int]]:
    """Largest relative difference of the totals refined from one LU against one direct LU per
    iteration, on the same samples, and the refinement steps of each block."""
    from bw_aicompute import solver, uncertainty

    plan = uncertainty.prepare(model, resolved)
    samples = uncertainty.draw(plan, iterations, np.random.default_rng(11))
    refined, _ = uncertainty.scores(plan, samples)
    solver.REFINE = False
    try:
        direct, _ = uncertainty.scores(plan, samples)
    finally:
        solver.REFINE = True
    return float(np.max(np.abs(refined - direct) / np.abs(direct))), plan.system.steps


def monte_carlo(model, fu: int, resolved, iterations: int, repeat: int) -> tuple[list[float], list[float], list[float]]:
    """Seconds per iteration of the tool (`uncertainty.run`, loading included) and of the fair
    baseline (bench/montecarlo.py), alternated in this process, `repeat` times each; and the
    tool's cost of one more iteration: a run of 2 x `iterations` less one of `iterations`, over
    `iterations` (what the ideal is compared with: its preparation and factorisation are not
    timed)."""
    from montecarlo import baseline

    from bw_aicompute import uncertainty

    tool, base, more = [], [], []
    for _ in range(repeat):
        t = time.perf_counter()
        uncertainty.run(model, resolved, iterations, seed=1)
        tool.append((time.perf_counter() - t) / iterations)
        base.append(baseline(fu, [m for _, m in resolved], iterations) / iterations)
        t = time.perf_counter()
        uncertainty.run(model, resolved, 2 * iterations, seed=1)
        more.append((time.perf_counter() - t) / iterations - tool[-1])
    return tool, base, more


def ideal(model, resolved, iterations: int, repeat: int) -> list[float]:
    """Seconds per iteration of the ideal of issue 41: the factorisation reused (not timed),
    and per iteration the draws (the tool's: exchanges, parameters, formulas) and one solve of
    the static factors with the iteration's right-hand sides; no refinement, no shares."""
    from bw_aicompute import solver, uncertainty

    plan = uncertainty.prepare(model, resolved)
    uncertainty.scores(plan, uncertainty.draw(plan, 1, np.random.default_rng(0)))  # factorises once
    system, out = plan.system, []
    if system.lu is None:  # a core small enough for the batched dense solve: no factors to reuse
        return out
    for k in range(repeat):
        rng, t = np.random.default_rng(k), time.perf_counter()
        for lo in range(0, iterations, plan.block):
            samples = uncertainty.draw(plan, min(plan.block, iterations - lo), rng)
            rhs = solver._core_rhs(system, samples.bio, samples.inputs.shape[0])
            system.lu.solve(rhs.transpose(1, 0, 2).reshape(rhs.shape[1], -1))
        out.append((time.perf_counter() - t) / iterations)
    return out


def same_draws(model, resolved, campaign: Path) -> bool:
    """The totals of 300 iterations in this process equal those of 2 worker processes."""
    import bw2data as bd

    from bw_aicompute import uncertainty

    one = uncertainty.run(model, resolved, 300, seed=3)
    two = uncertainty.run_parallel(bd.projects.current, str(campaign), resolved, 300, 3, 2, background="ecoinvent")
    return bool(np.array_equal(one.totals, two.totals))


def commands(folder: Path, repeat: int) -> dict[str, list[float]]:
    """Whole-process seconds of the deterministic commands at this scale, warm."""
    aic = [sys.executable, "-m", "bw_aicompute"]
    eco = ["--background", "ecoinvent"]
    b = folder / "b.yaml"
    b.write_text((ROOT / "examples" / "moshi_like.yaml").read_text().replace("name: moshi-like", "name: moshi-like-b").replace("country: FR", "country: DE"))
    runs = {
        "assess": [*aic, "assess", str(ROOT / "examples" / "moshi_like.yaml"), *eco],
        "sweep, 100 variants": [*aic, "sweep", str(ROOT / "examples" / "moshi_like.yaml"), "--vary", "site.country=FR,DE,US,SE,PL,NO,CN,IN,JP,BR", "--vary", "site.pue=1.1,1.15,1.2,1.25,1.3,1.35,1.4,1.45,1.5,1.55", *eco],
        "compare, 2 campaigns": [*aic, "compare", str(ROOT / "examples" / "moshi_like.yaml"), str(b), *eco],
        "setup (again, ecoinvent-sized database present)": [*aic, "setup"],
    }
    out = {}
    for label, args in runs.items():
        _process(args)  # warm
        out[label] = [_process(args)[0] for _ in range(repeat)]
    return out


def bench(n: int, iterations: int, process_iterations: int, repeat: int) -> None:
    """Build an n-activity background in a fresh data directory and time everything on it."""
    folder = Path(tempfile.mkdtemp(prefix=f"bench_large_{n}_"))
    os.environ["BRIGHTWAY2_DIR"] = str(folder / "bw")
    (folder / "bw").mkdir()
    import bw2data as bd

    from bw_aicompute import setup_project
    from bw_aicompute.assessment import assess, resolve_all
    from bw_aicompute.cli import main as cli
    from bw_aicompute.lca import node_ids

    bd.projects.change_base_directories(folder / "bw", project_name="default")  # made here: two workers
    setup_project("aicompute")  # importing bw2data at once in a directory without it race to make it
    bd.projects.set_current("aicompute")
    info = build(n)
    nnz, lu = fill_in()
    t = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        assert cli(["link-ecoinvent", "--database", NAME, "--version", "3.10"]) == 0
    linked = time.perf_counter() - t
    print(f"\n== {n:,} activities: {info['technosphere']:,} technosphere and {info['biosphere']:,} biosphere exchanges, built in {info['seconds']:.1f} s; SuperLU fill-in {lu / nnz:.1f}x; link-ecoinvent {linked:.2f} s")
    resolved = resolve_all(["climate", "water", "adp_minerals"], [])
    campaign = ROOT / "examples" / "moshi_like.yaml"
    a = assess(campaign, indicators=[lab for lab, _ in resolved], background="ecoinvent")
    fu = node_ids([a.model.key])[a.model.key]
    error, steps = accuracy(a.model, resolved)
    print(f"supply chain {len(a.model.phases)} phases over {n:,} activities; refined vs direct LU, 25 iterations: max relative difference of totals {error:.1e}, steps per block {steps}")
    iterations = iterations or (1000 if n <= 2000 else 250)
    tool, base, more = monte_carlo(a.model, fu, resolved, iterations, repeat)
    print(f"Monte Carlo in-process, {iterations} iterations x {repeat}, s per iteration: tool {_median(tool)} | baseline {_median(base)} | baseline / tool (medians) {statistics.median(base) / statistics.median(tool):.1f}x")
    best = ideal(a.model, resolved, iterations, repeat)
    if best:
        print(f"ideal (draws + one solve of the static factors per iteration), s per iteration: {_median(best)} | tool / ideal (medians) {statistics.median(tool) / statistics.median(best):.1f}x")
        print(f"tool, one more iteration (runs of {2 * iterations} less {iterations}): {_median(more)} | / ideal (medians) {statistics.median(more) / statistics.median(best):.1f}x")
    print(f"same totals in 1 and 2 processes: {same_draws(a.model, resolved, campaign)}")
    eco = ["--background", "ecoinvent"]
    tool_p = _process([sys.executable, "-m", "bw_aicompute", "assess", str(campaign), "--iterations", str(process_iterations), *eco])
    base_p = _process([sys.executable, __file__, "--baseline-script", str(folder / "bw"), *a.model.key, str(process_iterations)])  # the tool's run rewrote the campaign: by key
    print(f"whole process, {process_iterations} iterations: tool {tool_p[0]:.1f} s, peak {tool_p[1]:.0f} MiB | baseline script {base_p[0]:.1f} s, peak {base_p[1]:.0f} MiB | {base_p[0] / tool_p[0]:.1f}x")
    for label, times in commands(folder, repeat).items():
        print(f"{label}: {_median(times)} s (whole process, warm)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--activities", type=int, nargs="+", default=[500, 2000, 20000])
    parser.add_argument("--iterations", type=int, default=0, help="in-process Monte Carlo iterations per run (default 1,000; 250 above 2,000 activities)")
    parser.add_argument("--process-iterations", type=int, default=1000, help="iterations of the whole-process runs")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline-script", nargs=4, metavar=("DATA_DIR", "DATABASE", "CODE", "ITERATIONS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("TQDM_DISABLE", "1")
    if args.baseline_script:  # the fair baseline as a user's script, project open
        os.environ["BRIGHTWAY2_DIR"] = args.baseline_script[0]
        import bw2data as bd
        from montecarlo import baseline

        from bw_aicompute.assessment import resolve_all

        bd.projects.set_current("aicompute")
        node = bd.get_node(database=args.baseline_script[1], code=args.baseline_script[2])
        baseline(node.id, [m for _, m in resolve_all(["climate", "water", "adp_minerals"], [])], int(args.baseline_script[3]))
        return
    for n in args.activities:
        bench(n, args.iterations, args.process_iterations, args.repeat)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    sys.path.insert(0, str(Path(__file__).parent))
    main()
