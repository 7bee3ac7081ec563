"""Monte Carlo solves of a large supply chain: one LU of the static matrix, refined per iteration.

Each Monte Carlo iteration i solves (M + D_i) x_i = b_i, where M is the static (transposed)
technosphere matrix, the amounts bw2calc writes (the medians of lognormal exchanges), and D_i
the sampled changes. A fresh LU per iteration (what bw2calc does, with SuperLU or PARDISO) costs
a factorisation of an ecoinvent-sized matrix every iteration. Here M is factorised once and each
iteration is solved by preconditioned Richardson iteration, i.e. iterative refinement with the
factors of M as approximate inverse (Saad 2003, *Iterative Methods for Sparse Linear Systems*,
2nd ed., SIAM, sections 4.1 and 9.1):

    x <- x + M^-1 (b_i - (M + D_i) x),   starting from x = M^-1 b_i.

The error shrinks by the spectral radius of M^-1 D_i at each step (a few tenths for exchanges
varying by tens of percent). Blocks are refined in parallel threads. The factors of M are single precision (half the memory traffic of
the triangular solves) while residuals and solutions are double: mixed-precision iterative
refinement converges to double-precision accuracy as long as M is not too ill-conditioned for
single precision (Carson and Higham 2018, SIAM J. Sci. Comput. 40(2), A817-A847); if a block
does not converge the factors are recomputed in double precision (`Factors.widen`). Iterations are refined in blocks of `BLOCK`, one triangular solve
with all the block's right-hand sides per step; a column has converged when its update is below
`RTOL` of the solution (max norm); an iteration not converged in `MAX_STEPS` steps is solved
with its own LU, so the result is always a solve of the sampled matrix.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Iterations refined together (one triangular solve with BLOCK x indicators right-hand sides;
#: 6 rather than 25: the right-hand sides of a step stay in cache, a block stops when its own
#: iterations have converged, and the draws held at once shrink with it, `bench/large_background.py`).
BLOCK = 6
#: Converged when max |update| <= RTOL x max |x|, column by column: an order of magnitude
#: below the rounding of the single-precision amounts Brightway stores (6e-8), and far below
#: any Monte Carlo spread; the totals are then within about RTOL of one LU per iteration
#: (`bench/large_background.py`: 2e-9; 7 steps instead of 8-9 at 1e-10).
RTOL = 1e-8
#: The tolerance of a solve of the static matrix itself (deterministic scores): double
#: precision's, in one to three steps.
STATIC_RTOL = 1e-13
#: Steps before an iteration is solved directly.
MAX_STEPS = 40


class Factors:
    """LU factors (SuperLU) of the static matrix, single or double precision."""

    def __init__(self, M, single: bool = True):
        from scipy.sparse.linalg import splu

        self.M, self.dtype = M, np.float32 if single else np.float64
        self.lu = splu(M.astype(self.dtype))

    def solve(self, r: np.ndarray) -> np.ndarray:
        """M^-1 r, in double precision."""
        return self.lu.solve(np.asfortranarray(r, dtype=self.dtype)).astype(np.float64)

    def widen(self) -> "Factors":
        """The same factors in double precision."""
        return self if self.dtype == np.float64 else Factors(self.M, single=False)


@dataclass
class Refined:
    """Solutions of the sampled systems and how they were reached.

    Attributes
    ----------
    x : ndarray
        (iterations, n, right-hand sides) solutions.
    steps : list of int
        Refinement steps of each block.
    direct : int
        Iterations solved with their own LU (not converged in `MAX_STEPS` steps).
    """

    x: np.ndarray
    steps: list[int] = field(default_factory=list)
    direct: int = 0


def _changes_operator(core, i: int):
    """The changes D_i of iteration `i` as a csr matrix (positions unique, in row-major order)."""
    import scipy.sparse as sp

    n = core.M.shape[0]
    indptr = np.searchsorted(core.rows, np.arange(n + 1))
    return sp.csr_matrix((core.values[:, i], core.cols, indptr), shape=core.M.shape)


def _block(lu: Factors, core, b: np.ndarray, lo: int, rtol: float) -> tuple[np.ndarray, int, np.ndarray]:
    """Refine iterations lo.. of one block; b is (n, iterations, rhs). Returns the solutions,
    the steps taken and a bool per iteration: converged."""
    n, k, m = b.shape
    D = [_changes_operator(core, lo + i) for i in range(k)]
    x = lu.solve(b.reshape(n, k * m)).reshape(n, k, m)
    ok = np.zeros(k, dtype=bool)
    for step in range(1, MAX_STEPS + 1):
        r = b - (core.M @ x.reshape(n, k * m)).reshape(n, k, m)
        for i in range(k):
            r[:, i, :] -= D[i] @ np.ascontiguousarray(x[:, i, :])
        dx = lu.solve(r.reshape(n, k * m)).reshape(n, k, m)
        x += dx
        size = np.abs(dx).max(axis=0)
        done = size <= rtol * np.abs(x).max(axis=0)
        ok = done.all(axis=1)
        if ok.all():
            return x, step, ok
    return x, MAX_STEPS, ok


def refine(lu: Factors, core, rhs: np.ndarray, workers: int | None = None, rtol: float | None = None) -> Refined:
    """Solutions of (M + D_i) x_i = b_i for every iteration i.

    Parameters
    ----------
    lu : Factors
        Factors of the static matrix `core.M`.
    core : bw_aicompute.solver.CoreMatrix
        M and the changes of each iteration.
    rhs : ndarray
        (iterations, n, right-hand sides).
    workers : int, optional
        Threads refining blocks at once (default: the CPUs available; SuperLU's solves and
        scipy's sparse products release the GIL). The result does not depend on it.
    rtol : float, optional
        Converged when max |update| <= rtol x max |x| (default `RTOL`; `STATIC_RTOL` when the
        matrix does not change).

    Returns
    -------
    Refined
    """
    from concurrent.futures import ThreadPoolExecutor

    from scipy.sparse.linalg import splu

    iterations = rhs.shape[0]
    rtol = rtol or (RTOL if len(core.values) else STATIC_RTOL)
    out = Refined(np.empty_like(rhs))
    starts = list(range(0, iterations, BLOCK))

    def one(lo: int) -> tuple[np.ndarray, int, np.ndarray]:
        return _block(lu, core, rhs[lo : lo + BLOCK].transpose(1, 0, 2).copy(), lo, rtol)

    with ThreadPoolExecutor(max(1, min(workers or cpus(), len(starts)))) as pool:
        for lo, (x, steps, ok) in zip(starts, pool.map(one, starts)):
            out.x[lo : lo + BLOCK] = x.transpose(1, 0, 2)
            out.steps.append(steps)
            for i in np.flatnonzero(~ok).tolist():
                out.x[lo + i] = splu(core.at(lo + i)).solve(rhs[lo + i])
                out.direct += 1
    return out


def cpus() -> int:
    """The CPUs this process may run on (threads of `refine`)."""
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
