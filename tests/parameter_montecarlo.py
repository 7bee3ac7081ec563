"""Monte Carlo with parameter sampling as Activity Browser runs it, written here from Activity
Browser 3's documented order (``bwutils/parameters/manager.py``: project -> database -> activity
parameters, then each activity group's exchange formulas with the parameters of the database of
the group's activity parameter), on bw2data's tables and bw2calc: no code of bw_aicompute.

Each iteration: every project and database parameter with a distribution is drawn (stats_arrays),
formula parameters are evaluated (bw2parameters), every parameterized exchange is evaluated with
the parameters its group sees, and those amounts replace the matrix entries of a bw2calc LCA whose
other exchanges are drawn from their own distributions (``use_distributions=True``, ``next``).
"""

from __future__ import annotations

from copy import deepcopy

import numpy as np


def _draw(data: dict, rng: np.random.Generator) -> dict:
    """A copy of bw2data's `load()` of a group with each distribution drawn once."""
    from stats_arrays import MCRandomNumberGenerator, UncertaintyBase

    out = deepcopy(data)
    uncertain = [n for n, p in out.items() if int(p.get("uncertainty type", 0) or 0) > 1 and not p.get("formula")]
    if uncertain:
        params = UncertaintyBase.from_dicts(*[{**out[n], "loc": out[n].get("loc", out[n]["amount"])} for n in uncertain])
        values = MCRandomNumberGenerator(params, seed=int(rng.integers(2**31))).next()
        for n, v in zip(uncertain, values):
            out[n]["amount"] = float(v)
    return out


def _evaluated(data: dict, symbols: dict) -> dict[str, float]:
    from bw2parameters import ParameterSet

    if any(p.get("formula") for p in data.values()):
        ParameterSet(data, symbols or None).evaluate_and_set_amount_field()
    return {n: float(p["amount"]) for n, p in data.items()}


class ParameterMonteCarlo:
    """The exchange amounts of every parameterized exchange of the project, per parameter draw."""

    def __init__(self):
        from bw2data.parameters import ActivityParameter, DatabaseParameter, ParameterizedExchange, ProjectParameter

        self.project = ProjectParameter.load()
        self.databases = {d: DatabaseParameter.load(d) for d in {p.database for p in DatabaseParameter.select(DatabaseParameter.database)}}
        self.groups = sorted({(p.group, p.database) for p in ActivityParameter.select(ActivityParameter.group, ActivityParameter.database)})
        self.activity = {g: ActivityParameter.load(g) for g, _ in self.groups}
        self.formulas: dict[str, list[tuple[int, object]]] = {}
        for p in ParameterizedExchange.select():
            self.formulas.setdefault(p.group, []).append((p.exchange, compile(p.formula, "<formula>", "eval")))

    def draw(self, rng: np.random.Generator) -> dict[int, float]:
        """Exchange id -> amount, for one draw of the parameters."""
        project = _evaluated(_draw(self.project, rng), {})
        databases = {d: _evaluated(_draw(data, rng), project) for d, data in self.databases.items()}
        amounts = {}
        for group, database in self.groups:
            symbols = {**project, **databases.get(database, {})}
            symbols.update(_evaluated(deepcopy(self.activity[group]), symbols))
            for exchange, code in self.formulas.get(group, []):
                amounts[exchange] = float(eval(code, {"__builtins__": {}}, symbols))
        return amounts


def _cells(lca) -> list[tuple[str, int, list[tuple[int, float, float]]]]:
    """(matrix, data index, [(exchange id, sign, stored amount)]) of every matrix cell that holds
    parameterized exchanges (bw2calc sums the exchanges of one cell)."""
    from bw2data.backends import ActivityDataset as AD
    from bw2data.backends import ExchangeDataset as ED
    from bw2data.parameters import ParameterizedExchange

    ids = {(d, c): i for i, d, c in AD.select(AD.id, AD.database, AD.code).tuples()}
    wanted = {p.exchange for p in ParameterizedExchange.select(ParameterizedExchange.exchange)}
    cells: dict[tuple[str, int], list] = {}
    query = ED.select(ED.id, ED.input_database, ED.input_code, ED.output_database, ED.output_code, ED.type, ED.data).where(ED.id.in_(list(wanted)))
    for exc_id, ind, inc, outd, outc, kind, data in query.tuples():
        i, o = ids[(ind, inc)], ids[(outd, outc)]
        if o not in lca.dicts.activity:
            continue
        if kind == "biosphere":
            matrix, row, sign = "biosphere_matrix", lca.dicts.biosphere[i], 1.0
        else:
            matrix, row, sign = "technosphere_matrix", lca.dicts.product[i], (1.0 if kind == "production" else -1.0)
        m = getattr(lca, matrix)
        k = m.indptr[row] + int(np.flatnonzero(m.indices[m.indptr[row] : m.indptr[row + 1]] == lca.dicts.activity[o])[0])
        cells.setdefault((matrix, k), []).append((exc_id, sign, float(data["amount"])))
    return [(matrix, k, excs) for (matrix, k), excs in cells.items()]


def totals(demand: dict, methods: list[tuple], iterations: int, seed: int) -> np.ndarray:
    """(iterations, methods) scores of `demand`, parameters and exchanges drawn."""
    import bw2calc as bc

    rng = np.random.default_rng(seed)
    pmc = ParameterMonteCarlo()
    lca = bc.LCA(demand, method=methods[0], use_distributions=True, seed_override=seed)
    lca.lci()
    lca.lcia()
    cells = _cells(lca)
    cfs = []
    for m in methods:
        lca.switch_method(m)
        cfs.append(lca.characterization_matrix.copy())
    out = np.empty((iterations, len(methods)))
    for it in range(iterations):
        next(lca)
        amounts = pmc.draw(rng)
        for matrix, k, excs in cells:
            # the cell's other exchanges keep their draw; the parameterized ones get their formula's value
            data = getattr(lca, matrix).data
            data[k] += sum(sign * (amounts[e] - stored) for e, sign, stored in excs)
        lca.lci_calculation()
        for j, cf in enumerate(cfs):
            out[it, j] = (cf @ lca.inventory).sum()
    return out
