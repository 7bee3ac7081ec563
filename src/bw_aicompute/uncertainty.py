"""Monte Carlo over exchange distributions and parameter distributions, with global sensitivity.

bw2calc's Monte Carlo samples the distributions of exchanges (and characterization factors) but
not those of parameters: formula-driven exchanges keep their static values. Here, each iteration

1. takes bw2calc's sampled technosphere and biosphere matrices (exchange distributions: grid
   intensity, HBM per GB, fab gases, DRAM and SSD per GB...);
2. samples every uncertain parameter of the foreground (PUE, WUE, lifetime, utilisation, load
   factor, node overhead, fab water share, switch ASIC area...), re-evaluates the parameters
   that are formulas of them (effective die areas...) and every formula of an exchange (in the
   foreground and in the campaign), and puts the new amounts into the matrices;
3. solves the campaign and each (phase, life-cycle stage) share of it with one LU
   factorisation, on every indicator.

Iterations can be split into chunks with independent seeds (`numpy.random.SeedSequence.spawn`)
and run in separate processes (`run_chunk`), then combined (`combine`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import distributions
from .attribution import StageAttribution, clean_roundoff, stage_demands
from .campaign import STAGES, CampaignModel, open_campaign, read_campaign
from .ecoinvent import foreground_for
from .errors import AicomputeError
from .inventory.formulas import FormulaEvaluator, evaluate_parameters, formula_names
from .lca import method_for

PERCENTILES = (2.5, 25.0, 50.0, 75.0, 97.5)
_KEYS = ("p2_5", "p25", "p50", "p75", "p97_5")


@dataclass
class MonteCarlo:
    """Monte Carlo results of a campaign.

    Attributes
    ----------
    labels, units : list of str
        Indicators and their units.
    iterations, seed : int
    totals : ndarray
        (iterations, indicators) scores of the campaign.
    rows : list of (phase, stage)
    breakdown : ndarray
        (iterations, rows, indicators) scores of each phase x stage share.
    input_names : list of str
        The sampled inputs: parameters (`parameter <name>`) and uncertain exchanges.
    inputs : ndarray
        (iterations, inputs) their sampled values.
    chunks : list of (chunk, chunks)
        The chunks combined into these results.
    """
    labels: list[str]  # indicators
    units: list[str]
    iterations: int
    seed: int
    totals: np.ndarray  # (iterations, indicators)
    rows: list[tuple[str, str]]  # (phase, stage)
    breakdown: np.ndarray  # (iterations, rows, indicators)
    input_names: list[str]
    inputs: np.ndarray  # (iterations, inputs)
    chunks: list[tuple[int, int]] = field(default_factory=list)  # (chunk, of chunks) combined

    def stats(self, values: np.ndarray) -> dict[str, float]:
        """Mean, sample standard deviation and the 2.5/25/50/75/97.5 percentiles of `values`."""
        p = np.percentile(values, PERCENTILES)
        return {"mean": float(values.mean()), "sd": float(values.std(ddof=1)) if len(values) > 1 else 0.0, **{k: float(v) for k, v in zip(_KEYS, p)}}

    def totals_table(self) -> pd.DataFrame:
        """Statistics of each indicator's total."""
        return pd.DataFrame([{"indicator": lab, "unit": u, **self.stats(self.totals[:, j])} for j, (lab, u) in enumerate(zip(self.labels, self.units))])

    def breakdown_table(self) -> pd.DataFrame:
        """Statistics of each phase x stage share, per indicator."""
        out = []
        for r, (phase, stage) in enumerate(self.rows):
            for j, (lab, u) in enumerate(zip(self.labels, self.units)):
                out.append({"phase": phase, "stage": stage, "indicator": lab, "unit": u, **self.stats(self.breakdown[:, r, j])})
        return pd.DataFrame(out)

    def group_table(self, by: str) -> pd.DataFrame:
        """Statistics of the sums by phase or by stage."""
        index = 0 if by == "phase" else 1
        keys = list(dict.fromkeys(r[index] for r in self.rows))
        out = []
        for key in keys:
            sel = [i for i, r in enumerate(self.rows) if r[index] == key]
            for j, (lab, u) in enumerate(zip(self.labels, self.units)):
                out.append({by: key, "indicator": lab, "unit": u, **self.stats(self.breakdown[:, sel, j].sum(axis=1))})
        return pd.DataFrame(out)

    def sensitivity(self, top: int = 10) -> pd.DataFrame:
        """Spearman rank correlation of each sampled input with each indicator's total, and its
        share of the explained variance (rho^2 normalised), largest first."""
        from scipy.stats import rankdata

        if self.iterations < 3 or not self.input_names:
            return pd.DataFrame(columns=["indicator", "input", "spearman", "variance_share"])
        varying = self.inputs.std(axis=0) > 0
        names = [n for n, v in zip(self.input_names, varying) if v]
        X = rankdata(self.inputs[:, varying], axis=0)
        X = (X - X.mean(axis=0)) / X.std(axis=0)
        out = []
        for j, lab in enumerate(self.labels):
            y = rankdata(self.totals[:, j])
            if y.std() == 0:
                continue
            y = (y - y.mean()) / y.std()
            rho = X.T @ y / len(y)
            r2 = rho**2
            order = np.argsort(-np.abs(rho))[:top]
            for k in order:
                out.append({"indicator": lab, "input": names[k], "spearman": float(rho[k]), "variance_share": float(r2[k] / r2.sum()) if r2.sum() else 0.0})
        return pd.DataFrame(out)

    def to_dict(self) -> dict:
        """The results as the `uncertainty` object of the JSON output."""
        return {
            "iterations": self.iterations,
            "seed": self.seed,
            "percentiles": list(PERCENTILES),
            "totals": {r.indicator: {k: getattr(r, k) for k in ("unit", "mean", "sd", *_KEYS)} for r in self.totals_table().itertuples()},
            "rows": self.breakdown_table().to_dict(orient="records"),
            "sensitivity": self.sensitivity().to_dict(orient="records"),
        }


def _sample_parameters(foreground: str, n: int, rng: np.random.Generator) -> tuple[dict[str, np.ndarray | float], list[str]]:
    """Static values of every parameter of `foreground`, sampled arrays for the uncertain ones
    and for the formulas that depend on them (evaluated in dependency order)."""
    from bw2data.parameters import DatabaseParameter

    values: dict[str, np.ndarray | float] = {}
    sampled, formulas = [], {}
    for p in DatabaseParameter.select().where(DatabaseParameter.database == foreground):
        if p.formula:
            formulas[p.name] = p.formula
            values[p.name] = p.amount
            continue
        draws = distributions.sample(p.data or {}, p.amount, n, rng)
        values[p.name] = p.amount if draws is None else draws
        if draws is not None:
            sampled.append(p.name)
    evaluate_parameters(values, formulas, foreground)
    return values, sampled


def _node_index(databases: set[str]) -> dict[tuple[str, str], tuple[int, str, str]]:
    """(database, code) -> (id, name, location) of every node of `databases`, in one query."""
    from bw2data.backends import ActivityDataset as AD

    query = AD.select(AD.id, AD.database, AD.code, AD.name, AD.location).where(AD.database.in_(sorted(databases)))
    return {(db, code): (id_, name, location) for id_, db, code, name, location in query.tuples()}


def _solver(model: CampaignModel, methods: list[tuple], seed: int):
    """A bw2calc LCA of the campaign with distributions, after `lci()`, and the
    characterization factors of every method as rows of one array (methods x flows)."""
    import bw2calc as bc
    import bw2data as bd

    fu = bd.get_node(database=model.key[0], code=model.key[1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lca = bc.LCA({fu.id: 1.0}, methods[0], use_distributions=True, seed_override=seed)
        lca.lci()
        chars = []
        for m in methods:
            lca.switch_method(m)
            chars.append(np.asarray(lca.characterization_matrix.diagonal()).ravel())
        lca.switch_method(methods[0])
    return lca, fu.id, np.vstack(chars)


def supply_chain(lca, fu_id: int) -> set[int]:
    """Node ids of the activities reachable from `fu_id` through the technosphere matrix."""
    act, prod = lca.dicts.activity, lca.dicts.product
    A = lca.technosphere_matrix.tocsc()
    row_to_col = {r: act[i] for i, r in prod.items() if i in act}
    seen, stack = {act[fu_id]}, [act[fu_id]]
    while stack:
        j = stack.pop()
        for r in A.indices[A.indptr[j] : A.indptr[j + 1]]:
            k = row_to_col.get(r)
            if k is not None and k not in seen:
                seen.add(k)
                stack.append(k)
    col_to_id = {c: i for i, c in act.items()}
    return {col_to_id[c] for c in seen}


@dataclass
class _Deltas:
    """Changes of matrix entries per iteration: rows, columns and (entries x iterations)."""

    rows: list[int] = field(default_factory=list)
    cols: list[int] = field(default_factory=list)
    delta: list[np.ndarray] = field(default_factory=list)

    def array(self, iterations: int) -> np.ndarray:
        return np.array(self.delta).reshape(len(self.rows), iterations)


def _formula_deltas(model: CampaignModel, lca, values: dict, nodes: dict, active: set[int], iterations: int) -> tuple[_Deltas, _Deltas, set[str]]:
    """Re-evaluate every exchange formula of the foreground and the campaign with the sampled
    parameters: technosphere and biosphere changes, and the names used in the supply chain."""
    from bw2data.backends import ExchangeDataset as ED

    prod, act, bio = lca.dicts.product, lca.dicts.activity, lca.dicts.biosphere
    evaluate = FormulaEvaluator(values)
    used: set[str] = set()
    tech, biosphere = _Deltas(), _Deltas()
    for database in (model.foreground, model.database):
        query = ED.select(ED.input_database, ED.input_code, ED.output_code, ED.type, ED.data).where(ED.output_database == database)
        for in_db, in_code, out_code, kind, data in query.tuples():
            formula = data.get("formula")
            out_id, in_id = nodes.get((database, out_code), (None,))[0], nodes.get((in_db, in_code), (None,))[0]
            if not formula or act.get(out_id) is None or in_id is None:
                continue
            if out_id in active:
                used |= formula_names(formula)
            delta = np.broadcast_to(np.asarray(evaluate(formula), dtype=float), (iterations,)) - float(data["amount"])
            if not np.any(delta):
                continue
            if kind == "technosphere" and in_id in prod:
                tech.rows.append(prod[in_id]), tech.cols.append(act[out_id]), tech.delta.append(-delta)
            elif kind == "biosphere" and in_id in bio:
                biosphere.rows.append(bio[in_id]), biosphere.cols.append(act[out_id]), biosphere.delta.append(delta)
    return tech, biosphere, used


def _reaching(foreground: str, used: set[str]) -> set[str]:
    """`used` and the parameters their parameter formulas depend on, transitively."""
    from bw2data.parameters import DatabaseParameter

    formulas = {p.name: p.formula for p in DatabaseParameter.select().where(DatabaseParameter.database == foreground) if p.formula}
    used, frontier = set(used), set(used)
    while frontier:
        name = frontier.pop()
        for dep in formula_names(formulas.get(name, "")) - used:
            used.add(dep)
            frontier.add(dep)
    return used


def _watched(model: CampaignModel, lca, nodes: dict, active: set[int]) -> tuple[list[tuple[int, int]], list[str]]:
    """Uncertain biosphere exchanges of the supply chain, recorded as sensitivity inputs:
    (biosphere row, column) and their names."""
    from bw2data.backends import ExchangeDataset as ED

    act, bio = lca.dicts.activity, lca.dicts.biosphere
    names_of = {v[0]: (v[1], v[2]) for v in nodes.values()}
    watch, names = [], []
    dbs = [model.database, model.foreground, "aicompute-background"]
    query = ED.select(ED.input_database, ED.input_code, ED.output_database, ED.output_code, ED.type, ED.data).where(ED.output_database.in_(dbs))
    for in_db, in_code, out_db, out_code, kind, data in query.tuples():
        if data.get("uncertainty type", 0) < 2 or kind != "biosphere":
            continue
        out_id, in_id = nodes.get((out_db, out_code), (None,))[0], nodes.get((in_db, in_code), (None,))[0]
        if out_id in active and in_id in bio:
            watch.append((bio[in_id], act[out_id]))
            out_name, out_location = names_of[out_id]
            names.append(f"{names_of[in_id][0]} of {out_name} [{out_location}]")
    return watch, names


@dataclass
class _Problem:
    """What every iteration solves: the matrices' changes, the phase x stage rows, and the
    characterization factors."""

    attribution: StageAttribution
    characterization: np.ndarray
    tech: np.ndarray
    tech_at: tuple[list[int], list[int]]
    bio: np.ndarray
    bio_at: tuple[list[int], list[int]]
    rows_index: dict[tuple[str, str], int]
    phase_names: list[str]
    fu_row: int


def _iteration(lca, problem: _Problem, i: int) -> tuple[np.ndarray, list[tuple[int, np.ndarray]]]:
    """Scores of the total and of every phase x stage share for iteration `i` (matrices of
    bw2calc's current sample, plus the formula changes)."""
    import scipy.sparse as sp
    from scipy.sparse.linalg import splu

    A, B = lca.technosphere_matrix, lca.biosphere_matrix
    if problem.tech_at[0]:
        A = A + sp.csr_matrix((problem.tech[:, i], problem.tech_at), shape=A.shape)
    if problem.bio_at[0]:
        B = B + sp.csr_matrix((problem.bio[:, i], problem.bio_at), shape=B.shape)
    A = A.tocsc()
    n = A.shape[0]
    cols, slots = [np.zeros(n)], []
    cols[0][problem.fu_row] = 1.0
    for phase, stage, demand in stage_demands(problem.attribution, A, len(problem.phase_names)):
        vec = np.zeros(n)
        for r, a in demand.items():
            vec[r] += a
        cols.append(vec)
        slots.append(problem.rows_index[(problem.phase_names[phase], stage)])
    scores = problem.characterization @ (B @ splu(A).solve(np.column_stack(cols)))  # (methods, 1 + slots)
    return scores[:, 0], [(slot, scores[:, k + 1]) for k, slot in enumerate(slots)]


def _problem(model: CampaignModel, lca, fu_id: int, characterization: np.ndarray, tech: _Deltas, bio: _Deltas, iterations: int) -> _Problem:
    import bw2data as bd

    phase_ids = [bd.get_node(database=pm.key[0], code=pm.key[1]).id for pm in model.phases]
    rows_index = {(pm.phase.name, stage): k for k, (pm, stage) in enumerate((pm, s) for pm in model.phases for s in STAGES)}
    return _Problem(
        attribution=StageAttribution.for_lca(lca, phase_ids),
        characterization=characterization,
        tech=tech.array(iterations),
        tech_at=(tech.rows, tech.cols),
        bio=bio.array(iterations),
        bio_at=(bio.rows, bio.cols),
        rows_index=rows_index,
        phase_names=[pm.phase.name for pm in model.phases],
        fu_row=lca.dicts.product[fu_id],
    )


def run(model: CampaignModel, resolved: list[tuple[str, tuple]], iterations: int, seed: int = 0, chunk: int = 0, chunks: int = 1) -> MonteCarlo:
    """Monte Carlo iterations of a written campaign.

    Parameters
    ----------
    model : CampaignModel
        The campaign as written (`write_campaign` or `open_campaign`).
    resolved : list of (label, method)
        The indicators.
    iterations : int
        Iterations of this chunk.
    seed, chunk, chunks : int
        Chunk `chunk` of `chunks`: the seeds of the chunks are independent streams spawned from
        `seed` (`numpy.random.SeedSequence.spawn`).
    """
    import bw2data as bd

    if iterations < 1:
        raise AicomputeError("iterations must be at least 1")
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(chunks)[chunk])
    methods = [m for _, m in resolved]
    lca, fu_id, characterization = _solver(model, methods, int(rng.integers(1, 2**31 - 1)))
    values, sampled = _sample_parameters(model.foreground, iterations, rng)
    nodes = _node_index(set(bd.databases))
    active = supply_chain(lca, fu_id)
    tech, bio, used = _formula_deltas(model, lca, values, nodes, active, iterations)
    sampled = [name for name in sampled if name in _reaching(model.foreground, used)]
    watch, watch_names = _watched(model, lca, nodes, active)
    problem = _problem(model, lca, fu_id, characterization, tech, bio, iterations)
    totals = np.zeros((iterations, len(methods)))
    breakdown = np.zeros((iterations, len(problem.rows_index), len(methods)))
    inputs = np.zeros((iterations, len(sampled) + len(watch)))
    for i in range(iterations):
        if i:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                next(lca)
        totals[i], parts = _iteration(lca, problem, i)
        for slot, part in parts:
            breakdown[i, slot] += clean_roundoff(part, totals[i])
        inputs[i, : len(sampled)] = [values[name][i] for name in sampled]
        if watch:
            inputs[i, len(sampled) :] = np.asarray(lca.biosphere_matrix.tocsr()[[r for r, _ in watch], [c for _, c in watch]]).ravel()
    units = [bd.methods[m].get("unit", "") for m in methods]
    input_names = [f"parameter {s}" for s in sampled] + watch_names
    return MonteCarlo(labels=[lab for lab, _ in resolved], units=units, iterations=iterations, seed=seed, totals=totals, rows=list(problem.rows_index), breakdown=breakdown, input_names=input_names, inputs=inputs, chunks=[(chunk, chunks)])


def combine(parts: list[MonteCarlo]) -> MonteCarlo:
    """Join Monte Carlo chunks run with the same seed and different chunk numbers.

    Parameters
    ----------
    parts : list of MonteCarlo
        Chunks of one campaign, indicators and seed (`run_chunk`).

    Returns
    -------
    MonteCarlo
        All iterations, in the order of `parts`.
    """
    if not parts:
        raise AicomputeError("nothing to combine")
    first = parts[0]
    for p in parts[1:]:
        if p.labels != first.labels or p.rows != first.rows or p.input_names != first.input_names or p.seed != first.seed:
            raise AicomputeError("chunks of different campaigns, indicators or seeds cannot be combined")
    return MonteCarlo(
        labels=first.labels,
        units=first.units,
        iterations=sum(p.iterations for p in parts),
        seed=first.seed,
        totals=np.vstack([p.totals for p in parts]),
        rows=first.rows,
        breakdown=np.concatenate([p.breakdown for p in parts]),
        input_names=first.input_names,
        inputs=np.vstack([p.inputs for p in parts]),
        chunks=[c for p in parts for c in p.chunks],
    )


def run_chunk(
    project: str,
    campaign_path: str,
    indicators: list[str],
    iterations: int,
    seed: int,
    chunk: int,
    chunks: int,
    background: str = "open",
    data_dir: str | None = None,
) -> MonteCarlo:
    """One chunk of a Monte Carlo run, in any process (multiprocessing, Dask, Ray...).

    Opens the project and runs its share of the iterations on the campaign, which must have been
    written already (by `assess` or `write_campaign`, once, before the chunks are dispatched).

    Parameters
    ----------
    project : str
        The Brightway project.
    campaign_path : str
        The campaign file (read again here; it must be the file that was written).
    indicators : list of str
        Indicator names.
    iterations : int
        Iterations of this chunk.
    seed, chunk, chunks : int
        Chunk `chunk` of `chunks`, with the random stream spawned for it from `seed`.
    background : {'open', 'ecoinvent'}
        The foreground the campaign was written against.
    data_dir : str, optional
        The Brightway data directory (default: BRIGHTWAY2_DIR or Brightway's own).

    Returns
    -------
    MonteCarlo
        The chunk's results; join chunks with `combine`.
    """
    from pathlib import Path

    import bw2data as bd

    if data_dir and Path(data_dir) != Path(bd.projects._base_data_dir):
        bd.projects.change_base_directories(Path(data_dir), project_name=project)
    bd.projects.set_current(project)
    model = open_campaign(read_campaign(campaign_path), foreground_for(background))
    return run(model, [method_for(i) for i in indicators], iterations, seed, chunk, chunks)


def run_parallel(project: str, campaign_path: str, indicators: list[str], iterations: int, seed: int, processes: int, background: str = "open", methods=None) -> MonteCarlo:
    """Split `iterations` into `processes` chunks with independent seeds, run them in worker
    processes (spawned, each opening the project) and combine them in chunk order."""
    import concurrent.futures
    import multiprocessing

    import bw2data as bd

    sizes = [iterations // processes + (1 if k < iterations % processes else 0) for k in range(processes)]
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=processes, mp_context=ctx) as pool:
        futures = [
            pool.submit(run_chunk, project, campaign_path, indicators, n, seed, k, processes, background, str(bd.projects._base_data_dir))
            for k, n in enumerate(sizes)
            if n
        ]
        parts = [f.result() for f in futures]
    return combine(parts)
