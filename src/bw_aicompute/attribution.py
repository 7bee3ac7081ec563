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
from dataclasses import dataclass

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

    def demand_arrays(self, A, deltas=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(share, row, amounts) of every non-zero demand entry, one per (share, row), in order
        of first appearance; amounts (entries, iterations)."""
        import scipy.sparse as sp

        iterations = deltas.values.shape[1] if deltas is not None else 1
        n = A.shape[0]
        production = np.where(self.static_production != 0, self.static_production, 1.0)
        amount = np.repeat((-self.static_value / production)[:, None], iterations, axis=1)
        entry, made = _varying(self.edge_col, self.edge_row, n, deltas), _varying(self.edge_col, self.own_row, n, deltas)
        if len(entry) or len(made):  # the visits whose entry or production changes: exactly
            change = np.union1d(entry, made)
            num = entry_values(self.static_value[change], self.edge_row[change], self.edge_col[change], n, deltas, iterations)
            den = np.broadcast_to(production[change][:, None], num.shape)
            if len(made):
                den = entry_values(self.static_production[change], self.own_row[change], self.edge_col[change], n, deltas, iterations)
                den[~np.all(den != 0, axis=1)] = 1.0  # no production: per unit
            amount[change] = -num / den
        for d in range(1, int(self.depth.max(initial=0)) + 1):
            at = np.flatnonzero(self.depth == d)
            amount[at] *= amount[self.parent[at]]
        key = self.share.astype(np.int64) * (int(self.row.max(initial=0)) + 1) + self.row
        unique, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        order = np.argsort(first, kind="stable")  # entries in order of first appearance
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        G = sp.csr_matrix((self.sign, (rank[inverse], self.visit)), shape=(len(unique), len(amount)))
        totals = np.asarray(G @ amount)
        pick = np.flatnonzero(np.any(totals != 0, axis=1))
        firsts = first[order][pick]
        return self.share[firsts], self.row[firsts], totals[pick]


def _varying(cols: np.ndarray, rows: np.ndarray, n: int, deltas) -> np.ndarray:
    """Indices of the entries (rows, cols) that have a change in `deltas`."""
    if deltas is None or not len(deltas.rows):
        return np.zeros(0, dtype=np.int64)
    keys = np.unique(deltas.cols.astype(np.int64) * n + deltas.rows)
    return np.flatnonzero(np.isin(cols.astype(np.int64) * n + rows, keys))


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
    keys = deltas.cols.astype(np.int64) * n + deltas.rows
    order = np.argsort(keys, kind="stable")
    want = cols.astype(np.int64) * n + rows
    lo, hi = np.searchsorted(keys[order], want, "left"), np.searchsorted(keys[order], want, "right")
    counts = hi - lo
    entry = np.repeat(np.arange(len(want)), counts)
    at = order[np.repeat(lo, counts) + np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)]
    G = sp.csr_matrix((np.ones(len(at)), (entry, at)), shape=(len(want), len(keys)))
    out = np.asarray(G @ deltas.values)
    out += static[:, None]
    return out


def _compile(attribution: StageAttribution, A) -> Traversal:
    """Walk every phase of `attribution` on the structure of the csc matrix `A`."""
    visits: list[tuple[int, int, int, int]] = []  # parent, edge row, edge column, depth
    terms: list[tuple[int, int, int, int]] = []  # share, row, sign, visit
    shares: dict[tuple[int, str], int] = {}

    def term(phase: int, stage: str, row: int, sign: int, visit: int) -> None:
        terms.append((shares.setdefault((phase, stage), len(shares)), row, sign, visit))

    known: dict[int, list[int]] = {}  # column -> its input rows, read once (phases share their supply chain)

    def inputs(j: int) -> list[int]:
        if j not in known:
            lo, hi = A.indptr[j], A.indptr[j + 1]
            own = attribution.prod_row[j]
            known[j] = [int(r) for r, a in zip(A.indices[lo:hi].tolist(), A.data[lo:hi].tolist()) if r != own and a < 0]
        return known[j]

    def walk(phase: int, v: int, j: int, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise AicomputeError("stage attribution: the campaign's supply chain is too deep or cyclic")
        own, s = attribution.prod_row[j], attribution.stage.get(j)
        if s:
            term(phase, s, own, 1, v)
        for r in inputs(j):
            k = attribution.row_to_col[r]
            if s and not attribution.stage.get(k) and s != "on-site water":
                continue  # an untagged input of a tagged node stays in its stage
            visits.append((v, r, j, depth + 1))
            child = len(visits) - 1
            if s and attribution.stage.get(k):  # a tagged input of a tagged node: to its own stage
                term(phase, s, r, -1, child)
                walk(phase, child, k, depth + 1)
            elif s:  # on-site water: the facility's untagged electricity provider
                term(phase, s, r, -1, child)
                term(phase, "electricity", r, 1, child)
            else:
                walk(phase, child, k, depth + 1)

    for i, p in enumerate(attribution.phase_cols):
        for r in inputs(p):
            visits.append((-1, r, p, 0))
            walk(i, len(visits) - 1, attribution.row_to_col[r], 0)
    v = np.array(visits, dtype=np.int64).reshape(-1, 4)
    t = np.array(terms, dtype=np.int64).reshape(-1, 4)
    own = np.array([attribution.prod_row[c] for c in v[:, 2].tolist()], dtype=np.int64)
    return Traversal(
        v[:, 0], v[:, 1], v[:, 2], own, v[:, 3], t[:, 0], t[:, 1], t[:, 2].astype(float), t[:, 3], list(shares),
        _static_values(A, v[:, 1], v[:, 2]), _static_values(A, own, v[:, 2]),
    )


def stage_demands(attribution: StageAttribution, A, n_phases: int, deltas=None) -> list[tuple[int, str, Demand]]:
    """(phase index, stage, demand by product row) of every non-empty phase x stage share
    (amounts per iteration with `deltas`, see `StageAttribution.demands`)."""
    return [(i, stage, demand) for i, per_stage in enumerate(attribution.demands(A, deltas)[:n_phases]) for stage, demand in per_stage.items()]


def clean_roundoff(parts: np.ndarray, total: np.ndarray) -> np.ndarray:
    """`parts` with the solver's round-off on shares that are zero by construction set to zero:
    |part| <= ROUNDOFF x |total| (broadcast over the last axes)."""
    return np.where(np.abs(parts) <= ROUNDOFF * np.abs(total), 0.0, parts)
