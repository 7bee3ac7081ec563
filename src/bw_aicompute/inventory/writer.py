"""Writing validated inventory databases into the project, with their parameters, and
re-processing what links to a rewritten database."""

from __future__ import annotations

import re
from pathlib import Path

from ..classifications import classified
from ..errors import AicomputeError
from ..ownership import OWNER_KEY, database_rows, owner, state, write_owned
from ..project import flow_index
from .formulas import formula_names
from .templates import inventory_files
from .validate import InventoryDatabase, comment_with_source, inventories_fingerprint, load


def _parameter_tables():
    from bw2data.parameters import ActivityParameter, DatabaseParameter, Group, GroupDependency, ParameterizedExchange, parameters

    return ActivityParameter, DatabaseParameter, Group, GroupDependency, ParameterizedExchange, parameters


def _clear_parameters(db_name: str) -> None:
    """Remove the parameters and parameterized exchanges that bw_aicompute wrote for `db_name`."""
    ActivityParameter, DatabaseParameter, Group, GroupDependency, ParameterizedExchange, parameters = _parameter_tables()
    prefix = f"{db_name}::"
    with parameters.db.atomic():
        groups = [g.name for g in Group.select(Group.name).where(Group.name.startswith(prefix))]
        if groups:
            ParameterizedExchange.delete().where(ParameterizedExchange.group.in_(groups)).execute()
            ActivityParameter.delete().where(ActivityParameter.group.in_(groups)).execute()
            GroupDependency.delete().where(GroupDependency.group.in_(groups)).execute()
            Group.delete().where(Group.name.in_(groups)).execute()
        DatabaseParameter.delete().where(DatabaseParameter.database == db_name).execute()
        GroupDependency.delete().where(GroupDependency.group == db_name).execute()
        Group.delete().where(Group.name == db_name).execute()


def _parameter_rows(db: InventoryDatabase) -> list[dict]:
    rows = []
    for name, p in db.parameters.items():
        data = {k: v for k, v in p.items() if not k.startswith("_") and k not in ("name", "amount", "formula", "uncertainty")}
        data.update(p["_uncertainty"])
        # Activity Browser shows a parameter's `comment`, not its `source`: the comment says it too
        data["comment"] = comment_with_source(data.get("comment"), data.get("source"))
        # every row has the same keys: peewee's insert_many takes the columns of the first row
        rows.append({"database": db.name, "name": name, "amount": p["amount"], "formula": p.get("formula"), "data": data})
    return rows


def _parameterized_exchanges(db: InventoryDatabase) -> list[tuple[int, str]]:
    """(exchange id, formula) of every exchange of `db` that has a formula."""
    from bw2data.backends import ExchangeDataset as ED

    query = ED.select(ED.id, ED.data).where(ED.output_database == db.name).order_by(ED.id).tuples()
    return [(exc_id, data["formula"]) for exc_id, data in query if "formula" in data]


def exchange_group(db_name: str) -> str:
    """The activity parameter group that holds every parameterized exchange of `db_name`."""
    return f"{db_name}::exchanges"


def register_parameters(bd, db: InventoryDatabase, resolve: dict[str, set[str]] | None = None) -> None:
    """Register database parameters and parameterized exchanges in bulk (bw2data's per-activity
    API takes seconds for a few hundred activities). Amounts are already evaluated, so groups
    are written fresh; `bw2data.parameters.recalculate()` after a user's change updates them.

    The parameterized exchanges of a database are in one group, `exchange_group(db.name)`,
    which depends on the database whose parameters its formulas name. bw2data (and Activity
    Browser's parameter Monte Carlo) find that database through one of the group's activity
    parameters, so the group holds one: `parameterized_exchanges`, the number of exchanges in
    the group, attached to no activity (code = the group's name) so that an edit of an activity
    in Activity Browser, which regroups that activity's exchanges, cannot remove the others'.
    bw2data's `add_exchanges_to_group` would instead make one group per activity with a
    `__dummy_<uuid>__` parameter each (429 groups for `aicompute`).

    Parameters
    ----------
    bd : module
        bw2data.
    db : InventoryDatabase
        The database (already written) and its own parameters.
    resolve : dict of str to set of str, optional
        Databases whose parameters the formulas name instead of `db`'s own (a campaign names the
        foreground's): database -> its parameter names, in order of preference. Each exchange
        goes to the group of the first database that defines every name of its formula, so a
        draw of a parameter reaches the foreground and the campaign alike.
    """
    ActivityParameter, DatabaseParameter, Group, GroupDependency, ParameterizedExchange, parameters = _parameter_tables()
    _clear_parameters(db.name)
    rows = _parameter_rows(db)
    with parameters.db.atomic():
        if rows:
            DatabaseParameter.insert_many(rows).execute()
        Group.insert(name=db.name, fresh=True, order=[]).execute()
        for (group, source), pexc in _exchange_groups(db, resolve).items():
            Group.insert(name=group, fresh=True, order=[]).execute()
            GroupDependency.insert(group=group, depends=source).execute()
            comment = (
                f"Number of parameterized exchanges in this group; their formulas name parameters of database {source!r}. "
                "bw2data finds a group's database through an activity parameter; this one is attached to no activity."
            )
            ActivityParameter.insert(group=group, database=source, code=group, name="parameterized_exchanges", amount=len(pexc), data={"comment": comment}).execute()
            rows = [{"group": group, "exchange": exc_id, "formula": formula} for exc_id, formula in pexc]
            for i in range(0, len(rows), 500):
                ParameterizedExchange.insert_many(rows[i : i + 500]).execute()


def _exchange_groups(db: InventoryDatabase, resolve: dict[str, set[str]] | None) -> dict[tuple[str, str], list[tuple[int, str]]]:
    """(group, database whose parameters it names) -> its (exchange id, formula)."""
    pexc = _parameterized_exchanges(db)
    if not resolve:
        return {(exchange_group(db.name), db.name): pexc} if pexc else {}
    out: dict[tuple[str, str], list[tuple[int, str]]] = {}
    sources = list(resolve)
    for exc_id, formula in pexc:
        names = formula_names(formula)
        source = next((s for s in sources if names <= resolve[s]), None)
        if source is None:
            raise AicomputeError(f"database {db.name!r}: formula {formula!r} names parameters of no single database of {sources}")
        group = exchange_group(db.name) if source == sources[0] else f"{exchange_group(db.name)}::{source}"
        out.setdefault((group, source), []).append((exc_id, formula))
    return out


def imported_from(meta: dict) -> str | None:
    """The workbook a database was imported from with `aicompute import-inventories`, if any."""
    mark = owner(meta)
    return mark.get("imported_from") if isinstance(mark, dict) else None


def inventory_database_names(directory: Path | None = None) -> set[str]:
    """The databases the inventory files define (`aicompute-background`, `aicompute`)."""
    return _database_names(inventory_files(directory))


def _database_names(files: list[Path]) -> set[str]:
    names = set()
    for path in files:
        m = re.search(r"^database:\s*(\S+)\s*$", path.read_text(encoding="utf-8"), re.MULTILINE)
        names.add(m.group(1).strip("'\"") if m else "")
    return names


def install(bd, biosphere: str, report, directory: Path | None = None, reinstall: bool = False) -> None:
    """Write the inventory databases that are missing or out of date (see
    `bw_aicompute.setup.setup_project`). A database imported from a user's workbook is kept
    unless `reinstall`. `report` gets one item per database."""
    files = inventory_files(directory)
    if not files:
        return
    fp = inventories_fingerprint(biosphere, directory)
    names = _database_names(files)
    kept = set() if reinstall else {n for n in names if n in bd.databases and imported_from(bd.databases[n])}
    for name in sorted(kept):
        report.add("database", name, "kept", f"imported from {imported_from(bd.databases[name])}; aicompute setup --reinstall restores the shipped data")
    if all(state(bd.databases, n, fp, database_rows(n)) == "current" for n in names - kept):  # fast path
        for name in sorted(names - kept):
            report.add("database", name, "present", f"{bd.databases[name].get('number', 0)} datasets")
        return
    databases = [db for db in load(flow_index(biosphere), biosphere, directory) if db.name not in kept]
    for db in databases:
        if state(bd.databases, db.name, db.fingerprint, database_rows(db.name)) == "foreign":
            raise AicomputeError(
                f"database {db.name!r} exists in project {bd.projects.current!r} and was not created by "
                "bw_aicompute; it is left untouched. Use another project (--project NAME)."
            )
    rewritten = set()
    for db in databases:
        was = state(bd.databases, db.name, db.fingerprint, database_rows(db.name))
        detail = f"{len(db.datasets)} datasets, {len(db.parameters)} parameters"
        if was == "current":
            report.add("database", db.name, "present", detail)
            continue
        write_database(bd, db, biosphere)
        rewritten.add(db.name)
        report.add("database", db.name, "installed" if was == "absent" else "updated", detail)
    refresh_dependants(bd, rewritten, report)


def refresh_dependants(bd, rewritten: set[str], report) -> None:
    """A rewritten database gets new node ids, so the processed arrays of the databases that
    link to it are stale. bw_aicompute's own (campaigns, linked copies) are re-processed; a
    user's are only reported (their files are not touched)."""
    for name in sorted(bd.databases):
        if name in rewritten or not rewritten & set(bd.databases[name].get("depends", [])):
            continue
        if OWNER_KEY in bd.databases[name]:
            bd.Database(name).process()
            report.add("database", name, "updated", "re-processed: links to a rewritten database")
        else:
            report.add("database", name, "stale", f"links to a rewritten database; re-process it: bw2data.Database({name!r}).process()")


def write_database(bd, db: InventoryDatabase, biosphere: str, **mark) -> None:
    """Write one validated database with its parameters: marked `installing` first, `complete`
    last, so that an interrupted write is completed by the next run. `mark` adds fields to the
    ownership mark."""
    meta = {
        "format": "bw_aicompute inventories (YAML)",
        "depends": sorted(db.depends | {biosphere} | {e["input"][0] for ds in db.datasets.values() for e in ds["exchanges"] if e["type"] == "biosphere"}),
        "license": "CC BY-SA 4.0 (see inventories/LICENSE.md)",
    }

    def write() -> None:
        bd.Database(db.name).write(classified(db.datasets))
        register_parameters(bd, db)

    write_owned(bd.databases, bd.Database(db.name), db.name, meta, db.fingerprint, write, count=database_rows(db.name), expected=len(db.datasets), **mark)
