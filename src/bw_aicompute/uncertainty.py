"""Monte Carlo over exchange distributions and parameter distributions, with global sensitivity.

bw2calc's Monte Carlo samples the distributions of exchanges (and characterization factors) but
not those of parameters: formula-driven exchanges keep their static values. Here, for a chunk of
iterations at once,

1. the uncertain exchanges of the campaign's supply chain are drawn (`bw_aicompute.sampling`:
   grid intensity, HBM per GB, fab gases, DRAM and SSD per GB...);
2. every uncertain parameter of the foreground is sampled (PUE, WUE, lifetime, utilisation, load
   factor, node overhead, fab water share, switch ASIC area...), the parameters that are formulas
   of them re-evaluated, then the formulas of the exchanges of the supply chain;
3. the campaign and each (phase, life-cycle stage) share of it are solved on every indicator
   with one transposed system per iteration (`bw_aicompute.solver`).

Characterization factors keep their static values. Iterations are split into chunks of `CHUNK`
with independent random streams (`numpy.random.SeedSequence.spawn`), whatever runs them: this
process (`run`), worker processes (`run_parallel`) or a Dask cluster (`run_chunks` on each
worker); `combine` joins them in chunk order, so the numbers depend on the seed only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._resources import progress as progress_bar
from .campaign import STAGES, CampaignModel, open_campaign, read_campaign
from .linking import foreground_for
from .errors import AicomputeError
from .inventory.formulas import evaluate_parameters, formula_names
from .attribution import clean_roundoff, pair_sums
from .lca import node_ids, node_keys, static_matrices
from .sampling import FormulaExchange, ParameterModel, draw_exchanges, formula_deltas, formula_exchanges, uncertain_entries
from .solver import Deltas, System, build_system, solve_factors
from .solver import totals as solver_totals

#: The open background, whose parameters (hydropower evaporation) are sampled too.
BACKGROUND = "aicompute-background"

PERCENTILES = (2.5, 25.0, 50.0, 75.0, 97.5)
#: Iterations per chunk: the unit of random streams and of work sent to processes or Dask.
CHUNK = 250
#: Sampled values held at once (2**22 floats, 32 MiB per array): a chunk of a large supply
#: chain is drawn and solved in blocks of iterations that fit (`Plan.block`).
DRAW_FLOATS = 2**22
_KEYS = ("p2_5", "p25", "p50", "p75", "p97_5")
#: Values read at once for the statistics of the phase x stage shares (32 MiB).
STATS_FLOATS = 2**22


@dataclass
class Shares:
    """The (iterations, rows, indicators) phase x stage shares of Monte Carlo iterations, kept
    as their factors (`attribution.Factored`): each phase input's amount per iteration and the
    score of one unit of each input in each stage. Indexed like the array they stand for
    (`shares[:, rows, j]`, `np.asarray(shares)`), only the rows read are multiplied out, so a
    campaign of 10,000 phases x 1,000 iterations holds 160 MB, not the 2.2 GB of the array.

    Attributes
    ----------
    amount : ndarray
        (iterations, phase inputs).
    unit : ndarray
        (iterations, unit shares, indicators).
    totals : ndarray
        (iterations, indicators): a share within `attribution.ROUNDOFF` of the total is 0.
    entry, unit_share, row : ndarray of int
        Each (input, unit share) pair and the row it adds to, sorted by row.
    rows : int
        Rows of the array (phases x stages).
    """

    amount: np.ndarray
    unit: np.ndarray
    totals: np.ndarray
    entry: np.ndarray
    unit_share: np.ndarray
    row: np.ndarray
    rows: int

    @property
    def shape(self) -> tuple[int, int, int]:
        """(iterations, rows, indicators)."""
        return (self.amount.shape[0], self.rows, self.unit.shape[2])

    def __getitem__(self, key) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key,)
        its, rows, j = (*key, slice(None), slice(None))[:3]
        want = np.arange(self.rows)[rows]
        x = pair_sums(self.amount[its], self.unit[its], self.entry, self.unit_share, self.row, np.atleast_1d(want))
        x = clean_roundoff(x, self.totals[its][..., None, :], out=x)
        return (x[..., 0, :] if np.ndim(want) == 0 else x)[..., j]

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        out = self[:, :, :]
        return out if dtype is None else out.astype(dtype)

    @classmethod
    def join(cls, parts: list["Shares"]) -> "Shares":
        """The iterations of `parts` (of one campaign) one after the other."""
        first = parts[0]
        return cls(*(np.concatenate([getattr(p, k) for p in parts]) for k in ("amount", "unit", "totals")), first.entry, first.unit_share, first.row, first.rows)


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
    breakdown : ndarray or Shares
        (iterations, rows, indicators) scores of each phase x stage share (`Shares`: the
        same, computed for the rows read).
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
    breakdown: "np.ndarray | Shares"  # (iterations, rows, indicators)
    input_names: list[str]
    inputs: np.ndarray  # (iterations, inputs)
    chunks: list[tuple[int, int]] = field(default_factory=list)  # (chunk, of chunks) combined
    effects: np.ndarray | None = None  # (inputs, indicators) one-at-a-time change of each total

    def stats(self, values: np.ndarray) -> dict[str, float]:
        """Mean, sample standard deviation and the 2.5/25/50/75/97.5 percentiles of `values`."""
        return {k: float(v[0]) for k, v in _statistics(values[:, None]).items()}

    def totals_table(self) -> pd.DataFrame:
        """Statistics of each indicator's total."""
        return pd.DataFrame([{"indicator": lab, "unit": u, **self.stats(self.totals[:, j])} for j, (lab, u) in enumerate(zip(self.labels, self.units))])

    def breakdown_table(self) -> pd.DataFrame:
        """Statistics of each phase x stage share, per indicator (rows read in blocks)."""
        k = len(self.labels)
        step = max(1, STATS_FLOATS // max(self.iterations * k, 1))
        blocks = [_statistics(np.asarray(self.breakdown[:, lo : lo + step, :]).reshape(self.iterations, -1)) for lo in range(0, len(self.rows), step)]
        stats = {key: np.concatenate([b[key] for b in blocks]) if blocks else np.zeros(0) for key in ("mean", "sd", *_KEYS)}
        return pd.DataFrame({
            "phase": np.repeat([p for p, _ in self.rows], k), "stage": np.repeat([s for _, s in self.rows], k),
            "indicator": np.tile(self.labels, len(self.rows)), "unit": np.tile(self.units, len(self.rows)), **stats,
        })

    def group_table(self, by: str) -> pd.DataFrame:
        """Statistics of the sums by phase or by stage."""
        import scipy.sparse as sp

        index = 0 if by == "phase" else 1
        keys = list(dict.fromkeys(r[index] for r in self.rows))
        code = {key: c for c, key in enumerate(keys)}
        S = sp.csr_matrix((np.ones(len(self.rows)), (np.arange(len(self.rows)), [code[r[index]] for r in self.rows])), shape=(len(self.rows), len(keys)))
        k = len(self.labels)
        sums = np.zeros((self.iterations, len(keys), k))
        step = max(1, STATS_FLOATS // max(self.iterations * k, 1))
        for lo in range(0, len(self.rows), step):
            block = np.asarray(self.breakdown[:, lo : lo + step, :])
            for j in range(k):
                sums[:, :, j] += (S[lo : lo + step].T @ block[:, :, j].T).T
        stats = _statistics(sums.reshape(self.iterations, -1))
        return pd.DataFrame({by: np.repeat(np.array(keys, dtype=object), k), "indicator": np.tile(self.labels, len(keys)), "unit": np.tile(self.units, len(keys)), **stats})

    def sensitivity(self, top: int = 10) -> pd.DataFrame:
        """Spearman rank correlation of each sampled input with each indicator's total, its
        share of the explained variance (rho^2 normalised over the kept inputs), and the
        one-at-a-time change of the total when the input alone rises by 1 %, largest |rho|
        first (none for the drawn alternative of an open input: a switch, not a 1 % rise).

        Only the inputs that can reach an indicator are tested on it (their one-at-a-time
        change is not zero: a flow without a factor in the method cannot drive it), and an
        input is kept where |rho| reaches `noise_threshold(iterations, tested)`, the 95 %
        bound corrected for the number of inputs tested (Bonferroni)."""
        columns = ["indicator", "input", "spearman", "variance_share", "one_at_a_time"]
        if self.iterations < 3 or not self.input_names:
            return pd.DataFrame(columns=columns)
        varying = self.inputs.std(axis=0) > 0
        X = _standard(ranks(self.inputs[:, varying]))
        names = [n for n, v in zip(self.input_names, varying) if v]
        effects = self.effects[varying] if self.effects is not None else np.ones((len(names), len(self.labels)))
        out = []
        for j, lab in enumerate(self.labels):
            y = ranks(self.totals[:, j : j + 1])[:, 0]
            reach = np.abs(effects[:, j]) > 0
            if y.std() == 0 or not reach.any():
                continue
            rho = np.where(reach, X.T @ _standard(y) / len(y), 0.0)
            kept = np.flatnonzero(reach & (np.abs(rho) >= noise_threshold(self.iterations, int(reach.sum()))))
            r2 = float((rho[kept] ** 2).sum())
            for k in kept[np.argsort(-np.abs(rho[kept]))][:top]:
                oat = float("nan") if names[k].startswith("choice ") else float(effects[k, j])  # a switch, not a 1 % rise
                out.append({"indicator": lab, "input": names[k], "spearman": float(rho[k]), "variance_share": float(rho[k] ** 2 / r2), "one_at_a_time": oat})
        return pd.DataFrame(out, columns=columns)

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


def _statistics(values: np.ndarray) -> dict[str, np.ndarray]:
    """Mean, sample standard deviation and the 2.5/25/50/75/97.5 percentiles of each column of
    (iterations, columns) `values`."""
    p = np.percentile(values, PERCENTILES, axis=0)
    sd = values.std(axis=0, ddof=1) if len(values) > 1 else np.zeros(values.shape[1])
    return {"mean": values.mean(axis=0), "sd": sd, **dict(zip(_KEYS, p))}


def ranks(x: np.ndarray) -> np.ndarray:
    """Ranks (1..n) of each column of `x`, ties given their average rank (what Spearman's rho
    uses; scipy.stats.rankdata's 'average')."""
    out = np.empty(x.shape)
    for k in range(x.shape[1]):
        _, inverse, counts = np.unique(x[:, k], return_inverse=True, return_counts=True)
        out[:, k] = (np.cumsum(counts) - (counts - 1) / 2.0)[inverse]
    return out


def _standard(x: np.ndarray) -> np.ndarray:
    return (x - x.mean(axis=0)) / x.std(axis=0)


def noise_threshold(iterations: int, tested: int = 1) -> float:
    """|rho| below which a Spearman correlation over `iterations` is noise when `tested` inputs
    are tested on one indicator: z / sqrt(n - 1) with z the two-sided 95 % quantile corrected
    for the number of tests (Bonferroni: 1 - 0.05 / (2 tested); 1.96 for one test). Under
    independence rho is close to normal with variance 1 / (n - 1) (Kendall and Stuart, *The
    Advanced Theory of Statistics*, vol. 2, 31.19)."""
    from scipy.stats import norm

    z = float(norm.ppf(1 - 0.05 / (2 * max(tested, 1))))
    return z / float(np.sqrt(max(iterations - 1, 1)))


@dataclass
class Plan:
    """What every chunk of iterations reuses: the campaign's matrices, the formulas and
    parameters that reach its supply chain, and the recorded inputs."""

    system: System
    lca: Any
    active: np.ndarray  # bool per technosphere column: the supply chain
    exchanges: list[FormulaExchange]
    parameters: ParameterModel
    recorded: list[str]  # sampled parameters that reach the supply chain
    ours: np.ndarray  # bool per column: activities of bw_aicompute's databases
    watch_names: list[str]  # uncertain biosphere exchanges of `ours`, in draw order
    rows: list[tuple[str, str]]  # (phase, stage)
    labels: list[str]
    units: list[str]
    characterised: np.ndarray  # bool per biosphere row: a factor on some indicator
    pairs: tuple = ()  # (input, unit share, row) of the factored shares (`_pairs`)
    block: int = CHUNK  # iterations drawn and solved at once
    choices: list["Choice"] = field(default_factory=list)  # markets of alternatives, one drawn per iteration


@dataclass
class Choice:
    """A market of alternatives (a campaign's grid when its inputs leave the year or the state
    open, `bw_aicompute.campaign.write.open_grid`): its column, the product rows of the
    alternatives, their static amounts (the expected value: probabilities x the market's
    output) and each alternative's static score per unit on every indicator (for sensitivity)."""

    name: str
    col: int
    rows: np.ndarray
    amounts: np.ndarray
    scores: np.ndarray  # (alternatives, indicators)

    def pick(self, iterations: int, rng: np.random.Generator) -> np.ndarray:
        """The alternative drawn in each iteration, with the market's probabilities."""
        return rng.choice(len(self.amounts), size=iterations, p=self.amounts / self.amounts.sum())

    def deltas(self, k: np.ndarray) -> Deltas:
        """The changes that move the market's whole input to alternative `k[i]` in iteration i."""
        onehot = (k[None, :] == np.arange(len(self.amounts))[:, None]) * self.amounts.sum()
        values = self.amounts[:, None] - onehot  # technosphere inputs are negative entries
        return Deltas(self.rows, np.full(len(self.rows), self.col), values)


def _choices(lca, system: System, active: np.ndarray, databases: list[str]) -> list[Choice]:
    """The markets of alternatives in the supply chain (activities of `databases` whose data
    says `choice`), with the static score per unit of each alternative."""
    from bw2data.backends import ActivityDataset as AD

    from .solver import lambdas

    col_id = {c: i for i, c in lca.dicts.activity.items()}
    ids = [col_id[c] for c in system.core.tolist()]  # a market is in the supply chain, not a phase
    marked = {}
    for k in range(0, len(ids), 500):
        query = AD.select(AD.id, AD.data).where(AD.database.in_(databases), AD.id.in_(ids[k : k + 500]))
        marked.update({id_: data["choice"] for id_, data in query.tuples() if data.get("choice")})
    out = []
    lam = None
    for id_, name in marked.items():
        col = lca.dicts.activity.get(id_)
        if col is None or not active[col]:
            continue
        A = system.A
        at = slice(A.indptr[col], A.indptr[col + 1])
        rows, values = A.indices[at], A.data[at]
        keep = (rows != system.product_row[col]) & (values < 0)
        if lam is None:
            lam = lambdas(system, Deltas.none(1), Deltas.none(1))
        scores = np.stack([lam[int(r)][0] for r in rows[keep].tolist()])
        out.append(Choice(str(name), col, rows[keep].astype(int), -values[keep].astype(float), scores))
    return out


def _block(entries: int) -> int:
    """Iterations drawn at once for `entries` sampled values per iteration: all of a chunk, or
    a multiple of the refinement block that keeps one array within `DRAW_FLOATS`."""
    from .refine import BLOCK

    fit = DRAW_FLOATS // max(entries, 1)
    return CHUNK if fit >= CHUNK else max(BLOCK, fit // BLOCK * BLOCK)


def _watch_names(lca, ours: np.ndarray, active: np.ndarray) -> list[str]:
    """Names of the uncertain biosphere exchanges of bw_aicompute's activities, in draw order:
    'flow of activity [location]'."""
    draws = draw_exchanges(lca.biosphere_mm, active & ours, 1, np.random.default_rng(0))
    col_id = {c: i for i, c in lca.dicts.activity.items()}
    row_id = {r: i for i, r in lca.dicts.biosphere.items()}
    names = node_keys([col_id[c] for c in draws.cols.tolist()] + [row_id[r] for r in draws.rows.tolist()])
    return [f"{names[row_id[r]][2]} of {names[col_id[c]][2]} [{names[col_id[c]][3]}]" for r, c in zip(draws.rows.tolist(), draws.cols.tolist())]


def prepare(model: CampaignModel | list[CampaignModel], resolved: list[tuple[str, tuple]]) -> Plan:
    """Load the matrices of a written campaign once for any number of chunks of iterations (of
    several campaigns of one foreground, solved together: `paired_totals`)."""
    import bw2data as bd

    models = model if isinstance(model, list) else [model]
    methods = [m for _, m in resolved]
    ids = node_ids([k for m in models for k in (m.key, *(pm.key for pm in m.phases))])
    lca, characterization = static_matrices([ids[m.key] for m in models], methods)
    system = build_system(lca, characterization, [ids[m.key] for m in models], [ids[pm.key] for m in models for pm in m.phases])
    n = system.A.shape[1]
    active = np.zeros(n, dtype=bool)
    active[[*system.core.tolist(), *system.top]] = True
    col_id = {c: i for i, c in lca.dicts.activity.items()}
    keys = node_keys([col_id[c] for c in np.flatnonzero(active).tolist()])
    databases = [models[0].foreground, *(m.database for m in models)]
    ours = np.zeros(n, dtype=bool)
    ours[[lca.dicts.activity[i] for i, k in keys.items() if k[0] in {*databases, BACKGROUND}]] = True
    background = [BACKGROUND] if any(k[0] == BACKGROUND for k in keys.values()) else []
    in_chain = {(k[0], k[1]): i for i, k in keys.items() if k[0] in {*databases, *background}}
    exchanges = formula_exchanges(lca, list(dict.fromkeys(databases + background)), in_chain)
    parameters = ParameterModel.of(models[0].foreground, *background)
    reaching = parameters.reaching(set().union(*(formula_names(e.formula) for e in exchanges)))
    rows = [(pm.phase.name, stage) for pm in models[0].phases for stage in STAGES]
    characterised = (characterization != 0).any(axis=0)
    entries = uncertain_entries(lca.technosphere_mm, active) + uncertain_entries(lca.biosphere_mm, active, characterised, ours)
    return Plan(
        system, lca, active, exchanges, parameters, [p for p in parameters.fields if p in reaching], ours, _watch_names(lca, ours, active), rows,
        labels=[lab for lab, _ in resolved], units=[bd.methods[m].get("unit", "") for m in methods], characterised=characterised,
        pairs=_pairs(system), block=_block(entries), choices=_choices(lca, system, active, [m.database for m in models]),
    )


def paired_totals(models: list[CampaignModel], resolved: list[tuple[str, tuple]], iterations: int, seed: int = 0) -> np.ndarray:
    """Totals of several written campaigns (one foreground) from the same samples of every
    shared input, so that their differences are paired.

    Parameters
    ----------
    models : list of CampaignModel
    resolved : list of (label, method)
    iterations, seed : int
        Chunks and random streams as in `run`.

    Returns
    -------
    ndarray
        (iterations, campaigns, indicators), in the units of the methods.
    """
    if len({m.foreground for m in models}) > 1:
        raise AicomputeError("campaigns compared with uncertainty must be written against the same foreground")
    plan = prepare(models, resolved)
    sizes = chunk_sizes(iterations)
    out = []
    for k, n in enumerate(sizes):
        rng = chunk_rng(seed, k, len(sizes))
        for size in blocks(plan, n):
            samples = draw(plan, size, rng)
            out.append(solver_totals(plan.system, samples.tech, samples.bio))
    return np.concatenate(out)


@dataclass
class Samples:
    """One chunk's changes of the matrices and the recorded inputs (iterations, inputs)."""

    tech: Deltas
    bio: Deltas
    inputs: np.ndarray


def draw(plan: Plan, iterations: int, rng: np.random.Generator) -> Samples:
    """Draw `iterations` samples of the exchange and parameter distributions."""
    tech = draw_exchanges(plan.lca.technosphere_mm, plan.active, iterations, rng)
    bio = draw_exchanges(plan.lca.biosphere_mm, plan.active, iterations, rng, plan.characterised, plan.ours)
    values = plan.parameters.sample(iterations, rng)
    f_tech, f_bio = formula_deltas(plan.exchanges, values, iterations)
    watched = bio.values[plan.ours[bio.cols]]
    chosen, drawn, shared = [], [], {}
    for c in plan.choices:  # markets of the same alternatives (paired campaigns) share their draws
        same = (c.name, tuple(c.rows.tolist()), tuple(np.round(c.amounts / c.amounts.sum(), 12).tolist()))
        k = shared.setdefault(same, c.pick(iterations, rng))
        chosen.append(c.deltas(k))
        drawn += list(c.scores[k].T)  # the drawn alternative's score per unit, per indicator
    columns = [*(np.broadcast_to(values[p], (iterations,)) for p in plan.recorded), *watched, *drawn]
    inputs = np.column_stack(columns) if columns else np.zeros((iterations, 0))
    return Samples(Deltas.join([tech.deltas(), f_tech, *chosen]), Deltas.join([bio.deltas(), f_bio]), inputs)


def scores(plan: Plan, samples: Samples) -> tuple[np.ndarray, Shares]:
    """(iterations, indicators) totals and the (iterations, rows, indicators) phase x stage
    shares (`Shares`)."""
    totals, amount, unit = solve_factors(plan.system, samples.tech, samples.bio)
    return totals, Shares(amount, unit, totals, *plan.pairs, len(plan.rows))


def _pairs(system: System) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(input, unit share, row) of every pair of the factored attribution, sorted by row (the
    row of phase i's stage s: i x len(STAGES) + the stage's place in `STAGES`)."""
    f = system.attribution.factored(system.A)
    place = {stage: k for k, stage in enumerate(STAGES)}
    row_of = np.array([i * len(STAGES) + place[stage] for i, stage in f.shares], dtype=np.int64)
    row = row_of[f.pair_share] if len(f.pair_share) else np.zeros(0, dtype=np.int64)
    order = np.argsort(row, kind="stable")
    return f.pair_entry[order], f.pair_unit[order], row[order]


def chunk_sizes(iterations: int) -> list[int]:
    """The chunks `iterations` are split into: `CHUNK` each and the rest; they do not depend on
    the number of workers, so neither do the numbers."""
    if iterations < 1:
        raise AicomputeError("iterations must be at least 1")
    return [CHUNK] * (iterations // CHUNK) + ([iterations % CHUNK] if iterations % CHUNK else [])


def chunk_rng(seed: int, chunk: int, chunks: int) -> np.random.Generator:
    """The random stream of chunk `chunk` of `chunks`, spawned from `seed`
    (`numpy.random.SeedSequence.spawn`): independent of the other chunks and of the workers."""
    return np.random.default_rng(np.random.SeedSequence(seed).spawn(chunks)[chunk])


def run_chunk(plan: Plan, seed: int, chunk: int, chunks: int, iterations: int) -> MonteCarlo:
    """Chunk `chunk` of `chunks` (`iterations` of them), with the random stream spawned for it
    from `seed` (`numpy.random.SeedSequence.spawn`)."""
    rng = chunk_rng(seed, chunk, chunks)
    parts = []
    for size in blocks(plan, iterations):
        samples = draw(plan, size, rng)
        parts.append((*scores(plan, samples), samples.inputs))
    totals, inputs = (np.concatenate([p[k] for p in parts]) for k in (0, 2))
    breakdown = Shares.join([p[1] for p in parts])
    return MonteCarlo(
        labels=plan.labels, units=plan.units, iterations=iterations, seed=seed, totals=totals, rows=plan.rows, breakdown=breakdown,
        input_names=[f"parameter {p}" for p in plan.recorded] + plan.watch_names + choice_names(plan), inputs=inputs, chunks=[(chunk, chunks)],
        effects=one_at_a_time(plan) if chunk == 0 else None,
    )


def one_at_a_time(plan: Plan) -> np.ndarray:
    """(inputs, indicators) change of the campaign's total when each recorded input alone rises
    by 1 % of its static value (parameters, uncertain exchanges of bw_aicompute's activities),
    the others at their static values; a drawn alternative of a market of choices reaches only
    its own indicator (its score per unit, positive). An exact zero: the input cannot reach the
    indicator (a flow without a factor in the method)."""
    m, n = len(plan.recorded), len(plan.watch_names)
    runs = m + n
    if not runs:
        return np.zeros((len(choice_names(plan)), len(plan.labels)))
    values: dict = dict(plan.parameters.amounts)
    for i, p in enumerate(plan.recorded):
        v = np.full(runs, float(values[p]))
        v[i] = v[i] * 1.01 if v[i] else 0.01
        values[p] = v
    values = evaluate_parameters(values, plan.parameters.formulas, plan.parameters.database)
    tech, bio = formula_deltas(plan.exchanges, values, runs)
    if n:  # the static values of the watched exchanges, in draw order (`_watch_names`)
        w = draw_exchanges(plan.lca.biosphere_mm, plan.active & plan.ours, 1, np.random.default_rng(0))
        watched = np.zeros((n, runs))
        watched[np.arange(n), m + np.arange(n)] = 0.01 * w.static
        bio = Deltas.join([bio, Deltas(w.rows, w.cols, watched)])
    base = solver_totals(plan.system, Deltas.none(1), Deltas.none(1))[0, 0]
    changed = solver_totals(plan.system, tech, bio)[:, 0, :] - base
    changed[np.abs(changed) <= 1e-12 * np.abs(base)] = 0.0
    k = len(plan.labels)
    return np.vstack([changed, *(np.eye(k) for _ in plan.choices)]) if plan.choices else changed


def choice_names(plan: Plan) -> list[str]:
    """Names of the recorded inputs of the markets of alternatives: the drawn alternative's score
    per unit on each indicator ('choice grid (climate per unit)')."""
    return [f"choice {c.name} ({label} per unit)" for c in plan.choices for label in plan.labels]


def blocks(plan: Plan, iterations: int) -> list[int]:
    """The blocks of `plan.block` iterations a chunk of `iterations` is drawn and solved in, one
    after the other from the chunk's random stream (one block unless the supply chain is large)."""
    return [min(plan.block, iterations - lo) for lo in range(0, iterations, plan.block)]


def run(model: CampaignModel, resolved: list[tuple[str, tuple]], iterations: int, seed: int = 0, only: list[int] | None = None, progress: bool = False) -> MonteCarlo:
    """Monte Carlo iterations of a written campaign.

    Parameters
    ----------
    model : CampaignModel
        The campaign as written (`write_campaign` or `open_campaign`).
    resolved : list of (label, method)
        The indicators.
    iterations : int
        Iterations in all; they are split into chunks of `CHUNK` (`chunk_sizes`), each with
        its own random stream spawned from `seed`.
    seed : int
        The same seed gives the same numbers.
    only : list of int, optional
        Run these chunks only (the others run elsewhere; `combine` joins them).
    progress : bool
        Show a progress bar (tqdm) over the chunks.
    """
    sizes = chunk_sizes(iterations)
    plan = prepare(model, resolved)
    todo = range(len(sizes)) if only is None else only
    parts = [run_chunk(plan, seed, k, len(sizes), sizes[k]) for k in progress_bar(todo, progress, "Monte Carlo", unit="chunk")]
    return combine(parts)


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
        breakdown=Shares.join([p.breakdown for p in parts]) if isinstance(first.breakdown, Shares) else np.concatenate([p.breakdown for p in parts]),
        input_names=first.input_names,
        inputs=np.vstack([p.inputs for p in parts]),
        chunks=[c for p in parts for c in p.chunks],
        effects=next((p.effects for p in parts if p.effects is not None), None),
    )


def run_chunks(
    project: str,
    campaign_path: str,
    resolved: list[tuple[str, tuple]],
    iterations: int,
    seed: int,
    chunks: list[int],
    background: str = "open",
    data_dir: str | None = None,
) -> list[MonteCarlo]:
    """Some chunks of a Monte Carlo run, in any process (multiprocessing, Dask, Ray...).

    Opens the project and runs chunks `chunks` of the iterations (`chunk_sizes(iterations)`)
    on the campaign, which must have been written already (by `assess` or `write_campaign`,
    once, before the chunks are dispatched).

    Parameters
    ----------
    project : str
        The Brightway project.
    campaign_path : str
        The campaign file (read again here; it must be the file that was written).
    resolved : list of (label, method tuple)
        The indicators.
    iterations, seed : int
        Of the whole run.
    chunks : list of int
        Which chunks to run.
    background : {'open', 'ecoinvent'}
        The foreground the campaign was written against.
    data_dir : str, optional
        The Brightway data directory (default: BRIGHTWAY2_DIR or Brightway's own).

    Returns
    -------
    list of MonteCarlo
        One per chunk, in the order of `chunks`; join them with `combine`.
    """
    from pathlib import Path

    import bw2data as bd

    if data_dir and Path(data_dir) != Path(bd.projects._base_data_dir):
        bd.projects.change_base_directories(Path(data_dir), project_name=project)
    bd.projects.set_current(project)
    model = open_campaign(read_campaign(campaign_path), foreground_for(background))
    sizes = chunk_sizes(iterations)
    plan = prepare(model, [(label, tuple(m)) for label, m in resolved])
    return [run_chunk(plan, seed, k, len(sizes), sizes[k]) for k in chunks]


def run_parallel(project: str, campaign_path: str, resolved: list[tuple[str, tuple]], iterations: int, seed: int, processes: int, background: str = "open") -> MonteCarlo:
    """Run the chunks of `iterations` in `processes` worker processes (spawned, each opening the
    project) and combine them in chunk order: the same numbers as in one process."""
    import concurrent.futures
    import multiprocessing

    import bw2data as bd

    n = len(chunk_sizes(iterations))
    groups = [list(range(k, n, processes)) for k in range(min(processes, n))]
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=len(groups), mp_context=ctx) as pool:
        futures = [pool.submit(run_chunks, project, campaign_path, resolved, iterations, seed, g, background, str(bd.projects._base_data_dir)) for g in groups]
        parts = [part for f in futures for part in f.result()]
    return combine(sorted(parts, key=lambda p: p.chunks[0][0]))
