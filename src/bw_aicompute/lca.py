"""Solving: many functional units on many methods with one bw2calc MultiLCA."""

from __future__ import annotations

import warnings

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
    """Scores of every demand (name -> {node id: amount}) on every method, in one MultiLCA."""
    import bw2calc as bc
    import bw2data as bd

    config = {"impact_categories": [tuple(m) for m in methods]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "All values in characterization matrix are zero" etc.
        mlca = bc.MultiLCA(demands=demands, method_config=config, data_objs=bd.get_multilca_data_objs(demands, config))
        mlca.lci()
        mlca.lcia()
    return {key: float(value) for key, value in mlca.scores.items()}


def score_table(nodes: dict[str, object], indicators: list[str | MethodName]) -> pd.DataFrame:
    """Scores of datasets on indicators, in one MultiLCA.

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
    import bw2data as bd

    resolved = [method_for(i) for i in indicators]
    demands = {name: {node.id: 1.0} for name, node in nodes.items()}
    scores = multi_scores(demands, [m for _, m in resolved])
    df = pd.DataFrame({label: [scores[(m, name)] for name in nodes] for label, m in resolved}, index=list(nodes))
    df.attrs["units"] = {label: bd.methods[m].get("unit", "") for label, m in resolved}
    return df
