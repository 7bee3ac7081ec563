"""Scores of datasets under the convention of a published figure, and their distributions.

A published figure is computed under its own convention: OWID/Ember's grid intensities take IPCC
AR5's new-plant efficiencies for coal and gas, WRI's grid water counts gross reservoir
evaporation wholly allocated to power. To compare like with like, the datasets are scored with
the parameters that state the convention fixed at its values (`parameters`); every other
input keeps its default, and its distribution: the Monte Carlo of `sample` draws the exchange
and parameter distributions of the datasets' supply chains (as `bw_aicompute.uncertainty` does
for a campaign), the convention's parameters held fixed.

Reference: the adjoint-free direct solve of A x = f per functional unit (Heijungs and Suh 2002,
*The Computational Structure of Life Cycle Assessment*, ch. 2); stats_arrays distributions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .inventory.formulas import evaluate_parameters
from .lca import static_matrices
from .methods import MethodName
from .sampling import ParameterModel, draw_exchanges, formula_deltas, formula_exchanges
from .solver import Deltas

#: Databases whose parameters and formulas a convention can set.
DATABASES = ("aicompute", "aicompute-background")


@dataclass
class NodeScores:
    """Scores of datasets on methods: static (nodes, methods) and, with iterations, the draws
    (iterations, nodes, methods)."""

    static: np.ndarray
    draws: np.ndarray | None = None


def _apply(matrix, deltas: Deltas, i: int):
    """`matrix` (csc) plus the changes of iteration `i`."""
    import scipy.sparse as sp

    if not len(deltas.rows):
        return matrix
    return (matrix + sp.csc_matrix((deltas.values[:, i], (deltas.rows, deltas.cols)), shape=matrix.shape)).tocsc()


def _solve(lca, C: np.ndarray, fus: list[int], tech: Deltas, bio: Deltas, iterations: int) -> np.ndarray:
    """(iterations, nodes, methods): one LU of the technosphere per iteration, every node's
    demand solved with it."""
    from scipy.sparse.linalg import splu

    A, B = lca.technosphere_matrix.tocsc(), lca.biosphere_matrix.tocsc()
    rows = [lca.dicts.product[i] for i in fus]
    F = np.zeros((A.shape[0], len(fus)))
    F[rows, np.arange(len(fus))] = 1.0
    out = np.empty((iterations, len(fus), C.shape[0]))
    for i in range(iterations):
        x = splu(_apply(A, tech, i)).solve(F)
        out[i] = (C @ (_apply(B, bio, i) @ x)).T
    return out


def _parameters(database_ids: set[str], fixed: dict[str, float]) -> ParameterModel:
    """The parameters of the databases, the convention's fixed (no distribution)."""
    model = ParameterModel.of(*[d for d in DATABASES if d in database_ids] or [DATABASES[0]])
    unknown = sorted(set(fixed) - set(model.amounts))
    if unknown:
        from .errors import AicomputeError

        raise AicomputeError(f"convention: no parameter {unknown[0]!r} in the inventories")
    model.amounts.update({k: float(v) for k, v in fixed.items()})
    for k in fixed:
        model.fields.pop(k, None)
        model.formulas.pop(k, None)
    return model


def sample(node_ids: list[int], methods: list[MethodName], parameters: dict[str, float] | None = None, iterations: int = 0, seed: int = 0) -> NodeScores:
    """Scores of one unit of each node under a convention, and their Monte Carlo draws.

    Parameters
    ----------
    node_ids : list of int
        The datasets (each a functional unit of one unit).
    methods : list of method tuples
    parameters : dict, optional
        The convention: parameter name -> value, fixed in every draw.
    iterations : int
        Monte Carlo iterations (0: static scores only).
    seed : int

    Returns
    -------
    NodeScores
        In the units of the methods.
    """
    from .lca import node_keys

    lca, C = static_matrices(node_ids, methods)
    act = lca.dicts.activity
    keys = node_keys(list(act.keys()))
    in_chain = {(k[0], k[1]): i for i, k in keys.items() if k[0] in DATABASES}
    exchanges = formula_exchanges(lca, list(DATABASES), in_chain)
    model = _parameters({k[0] for k in keys.values()}, parameters or {})
    values = evaluate_parameters(dict(model.amounts), model.formulas, model.database)
    tech0, bio0 = formula_deltas(exchanges, values, 1)
    static = _solve(lca, C, node_ids, tech0, bio0, 1)[0]
    if not iterations:
        return NodeScores(static)
    rng = np.random.default_rng(seed)
    active = np.ones(lca.technosphere_matrix.shape[1], dtype=bool)
    tech = draw_exchanges(lca.technosphere_mm, active, iterations, rng)
    bio = draw_exchanges(lca.biosphere_mm, active, iterations, rng)
    f_tech, f_bio = formula_deltas(exchanges, model.sample(iterations, rng), iterations)
    draws = _solve(lca, C, node_ids, Deltas.join([tech.deltas(), f_tech]), Deltas.join([bio.deltas(), f_bio]), iterations)
    return NodeScores(static, draws)
