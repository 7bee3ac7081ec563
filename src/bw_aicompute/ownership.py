"""Ownership of Brightway objects: which databases and methods bw_aicompute created, in which
state, and the one way they are written.

Every database or method bw_aicompute writes carries `metadata["bw_aicompute"]` with a state
(`installing`, then `complete`), a fingerprint of its source and the package version. An object
without the mark is the user's: it is never rewritten or deleted.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any

from ._version import __version__
from .errors import AicomputeError

#: The metadata key that marks databases and methods created by bw_aicompute.
OWNER_KEY = "bw_aicompute"


def owner(meta: object) -> dict | None:
    """The ownership mark of a database's or method's metadata, or None for a user's object."""
    return meta.get(OWNER_KEY) if isinstance(meta, dict) else None


def state(registry: MutableMapping, name: Any, fp: str) -> str:
    """`absent`, `foreign` (not ours), `current` (ours, complete, same source) or `stale`.

    Parameters
    ----------
    registry : bw2data.databases or bw2data.methods
    name : str or tuple
        Database name or method tuple.
    fp : str
        Fingerprint of the source the object should have been written from.
    """
    if name not in registry:
        return "absent"
    mark = owner(registry[name])
    if mark is None:
        return "foreign"
    if mark.get("state") == "complete" and mark.get("fingerprint") == fp:
        return "current"
    return "stale"


def is_complete(registry: MutableMapping, name: Any) -> bool:
    """Whether `name` is ours and completely written."""
    return name in registry and (owner(registry[name]) or {}).get("state") == "complete"


def mark(fp: str, state_: str) -> dict:
    """An ownership mark in state `state_` for a source fingerprint `fp`."""
    return {"state": state_, "fingerprint": fp, "package_version": __version__}


def refuse_foreign(registry: MutableMapping, name: Any, advice: str) -> None:
    """Raise unless `name` is absent or ours: a user's object is never rewritten."""
    if name in registry and owner(registry[name]) is None:
        raise AicomputeError(f"database {name!r} exists and was not created by bw_aicompute; {advice}")


def write_owned(registry: MutableMapping, obj, name: Any, meta: dict, fp: str, write: Callable[[], None], **extra) -> None:
    """Write a database or method that bw_aicompute owns: mark it `installing` (registering it
    if new), run `write()`, then mark it `complete`. A run that dies in between leaves the
    `installing` mark, so the next run rewrites it.

    Parameters
    ----------
    registry : bw2data.databases or bw2data.methods
    obj : bw2data.Database or bw2data.Method
    name : str or tuple
    meta : dict
        Metadata to register (format, depends, unit...).
    fp : str
        Fingerprint of the source.
    write : callable
        Writes the data.
    **extra
        More fields of the mark (`kind`, `imported_from`...).
    """
    mark_ = {**mark(fp, "installing"), **extra}
    if name in registry:
        registry[name].update(meta)
        registry[name][OWNER_KEY] = mark_
        registry.flush()
    else:
        obj.register(**meta, **{OWNER_KEY: mark_})
    write()
    registry[name][OWNER_KEY] = {**mark_, "state": "complete"}
    registry.flush()
