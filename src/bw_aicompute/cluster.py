"""Monte Carlo chunks and sweep variants on a Dask cluster (the `distributed` package, optional
extra `[dask]`; https://distributed.dask.org).

Each task opens the Brightway project in the worker (the data directory must be readable there:
a shared file system, or a copy) and runs one chunk of iterations (`uncertainty.run_chunks`) or
solves one batch of variants (`lca.score_keys`); the campaign or sweep is written once, by the
caller, before the tasks are sent. Chunks and their random streams do not depend on the workers,
so a cluster gives the numbers of a local run for the same seed.

`address`: a scheduler address (`tcp://host:8786`, or a `dask-jobqueue` cluster's
`cluster.scheduler_address`), or `local` for a `distributed.LocalCluster` of `LOCAL_WORKERS`
single-threaded worker processes on this machine.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from .errors import AicomputeError
from .lca import MethodName, score_keys
from .uncertainty import MonteCarlo, chunk_sizes, combine, run_chunks

#: Workers of `--dask local`.
LOCAL_WORKERS = 2


@contextmanager
def dask_client(address: str):
    """A `distributed.Client` connected to `address` (`local`: a LocalCluster), closed after."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise AicomputeError("--dask needs the distributed package: python -m pip install 'bw_aicompute[dask]'") from None
    if address == "local":
        with LocalCluster(n_workers=LOCAL_WORKERS, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, Client(cluster) as client:
            yield client
        return
    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise AicomputeError(f"--dask {address}: no Dask scheduler reached ({exc})") from None
    with client:
        yield client


def _data_dir() -> str:
    import bw2data as bd

    return str(Path(bd.projects._base_data_dir))


def monte_carlo_on_cluster(address: str, project: str, campaign_path: str, resolved: list[tuple[str, tuple]], iterations: int, seed: int, background: str = "open") -> MonteCarlo:
    """Run every chunk of `iterations` as one task on the cluster and combine them in order.

    Parameters
    ----------
    address : str
        Scheduler address, or `local`.
    project, campaign_path, resolved, iterations, seed, background
        As for `uncertainty.run_chunks`; the campaign must have been written.

    Returns
    -------
    MonteCarlo
        The same numbers as `uncertainty.run` with the same seed.
    """
    n = len(chunk_sizes(iterations))
    with dask_client(address) as client:
        futures = [client.submit(run_chunks, project, campaign_path, resolved, iterations, seed, [k], background, _data_dir(), pure=False) for k in range(n)]
        parts = [part for f in futures for part in f.result()]
    return combine(parts)


def _score_batch(project: str, data_dir: str, keys: list[tuple[str, str]], methods: list[MethodName]) -> list[list[float]]:
    """Open the project in the worker and score `keys` (a task)."""
    import bw2data as bd

    if Path(data_dir) != Path(bd.projects._base_data_dir):
        bd.projects.change_base_directories(Path(data_dir), project_name=project)
    bd.projects.set_current(project)
    return score_keys(keys, methods)


def score_on_cluster(address: str, project: str, keys: list[tuple[str, str]], methods: list[MethodName], batch: int = 100) -> list[list[float]]:
    """Scores of one unit of each activity `keys`, `batch` activities per task.

    Parameters
    ----------
    address : str
        Scheduler address, or `local`.
    project : str
        The project holding the activities.
    keys : list of (database, code)
    methods : list of tuple
    batch : int
        Activities per task (solved together in each).

    Returns
    -------
    list of list of float
        One list per key, one score per method, in the methods' units.
    """
    with dask_client(address) as client:
        futures = [client.submit(_score_batch, project, _data_dir(), keys[i : i + batch], methods, pure=False) for i in range(0, len(keys), batch)]
        return [row for f in futures for row in f.result()]
