"""The inventories in bw2io's Excel layout: export one sheet per database, and import an edited
workbook, validated with the rules of `inventories/` (errors name sheet, row and column)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import distributions
from .._resources import atomic_write, check_workbook_archive, fingerprint
from ..errors import AicomputeError, InputError, Where
from ..inventory import InventoryDatabase, write_database
from ..water import is_located_flow
from ..inventory.validate import Biosphere, add_dataset, add_located_water, check_links, check_parameter, evaluate_database_parameters, ordered
from ..locking import refresh_registries, writer_lock
from ..ownership import refuse_foreign
from ..project import find_biosphere, flow_codes, flow_index

PARAM_COLUMNS = ["name", "amount", "formula", "unit", "source", "comment", "uncertainty type", "loc", "scale", "minimum", "maximum", "uncertainty source"]
EXCHANGE_COLUMNS = [
    "name",
    "amount",
    "unit",
    "location",
    "reference product",
    "categories",
    "database",
    "type",
    "formula",
    "uncertainty type",
    "loc",
    "scale",
    "minimum",
    "maximum",
    "uncertainty source",
    "source",
    "comment",
]
ACTIVITY_FIELDS = ["code", "reference product", "unit", "location", "type", "stage", "located_water", "comment"]
SHIPPED = ("aicompute-background", "aicompute")
#: The workbook column that holds each field the inventory validation names.
COLUMN_OF_FIELD = {"biosphere": "name", "uncertainty": "uncertainty type", "technosphere": "name"}


# ---------------------------------------------------------------------------------------------
# export


def _sheet_title(name: str) -> str:
    title = "".join("#" if ch in "\\/*[]:?" else ch for ch in name)
    return title[:31]


def _xl(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and value != value:  # NaN
        return None
    if isinstance(value, (list, tuple)):
        return "::".join(str(v) for v in value)
    return value


def _exchange_row(exc) -> list:
    node = exc.input
    row = {
        "name": node["name"],
        "amount": exc["amount"],
        "unit": node.get("unit"),
        "type": exc["type"],
        **{k: exc.get(k) for k in ("formula", *distributions.FIELDS, "uncertainty source", "source", "comment")},
    }
    if exc["type"] == "biosphere":
        row["categories"] = "::".join(node.get("categories", ()))
    else:
        row.update({"location": node.get("location"), "reference product": node.get("reference product"), "database": node["database"]})
    if row.get("uncertainty type") in (0, 1):
        for k in distributions.FIELDS:
            row.pop(k, None)
    return [_xl(row.get(c)) for c in EXCHANGE_COLUMNS]


def _heading(ws, values: list, bold) -> None:
    """Append a row whose first cell is bold (a Cell, not `ws[ws.max_row]`: finding the last
    row scans every cell of the sheet)."""
    from openpyxl.cell import Cell

    first = Cell(ws, value=values[0])
    first.font = bold
    ws.append([first, *values[1:]])


def _write_sheet(ws, name: str, bold) -> None:
    import bw2data as bd
    from bw2data.parameters import DatabaseParameter

    meta = bd.databases[name]
    _heading(ws, ["Database", name], bold)
    for key in ("format", "license"):
        if meta.get(key):
            ws.append([key, meta[key]])
    ws.append([])
    params = list(DatabaseParameter.select().where(DatabaseParameter.database == name).order_by(DatabaseParameter.name))
    if params:
        _heading(ws, ["Database parameters"], bold)
        ws.append(PARAM_COLUMNS)
        for p in params:
            d = {**p.data, "name": p.name, "amount": p.amount, "formula": p.formula}
            ws.append([_xl(d.get(c)) for c in PARAM_COLUMNS])
        ws.append([])
    order = {"production": 0, "technosphere": 1, "biosphere": 2}
    for act in sorted(bd.Database(name), key=lambda a: (a["name"], a.get("location", ""), a["code"])):
        _heading(ws, ["Activity", act["name"]], bold)
        for field_ in ACTIVITY_FIELDS:
            value = "process" if field_ == "type" else act.get(field_)
            if value not in (None, ""):
                ws.append([field_, _xl(value)])
        ws.append(["Exchanges"])
        ws.append(EXCHANGE_COLUMNS)
        for exc in sorted(act.exchanges(), key=lambda e: order[e["type"]]):
            ws.append(_exchange_row(exc))
        ws.append([])
    ws.column_dimensions["A"].width = 40


def export_inventories(path: str | Path, databases: tuple[str, ...] = SHIPPED) -> list[str]:
    """Write databases of the current project to one workbook in bw2io's Excel layout.

    One sheet per database (bw2io reads one `Database` section per import:
    `ExcelImporter(path, sheet_name=...)`). Edges carry `reference product`, `unit`, `location`
    and `database`, so that bw2io's default linking (and `match_database`) finds their
    providers; formulas, uncertainty, comments and sources are kept; database parameters are
    written in a `Database parameters` section.

    Parameters
    ----------
    path : str or Path
        The workbook to write (`.xlsx`).
    databases : tuple of str
        The databases (default: `aicompute-background` and `aicompute`).

    Returns
    -------
    list of str
        The sheet names.
    """
    import bw2data as bd
    from openpyxl import Workbook
    from openpyxl.styles import Font

    for name in databases:
        if name not in bd.databases:
            raise AicomputeError(f"database {name!r} is not installed; run: aicompute setup")
    wb = Workbook()
    wb.remove(wb.active)
    for name in databases:
        _write_sheet(wb.create_sheet(_sheet_title(name)), name, Font(bold=True))
    atomic_write(path, wb.save)
    return [_sheet_title(n) for n in databases]


# ---------------------------------------------------------------------------------------------
# import: reading sections


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


@dataclass
class _Activity:
    row: int
    meta: dict
    exchanges: list[tuple[int, dict]] = field(default_factory=list)


@dataclass
class _Sheet:
    """One `Database` section of a workbook, as read: parameters and activities by row."""

    db: InventoryDatabase
    title: str
    where: Where
    activities: list[_Activity] = field(default_factory=list)


def _head(line: list) -> str:
    return str(line[0]).strip().lower() if line and line[0] is not None else ""


def _table(rows: list, i: int) -> tuple[list[tuple[int, dict]], int]:
    """The records of a table whose header is row `i`, up to the first empty row."""
    header = [str(h) if h is not None else "" for h in rows[i][1]] if i < len(rows) else []
    records, i = [], i + 1
    while i < len(rows) and any(v is not None for v in rows[i][1]):
        r, values = rows[i]
        records.append((r, {h: v for h, v in zip(header, values) if h and v is not None}))
        i += 1
    return records, i


def _parameter(sheet: _Sheet, r: int, d: dict) -> None:
    where = sheet.where.at(row=r, what=f"parameter {d.get('name')!r}")
    p = {k: d[k] for k in ("name", "unit", "source", "comment") if k in d}
    if d.get("formula"):
        p["formula"] = str(d["formula"])
    elif "amount" in d:
        p["amount"] = d["amount"]
    if distributions.to_spec(d):
        p["uncertainty"] = distributions.to_spec(d)
    check_parameter(p, where)
    if p["name"] in sheet.db.parameters:
        raise where.error(f"parameter {p['name']!r} defined twice", column="name")
    sheet.db.parameters[p["name"]] = {**p, "_where": where}


def _activity(rows: list, i: int) -> tuple[_Activity, int]:
    r, line = rows[i]
    act = _Activity(row=r, meta={"name": line[1] if len(line) > 1 else None})
    i += 1
    while i < len(rows) and rows[i][1] and _head(rows[i][1]) not in ("exchanges", "activity", ""):
        act.meta[str(rows[i][1][0]).strip()] = rows[i][1][1] if len(rows[i][1]) > 1 else None
        i += 1
    if i < len(rows) and _head(rows[i][1]) == "exchanges":
        act.exchanges, i = _table(rows, i + 1)
    return act, i


def _read_sheet(ws, path: Path) -> _Sheet | None:
    rows = [(i, [_cell(v) for v in row]) for i, row in enumerate(ws.iter_rows(values_only=True), start=1)]
    if not rows or not rows[0][1] or rows[0][1][0] in (None, "skip"):
        return None
    where = Where(file=path.name, sheet=ws.title)
    first = rows[0][1]
    if str(first[0]).lower() != "database" or len(first) < 2 or not first[1]:
        raise where.error("the first row must be 'Database | <name>'", row=1, column="A")
    sheet = _Sheet(db=InventoryDatabase(str(first[1])), title=ws.title, where=where)
    sheet.db.files.append(path)
    i = 1
    while i < len(rows):
        head = _head(rows[i][1])
        if head == "database parameters":
            records, i = _table(rows, i + 1)
            for r, d in records:
                _parameter(sheet, r, d)
        elif head == "activity":
            act, i = _activity(rows, i)
            sheet.activities.append(act)
        else:
            i += 1
    return sheet


# ---------------------------------------------------------------------------------------------
# import: datasets


class _Providers:
    """Providers by (database, name, reference product, location): in the workbook, or in an
    installed database the workbook does not hold."""

    def __init__(self, sheets: list[_Sheet]):
        self.index: dict[tuple, str] = {}
        for sheet in sheets:
            for act in sheet.activities:
                m = act.meta
                self.index[(sheet.db.name, m.get("name"), m.get("reference product", m.get("name")), str(m.get("location", "GLO")))] = str(m.get("code"))
        self.in_workbook = {s.db.name for s in sheets}
        self.indexed: set[str] = set()

    def _index_installed(self, dbname: str) -> None:
        """Index an installed database once (the first provider looked up in it)."""
        import bw2data as bd

        if dbname in self.indexed:
            return
        self.indexed.add(dbname)
        for node in bd.Database(dbname):
            key = (dbname, node["name"], node.get("reference product", node["name"]), str(node.get("location", "GLO")))
            self.index.setdefault(key, node["code"])

    def __call__(self, dbname: str, d: dict, where: Where) -> tuple[str, str]:
        import bw2data as bd

        key = (dbname, d.get("name"), d.get("reference product", d.get("name")), str(d.get("location", "GLO")))
        if key in self.index:
            return (dbname, self.index[key])
        if dbname not in self.in_workbook and dbname in bd.databases:
            self._index_installed(dbname)
            if key in self.index:
                return (dbname, self.index[key])
        raise where.error(f"no provider {d.get('name')!r} [{d.get('location')}] ({d.get('reference product')}) in database {dbname!r}", column="name")


def _exchange(d: dict, db: str, providers: _Providers, ew: Where) -> dict | None:
    """An exchange row in the inventory format (None for the production row)."""
    kind = d.get("type")
    if kind == "production" or (kind == "biosphere" and is_located_flow(str(d.get("name")))):
        return None  # a location flow of water is derived again from the dataset (located_water)
    if kind not in ("technosphere", "biosphere"):
        raise ew.error(f"type {kind!r} must be production, technosphere or biosphere", column="type")
    exc = {k: d[k] for k in ("unit", "source", "comment") if k in d}
    exc["amount"] = str(d["formula"]) if d.get("formula") else d.get("amount")
    if exc["amount"] is None:
        raise ew.error("missing amount", column="amount")
    if distributions.to_spec(d) and not d.get("formula"):
        exc["uncertainty"] = distributions.to_spec(d)
    if kind == "biosphere":
        exc["biosphere"] = [d.get("name"), [c for c in str(d.get("categories", "")).split("::") if c]]
    else:
        exc["technosphere"] = list(providers(str(d.get("database", db)), d, ew))
    return exc


def _add_activity(sheet: _Sheet, act: _Activity, providers: _Providers, bio: Biosphere) -> None:
    where = sheet.where.at(row=act.row, what=f"activity {act.meta.get('name')!r}")
    for key in ("code", "unit"):
        if not act.meta.get(key):
            raise where.error(f"missing field {key!r}", column=key)
    ds = {k: act.meta[k] for k in ("code", "name", "reference product", "unit", "location", "comment", "stage", "located_water") if act.meta.get(k) is not None}
    ds["comment"] = ds.get("comment", "")
    ds["exchanges"], wheres = [], []
    for r, d in act.exchanges:
        ew = sheet.where.at(row=r, what=f"exchange {d.get('name')!r}")
        exc = _exchange(d, sheet.db.name, providers, ew)
        if exc is not None:
            ds["exchanges"].append(exc)
            wheres.append(ew)
    add_dataset(sheet.db, ds, where, bio, exchange_where=wheres)


def _with_column(exc: InputError) -> InputError:
    """The error with the workbook column of the field it names."""
    if exc.where.sheet is None or exc.where.column or not exc.field:
        return exc
    return exc.where.error(exc.problem, column=COLUMN_OF_FIELD.get(exc.field, exc.field), field=None)


def _check_graph(dbs: dict[str, InventoryDatabase]) -> list[InventoryDatabase]:
    """Links to installed databases are checked like links inside the workbook; returns the
    workbook's databases in writing order."""
    import bw2data as bd

    installed = InventoryDatabase("__installed__")
    for dep in {d for db in dbs.values() for d in db.depends} - set(dbs):
        for node in bd.Database(dep):
            installed.datasets[(dep, node["code"])] = {"unit": node.get("unit"), "exchanges": []}
    check_links({**dbs, "__installed__": installed})
    placeholders = {d: InventoryDatabase(d) for d in {x for db in dbs.values() for x in db.depends} - set(dbs)}
    return [db for db in ordered({**dbs, **placeholders}) if db.name in dbs]


def read_inventory_workbook(path: Path) -> list[InventoryDatabase]:
    """Read and validate an inventory workbook (the layout of `export_inventories`) with the
    rules of `inventories/`; return databases ready to write, in writing order. Errors name
    the sheet, row and column."""
    from openpyxl import load_workbook

    path = Path(path)
    if not path.is_file():
        raise AicomputeError(f"{path}: workbook not found (or not a regular file)")
    check_workbook_archive(path)
    try:
        wb = load_workbook(path, data_only=True, read_only=True)
    except Exception as exc:
        raise AicomputeError(f"{path}: not a readable Excel workbook ({exc})") from None
    result = workbook_databases(wb, path)
    for db in result:
        db.fingerprint = fingerprint("import", path.read_bytes())
    return result


def workbook_databases(wb, path: Path) -> list[InventoryDatabase]:
    """The validated databases of an open inventory workbook (openpyxl), in writing order;
    `path` is named in messages."""
    import bw2data as bd

    biosphere = find_biosphere(bd)
    if biosphere is None:
        raise AicomputeError("the project has no biosphere database; run: aicompute setup")
    bio = Biosphere(biosphere, flow_index(biosphere), flow_codes(biosphere))
    try:
        sheets = [s for s in (_read_sheet(ws, path) for ws in wb.worksheets) if s is not None]
        providers = _Providers(sheets)
        for sheet in sheets:
            evaluate_database_parameters(sheet.db)
            for act in sheet.activities:
                _add_activity(sheet, act, providers, bio)
    except InputError as exc:
        raise _with_column(exc) from None
    dbs = {s.db.name: s.db for s in sheets}
    if not dbs:
        raise AicomputeError(f"{path.name}: no sheet starts with a 'Database | <name>' row")
    add_located_water(dbs, bio)
    return _check_graph(dbs)


@dataclass
class ImportReport:
    """What `import_inventories` did: the databases installed (name, datasets) and what happened
    to the databases that link to them (re-processed when bw_aicompute's, reported as stale with
    the command that re-processes them when a user's)."""

    installed: list[tuple[str, int]] = field(default_factory=list)
    items: list = field(default_factory=list)

    def add(self, kind: str, name: object, action: str, detail: str = "") -> None:
        """Record what happened to a dependant database."""
        self.items.append((str(name), action, detail))

    def summary(self, workbook: str) -> str:
        """The text printed by `aicompute import-inventories`."""
        lines = [f"installed {name} ({n} datasets) from {workbook}" for name, n in self.installed]
        lines += [f"{action} {name}: {detail}" for name, action, detail in self.items]
        return "\n".join(lines)


def _check_names(databases: list[InventoryDatabase]) -> None:
    """A workbook replaces only the inventory databases of bw_aicompute, never a biosphere, a
    campaign or a user's database."""
    from ..inventory.writer import inventory_database_names

    ours = inventory_database_names()
    for db in databases:
        if db.name not in ours:
            raise AicomputeError(f"database {db.name!r} in the workbook is not one of bw_aicompute's inventory databases ({', '.join(sorted(ours))}); a workbook can replace only those")


def _check_dependants(databases: list[InventoryDatabase]) -> None:
    """Every database of the project that links to a database of the workbook must find its
    providers there (same codes), or nothing is written."""
    from bw2data.backends import ExchangeDataset as ED

    names = {db.name: {code for _, code in db.datasets} for db in databases}
    query = ED.select(ED.output_database, ED.input_database, ED.input_code).where(ED.input_database.in_(list(names)), ED.output_database.not_in(list(names))).distinct()
    for out_db, in_db, in_code in query.tuples():
        if in_code not in names[in_db]:
            raise AicomputeError(f"database {out_db!r} links to {in_code!r} of {in_db!r}, which the workbook does not have; nothing was written")


def import_inventories(path: str | Path) -> ImportReport:
    """Validate an edited inventory workbook and install its databases in the current project.

    Only bw_aicompute's inventory databases can be replaced; the links of every database of the
    project to them are checked before anything is written; afterwards bw_aicompute's databases
    that link to them (campaigns, linked copies, the foreground) are re-processed, and a user's
    are reported as stale. Setup keeps an imported database (`aicompute setup --reinstall`
    restores the shipped data).

    Parameters
    ----------
    path : str or Path
        The edited workbook (the layout of `export_inventories`).

    Returns
    -------
    ImportReport
        The databases installed (name, number of datasets) and what happened to their dependants.
    """
    import bw2data as bd

    path = Path(path)
    if not path.is_file():
        raise AicomputeError(f"{path}: workbook not found")
    with writer_lock(f"project {bd.projects.current!r}"):
        refresh_registries(bd)
        return _install(bd, path)


def _install(bd, path: Path) -> ImportReport:
    from ..inventory.writer import refresh_dependants

    databases = read_inventory_workbook(path)
    _check_names(databases)
    for db in databases:
        refuse_foreign(bd.databases, db.name, "rename it in the workbook")
    _check_dependants(databases)
    biosphere = find_biosphere(bd)
    report = ImportReport()
    for db in databases:
        write_database(bd, db, biosphere, imported_from=str(path.name))
        report.installed.append((db.name, len(db.datasets)))
    refresh_dependants(bd, {db.name for db in databases}, report)
    return report
