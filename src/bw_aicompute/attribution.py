"""Attribution of a campaign's phases to life-cycle stages, from the technosphere matrix.

A phase's inputs are followed down to the first node tagged with a stage (the `stage` field of
the inventories); a tagged node's tagged inputs are moved to their own stage (the grid input of
a datacenter operation, tagged "on-site water", goes to "electricity"). The stage demands of a
phase add up to the phase, so the breakdown adds up to the total exactly. One place builds the
demands and cleans the solver's round-off, for the deterministic result and the Monte Carlo
alike: the traversal is compiled once from the static matrix (which entries are inputs,
negative amounts, and which paths are followed) into visits and terms (`Traversal`); with
`deltas` (changes of matrix entries, one value per iteration) the amounts are then arrays over
the iterations, computed depth by depth for all phases at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from .errors import AicomputeError

#: A share smaller than this fraction of the total is solver round-off and shown as zero.
ROUNDOFF = 1e-9
MAX_DEPTH = 50

Demand = dict[int, float | np.ndarray]  # product row (or node id) -> amount (per iteration)


def node_stages(ids: Iterable[int]) -> dict[int, str]:
    """Life-cycle stage tag (`stage` field) of each node id that has one."""
    from bw2data.backends import ActivityDataset as AD

    out = {}
    ids = list(ids)
    for i in range(0, len(ids), 500):
        for id_, data in AD.select(AD.id, AD.data).where(AD.id.in_(ids[i : i + 500])).tuples():
            if data.get("stage"):
                out[id_] = data["stage"]
    return out


def product_rows(lca) -> dict[int, int]:
    """Technosphere column -> the row of its reference product: the row of the same node, or,
    for a process whose products are nodes of their own (a JSON-LD import such as USLCI's), the
    row of its largest positive entry (its production)."""
    act, prod = lca.dicts.activity, lca.dicts.product
    out = {act[i]: r for i, r in prod.items() if i in act}
    if len(out) < len(act):
        A = lca.technosphere_matrix.tocsc()
        for j in (j for j in range(A.shape[1]) if j not in out):
            lo, hi = A.indptr[j], A.indptr[j + 1]
            k = int(np.argmax(A.data[lo:hi])) if hi > lo else -1
            if k >= 0 and A.data[lo + k] > 0:
                out[j] = int(A.indices[lo + k])
    return out


class StageAttribution:
    """Splits the demand of each phase into life-cycle stages on a technosphere matrix.

    Parameters
    ----------
    product_of_column : mapping
        Technosphere column -> its reference product row.
    stage_of_column : mapping
        Column -> stage tag, for the tagged columns.
    phase_columns : list of int
        The columns of the phases, in order.
    """

    def __init__(self, product_of_column: Mapping[int, int], stage_of_column: Mapping[int, str], phase_columns: list[int]):
        self.prod_row = dict(product_of_column)
        self.row_to_col = {r: c for c, r in self.prod_row.items()}
        self.stage = dict(stage_of_column)
        self.phase_cols = list(phase_columns)

    @classmethod
    def for_lca(cls, lca, phase_ids: list[int]) -> "StageAttribution":
        """The attribution on the matrices of a bw2calc `LCA` (after `lci()`)."""
        act = lca.dicts.activity
        product_of_column = product_rows(lca)
        stages = {act[i]: s for i, s in node_stages(act.keys()).items() if i in act}
        return cls(product_of_column, stages, [act[i] for i in phase_ids])

    def demands(self, A, deltas=None) -> list[dict[str, Demand]]:
        """Per phase: stage -> {product row: amount}, for the technosphere matrix `A` (plus
        `deltas`, changes with `rows`, `cols` and (entries, iterations) `values`: amounts are
        then arrays over the iterations)."""
        t = self.traversal(A)
        shares, rows, amounts = t.demand_arrays(A, deltas)
        out: list[dict[str, Demand]] = [{} for _ in self.phase_cols]
        for k, r, a in zip(shares.tolist(), rows.tolist(), amounts):
            phase, stage = t.shares[k]
            out[phase].setdefault(stage, {})[r] = a if deltas is not None else float(a[0])
        return out

    def factored(self, A) -> "Factored":
        """The attribution of every phase factored by phase input (`Factored`; kept for `A`)."""
        if getattr(self, "_factored_for", None) is not A:
            self._factored, self._factored_for = _factor(self, A.tocsc()), A
        return self._factored

    def traversal(self, A) -> "Traversal":
        """The attribution of every phase compiled on the structure of `A` (kept for `A`)."""
        if getattr(self, "_compiled_for", None) is not A:
            self._traversal, self._compiled_for = _compile(self, A.tocsc()), A
        return self._traversal


@dataclass
class Traversal:
    """The stage attribution of every phase, compiled once from the static matrix.

    A *visit* is a node reached along a path from a phase: its amount is its parent's times
    the per-unit input of its edge (row `edge_row` consumed by column `edge_col`); a *term*
    adds `sign` x a visit's amount to the demand of share `share` (a phase and a stage) at
    product row `row`. Which entries are inputs (negative amounts) and which paths are followed
    depend on the static matrix and the stage tags only; the amounts are then computed for all
    iterations at once, depth by depth (`demand_arrays`).
    """

    parent: np.ndarray
    edge_row: np.ndarray
    edge_col: np.ndarray
    own_row: np.ndarray  # product row of edge_col (its production)
    depth: np.ndarray
    share: np.ndarray
    row: np.ndarray
    sign: np.ndarray
    visit: np.ndarray
    shares: list[tuple[int, str]]  # (phase index, stage), in order of first appearance
    static_value: np.ndarray  # per visit: the static matrix entry of its edge
    static_production: np.ndarray  # per visit: the static production of edge_col
    _grouping: tuple | None = field(default=None, init=False, repr=False)  # `grouping()`, built once

    def demand_arrays(self, A, deltas=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(share, row, amounts) of every non-zero demand entry, one per (share, row), in order
        of first appearance; amounts (entries, iterations)."""
        amount = edge_amounts(self.static_value, self.static_production, self.edge_row, self.edge_col, self.own_row, A.shape[0], deltas)
        for d in range(1, int(self.depth.max(initial=0)) + 1):
            at = np.flatnonzero(self.depth == d)
            amount[at] *= amount[self.parent[at]]
        G, firsts = self.grouping()
        totals = np.asarray(G @ amount)
        pick = np.flatnonzero(np.any(totals != 0, axis=1))
        return self.share[firsts[pick]], self.row[firsts[pick]], totals[pick]

    def grouping(self):
        """(G, firsts): the sparse matrix summing signed visit amounts into one entry per
        (share, row), entries in order of first appearance, and each entry's first term. It
        depends on the structure only: built once (`np.unique` over the terms of 10,000 phases
        is not redone for every block of Monte Carlo iterations)."""
        import scipy.sparse as sp

        if self._grouping is None:
            key = self.share.astype(np.int64) * (int(self.row.max(initial=0)) + 1) + self.row
            unique, first, inverse = np.unique(key, return_index=True, return_inverse=True)
            order = np.argsort(first, kind="stable")  # entries in order of first appearance
            rank = np.empty(len(order), dtype=np.int64)
            rank[order] = np.arange(len(order))
            G = sp.csr_matrix((self.sign, (rank[inverse], self.visit)), shape=(len(unique), len(self.parent)))
            self._grouping = (G, first[order])
        return self._grouping


def edge_amounts(static: np.ndarray, production: np.ndarray, rows: np.ndarray, cols: np.ndarray, own: np.ndarray, n: int, deltas=None) -> np.ndarray:
    """(edges, iterations) input of row `rows` per unit of production of column `cols` (whose
    product row is `own`): -A[row, col] / A[own, col], with the changes `deltas` (one value per
    iteration) where an entry or a production has one; a column without production is per unit."""
    iterations = deltas.values.shape[1] if deltas is not None else 1
    made = np.where(production != 0, production, 1.0)
    amount = np.repeat((-static / made)[:, None], iterations, axis=1)
    entry, moved = _varying(cols, rows, n, deltas), _varying(cols, own, n, deltas)
    if len(entry) or len(moved):  # the edges whose entry or production changes: exactly
        change = np.union1d(entry, moved)
        num = entry_values(static[change], rows[change], cols[change], n, deltas, iterations)
        den = np.broadcast_to(made[change][:, None], num.shape)
        if len(moved):
            den = entry_values(production[change], own[change], cols[change], n, deltas, iterations)
            den[~np.all(den != 0, axis=1)] = 1.0  # no production: per unit
        amount[change] = -num / den
    return amount


def _varying(cols: np.ndarray, rows: np.ndarray, n: int, deltas) -> np.ndarray:
    """Indices of the entries (rows, cols) that have a change in `deltas`."""
    if deltas is None or not len(deltas.rows):
        return np.zeros(0, dtype=np.int64)
    _, keys = deltas.sorted_keys(n)
    want = cols.astype(np.int64) * n + rows
    pos = np.minimum(np.searchsorted(keys, want), len(keys) - 1)
    return np.flatnonzero(keys[pos] == want)


def _static_values(A, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The entries (rows, cols) of the sparse matrix `A` (duplicates summed; 0 if absent)."""
    coo = A.tocoo()
    keys = coo.col.astype(np.int64) * A.shape[0] + coo.row
    order = np.argsort(keys, kind="stable")
    unique, start = np.unique(keys[order], return_index=True)
    sums = np.add.reduceat(coo.data[order], start) if len(start) else np.zeros(0)
    return _lookup(unique, sums, cols.astype(np.int64) * A.shape[0] + rows)


def _lookup(keys: np.ndarray, values: np.ndarray, want: np.ndarray) -> np.ndarray:
    """values[keys == want] for each of `want` (sorted unique `keys`), 0 where absent."""
    if not len(keys):
        return np.zeros(len(want))
    pos = np.minimum(np.searchsorted(keys, want), len(keys) - 1)
    return np.where(keys[pos] == want, values[pos], 0.0)


def entry_values(static: np.ndarray, rows: np.ndarray, cols: np.ndarray, n: int, deltas, iterations: int) -> np.ndarray:
    """(entries, iterations): `static` plus the summed `deltas` (rows, cols, values) at the
    entries (rows, cols), with one sparse product."""
    import scipy.sparse as sp

    if deltas is None or not len(deltas.rows):
        return np.repeat(static[:, None], iterations, axis=1)
    order, keys = deltas.sorted_keys(n)
    want = cols.astype(np.int64) * n + rows
    lo, hi = np.searchsorted(keys, want, "left"), np.searchsorted(keys, want, "right")
    counts = hi - lo
    entry = np.repeat(np.arange(len(want)), counts)
    at = order[np.repeat(lo, counts) + np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)]
    G = sp.csr_matrix((np.ones(len(at)), (entry, at)), shape=(len(want), len(order)))
    out = np.asarray(G @ deltas.values)
    out += static[:, None]
    return out


def _compile(attribution: StageAttribution, A) -> Traversal:
    """Walk every phase of `attribution` on the structure of the csc matrix `A`: the walk below
    a column is compiled once (`_Templates`), each distinct phase (its input rows) once, and
    the phases are then laid out with array offsets (10,000 phases share a few supply chains).
    Visits and terms are in the order of a depth-first walk of each phase in turn."""
    templates = _Templates(attribution, A)
    return _lay_out(templates, [tuple(templates.inputs(p)) for p in attribution.phase_cols], np.asarray(attribution.phase_cols, dtype=np.int64))


def _lay_out(templates: "_Templates", inputs: list[tuple[int, ...]], cols: np.ndarray) -> Traversal:
    """The `Traversal` of phases of columns `cols` with input rows `inputs` (a column of -1:
    a unit of each input, whatever consumes it; see `Factored`)."""
    A = templates.A
    kind_of: dict[tuple[int, ...], int] = {}
    kinds = np.array([kind_of.setdefault(rows, len(kind_of)) for rows in inputs], dtype=np.int64)
    built = [templates.phase(rows) for rows in kind_of]
    v, v_phase, v_base = _tile([b[0] for b in built], kinds)
    t, t_phase, _ = _tile([b[1] for b in built], kinds)
    v[:, 0] = np.where(v[:, 0] >= 0, v[:, 0] + v_base[v_phase], -1)
    v[:, 2] = np.where(v[:, 2] == _PHASE, cols[v_phase] if len(cols) else 0, v[:, 2])
    counts = np.array([len(b[2]) for b in built], dtype=np.int64)[kinds]
    t[:, 0] += (np.cumsum(counts) - counts)[t_phase]
    t[:, 3] += v_base[t_phase]
    if v[:, 3].max(initial=0) > MAX_DEPTH:
        raise AicomputeError(_TOO_DEEP)
    shares = [(i, templates.stages[s]) for i, kind in enumerate(kinds.tolist()) for s in built[kind][2]]
    prod = np.full(A.shape[1] + 1, -1, dtype=np.int64)  # the last: a column of -1
    prod[list(templates.a.prod_row)] = list(templates.a.prod_row.values())
    own = prod[v[:, 2]]
    return Traversal(
        v[:, 0], v[:, 1], v[:, 2], own, v[:, 3], t[:, 0], t[:, 1], t[:, 2].astype(float), t[:, 3], shares,
        _static_values(A, v[:, 1], v[:, 2]), _static_values(A, own, v[:, 2]),
    )


@dataclass
class Factored:
    """The stage attribution of every phase, factored: what one unit of each phase input brings
    to each stage (`units`: a traversal whose "phases" are the distinct input rows of the
    phases, each entered with a unit amount) and each phase's inputs (`entries`). A share
    (phase, stage) is the sum over the phase's inputs of the input's amount times the unit's
    score in that stage, so the walk below the inputs is evaluated once per distinct input,
    not once per phase (10,000 phases, two distinct inputs).

    Attributes
    ----------
    units : Traversal
        One unit of each distinct phase input row (`unit_rows`), its column -1.
    entry_row, entry_col, entry_own : ndarray of int
        Each phase input: its row, the phase's column and product row.
    static_value, static_production : ndarray
        Their static matrix entries.
    pair_entry, pair_unit, pair_share : ndarray of int
        Each (input, unit share) pair: the input, the share of `units` (its unit and a stage)
        and the phase's share it adds to, in the order of the phase's shares.
    shares : list of (phase index, stage)
        In the order of the depth-first walk of each phase (`Traversal.shares`).
    """

    units: Traversal
    entry_row: np.ndarray
    entry_col: np.ndarray
    entry_own: np.ndarray
    static_value: np.ndarray
    static_production: np.ndarray
    pair_entry: np.ndarray
    pair_unit: np.ndarray
    pair_share: np.ndarray
    shares: list[tuple[int, str]]

    def factors(self, A, deltas, lam: Mapping[int, np.ndarray], iterations: int, indicators: int) -> tuple[np.ndarray, np.ndarray]:
        """(amount, unit): (iterations, inputs) each phase input's amount and (iterations, unit
        shares, indicators) the score of one unit of each input in each stage, with the
        lambdas `lam` (product row -> (iterations, indicators)) and the matrix changes `deltas`."""
        unit = _weighted(self.units, A, deltas, lam, iterations, indicators).transpose(1, 0, 2)
        amount = edge_amounts(self.static_value, self.static_production, self.entry_row, self.entry_col, self.entry_own, A.shape[0], deltas).T
        return np.ascontiguousarray(amount), np.ascontiguousarray(unit)

    def parts(self, A, deltas, lam: Mapping[int, np.ndarray], iterations: int, indicators: int) -> np.ndarray:
        """(iterations, shares, indicators) scores of every share (`factors`, `pair_sums`)."""
        amount, unit = self.factors(A, deltas, lam, iterations, indicators)
        return pair_sums(amount, unit, self.pair_entry, self.pair_unit, self.pair_share, np.arange(len(self.shares)))


def pair_sums(amount: np.ndarray, unit: np.ndarray, entry: np.ndarray, unit_share: np.ndarray, key: np.ndarray, want: np.ndarray) -> np.ndarray:
    """(iterations, len(want), indicators): for each key of `want`, the sum over the pairs of
    that key of amount[:, entry] x unit[:, unit_share, :] (the pairs sorted by `key`; 0 for a
    key without pairs). Only the pairs asked for are multiplied out."""
    lo, hi = np.searchsorted(key, want, "left"), np.searchsorted(key, want, "right")
    counts = hi - lo
    starts = np.cumsum(counts) - counts
    take = np.repeat(lo - starts, counts) + np.arange(int(counts.sum()))
    x = amount[:, entry[take], None] * unit[:, unit_share[take], :]  # (iterations, pairs, indicators)
    if len(take) == len(want) and (counts == 1).all():
        return x
    out = np.zeros((amount.shape[0], len(want), unit.shape[2]))
    full = counts > 0
    if full.any():
        out[:, full] = np.add.reduceat(x, starts[full], axis=1)
    return out


def _weighted(t: Traversal, A, deltas, lam: Mapping[int, np.ndarray], iterations: int, indicators: int) -> np.ndarray:
    """(shares, iterations, indicators): each share of traversal `t` scored with `lam`."""
    import scipy.sparse as sp

    share, rows, amounts = t.demand_arrays(A, deltas)
    out = np.zeros((len(t.shares), iterations, indicators))
    if not len(share):
        return out
    unique_rows, at = np.unique(rows, return_inverse=True)
    G = sp.csr_matrix((np.ones(len(share)), (share, np.arange(len(share)))), shape=(len(t.shares), len(share)))
    for j in range(indicators):
        L = np.stack([lam[r][:, j] for r in unique_rows.tolist()])  # (rows, iterations)
        out[:, :, j] = G @ (amounts * L[at])
    return out


def _factor(attribution: StageAttribution, A) -> Factored:
    """The `Factored` attribution of the phases of `attribution` on the csc matrix `A`."""
    templates = _Templates(attribution, A)
    inputs = [tuple(templates.inputs(p)) for p in attribution.phase_cols]
    unit_rows = list(dict.fromkeys(r for rows in inputs for r in rows))
    units = _lay_out(templates, [(r,) for r in unit_rows], np.full(len(unit_rows), -1, dtype=np.int64))
    root = units.depth == 0
    units.static_value[root], units.static_production[root] = -1.0, 1.0  # a unit of each input
    unit_shares: dict[int, list[tuple[int, str]]] = {}  # unit -> (its share, stage)
    for k, (u, stage) in enumerate(units.shares):
        unit_shares.setdefault(u, []).append((k, stage))
    unit_of = {r: u for u, r in enumerate(unit_rows)}
    kind_of: dict[tuple[int, ...], int] = {}
    kinds = np.array([kind_of.setdefault(rows, len(kind_of)) for rows in inputs], dtype=np.int64)
    local = [_pairs(rows, unit_of, unit_shares) for rows in kind_of]
    pairs, p_phase, _ = _tile([b[0] for b in local], kinds)
    n_inputs = np.array([len(rows) for rows in kind_of], dtype=np.int64)[kinds]
    n_shares = np.array([len(b[1]) for b in local], dtype=np.int64)[kinds]
    pairs[:, 0] += (np.cumsum(n_inputs) - n_inputs)[p_phase]
    pairs[:, 2] += (np.cumsum(n_shares) - n_shares)[p_phase]
    cols = np.repeat(np.asarray(attribution.phase_cols, dtype=np.int64), [len(rows) for rows in inputs])
    rows = np.array([r for rows in inputs for r in rows], dtype=np.int64)
    own = np.array([attribution.prod_row[c] for c in cols.tolist()], dtype=np.int64)
    shares = [(i, stage) for i, kind in enumerate(kinds.tolist()) for stage in local[kind][1]]
    pairs = pairs[np.argsort(pairs[:, 2], kind="stable")]  # the pairs of each share together
    return Factored(units, rows, cols, own, _static_values(A, rows, cols), _static_values(A, own, cols), pairs[:, 0], pairs[:, 1], pairs[:, 2], shares)


def _pairs(rows: tuple[int, ...], unit_of: dict[int, int], unit_shares: dict[int, list[tuple[int, str]]]) -> tuple[np.ndarray, list[str]]:
    """For a phase with input rows `rows`: (input, unit share, phase share) pairs with local
    indices, and the stage of each phase share in order of first appearance."""
    order: dict[str, int] = {}
    out = [(e, k, order.setdefault(stage, len(order))) for e, r in enumerate(rows) for k, stage in unit_shares.get(unit_of[r], [])]
    return np.array(out, dtype=np.int64).reshape(-1, 3), list(order)


_PHASE = -2  # the column of a phase's own input visits in a phase template
_TOO_DEEP = "stage attribution: the campaign's supply chain is too deep or cyclic"


def _tile(parts: list[np.ndarray], kinds: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows of `parts[kinds[i]]` for each i in turn: (rows, index i of each row, offset of
    each i's first row)."""
    lengths = np.array([len(p) for p in parts], dtype=np.int64)
    big = np.concatenate(parts) if parts else np.zeros((0, 4), dtype=np.int64)
    starts = np.cumsum(lengths) - lengths
    n = lengths[kinds] if len(kinds) else np.zeros(0, dtype=np.int64)
    offset = np.cumsum(n) - n
    which = np.repeat(np.arange(len(kinds)), n)
    return big[starts[kinds][which] + np.arange(int(n.sum())) - offset[which]], which, offset


class _Templates:
    """The depth-first walk below each column, compiled once: visits (parent, edge row, edge
    column, depth) and terms (stage, row, sign, visit), with local indices; a parent or visit
    of -1 is the visit that entered the column."""

    def __init__(self, attribution: StageAttribution, A):
        self.a, self.A = attribution, A
        self.known: dict[int, list[int]] = {}
        self.stages: list[str] = []
        self.stage_id: dict[str, int] = {}
        self.done: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.open: set[int] = set()

    def inputs(self, j: int) -> list[int]:
        """The input rows of column j (negative entries other than its product), read once."""
        if j not in self.known:
            lo, hi = self.A.indptr[j], self.A.indptr[j + 1]
            own = self.a.prod_row[j]
            self.known[j] = [int(r) for r, x in zip(self.A.indices[lo:hi].tolist(), self.A.data[lo:hi].tolist()) if r != own and x < 0]
        return self.known[j]

    def sid(self, stage: str) -> int:
        """The index of `stage` in `stages`."""
        if stage not in self.stage_id:
            self.stage_id[stage] = len(self.stages)
            self.stages.append(stage)
        return self.stage_id[stage]

    def column(self, j: int) -> tuple[np.ndarray, np.ndarray]:
        """The walk below column j: a tagged node's own demand (+), its tagged inputs moved to
        their stage (-, then walked), an on-site water node's untagged input moved to
        electricity; an untagged node's inputs walked."""
        if j in self.done:
            return self.done[j]
        if j in self.open or len(self.open) > MAX_DEPTH:
            raise AicomputeError(_TOO_DEEP)
        self.open.add(j)
        visits: list = []
        terms: list = []
        stage, s = self.a.stage.get(j), None
        if stage:
            s = self.sid(stage)
            terms.append((s, self.a.prod_row[j], 1, -1))
        for r in self.inputs(j):
            k = self.a.row_to_col[r]
            tagged = bool(self.a.stage.get(k))
            if stage and not tagged and stage != "on-site water":
                continue  # an untagged input of a tagged node stays in its stage
            visits.append((-1, r, j, 1))
            child = len(visits) - 1
            if stage:
                terms.append((s, r, -1, child))
            if stage and not tagged:  # on-site water: the facility's untagged electricity provider
                terms.append((self.sid("electricity"), r, 1, child))
            else:
                self.include(visits, terms, child, k)
        self.open.discard(j)
        self.done[j] = (np.array(visits, dtype=np.int64).reshape(-1, 4), np.array(terms, dtype=np.int64).reshape(-1, 4))
        return self.done[j]

    def include(self, visits: list, terms: list, at: int, k: int) -> None:
        """Append the walk below column k entered by visit `at`."""
        cv, ct = self.column(k)
        base, depth = len(visits), visits[at][3]
        if len(cv):
            v = cv.copy()
            v[:, 0] = np.where(v[:, 0] < 0, at, v[:, 0] + base)
            v[:, 3] += depth
            visits.extend(map(tuple, v.tolist()))
        if len(ct):
            t = ct.copy()
            t[:, 3] = np.where(t[:, 3] < 0, at, t[:, 3] + base)
            terms.extend(map(tuple, t.tolist()))

    def phase(self, rows: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, list[int]]:
        """The walk of a phase with input rows `rows`: visits (its own column `_PHASE`), terms
        with the phase's shares (0, 1, ... in order of first appearance), the stage of each."""
        visits: list = []
        terms: list = []
        for r in rows:
            visits.append((-1, r, _PHASE, 0))
            self.include(visits, terms, len(visits) - 1, self.a.row_to_col[r])
        t = np.array(terms, dtype=np.int64).reshape(-1, 4)
        order: dict[int, int] = {}
        t[:, 0] = [order.setdefault(s, len(order)) for s in t[:, 0].tolist()]
        return np.array(visits, dtype=np.int64).reshape(-1, 4), t, list(order)


def stage_demands(attribution: StageAttribution, A, n_phases: int, deltas=None) -> list[tuple[int, str, Demand]]:
    """(phase index, stage, demand by product row) of every non-empty phase x stage share
    (amounts per iteration with `deltas`, see `StageAttribution.demands`)."""
    return [(i, stage, demand) for i, per_stage in enumerate(attribution.demands(A, deltas)[:n_phases]) for stage, demand in per_stage.items()]


def clean_roundoff(parts: np.ndarray, total: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """`parts` with the solver's round-off on shares that are zero by construction set to zero:
    |part| <= ROUNDOFF x |total| (broadcast over the last axes); into `out` (`parts` itself
    to clean in place)."""
    small = np.abs(parts) <= ROUNDOFF * np.abs(total)
    out = np.array(parts, dtype=float) if out is None else out
    out[small] = 0.0
    return out
