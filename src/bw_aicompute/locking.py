"""One writer at a time per Brightway data directory.

Brightway keeps a project's registry of databases and methods in files that each process reads
once and writes back whole, and its SQLite databases refuse concurrent writers ("database is
locked"). Every bw_aicompute command that writes therefore holds an inter-process lock (a lock
file `bw_aicompute.lock` in the data directory, with `filelock`) for its whole check-and-write,
and re-reads the registries after acquiring it. A second writer waits, saying so on stderr, up
to `BW_AICOMPUTE_LOCK_TIMEOUT` seconds (default 600). Commands that only read do not lock.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ._resources import brightway_dirs
from .errors import AicomputeError

LOCK_NAME = "bw_aicompute.lock"
DEFAULT_TIMEOUT_S = 600.0
_locks: dict[str, object] = {}


def data_directory() -> Path:
    """The Brightway data directory: bw2data's when it is imported, else found as bw2data will
    find it (without importing it)."""
    return brightway_dirs()[0]


def _timeout() -> float:
    try:
        return float(os.environ.get("BW_AICOMPUTE_LOCK_TIMEOUT", DEFAULT_TIMEOUT_S))
    except ValueError:
        raise AicomputeError("BW_AICOMPUTE_LOCK_TIMEOUT must be a number of seconds") from None


@contextmanager
def writer_lock(what: str = "the Brightway data directory") -> Iterator[None]:
    """Hold the data directory's writer lock (re-entrant within a process).

    Parameters
    ----------
    what : str
        What is being written, for the waiting message (`project 'aicompute'`).
    """
    from filelock import FileLock, Timeout

    directory = data_directory()
    path = str(directory / LOCK_NAME)
    lock = _locks.setdefault(path, FileLock(path, thread_local=False))
    try:
        directory.mkdir(parents=True, exist_ok=True)
        lock.acquire(timeout=0)
    except Timeout:  # a subclass of OSError: caught first
        print(f"aicompute: waiting for another aicompute process on {what} ({path})", file=sys.stderr, flush=True)
        try:
            lock.acquire(timeout=_timeout())
        except Timeout:
            raise AicomputeError(f"another aicompute process is still writing to {directory}; gave up after {_timeout():g} s (lock file {path})") from None
    except OSError as exc:
        raise AicomputeError(f"cannot create the lock file {path} ({exc.strerror or exc}); the Brightway data directory must be writable") from None
    try:
        yield
    finally:
        lock.release()


def refresh_registries(bd) -> None:
    """Re-read the current project's registries (databases, methods, locations) from disk: another
    process may have changed them since this one read them."""
    for registry in (bd.databases, bd.methods, bd.geomapping):
        registry.load()
