"""Benchmark: Monte Carlo and deterministic solves of campaigns, against the fair baseline.

The fair baseline is what a skilled Brightway user writes with the same libraries:
`bw2calc.LCA(demand, method, use_distributions=True)`, `lci()`, `lcia()`, then `next(lca)` per
iteration and the three indicators' characterization matrices applied to its inventory (totals
only: no parameter distributions, no phase x stage shares, no sensitivity inputs). The tool does
all of those. Tool and baseline alternate in the same process, `--repeat` times each; min and
median are printed.

1. `moshi_like` (9 phases), 1,000 iterations, 3 indicators, in-process (the tool's time includes
   loading the matrices and the formulas: `uncertainty.run`).
2. The same as whole processes: `aicompute assess ... --iterations 1000` against the baseline as
   a script (`python bench/montecarlo.py --baseline-script`), with peak memory.
3. Campaigns of 100 and 1,000 phases (moshi_like's phases repeated): iterations per second of
   tool and baseline; deterministic assess of 1,000 phases (validate, write, solve) against one
   bw2calc MultiLCA of the total and the phase x stage demands (how the tool solved it before).
4. `--phases 1000 10000`: warm deterministic assess of campaigns of N phases against one
   MultiLCA of the campaign and each phase over the written database (a skilled user's script);
   then the same with the file edited before each run (the campaign rewritten) against a
   script that writes the same datasets with bw2data's `Database.write` before its MultiLCA.
5. `--monte-carlo 10000 --iterations 1000`: Monte Carlo of a campaign of N phases, in-process,
   alternated with the fair loop, then the peak memory of each in a process of its own.

Run: python bench/montecarlo.py [--repeat 3] [--quick]    (uses a temporary Brightway data directory)
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("BRIGHTWAY2_DIR", tempfile.mkdtemp(prefix="bench_mc_"))
os.environ.setdefault("BRIGHTWAY_NO_STRUCTLOG", "1")
os.environ.setdefault("TQDM_DISABLE", "1")
warnings.simplefilter("ignore")

import logging  # noqa: E402

logging.getLogger("brightway-stdout-feedback").addFilter(lambda r: r.levelno >= logging.ERROR)

import yaml  # noqa: E402

ROOT = Path(__file__).parents[1]
EXAMPLE = ROOT / "examples" / "moshi_like.yaml"
INDICATORS = ["climate", "water", "adp_minerals"]


def baseline(fu_id: int, methods: list, iterations: int) -> float:
    """The fair baseline: one bw2calc LCA with distributions, `next(lca)` per iteration."""
    import bw2calc as bc

    t = time.perf_counter()
    lca = bc.LCA({fu_id: 1.0}, methods[0], use_distributions=True, seed_override=42)
    lca.lci()
    lca.lcia()
    chars = []
    for m in methods:
        lca.switch_method(m)
        chars.append(lca.characterization_matrix.copy())
    scores = []
    for i in range(iterations):
        if i:
            next(lca)
        scores.append([float((c @ lca.inventory).sum()) for c in chars])
    return time.perf_counter() - t


def campaign_file(phases: int, folder: Path) -> Path:
    """moshi_like with its phases repeated to `phases` phases."""
    data = yaml.safe_load(EXAMPLE.read_text())
    base = data["phases"]
    data["phases"] = [{**base[i % len(base)], "name": f"{base[i % len(base)]['name']} {i}"} for i in range(phases)]
    data["campaign"]["name"] = f"moshi-like-{phases}"
    path = folder / f"moshi_like_{phases}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def alternate(label: str, tool, base, repeat: int) -> None:
    ts, bs = [], []
    for _ in range(repeat):
        ts.append(tool())
        bs.append(base())
    print(f"{label}: tool min {min(ts):.2f} s, median {statistics.median(ts):.2f} s | baseline min {min(bs):.2f} s, median {statistics.median(bs):.2f} s | baseline / tool (min) {min(bs) / min(ts):.1f}x")


def timed(f) -> float:
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


def in_process(path: Path, iterations: int, repeat: int, label: str) -> None:
    import bw2data as bd

    from bw_aicompute import uncertainty
    from bw_aicompute.assessment import assess
    from bw_aicompute.lca import method_for

    a = assess(path, indicators=INDICATORS)
    resolved = [method_for(i) for i in INDICATORS]
    fu = bd.get_node(database=a.model.key[0], code=a.model.key[1]).id
    alternate(label, lambda: timed(lambda: uncertainty.run(a.model, resolved, iterations, seed=42)), lambda: baseline(fu, [m for _, m in resolved], iterations), repeat)


_PEAK = "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"


def process(args: list[str]) -> tuple[float, float]:
    """Wall time (s) and peak resident memory (MiB) of a whole process."""
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", _PEAK, *args], check=True, capture_output=True, text=True).stdout
    return time.perf_counter() - t, int(out.split()[-1]) / 1024


def whole_processes(repeat: int) -> None:
    tool = [sys.executable, "-m", "bw_aicompute", "assess", str(EXAMPLE), "--iterations", "1000", "--seed", "42"]
    base = [sys.executable, __file__, "--baseline-script"]
    process(tool)  # warm the file cache
    ts, bs = [], []
    for _ in range(repeat):
        ts.append(process(tool))
        bs.append(process(base))
    t, b = [w for w, _ in ts], [w for w, _ in bs]
    print(
        f"whole process, 1000 iterations of moshi_like: tool min {min(t):.2f} s, median {statistics.median(t):.2f} s, peak {max(m for _, m in ts):.0f} MiB"
        f" | baseline script min {min(b):.2f} s, median {statistics.median(b):.2f} s, peak {max(m for _, m in bs):.0f} MiB"
    )


def deterministic(path: Path, repeat: int) -> None:
    from bw_aicompute.assessment import assess
    from bw_aicompute.lca import method_for, multi_scores

    a = assess(path, indicators=INDICATORS)
    methods = [method_for(i)[1] for i in INDICATORS]

    def base() -> None:  # each assess rewrites the campaign: its node ids change
        multi_scores(_old_demands(a.model, methods[0]), methods)

    alternate(
        f"deterministic, {len(a.model.phases)} phases (tool: validate + write + solve; baseline: the phase x stage demands and one MultiLCA of them)",
        lambda: timed(lambda: assess(path, indicators=INDICATORS)),
        lambda: timed(base),
        repeat,
    )


def deterministic_by_phase(path: Path, repeat: int) -> None:
    """Warm deterministic assess against a skilled user's MultiLCA over the written database:
    the campaign and each of its phases as demands, three methods (no stages)."""
    import bw2data as bd

    from bw_aicompute.assessment import assess
    from bw_aicompute.lca import method_for, multi_scores

    a = assess(path, indicators=INDICATORS)
    methods = [method_for(i)[1] for i in INDICATORS]

    def base() -> None:  # the node ids in one query, then one MultiLCA
        from bw2data.backends import ActivityDataset as AD

        ids = dict(AD.select(AD.code, AD.id).where(AD.database == a.model.key[0]).tuples())
        multi_scores({"total": {ids[a.model.key[1]]: 1.0}, **{pm.key[1]: {ids[pm.key[1]]: 1.0} for pm in a.model.phases}}, methods)

    alternate(
        f"deterministic, warm, {len(a.model.phases)} phases (tool: read + validate + compose + solve with stages; the database unchanged is not rewritten; baseline: one MultiLCA of the campaign and each phase over the written database)",
        lambda: timed(lambda: assess(path, indicators=INDICATORS)),
        lambda: timed(base),
        repeat,
    )


def _old_demands(model, method) -> dict:
    """The total and the phase x stage demands, as the tool gave them to a MultiLCA before."""
    import bw2calc as bc
    import bw2data as bd

    from bw_aicompute.attribution import StageAttribution, stage_demands

    fu = bd.get_node(database=model.key[0], code=model.key[1])
    lca = bc.LCA({fu.id: 1.0}, method)
    lca.lci()
    row_to_id = {r: i for i, r in lca.dicts.product.items()}
    phase_ids = [bd.get_node(database=pm.key[0], code=pm.key[1]).id for pm in model.phases]
    demands = {"total": {fu.id: 1.0}}
    for i, stage, demand in stage_demands(StageAttribution.for_lca(lca, phase_ids), lca.technosphere_matrix, len(phase_ids)):
        demands[f"{i}|{stage}"] = {row_to_id[r]: a for r, a in demand.items()}
    return demands


def memory(which: str, path: str, iterations: str) -> None:
    """One Monte Carlo run of the tool or the baseline in this process (for its peak memory)."""
    import bw2data as bd

    from bw_aicompute import uncertainty
    from bw_aicompute.assessment import assess
    from bw_aicompute.lca import method_for

    bd.projects.set_current("aicompute")
    a = assess(Path(path), indicators=INDICATORS)
    resolved = [method_for(i) for i in INDICATORS]
    if which == "tool":
        uncertainty.run(a.model, resolved, int(iterations), seed=42)
    else:
        baseline(bd.get_node(database=a.model.key[0], code=a.model.key[1]).id, [m for _, m in resolved], int(iterations))


def edited(path: Path, repeat: int) -> None:
    """Deterministic assess of an edited file (the campaign rewritten: read, validate, compose,
    write with bulk inserts, solve with stages) against a skilled user's script that writes the
    same datasets with bw2data's `Database.write` and runs one MultiLCA of the campaign and each
    phase over them."""
    import bw2data as bd

    from bw_aicompute.assessment import assess
    from bw_aicompute.lca import method_for, multi_scores

    a = assess(path, indicators=INDICATORS)
    db, methods, text = a.model.key[0], [method_for(i)[1] for i in INDICATORS], path.read_text()
    data, edits = bd.Database(db).load(), iter(range(10**6))
    assert "hours: 700\n" in text

    def tool() -> None:
        path.write_text(text.replace("hours: 700\n", f"hours: {701 + next(edits) % 2}\n", 1))
        assess(path, indicators=INDICATORS)

    def base() -> None:
        from bw2data.backends import ActivityDataset as AD

        bd.Database(db).write(data)
        ids = dict(AD.select(AD.code, AD.id).where(AD.database == db).tuples())
        multi_scores({"total": {ids[a.model.key[1]]: 1.0}, **{pm.key[1]: {ids[pm.key[1]]: 1.0} for pm in a.model.phases}}, methods)

    alternate(
        f"deterministic, edited file, {len(a.model.phases)} phases (tool: read + validate + compose + rewrite + solve with stages; baseline: bw2data's Database.write of the same datasets, then one MultiLCA of the campaign and each phase)",
        lambda: timed(tool),
        lambda: timed(base),
        repeat,
    )
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="skip the whole-process and 1,000-phase runs")
    parser.add_argument("--phases", type=int, nargs="*", metavar="N", help="only the warm deterministic assess of campaigns of N phases (e.g. 1000 10000)")
    parser.add_argument("--monte-carlo", type=int, metavar="N", help="only Monte Carlo of a campaign of N phases (e.g. 10000)")
    parser.add_argument("--iterations", type=int, default=1000)
    parser.add_argument("--memory", nargs=3, metavar=("WHICH", "FILE", "ITERATIONS"), help=argparse.SUPPRESS)
    parser.add_argument("--baseline-script", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline_script:  # the baseline as a user's script: project open, 1,000 iterations
        import bw2data as bd

        from bw_aicompute.lca import method_for

        bd.projects.set_current("aicompute")
        node = bd.get_node(database="aicompute-campaign-moshi-like", code="campaign")
        baseline(node.id, [method_for(i)[1] for i in INDICATORS], 1000)
        return
    if args.memory:
        return memory(*args.memory)
    from bw_aicompute import setup_project

    setup_project()
    folder = Path(tempfile.mkdtemp(prefix="bench_mc_campaigns_"))
    if args.monte_carlo:
        path = campaign_file(args.monte_carlo, folder)
        in_process(path, args.iterations, args.repeat, f"{args.iterations} iterations, {args.monte_carlo}-phase campaign, 3 indicators, in-process")
        for which in ("tool", "baseline"):
            _, peak = process([sys.executable, __file__, "--memory", which, str(path), str(args.iterations)])
            print(f"peak memory, {which} in a process of its own (imports, project, campaign read and solved once, then the Monte Carlo): {peak:.0f} MiB")
        return
    if args.phases:
        for n in args.phases:
            deterministic_by_phase(campaign_file(n, folder), args.repeat)
            edited(campaign_file(n, folder), args.repeat)
        return
    in_process(EXAMPLE, 1000, args.repeat, "1000 iterations of moshi_like, 3 indicators, in-process")
    if not args.quick:
        whole_processes(args.repeat)
    in_process(campaign_file(100, folder), 100, args.repeat, "100 iterations, 100-phase campaign")
    if not args.quick:
        in_process(campaign_file(1000, folder), 1000, args.repeat, "1000 iterations, 1000-phase campaign")
        deterministic(campaign_file(1000, folder), args.repeat)


if __name__ == "__main__":
    main()
