"""Solving a campaign: its total and every phase x life-cycle stage share, on every indicator,
for one set of matrices or many Monte Carlo iterations at once, with one transposed system.

With a technosphere matrix A (products x activities), a biosphere matrix B and characterization
factors C (indicators x flows), the score of any demand d is lambda . d, where lambda solves the
transposed system A^T lambda = (C B)^T: one solve with one right-hand side per indicator gives the
scores of all demands (Heijungs and Suh 2002, *The Computational Structure of Life Cycle
Assessment*, Kluwer, section 8.2; the "adjoint" form). The campaign and its phases sit on top of
the supply chain (nothing below consumes them), so the system is solved on the supply chain
below them (the "core": a few dozen activities for the open inventories) and lambda of each phase
and of the campaign follows by back-substitution; a share is a dot product of lambda with its
stage demand (`bw_aicompute.attribution`). The cost per iteration does not grow with the number
of phases.

The core is solved as one batched dense system per block of iterations when it is small
(`DENSE_MAX` activities); a larger one (a linked ecoinvent: some 20,000 activities) is factorised
once, static, and each iteration's system is solved by refining that factorisation
(`bw_aicompute.refine`), with a direct LU for an iteration that does not converge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from .attribution import StageAttribution, clean_roundoff, pair_sums, stage_demands

#: Largest core solved as a dense batched system.
DENSE_MAX = 400
#: Floats per block of the batched dense system (64 MiB).
BLOCK_FLOATS = 2**23
#: Solve a larger core by refining one LU of its static matrix (`bw_aicompute.refine`); False:
#: one LU per iteration (what bw2calc does; the reference of the accuracy checks).
REFINE = True


@dataclass
class Deltas:
    """Changes of matrix entries, one value per iteration.

    Attributes
    ----------
    rows, cols : ndarray of int
        Matrix indices of the entries (duplicates add up).
    values : ndarray
        (entries, iterations) changes, in the matrix's sign convention.
    """

    rows: np.ndarray
    cols: np.ndarray
    values: np.ndarray
    _sorted: dict = field(default_factory=dict, init=False, repr=False, compare=False)  # `sorted_keys`, per n

    def sorted_keys(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(order, keys[order]) of the entries' keys col x n + row (n: the matrix's rows),
        sorted once for all the lookups of one block of iterations."""
        if n not in self._sorted:
            keys = self.cols.astype(np.int64) * n + self.rows
            order = np.argsort(keys, kind="stable")
            self._sorted[n] = (order, keys[order])
        return self._sorted[n]

    @classmethod
    def none(cls, iterations: int) -> "Deltas":
        """No change, for `iterations` iterations."""
        return cls(np.zeros(0, dtype=int), np.zeros(0, dtype=int), np.zeros((0, iterations)))

    @classmethod
    def join(cls, parts: list["Deltas"]) -> "Deltas":
        """All changes of `parts` (of the same iterations)."""
        full = [p for p in parts if len(p.rows)]
        if len(full) == 1:
            return full[0]
        return cls(np.concatenate([p.rows for p in parts]), np.concatenate([p.cols for p in parts]), np.vstack([p.values for p in parts]))


@dataclass
class System:
    """The static matrices of a campaign's LCA and how its supply chain is split.

    Attributes
    ----------
    A, B : scipy.sparse.csc_matrix
        Technosphere and biosphere matrices (bw2calc's, static amounts).
    C : ndarray
        (indicators, biosphere flows) characterization factors.
    fu : int
        Column of the campaign activity (the first, when several are solved together).
    phases : list of int
        Columns of the phases, in order.
    fus : list of int
        Columns of every campaign activity solved together (paired comparisons).
    core : ndarray of int
        Columns of the supply chain solved as a system (the rest is back-substituted).
    top : list of int
        Columns back-substituted, each after the columns it consumes.
    attribution : StageAttribution
        Splits each phase into life-cycle stages.
    """

    A: object
    B: object
    C: np.ndarray
    fu: int
    phases: list[int]
    core: np.ndarray
    top: list[int]
    attribution: StageAttribution
    fus: list[int] | None = None
    lu: object = None  # refine.Factors of the core's static matrix, once computed
    steps: list[int] = field(default_factory=list)  # refinement steps of each block solved
    direct: int = 0  # iterations solved with their own LU (refinement not converged)
    levels: list | None = None  # `_Level`s of the top columns, read once
    cache: dict = field(default_factory=dict, repr=False)  # `structure`: what the draws' positions give, per use

    def structure(self, name: str, rows: np.ndarray, cols: np.ndarray, build):
        """`build()`, computed once for the changes' positions `rows`, `cols` and kept until
        another chunk of draws brings other positions (every chunk of a run has the same)."""
        kept = self.cache.get(name)
        if kept is None or not (np.array_equal(kept[0], rows) and np.array_equal(kept[1], cols)):
            kept = self.cache[name] = (rows, cols, build())
        return kept[2]

    @property
    def product_row(self) -> dict[int, int]:
        """Column -> its product row."""
        return self.attribution.prod_row

    @cached_property
    def core_at(self) -> dict[int, int]:
        """Product row of each core column -> its place in the core."""
        return {self.product_row[c]: k for k, c in enumerate(self.core.tolist())}


def supply_chain(A, product_of_column: dict[int, int], start: int) -> set[int]:
    """Columns of the activities reachable from column `start` through the technosphere `A`."""
    A = A.tocsc()
    row_to_col = {r: c for c, r in product_of_column.items()}
    seen, stack = {start}, [start]
    while stack:
        j = stack.pop()
        for r in A.indices[A.indptr[j] : A.indptr[j + 1]]:
            k = row_to_col.get(int(r))
            if k is not None and k not in seen:
                seen.add(k)
                stack.append(k)
    return seen


def build_system(lca, characterization: np.ndarray, fu_id: int | list[int], phase_ids: list[int]) -> System:
    """The `System` of a bw2calc LCA whose matrices are loaded (`load_lci_data`).

    Parameters
    ----------
    lca : bw2calc.LCA
        The LCA of the campaign activity (of all of them, when several are given).
    characterization : ndarray
        (indicators, biosphere flows) factors, in the order of `lca.dicts.biosphere`.
    fu_id, phase_ids : int or list of int, list of int
        Node ids of the campaign activity (or activities) and of their phases.
    """
    act = lca.dicts.activity
    attribution = StageAttribution.for_lca(lca, phase_ids)
    A = lca.technosphere_matrix.tocsc()
    fus = [act[i] for i in (fu_id if isinstance(fu_id, list) else [fu_id])]
    fu, phases = fus[0], [act[i] for i in phase_ids]
    active = set().union(*(supply_chain(A, attribution.prod_row, f) for f in fus))
    top = [*dict.fromkeys(p for p in phases if p not in fus), *fus]
    core = sorted(active - set(top))
    top_rows = {attribution.prod_row[c] for c in top}
    sub = A[:, core]
    if top_rows & set(sub.indices.tolist()):  # the supply chain consumes a phase: no top
        core, top = sorted(active), []
    return System(A=A, B=lca.biosphere_matrix.tocsc(), C=characterization, fu=fu, phases=phases, core=np.array(core, dtype=int), top=top, attribution=attribution, fus=fus)


def _positions(n: int, cols: np.ndarray) -> np.ndarray:
    """Index of each of `n` matrix columns in `cols`, -1 for the others."""
    where = np.full(n, -1, dtype=int)
    where[cols] = np.arange(len(cols))
    return where


def _core_rhs(system: System, bio: Deltas, iterations: int) -> np.ndarray:
    """(iterations, core columns, indicators): C B restricted to the core, with the biosphere
    changes (summed into the columns with one sparse product per indicator)."""
    H, G = system.structure("rhs", bio.rows, bio.cols, lambda: _rhs_structure(system, bio, system.core))
    out = np.broadcast_to(H, (iterations, *H.shape)).copy()
    for j, g in enumerate(G):  # no copy of the (entries, iterations) values
        out[:, :, j] += (g @ bio.values).T
    return out


def _rhs_structure(system: System, bio: Deltas, cols: np.ndarray) -> tuple[np.ndarray, list]:
    """The static C B of `cols` (cols, indicators) and, per indicator, the sparse matrix that
    sums the biosphere changes at `bio`'s positions, times their factors, into the columns."""
    import scipy.sparse as sp

    H = np.asarray(system.B[:, cols].T @ system.C.T)  # (cols, indicators); B stays sparse
    pos = _positions(system.B.shape[1], cols)[bio.cols]
    keep = np.flatnonzero(pos >= 0)
    if not len(keep):
        return H, []
    return H, [sp.csr_matrix((factors[bio.rows[keep]], (pos[keep], keep)), shape=(len(cols), len(pos))) for factors in system.C]


@dataclass
class CoreMatrix:
    """The core's transposed technosphere M (csc, M[col, row] = A[row, col]) and its changes
    per iteration, summed by entry, at (M row, M column) positions.

    Attributes
    ----------
    M : scipy.sparse.csc_matrix
    rows, cols : ndarray of int
        Unique positions of the changes in M.
    values : ndarray
        (positions, iterations) changes.
    """

    M: object
    rows: np.ndarray
    cols: np.ndarray
    values: np.ndarray

    def at(self, i: int):
        """M with the changes of iteration `i` (csc)."""
        import scipy.sparse as sp

        return (self.M + sp.csc_matrix((self.values[:, i], (self.rows, self.cols)), shape=self.M.shape)).tocsc()


def _core_matrix(system: System, tech: Deltas) -> CoreMatrix:
    """The `CoreMatrix` of the system for the technosphere changes `tech`."""
    M, rows, cols, G = system.structure("core", tech.rows, tech.cols, lambda: _core_structure(system, tech))
    values = np.asarray(G @ tech.values) if len(rows) else np.zeros((0, tech.values.shape[1]))
    return CoreMatrix(M, rows, cols, values)


def _core_structure(system: System, tech: Deltas) -> tuple:
    """The core's static M, the unique positions of `tech`'s changes in it (rows, cols) and the
    sparse matrix summing the changes into them."""
    import scipy.sparse as sp

    core = system.core
    rows = np.array([system.product_row[c] for c in core.tolist()], dtype=int)
    ri, ci = _positions(system.A.shape[0], rows)[tech.rows], _positions(system.A.shape[1], core)[tech.cols]
    keep = np.flatnonzero((ri >= 0) & (ci >= 0))
    n = len(core)
    key, inverse = np.unique(ci[keep] * n + ri[keep], return_inverse=True)
    G = sp.csr_matrix((np.ones(len(keep)), (inverse, keep)), shape=(len(key), len(ri)))
    return system.A[rows][:, core].T.tocsc(), key // n, key % n, G


def _core_dense(core: CoreMatrix, rhs: np.ndarray, system: System | None = None) -> np.ndarray:
    """lambda of the core, (iterations, core, indicators), by batched dense solves of A^T."""
    M = core.M.toarray()
    n, iterations = M.shape[0], rhs.shape[0]
    out = np.empty_like(rhs)
    block = max(1, BLOCK_FLOATS // (n * n))
    for lo in range(0, iterations, block):
        hi = min(iterations, lo + block)
        Mb = np.broadcast_to(M, (hi - lo, n, n)).copy()
        Mb[:, core.rows, core.cols] += core.values[:, lo:hi].T
        out[lo:hi] = np.linalg.solve(Mb, rhs[lo:hi])
    return out


def _core_direct(core: CoreMatrix, rhs: np.ndarray) -> np.ndarray:
    """lambda of the core with one sparse LU of A^T per iteration (SuperLU)."""
    from scipy.sparse.linalg import splu

    out = np.empty_like(rhs)
    for i in range(rhs.shape[0]):
        out[i] = splu(core.at(i)).solve(rhs[i])
    return out


def _core_sparse(core: CoreMatrix, rhs: np.ndarray, system: System) -> np.ndarray:
    """lambda of the core, sparse: one LU of the static matrix (kept on `system`), refined per
    iteration (`bw_aicompute.refine`) when the matrix varies."""
    from .refine import Factors, refine

    if not REFINE:
        return _core_direct(core, rhs)
    if system.lu is None:  # also for the static matrix: the factors a Monte Carlo run reuses
        system.lu = Factors(core.M)
    out = refine(system.lu, core, rhs)
    system.steps += out.steps
    system.direct += out.direct
    if out.direct:  # single precision was not enough for this matrix
        system.lu = system.lu.widen()
    return out.x


class Lambdas(dict):
    """Product row -> lambda (iterations, indicators): the top columns' rows as entries, the
    core's read from its solution x (iterations, core columns, indicators) when asked for (no
    view made for each of an ecoinvent-sized core's rows)."""

    def __init__(self, x: np.ndarray, at: dict[int, int]):
        super().__init__()
        self.x, self.at = x, at

    def __missing__(self, row: int) -> np.ndarray:
        return self.x[:, self.at[row], :]


def lambdas(system: System, tech: Deltas, bio: Deltas) -> Lambdas:
    """Product row -> lambda, (iterations, indicators), for the core and the top columns."""
    return _lambdas(system, tech, bio)


def _lambdas(system: System, tech: Deltas, bio: Deltas) -> Lambdas:
    iterations = tech.values.shape[1]
    rhs = _core_rhs(system, bio, iterations)
    solve = _core_dense if len(system.core) <= DENSE_MAX else _core_sparse
    x = solve(_core_matrix(system, tech), rhs, system)
    lam = Lambdas(x, system.core_at)
    top = np.array(system.top, dtype=int)
    if len(top):
        _back_substitute(system, lam, bio, tech, iterations)
    return lam


def _levels(system: System) -> list[np.ndarray]:
    """The top columns in groups (positions in `system.top`) that consume only the core and the
    groups before them (phases, then the campaign)."""
    A = system.A
    top_at = {j: k for k, j in enumerate(system.top)}
    out: dict[int, int] = {}
    for k, j in enumerate(system.top):
        ins = {top_at[c] for r in A.indices[A.indptr[j] : A.indptr[j + 1]] if (c := system.attribution.row_to_col.get(int(r))) in top_at and c != j}
        out[k] = 1 + max((out[i] for i in ins), default=-1)
    return [np.array([k for k, v in out.items() if v == d]) for d in range(max(out.values(), default=-1) + 1)]


@dataclass
class _Level:
    """One group of top columns back-substituted together (`_levels`), read once from the
    static matrices: its entries (`at` in A's data), their rows and owning column, which are
    the columns' own products, the inputs summed per column (`G`, over the distinct input rows
    `distinct`, `pick`: each input's place in them), and the columns' static C B (`H`)."""

    cols: np.ndarray
    at: np.ndarray
    rows: np.ndarray
    owner: np.ndarray
    own: np.ndarray
    is_own: np.ndarray
    inputs: np.ndarray
    G: object
    distinct: np.ndarray
    pick: np.ndarray
    H: np.ndarray  # (columns, indicators)
    below: tuple[int, np.ndarray] | None = None  # (level, places): the inputs are its columns (`_below`)


def _level(system: System, group: np.ndarray) -> _Level:
    """The `_Level` of the top columns at positions `group` of `system.top`."""
    import scipy.sparse as sp

    A = system.A
    cols = np.array(system.top)[group]
    counts = A.indptr[cols + 1] - A.indptr[cols]
    at = np.repeat(A.indptr[cols] - (np.cumsum(counts) - counts), counts) + np.arange(int(counts.sum()))
    rows, owner = A.indices[at].astype(np.int64), np.repeat(np.arange(len(cols)), counts)
    own = np.array([system.product_row[c] for c in cols.tolist()])
    is_own = rows == own[owner]
    inputs = np.flatnonzero(~is_own)
    G = sp.csr_matrix((np.ones(len(inputs)), (owner[inputs], np.arange(len(inputs)))), shape=(len(cols), len(inputs)))
    distinct, pick = np.unique(rows[inputs], return_inverse=True)
    H = np.asarray(system.B[:, cols].T @ system.C.T).reshape(len(cols), system.C.shape[0])
    return _Level(cols, at, rows, owner, own, is_own, inputs, G, distinct, pick, H)


def _back_substitute(system: System, lam: dict[int, np.ndarray], bio: Deltas, tech: Deltas, iterations: int) -> None:
    """lambda of the top columns, level by level: (C B_j - sum of the inputs' lambda x amount) /
    production, with the entries' changes, vectorised over the columns of a level and computed
    as (columns, iterations) per indicator (the structure of each level read once per system)."""
    import scipy.sparse as sp

    from .attribution import entry_values

    if system.levels is None:
        system.levels = [_level(system, group) for group in _levels(system)]
        _below(system.levels)
    done: list[np.ndarray] = []  # each level's lambdas, (indicators, columns, iterations)
    for v in system.levels:
        values = entry_values(system.A.data[v.at], v.rows, v.cols[v.owner], system.A.shape[0], tech, iterations)
        production = np.ones((len(v.cols), iterations))
        production[v.owner[v.is_own]] = values[v.is_own]
        pos = _positions(system.B.shape[1], v.cols)[bio.cols]
        keep = np.flatnonzero(pos >= 0)
        out = np.empty((v.H.shape[1], len(v.cols), iterations))
        for j in range(v.H.shape[1]):
            value = np.repeat(v.H[:, j : j + 1], iterations, axis=1)  # (columns, iterations)
            if len(keep):  # the biosphere changes of these columns
                value += sp.csr_matrix((system.C[j][bio.rows[keep]], (pos[keep], keep)), shape=(len(v.cols), len(pos))) @ bio.values
            if len(v.inputs):
                value -= v.G @ (values[v.inputs] * _inputs(lam, v, done, j)[v.pick])
            np.divide(value, production, out=out[j])
        for k, r in enumerate(v.own.tolist()):
            lam[r] = out[:, k, :].T
        done.append(out)


def _inputs(lam: dict[int, np.ndarray], v: _Level, done: list[np.ndarray], j: int) -> np.ndarray:
    """(distinct inputs, iterations) lambdas of level `v`'s inputs on indicator j: one slice of
    a level below when they are all its columns (the campaign's phases), else row by row."""
    if v.below is not None:
        level, at = v.below
        return done[level][j][at]
    return np.stack([lam[int(r)][:, j] for r in v.distinct.tolist()])


def _below(levels: list[_Level]) -> None:
    """Set `below` of each level whose distinct inputs are all columns of one level before it."""
    for k, v in enumerate(levels):
        for i, u in enumerate(levels[:k]):
            place = {r: p for p, r in enumerate(u.own.tolist())}
            if len(v.distinct) and all(r in place for r in v.distinct.tolist()):
                v.below = (i, np.array([place[r] for r in v.distinct.tolist()]))
                break


def totals(system: System, tech: Deltas, bio: Deltas) -> np.ndarray:
    """(iterations, functional units, indicators) scores of every campaign activity of the
    system, from the same samples (paired)."""
    lam = lambdas(system, tech, bio)
    return np.stack([lam[system.product_row[f]] for f in system.fus], axis=1)


def solve(system: System, tech: Deltas, bio: Deltas) -> tuple[np.ndarray, list[tuple[int, str, np.ndarray]]]:
    """Scores of the campaign and of every phase x stage share.

    Parameters
    ----------
    system : System
        The campaign's matrices (`build_system`).
    tech, bio : Deltas
        Changes of technosphere and biosphere entries per iteration (`Deltas.none(1)` for the
        static matrices).

    Returns
    -------
    totals : ndarray
        (iterations, indicators) scores, in the units of the methods.
    shares : list of (phase index, stage, ndarray)
        The non-empty phase x stage shares, (iterations, indicators) each; they add up to the
        totals (round-off below `attribution.ROUNDOFF` of the total set to zero).
    """
    totals, names, parts = solve_parts(system, tech, bio)
    return totals, [(i, stage, parts[:, k, :]) for k, (i, stage) in enumerate(names)]


def solve_parts(system: System, tech: Deltas, bio: Deltas) -> tuple[np.ndarray, list[tuple[int, str]], np.ndarray]:
    """As `solve`, with the shares as one array: totals (iterations, indicators), the (phase
    index, stage) of each share, and the shares (iterations, shares, indicators): the factors
    of `solve_factors` multiplied out, round-off cleaned."""
    totals, amount, unit = solve_factors(system, tech, bio)
    f = system.attribution.factored(system.A)
    parts = pair_sums(amount, unit, f.pair_entry, f.pair_unit, f.pair_share, np.arange(len(f.shares)))
    return totals, f.shares, clean_roundoff(parts, totals[:, None, :], out=parts)


def solve_factors(system: System, tech: Deltas, bio: Deltas) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The campaign's totals and its phase x stage shares as their factors
    (`attribution.Factored.factors`): totals (iterations, indicators), each phase input's
    amount (iterations, inputs) and the score of one unit of each input in each stage
    (iterations, unit shares, indicators)."""
    lam = _lambdas(system, tech, bio)
    totals = lam[system.product_row[system.fu]]
    factored = system.attribution.factored(system.A)
    return (totals, *factored.factors(system.A, tech, lam, totals.shape[0], totals.shape[1]))


def stage_amounts(system: System, stage: str) -> float:
    """Sum of the amounts of the providers of one stage's demands over the phases, static matrix
    (for `electricity`: the kWh drawn from the grid by the campaign)."""
    parts = stage_demands(system.attribution, system.A, len(system.phases))
    return float(sum(sum(d.values()) for _, s, d in parts if s == stage))
