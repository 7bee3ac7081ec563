"""Ownership of Brightway objects: which databases and methods bw_aicompute created, in which
state, and the one way they are written.

Every database or method bw_aicompute writes carries `metadata["bw_aicompute"]` with a state
(`installing`, then `complete`), a fingerprint of its source and the package version. An object
without the mark is the user's: it is never rewritten or deleted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ._version import __version__
from .bulk import bulk_inserts
from .errors import AicomputeError

#: The metadata key that marks databases and methods created by bw_aicompute.
OWNER_KEY = "bw_aicompute"
#: The folder of a project's directory that holds an inventory import while it is written: a
#: copy of the workbook, then `journal.json` (`bw_aicompute.excel.inventories.resume_import`).
JOURNAL = "bw_aicompute-import"


def owner(meta: object) -> dict | None:
    """The ownership mark of a database's or method's metadata, or None for a user's object."""
    return meta.get(OWNER_KEY) if isinstance(meta, dict) else None


def state(registry: MutableMapping, name: Any, fp: str, count: Callable[[], int] | None = None) -> str:
    """`absent`, `foreign` (not ours), `current` (ours, complete, same source, and as many rows
    in the project as were written) or `stale`.

    Parameters
    ----------
    registry : bw2data.databases or bw2data.methods
    name : str or tuple
        Database name or method tuple.
    fp : str
        Fingerprint of the source the object should have been written from.
    count : callable, optional
        Counts the rows the object has in the project now (a mark is not trusted alone).
    """
    if name not in registry:
        return "absent"
    mark = owner(registry[name])
    if mark is None:
        return "foreign"
    if mark.get("state") == "complete" and mark.get("fingerprint") == fp:
        if count is None or "rows" not in mark or count() == mark["rows"]:
            return "current"
    return "stale"


def database_rows(name: str) -> Callable[[], int]:
    """A counter of the activities a database has in the project's SQLite file."""

    def count() -> int:
        from bw2data.backends import ActivityDataset as AD

        return AD.select().where(AD.database == name).count()

    return count


def method_rows(bd, name: tuple) -> Callable[[], int]:
    """A counter of the characterization factors of a method's processed file (-1 if absent)."""

    def count() -> int:
        method = bd.Method(name)
        if not Path(method.filepath_processed()).is_file():
            return -1
        return int(bd.methods[name].get("num_cfs", -1))

    return count


def is_complete(registry: MutableMapping, name: Any) -> bool:
    """Whether `name` is ours and completely written."""
    return name in registry and (owner(registry[name]) or {}).get("state") == "complete"


def generation(name: str) -> str:
    """The name of a database and the token of its last write by bw_aicompute: what depends on its
    node ids (methods, inventories) is rewritten when it changes."""
    import bw2data as bd

    mark_ = owner(bd.databases[name]) if name in bd.databases else None
    return f"{name}#{(mark_ or {}).get('written', '')}"


def mark(fp: str, state_: str) -> dict:
    """An ownership mark in state `state_` for a source fingerprint `fp`."""
    return {"state": state_, "fingerprint": fp, "package_version": __version__}


def refuse_foreign(registry: MutableMapping, name: Any, advice: str) -> None:
    """Raise unless `name` is absent or ours: a user's object is never rewritten."""
    if name in registry and owner(registry[name]) is None:
        raise AicomputeError(f"database {name!r} exists and was not created by bw_aicompute; {advice}")


@contextmanager
def setups_kept(database: str) -> Iterator[None]:
    """Keep the calculation setups (Activity Browser's, `bw2data.calculation_setups`) that use
    nodes of `database` across its rewrite: bw2data removes a deleted node from every setup,
    and a rewrite gives new ids. A node is found again by its code (keys `(database, code)`
    are kept as they are, ids are moved to the new node of the same code); a node the new
    database lacks leaves the setup, as bw2data would remove it.

    Parameters
    ----------
    database : str
        The database about to be rewritten (inside the `with`).
    """
    import copy

    import bw2data as bd
    from bw2data.backends import ActivityDataset as AD

    codes = dict(AD.select(AD.id, AD.code).where(AD.database == database).tuples())
    ours = lambda key: key in codes or (isinstance(key, tuple) and key[:1] == (database,))  # noqa: E731
    saved = {n: copy.deepcopy(s) for n, s in bd.calculation_setups.items() if any(ours(k) for fu in s.get("inv", []) for k in fu)}
    yield
    if not saved:
        return
    ids = dict(AD.select(AD.code, AD.id).where(AD.database == database).tuples())

    def moved(key):
        if not ours(key):
            return key
        code = key[1] if isinstance(key, tuple) else codes[key]
        return (key if isinstance(key, tuple) else ids[code]) if code in ids else None

    for name, setup in saved.items():
        inv = [{moved(k): v for k, v in fu.items() if moved(k) is not None} for fu in setup["inv"]]
        bd.calculation_setups[name] = {**setup, "inv": [fu for fu in inv if fu]}
    bd.calculation_setups.flush()


def write_owned(
    registry: MutableMapping,
    obj,
    name: Any,
    meta: dict,
    fp: str,
    write: Callable[[], None],
    count: Callable[[], int] | None = None,
    expected: int | None = None,
    **extra,
) -> None:
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
    count : callable, optional
        Counts the object's rows in the project after writing; the count is kept in the mark
        (`state` compares it later).
    expected : int, optional
        The rows written: the object is marked complete only if `count()` finds them all.
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
    if isinstance(name, str):  # a database: the calculation setups that use it outlive its rewrite
        with setups_kept(name), bulk_inserts():
            write()
    else:
        write()
    if count is not None:
        found = count()
        if expected is not None and found != expected:
            raise AicomputeError(f"{name}: {expected} rows were written but {found} are in the project; run the command again")
        mark_["rows"] = found
    registry[name][OWNER_KEY] = {**mark_, "state": "complete"}
    registry.flush()
