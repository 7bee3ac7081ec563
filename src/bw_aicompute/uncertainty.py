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

from .campaign import STAGES, CampaignModel
from .errors import AicomputeError

PERCENTILES = (2.5, 50.0, 97.5)


@dataclass
class MonteCarlo:
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
        p = np.percentile(values, PERCENTILES)
        return {"mean": float(values.mean()), "sd": float(values.std(ddof=1)) if len(values) > 1 else 0.0, "p2_5": float(p[0]), "p50": float(p[1]), "p97_5": float(p[2])}

    def totals_table(self) -> pd.DataFrame:
        return pd.DataFrame([{"indicator": lab, "unit": u, **self.stats(self.totals[:, j])} for j, (lab, u) in enumerate(zip(self.labels, self.units))])

    def breakdown_table(self) -> pd.DataFrame:
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
        return {
            "iterations": self.iterations,
            "seed": self.seed,
            "percentiles": list(PERCENTILES),
            "totals": {r.indicator: {k: getattr(r, k) for k in ("unit", "mean", "sd", "p2_5", "p50", "p97_5")} for r in self.totals_table().itertuples()},
            "rows": self.breakdown_table().to_dict(orient="records"),
            "sensitivity": self.sensitivity().to_dict(orient="records"),
        }


def _sample_parameters(foreground: str, n: int, rng: np.random.Generator) -> tuple[dict[str, np.ndarray | float], list[str]]:
    """Static values of every parameter of `foreground`, sampled arrays for the uncertain ones
    and for the formulas that depend on them (evaluated in dependency order)."""
    from bw2data.parameters import DatabaseParameter

    from .inventory import evaluate_formula, formula_names

    rows = list(DatabaseParameter.select().where(DatabaseParameter.database == foreground))
    values: dict[str, np.ndarray | float] = {}
    sampled = []
    formulas = {}
    for p in rows:
        d = p.data or {}
        kind = d.get("uncertainty type", 0)
        if p.formula:
            formulas[p.name] = p.formula
            values[p.name] = p.amount
        elif kind == 2:
            values[p.name] = np.exp(rng.normal(d["loc"], d["scale"], n))
        elif kind == 3:
            values[p.name] = rng.normal(d["loc"], d["scale"], n)
        elif kind == 4:
            values[p.name] = rng.uniform(d["minimum"], d["maximum"], n)
        elif kind == 5:
            values[p.name] = rng.triangular(d["minimum"], d.get("loc", p.amount), d["maximum"], n)
        else:
            values[p.name] = p.amount
        if isinstance(values[p.name], np.ndarray):
            sampled.append(p.name)
    # formulas of parameters, in dependency order
    pending = dict(formulas)
    while pending:
        progressed = False
        for name, f in list(pending.items()):
            if not (formula_names(f) & set(pending)) - {name}:
                values[name] = evaluate_formula(f, values)
                del pending[name]
                progressed = True
        if not progressed:
            raise AicomputeError(f"circular parameter formulas in {foreground}: {sorted(pending)}")
    return values, sampled


def run(model: CampaignModel, resolved: list[tuple[str, tuple]], iterations: int, seed: int = 0, chunk: int = 0, chunks: int = 1) -> MonteCarlo:
    """`iterations` Monte Carlo iterations of a written campaign (chunk `chunk` of `chunks`:
    the seeds of the chunks are independent streams spawned from `seed`)."""
    import bw2calc as bc
    import bw2data as bd
    import scipy.sparse as sp
    from bw2data.backends import ActivityDataset as AD
    from bw2data.backends import ExchangeDataset as ED
    from bw2data.parameters import DatabaseParameter
    from scipy.sparse.linalg import splu

    from .assessment import StageAttribution
    from .inventory import FormulaEvaluator, formula_names

    if iterations < 1:
        raise AicomputeError("iterations must be at least 1")
    ss = np.random.SeedSequence(seed).spawn(chunks)[chunk]
    rng = np.random.default_rng(ss)
    bw_seed = int(rng.integers(1, 2**31 - 1))
    fu = bd.get_node(database=model.key[0], code=model.key[1])
    phase_ids = [bd.get_node(database=pm.key[0], code=pm.key[1]).id for pm in model.phases]
    methods = [m for _, m in resolved]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lca = bc.LCA({fu.id: 1.0}, methods[0], use_distributions=True, seed_override=bw_seed)
        lca.lci()
        chars = []
        for m in methods:
            lca.switch_method(m)
            chars.append(np.asarray(lca.characterization_matrix.diagonal()).ravel())
        lca.switch_method(methods[0])
    C = np.vstack(chars)  # (methods, biosphere rows)
    attribution = StageAttribution(lca, phase_ids)
    prod, act, bio = lca.dicts.product, lca.dicts.activity, lca.dicts.biosphere

    # parameters and the exchange formulas that use them
    values, sampled = _sample_parameters(model.foreground, iterations, rng)
    key_to_id = {}

    def node_id(database, code):
        k = (database, code)
        if k not in key_to_id:
            row = AD.get_or_none(AD.database == database, AD.code == code)
            key_to_id[k] = row.id if row else None
        return key_to_id[k]

    # the supply chain: activities reachable from the campaign through the technosphere
    A0 = lca.technosphere_matrix.tocsc()
    row_to_col = {r: act[i] for i, r in prod.items() if i in act}
    seen, stack = {act[fu.id]}, [act[fu.id]]
    while stack:
        j = stack.pop()
        for r in A0.indices[A0.indptr[j] : A0.indptr[j + 1]]:
            k = row_to_col.get(r)
            if k is not None and k not in seen:
                seen.add(k)
                stack.append(k)
    col_to_id = {c: i for i, c in act.items()}
    active = {col_to_id[c] for c in seen}
    evaluate = FormulaEvaluator(values)
    used: set[str] = set()
    t_rows, t_cols, t_delta, b_rows, b_cols, b_delta = [], [], [], [], [], []
    for database in (model.foreground, model.database):
        query = ED.select(ED.input_database, ED.input_code, ED.output_code, ED.type, ED.data).where(ED.output_database == database)
        for in_db, in_code, out_code, kind, data in query.tuples():
            formula = data.get("formula")
            if not formula:
                continue
            col = act.get(node_id(database, out_code))
            in_id = node_id(in_db, in_code)
            if col is None or in_id is None:
                continue
            if node_id(database, out_code) in active:
                used |= formula_names(formula)
            new = np.broadcast_to(np.asarray(evaluate(formula), dtype=float), (iterations,))
            delta = new - float(data["amount"])
            if not np.any(delta):
                continue
            if kind == "technosphere" and in_id in prod:
                t_rows.append(prod[in_id])
                t_cols.append(col)
                t_delta.append(-delta)
            elif kind == "biosphere" and in_id in bio:
                b_rows.append(bio[in_id])
                b_cols.append(col)
                b_delta.append(delta)
    # parameters that reach the campaign (directly, or through parameter formulas)
    param_formulas = {p.name: p.formula for p in DatabaseParameter.select().where(DatabaseParameter.database == model.foreground) if p.formula}
    frontier = set(used)
    while frontier:
        name = frontier.pop()
        for dep in formula_names(param_formulas.get(name, "")) - used:
            used.add(dep)
            frontier.add(dep)
    sampled = [name for name in sampled if name in used]
    t_delta = np.array(t_delta).reshape(len(t_rows), iterations)
    b_delta = np.array(b_delta).reshape(len(b_rows), iterations)

    # uncertain exchanges of the supply chain, recorded as sensitivity inputs
    watch, watch_names = [], []
    id_to_col = {i: c for i, c in act.items()}
    watched_dbs = [model.database, model.foreground, "aicompute-background"]
    query = ED.select(ED.input_database, ED.input_code, ED.output_database, ED.output_code, ED.type, ED.data).where(ED.output_database.in_(watched_dbs))
    for row in query.tuples():
        in_db, in_code, out_db, out_code, kind, data = row
        if data.get("uncertainty type", 0) < 2 or kind != "biosphere":
            continue
        out_id = node_id(out_db, out_code)
        if out_id not in active:
            continue
        in_id = node_id(in_db, in_code)
        if in_id in bio:
            out_node = AD.get(AD.id == out_id)
            watch.append((bio[in_id], id_to_col[out_id]))
            watch_names.append(f"{AD.get(AD.id == in_id).name} of {out_node.name} [{out_node.location}]")

    watch_rows = [r for r, _ in watch]
    watch_cols = [c for _, c in watch]
    labels = [lab for lab, _ in resolved]
    rows_index: dict[tuple[str, str], int] = {}
    for pm in model.phases:
        for stage in STAGES:
            rows_index[(pm.phase.name, stage)] = len(rows_index)
    totals = np.zeros((iterations, len(methods)))
    breakdown = np.zeros((iterations, len(rows_index), len(methods)))
    inputs = np.zeros((iterations, len(sampled) + len(watch)))
    n = lca.technosphere_matrix.shape[0]
    f_total = np.zeros(n)
    f_total[prod[fu.id]] = 1.0
    for i in range(iterations):
        if i:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                next(lca)
        A = lca.technosphere_matrix
        B = lca.biosphere_matrix
        if t_rows:
            A = A + sp.csr_matrix((t_delta[:, i], (t_rows, t_cols)), shape=A.shape)
        if b_rows:
            B = B + sp.csr_matrix((b_delta[:, i], (b_rows, b_cols)), shape=B.shape)
        A = A.tocsc()
        per_phase = attribution.demands(A)
        cols = [f_total]
        slots = []
        for pm, d in zip(model.phases, per_phase):
            for stage, dem in d.items():
                vec = np.zeros(n)
                for r, a in dem.items():
                    vec[r] += a
                cols.append(vec)
                slots.append(rows_index[(pm.phase.name, stage)])
        D = np.column_stack(cols)
        X = splu(A).solve(D)
        scores = C @ (B @ X)  # (methods, 1 + slots)
        totals[i] = scores[:, 0]
        for s_i, slot in enumerate(slots):
            part = scores[:, s_i + 1]
            # solver round-off on stages that are zero by construction is shown as zero
            breakdown[i, slot] += np.where(np.abs(part) <= 1e-9 * np.abs(scores[:, 0]), 0.0, part)
        inputs[i, : len(sampled)] = [values[name][i] for name in sampled]
        if watch:
            inputs[i, len(sampled) :] = np.asarray(lca.biosphere_matrix.tocsr()[watch_rows, watch_cols]).ravel()
    units = [bd.methods[m].get("unit", "") for m in methods]
    return MonteCarlo(
        labels=labels,
        units=units,
        iterations=iterations,
        seed=seed,
        totals=totals,
        rows=list(rows_index),
        breakdown=breakdown,
        input_names=[f"parameter {s}" for s in sampled] + watch_names,
        inputs=inputs,
        chunks=[(chunk, chunks)],
    )


def combine(parts: list[MonteCarlo]) -> MonteCarlo:
    """Join chunks run with the same seed and different chunk numbers."""
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
    """One chunk of a Monte Carlo sweep, in any process (multiprocessing, Dask, Ray...): opens the
    project and runs its share of the iterations on the campaign, which must have been written
    already (by `assess` or `write_campaign`, once, before the chunks are dispatched).
    `data_dir` is the Brightway data directory (default: BRIGHTWAY2_DIR or Brightway's own)."""
    from pathlib import Path

    import bw2data as bd

    from .campaign import read_campaign
    from .lca import method_for

    if data_dir and Path(data_dir) != Path(bd.projects._base_data_dir):
        bd.projects.change_base_directories(Path(data_dir), project_name=project)
    bd.projects.set_current(project)
    model = campaign_model(read_campaign(campaign_path), background)
    return run(model, [method_for(i) for i in indicators], iterations, seed, chunk, chunks)


def campaign_model(campaign, background: str = "open") -> CampaignModel:
    """The model of a campaign already written into the current project."""
    import bw2data as bd

    from .campaign import PhaseModel

    from .ecoinvent import foreground_for

    foreground = foreground_for(background)
    db = campaign.database_for(foreground)
    if db not in bd.databases or (bd.databases[db].get("bw_aicompute") or {}).get("state") != "complete":
        raise AicomputeError(f"campaign {campaign.name!r} is not written in project {bd.projects.current!r}; assess it first")
    phases = [PhaseModel(phase=p, gpu_hours=0.0, it_energy_kwh=0.0, key=(db, f"phase-{i}")) for i, p in enumerate(campaign.phases, start=1)]
    return CampaignModel(campaign=campaign, database=db, key=(db, "campaign"), phases=phases, foreground=foreground)


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
