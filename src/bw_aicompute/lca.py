"""Brightway's matrices and solves: many functional units on many methods with one solve of the
transposed technosphere per method (the numbers of a bw2calc MultiLCA), the static matrices of
one functional unit, node ids and keys in bulk."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .errors import AicomputeError
from .methods import MethodName, find_method, resolve_indicator


def method_for(indicator_or_method: str | MethodName) -> tuple[str, MethodName]:
    """(label, installed method tuple) for an indicator name (`climate`) or a method tuple."""
    import bw2data as bd

    if isinstance(indicator_or_method, str):
        ind = resolve_indicator(indicator_or_method)
        label, name = ind.name, ind.method
    else:
        label, name = " | ".join(indicator_or_method), tuple(indicator_or_method)
    found = find_method(name, bd.methods)
    if found is None:
        import difflib

        installed = {" | ".join(m): m for m in bd.methods}
        close = difflib.get_close_matches(" | ".join(name), list(installed), n=3, cutoff=0.5)
        hint = f"; closest installed: {'; '.join(close)}" if close else "; list them with: aicompute status"
        raise AicomputeError(f"method {' | '.join(name)!r} is not installed in project {bd.projects.current!r}{hint}")
    return label, found


def multi_scores(demands: dict[str, dict[int, float]], methods: list[MethodName]) -> dict[tuple[MethodName, str], float]:
    """Scores of every demand (name -> {node id: amount}) on every method.

    The technosphere is solved once per method for its characterised biosphere, transposed
    (the adjoint of the inventory problem: lambda = A^-T B^T c, the row vector c B A^-1 of
    Heijungs and Suh 2002, *The Computational Structure of Life Cycle Assessment*, Kluwer,
    whose entry for a product is the score of one unit of it); a demand's score is its amounts
    times lambda. Memory
    and time do not grow with the number of demands: bw2calc's MultiLCA keeps a supply vector
    and an inventory matrix per demand (24 GB for the 2,000 campaigns of one HPC centre's
    accounts). The same numbers as a MultiLCA (tests), keyed the same way: (method, name).
    """
    ids = sorted({i for demand in demands.values() for i in demand})
    lca, chars = static_matrices(ids, [tuple(m) for m in methods])
    lam = adjoint(lca.technosphere_matrix, lca.biosphere_matrix, chars)
    rows = lca.dicts.product
    out = {}
    for name, demand in demands.items():
        score = sum((amount * lam[rows[i]] for i, amount in demand.items()), np.zeros(len(methods)))
        out.update({(tuple(m), name): float(v) for m, v in zip(methods, score)})
    return out


def adjoint(A, B, chars: np.ndarray) -> np.ndarray:
    """(products, methods) lambda = A^-T B^T c for each row c of `chars` (methods x biosphere
    flows): one factorisation of the transposed technosphere `A` (pypardiso when installed,
    as bw2calc, else SuperLU)."""
    if A.shape[0] != A.shape[1]:
        raise AicomputeError(f"the technosphere matrix is not square ({A.shape[0]} products, {A.shape[1]} activities)")
    rhs = np.asarray(B.T @ chars.T)  # (activities, methods)
    try:
        from pypardiso import spsolve
    except ImportError:  # pragma: no cover - pypardiso is installed with bw2calc where MKL exists
        from scipy.sparse.linalg import spsolve
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pypardiso's "small matrix" notes
        lam = spsolve(A.T.tocsr(), rhs)
    return np.asarray(lam).reshape(A.shape[0], chars.shape[0])


def score_table(nodes: dict[str, object], indicators: list[str | MethodName]) -> pd.DataFrame:
    """Scores of datasets on indicators, solved together (`multi_scores`).

    Parameters
    ----------
    nodes : dict
        Row name -> Brightway node (one unit of it is the functional unit).
    indicators : list
        Indicator names (`climate`, `water`...) or installed method tuples.

    Returns
    -------
    DataFrame
        One row per node, one column per indicator; the units (those of the methods, e.g.
        kg CO2-eq) are in `df.attrs["units"]`.
    """
    return demand_table({name: {node.id: 1.0} for name, node in nodes.items()}, indicators)


def demand_table(demands: dict[str, dict[int, float]], indicators: list[str | MethodName]) -> pd.DataFrame:
    """Scores of demands (row name -> {node id: amount}) on indicators, solved together
    (`multi_scores`): a DataFrame as `score_table`'s, one row per demand."""
    import bw2data as bd

    resolved = [method_for(i) for i in indicators]
    scores = multi_scores(demands, [m for _, m in resolved])
    df = pd.DataFrame({label: [scores[(m, name)] for name in demands] for label, m in resolved}, index=list(demands))
    df.attrs["units"] = {label: bd.methods[m].get("unit", "") for label, m in resolved}
    return df


def node_ids(keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """(database, code) -> node id, one query per database and 500 codes."""
    from bw2data.backends import ActivityDataset as AD

    out: dict[tuple[str, str], int] = {}
    for db in sorted({k[0] for k in keys}):
        codes = sorted({k[1] for k in keys if k[0] == db})
        for i in range(0, len(codes), 500):
            out.update({(db, code): id_ for id_, code in AD.select(AD.id, AD.code).where(AD.database == db, AD.code.in_(codes[i : i + 500])).tuples()})
    missing = [k for k in keys if k not in out]
    if missing:
        raise AicomputeError(f"no dataset {missing[0]} in project {_current()!r}")
    return out


def node_keys(ids: list[int]) -> dict[int, tuple[str, str, str, str]]:
    """Node id -> (database, code, name, location), 500 ids per query."""
    from bw2data.backends import ActivityDataset as AD

    out = {}
    ids = sorted(set(ids))
    for i in range(0, len(ids), 500):
        query = AD.select(AD.id, AD.database, AD.code, AD.name, AD.location).where(AD.id.in_(ids[i : i + 500]))
        out.update({id_: (db, code, name, location) for id_, db, code, name, location in query.tuples()})
    return out


def _current() -> str:
    import bw2data as bd

    return bd.projects.current


def static_matrices(fu_id: int | list[int], methods: list[MethodName]):
    """A bw2calc LCA of one unit of node `fu_id` (of each, for a list) with its matrices loaded
    (static amounts, no solve) and the characterization factors of `methods` as rows of one
    array (methods x biosphere flows, in the order of `lca.dicts.biosphere`)."""
    import bw2calc as bc
    import numpy as np

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "All values in characterization matrix are zero" etc.
        lca = bc.LCA({i: 1.0 for i in (fu_id if isinstance(fu_id, list) else [fu_id])}, methods[0])
        lca.load_lci_data()
        chars = []
        for m in methods:
            lca.switch_method(m)
            chars.append(np.asarray(lca.characterization_matrix.diagonal()).ravel())
    return lca, np.vstack(chars)


def score_keys(keys: list[tuple[str, str]], methods: list[MethodName]) -> list[list[float]]:
    """Scores (one list per key, one score per method, in the methods' units) of one unit of
    each activity `keys`, solved together (`multi_scores`), in the current project."""
    ids = node_ids(keys)
    scores = multi_scores({str(k): {ids[key]: 1.0} for k, key in enumerate(keys)}, methods)
    return [[scores[(tuple(m), str(k))] for m in methods] for k in range(len(keys))]
