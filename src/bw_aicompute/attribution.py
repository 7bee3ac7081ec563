"""Attribution of a campaign's phases to life-cycle stages, from the technosphere matrix.

A phase's inputs are followed down to the first node tagged with a stage (the `stage` field of
the inventories); a tagged node's tagged inputs are moved to their own stage (the grid input of
a datacenter operation, tagged "on-site water", goes to "electricity"). The stage demands of a
phase add up to the phase, so the breakdown adds up to the total exactly. One place builds the
demands and cleans the solver's round-off, for the deterministic result and the Monte Carlo
alike: with `deltas` (changes of matrix entries, one value per iteration) the amounts are arrays
over the iterations, built in one traversal for all of them. Which entries are inputs (negative
amounts) is read from the static matrix.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from .errors import AicomputeError

#: A share smaller than this fraction of the total is solver round-off and shown as zero.
ROUNDOFF = 1e-9
MAX_DEPTH = 50

Demand = dict[int, float | np.ndarray]  # product row (or node id) -> amount (per iteration)
Deltas = Mapping[tuple[int, int], np.ndarray]  # (row, column) -> change per iteration


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
        act, prod = lca.dicts.activity, lca.dicts.product
        product_of_column = {act[i]: r for i, r in prod.items() if i in act}
        stages = {act[i]: s for i, s in node_stages(act.keys()).items() if i in act}
        return cls(product_of_column, stages, [act[i] for i in phase_ids])

    def demands(self, A, deltas: Deltas | None = None) -> list[dict[str, Demand]]:
        """Per phase: stage -> {product row: amount}, for the technosphere matrix `A` (plus
        `deltas`: amounts are then arrays over the iterations)."""
        self._A, self._deltas = A.tocsc(), deltas or {}
        out_all = []
        for p in self.phase_cols:
            out: dict[str, Demand] = {}
            for r, a in self._inputs(p):
                self._attribute(self.row_to_col[r], a, out, 0)
            out_all.append(out)
        return out_all

    def _inputs(self, j: int) -> list[tuple[int, float | np.ndarray]]:
        """(row, amount) of the inputs of column `j` (negative entries of the static matrix),
        per unit produced."""
        A, deltas = self._A, self._deltas
        lo, hi = A.indptr[j], A.indptr[j + 1]
        rows, vals = A.indices[lo:hi], A.data[lo:hi]
        own = self.prod_row[j]
        value = {int(r): float(a) + deltas.get((int(r), j), 0.0) for r, a in zip(rows, vals)}
        production = value.get(own, 0.0)
        production = production if np.all(production != 0) else 1.0  # no production: per unit
        return [(int(r), -value[int(r)] / production) for r, a in zip(rows, vals) if r != own and a < 0]

    def _attribute(self, j: int, amount: float | np.ndarray, out: dict[str, Demand], depth: int) -> None:
        if depth > MAX_DEPTH:
            raise AicomputeError("stage attribution: the campaign's supply chain is too deep or cyclic")
        own, s = self.prod_row[j], self.stage.get(j)
        if s:
            _add(out.setdefault(s, {}), own, amount)
        for r, per_unit in self._inputs(j):
            k = self.row_to_col[r]
            amt = amount * per_unit
            if s and self.stage.get(k):  # a tagged input of a tagged node: to its own stage
                _add(out[s], r, -amt)
                self._attribute(k, amt, out, depth + 1)
            elif s == "on-site water":  # the facility's untagged electricity provider
                _add(out[s], r, -amt)
                _add(out.setdefault("electricity", {}), r, amt)
            elif not s:
                self._attribute(k, amt, out, depth + 1)


def _add(d: Demand, key: int, amount: float | np.ndarray) -> None:
    d[key] = d.get(key, 0.0) + amount


def stage_demands(attribution: StageAttribution, A, n_phases: int, deltas: Deltas | None = None) -> list[tuple[int, str, Demand]]:
    """(phase index, stage, demand by product row) of every non-empty phase x stage share
    (amounts per iteration with `deltas`, see `StageAttribution.demands`)."""
    out = []
    for i, per_stage in enumerate(attribution.demands(A, deltas)[:n_phases]):
        for stage, demand in per_stage.items():
            demand = {r: a for r, a in demand.items() if np.any(a != 0)}
            if demand:
                out.append((i, stage, demand))
    return out


def clean_roundoff(parts: np.ndarray, total: np.ndarray) -> np.ndarray:
    """`parts` with the solver's round-off on shares that are zero by construction set to zero:
    |part| <= ROUNDOFF x |total| (broadcast over the last axes)."""
    return np.where(np.abs(parts) <= ROUNDOFF * np.abs(total), 0.0, parts)
