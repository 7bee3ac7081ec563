"""Monte Carlo samples of a campaign's matrices, all iterations at once.

Two sources of variation, both restricted to the campaign's supply chain:

- exchange distributions: the uncertain entries of the technosphere and biosphere datapackages
  bw2calc loaded (grid intensity, HBM per GB, fab gases...), drawn from the distributions of
  stats_arrays (Mutel, https://stats-arrays.readthedocs.io; what bw2calc's
  `use_distributions=True` draws from, one iteration at a time) for all iterations at once per
  datapackage: unbounded lognormals with numpy directly, the others with stats_arrays; in a
  large background only the biosphere flows that an indicator characterises are drawn;
- parameter distributions: every uncertain parameter of the foreground (PUE, WUE, lifetime,
  utilisation, load factor...) and of the open background (hydropower evaporation) is sampled, the parameters that are formulas of them are
  re-evaluated, then the formulas of the exchanges of the supply chain; the difference from the
  written amount changes the matrix entry.

An exchange with both a distribution and a formula gets both changes.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass

import numpy as np

from . import distributions
from .inventory.formulas import evaluate_many, evaluate_parameters, formula_names
from .solver import Deltas


@dataclass
class Draws:
    """Sampled values of uncertain matrix entries.

    Attributes
    ----------
    rows, cols : ndarray of int
        Matrix indices.
    values : ndarray
        (entries, iterations) sampled matrix values (with the matrix's sign).
    static : ndarray
        (entries,) the static values.
    """

    rows: np.ndarray
    cols: np.ndarray
    values: np.ndarray
    static: np.ndarray

    def deltas(self) -> Deltas:
        """The changes from the static matrix (computed in place: `values` become the changes)."""
        self.values -= self.static[:, None]
        return Deltas(self.rows, self.cols, self.values)


def draw_exchanges(mm, active: np.ndarray, iterations: int, rng: np.random.Generator, rows: np.ndarray | None = None, cols: np.ndarray | None = None) -> Draws:
    """Draw the uncertain entries of a bw2calc mapped matrix in `active` columns.

    Parameters
    ----------
    mm : matrix_utils.MappedMatrix
        `lca.technosphere_mm` or `lca.biosphere_mm`.
    active : ndarray of bool
        Which columns to draw.
    iterations : int
    rng : numpy Generator
        Seeds one generator per datapackage resource, in the order of their labels.
    rows, cols : ndarray of bool, optional
        With `rows`, only the entries in these rows, or in the `cols` columns, are drawn (the
        biosphere flows that an indicator characterises: the others change no score).
    """
    parts = []
    # by label: bw2data gives the databases' datapackages in set order, which changes from one
    # process to the next; the streams and the order of the entries must not
    for g in sorted(mm.groups, key=lambda g: g.label):
        if g.empty or not g.vector or not g.has_distributions:
            continue
        params = g.apply_masks(g.get_resource_by_suffix("distributions"))
        static = np.asarray(g.apply_masks(g.get_resource_by_suffix("data")), dtype=float)
        keep = _drawn(params["uncertainty_type"], g.row_masked, g.col_masked, active, rows, cols)
        if not keep.any():
            continue
        values = _generate(params[keep], iterations, int(rng.integers(1, 2**31 - 1)))
        sign = np.where(g.flip[keep], -1.0, 1.0) if g.has_flip else np.ones(int(keep.sum()))
        scale = sign * (g.rescale[keep] if g.has_rescale else 1.0)
        values *= scale[:, None]
        parts.append(Draws(g.row_masked[keep], g.col_masked[keep], values, static[keep] * scale))
    if len(parts) == 1:
        return parts[0]
    if not parts:
        return Draws(np.zeros(0, dtype=int), np.zeros(0, dtype=int), np.zeros((0, iterations)), np.zeros(0))
    return Draws(*(np.concatenate([getattr(p, k) for p in parts]) for k in ("rows", "cols", "values", "static")))


def _generate(params: np.ndarray, iterations: int, seed: int) -> np.ndarray:
    """(entries, iterations) draws of the distributions of a stats_arrays parameter array:
    the unbounded lognormals with numpy's Generator, exp(loc + scale z) negated where
    `negative` (the distribution of stats_arrays' LognormalUncertainty, without its per-type
    sorting and copies: most of an ecoinvent-sized draw; z standard normal drawn in single
    precision, three times faster, the rest in double), the others with stats_arrays."""
    from stats_arrays import MCRandomNumberGenerator

    fast = (params["uncertainty_type"] == 2) & np.isnan(params["minimum"]) & np.isnan(params["maximum"])
    out = None if fast.all() else np.empty((len(params), iterations))
    if fast.any():
        p = params[fast]
        z = np.random.default_rng(seed).standard_normal((len(p), iterations), dtype=np.float32)
        v = np.multiply(z, p["scale"][:, None])  # double from here on
        v += p["loc"][:, None]
        np.exp(v, out=v)
        v[p["negative"]] *= -1.0
        if out is None:
            return v
        out[fast] = v
    out[~fast] = np.reshape(MCRandomNumberGenerator(params[~fast], seed=seed).generate(samples=iterations), (int((~fast).sum()), iterations))
    return out


def _drawn(kind: np.ndarray, row: np.ndarray, col: np.ndarray, active: np.ndarray, rows: np.ndarray | None, cols: np.ndarray | None) -> np.ndarray:
    """Which entries `draw_exchanges` draws."""
    keep = (kind > 1) & active[col]
    if rows is not None:
        keep &= rows[row] | (cols[col] if cols is not None else False)
    return keep


def uncertain_entries(mm, active: np.ndarray, rows: np.ndarray | None = None, cols: np.ndarray | None = None) -> int:
    """How many entries `draw_exchanges` draws per iteration (same arguments)."""
    count = 0
    for g in mm.groups:
        if not g.empty and g.vector and g.has_distributions:
            kind = g.apply_masks(g.get_resource_by_suffix("distributions"))["uncertainty_type"]
            count += int(_drawn(kind, g.row_masked, g.col_masked, active, rows, cols).sum())
    return count


@dataclass
class ParameterModel:
    """The parameters of a foreground database: static values, distributions, formulas."""

    amounts: dict[str, float]
    fields: dict[str, dict]  # name -> stats_arrays fields of the uncertain ones
    formulas: dict[str, str]
    database: str

    @classmethod
    def of(cls, database: str, *more: str) -> "ParameterModel":
        """Read the parameters of `database` and of the databases in `more` (the background's
        hydropower evaporation), one query each; names are unique across them."""
        from bw2data.parameters import DatabaseParameter

        amounts, fields, formulas = {}, {}, {}
        for db in (database, *more):
            for p in DatabaseParameter.select().where(DatabaseParameter.database == db).order_by(DatabaseParameter.name):
                amounts.setdefault(p.name, p.amount)
                if p.formula and formula_names(p.formula):  # a constant expression is a value
                    formulas.setdefault(p.name, p.formula)
                elif (p.data or {}).get("uncertainty type", 0) > 1:
                    fields.setdefault(p.name, p.data)
        return cls(amounts, fields, formulas, database)

    def sample(self, iterations: int, rng: np.random.Generator) -> dict[str, np.ndarray | float]:
        """Values of every parameter: arrays for the uncertain ones and the formulas of them."""
        values: dict[str, np.ndarray | float] = dict(self.amounts)
        for name, fields in self.fields.items():
            draws = distributions.sample(fields, self.amounts[name], iterations, rng)
            if draws is not None:
                values[name] = draws
        return evaluate_parameters(values, self.formulas, self.database)

    def reaching(self, used: set[str]) -> set[str]:
        """`used` and the parameters their formulas depend on, transitively."""
        used, frontier = set(used), set(used)
        while frontier:
            for dep in formula_names(self.formulas.get(frontier.pop(), "")) - used:
                used.add(dep)
                frontier.add(dep)
        return used


@dataclass
class FormulaExchange:
    """An exchange with a formula in the supply chain: its matrix entry and written amount."""

    formula: str
    row: int
    col: int
    technosphere: bool
    amount: float


def formula_deltas(exchanges: list[FormulaExchange], values: dict, iterations: int) -> tuple[Deltas, Deltas]:
    """Technosphere and biosphere changes of the formula exchanges for sampled `values` (the
    formulas that differ only in their numbers evaluated together: `evaluate_many`)."""
    delta = evaluate_many([e.formula for e in exchanges], values, iterations) - np.array([e.amount for e in exchanges]).reshape(-1, 1)
    tech = np.array([e.technosphere for e in exchanges], dtype=bool)
    rows, cols = np.array([e.row for e in exchanges], dtype=int), np.array([e.col for e in exchanges], dtype=int)
    changed = np.any(delta != 0, axis=1)
    t, b = np.flatnonzero(changed & tech), np.flatnonzero(changed & ~tech)
    return Deltas(rows[t], cols[t], -delta[t]), Deltas(rows[b], cols[b], delta[b])


def formula_exchanges(lca, databases: list[str], active_ids: dict[tuple[str, str], int]) -> list[FormulaExchange]:
    """The exchanges with formulas whose activity is in the supply chain (`active_ids`: key ->
    node id of its activities), in `databases`."""
    from bw2data.backends import ActivityDataset as AD
    from bw2data.backends import ExchangeDataset as ED

    prod, act, bio = (dict(d.items()) for d in (lca.dicts.product, lca.dicts.activity, lca.dicts.biosphere))  # plain dicts: 10,000s of lookups
    rows = []
    for database in databases:
        codes = [code for db, code in active_ids if db == database]
        for i in range(0, len(codes), 500):
            query = ED.select(ED.input_database, ED.input_code, ED.output_code, ED.type, ED.data).where(ED.output_database == database, ED.output_code.in_(codes[i : i + 500]))
            for *r, blob in ED._meta.database.execute(query):  # raw rows: only the kinds with formulas unpickled
                if r[3] in ("technosphere", "biosphere") and (data := pickle.loads(blob)).get("formula"):
                    rows.append((database, *r, data))
    inputs: dict[tuple[str, str], int] = {}
    for db in {r[1] for r in rows}:
        codes = sorted({r[2] for r in rows if r[1] == db})
        for i in range(0, len(codes), 500):
            inputs.update({(db, code): id_ for id_, code in AD.select(AD.id, AD.code).where(AD.database == db, AD.code.in_(codes[i : i + 500])).tuples()})
    out = []
    for database, in_db, in_code, out_code, kind, data in rows:
        in_id, col = inputs.get((in_db, in_code)), act[active_ids[(database, out_code)]]
        if kind == "technosphere" and in_id in prod:
            out.append(FormulaExchange(data["formula"], prod[in_id], col, True, float(data["amount"])))
        elif kind == "biosphere" and in_id in bio:
            out.append(FormulaExchange(data["formula"], bio[in_id], col, False, float(data["amount"])))
    return out
