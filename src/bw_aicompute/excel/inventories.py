"""The inventories in bw2io's Excel layout: export one sheet per database, and import an edited
workbook, validated with the rules of `inventories/` (errors name sheet, row and column)."""

from __future__ import annotations

import difflib
import json
import shutil

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import distributions
from .._resources import atomic_write, check_workbook_archive, fingerprint, text_cells, write_json
from ..errors import AicomputeError, InputError, Where, quote
from ..inventory import InventoryDatabase, write_database
from ..water import LOCATED_DB, is_located_flow
from ..inventory.validate import Biosphere, add_dataset, add_located_water, check_links, check_parameter, evaluate_database_parameters, ordered
from ..locking import refresh_registries, writer_lock
from ..ownership import JOURNAL, refuse_foreign
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
FLOW_FIELDS = ["code", "categories", "unit", "location", "type", "comment"]
FLOW_TYPES = ("emission", "natural resource")
SHIPPED = ("aicompute-background", "aicompute")
#: Databases that a workbook carries for other software, which `import-inventories` skips.
FOREIGN_FORMATS = {
    "bw_aicompute location flows of consumed water": "elementary flows for bw2io (import this sheet first); import-inventories derives them from located_water and skips this sheet",
    "bw_aicompute campaign": "a campaign, for bw2io and other software; import-inventories skips this sheet (aicompute assess writes campaigns)",
}
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
    if meta.get("format") in FOREIGN_FORMATS:
        ws.append(["note", FOREIGN_FORMATS[meta["format"]]])
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
        if act.get("type") in FLOW_TYPES:  # an elementary flow: its identity, no exchanges
            for field_ in FLOW_FIELDS:
                if act.get(field_) not in (None, ""):
                    ws.append([field_, _xl(act[field_])])
            ws.append([])
            continue
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


def export_inventories(path: str | Path, databases: tuple[str, ...] = (LOCATED_DB, *SHIPPED)) -> list[str]:
    """Write databases of the current project to one workbook in bw2io's Excel layout.

    One sheet per database (bw2io reads one `Database` section per import:
    `ExcelImporter(path, sheet_name=...)`). Edges carry `reference product`, `unit`, `location`
    and `database`, so that bw2io's default linking (and `match_database`) finds their
    providers; formulas, uncertainty, comments and sources are kept; database parameters are
    written in a `Database parameters` section. The location flows of consumed water are a
    sheet of elementary flows (name, categories, unit, code), so that a project without
    bw_aicompute links the water of the grids; `import-inventories` skips that sheet and a
    campaign's.

    Parameters
    ----------
    path : str or Path
        The workbook to write (`.xlsx`).
    databases : tuple of str
        The databases, in importing order (default: the location flows of consumed water,
        `aicompute-background` and `aicompute`; add a campaign's to export it too).

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
    text_cells(wb)  # a name or comment typed as `=...` is written as text, and read back as typed
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
    rows: dict[str, int] = field(default_factory=dict)  # field of the header block -> its row


@dataclass
class _Sheet:
    """One `Database` section of a workbook, as read: parameters and activities by row."""

    db: InventoryDatabase
    title: str
    where: Where
    activities: list[_Activity] = field(default_factory=list)


def _head(line: list) -> str:
    return str(line[0]).strip().lower() if line and line[0] is not None else ""


def _letter(col: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(col)


def _unknown(name: str, known: tuple[str, ...] | list[str]) -> str:
    """`(did you mean 'X'?)` for the closest of `known` to `name`, else the list of `known`."""
    close = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else f"; use one of: {', '.join(known)}"


def _check_header(header: list[str], columns: list[str], where: Where) -> None:
    """An error for a column header of a table that is not one of `columns`, or given twice."""
    for k, h in enumerate(header):
        if not h:
            continue
        if h not in columns:
            raise where.error(f"unknown column {quote(h)}{_unknown(h, columns)}", column=_letter(k + 1))
        if h in header[:k]:
            raise where.error(f"column {h!r} is given twice, in columns {_letter(header.index(h) + 1)} and {_letter(k + 1)}: keep one", column=h)


def _table(rows: list, i: int, columns: list[str], where: Where) -> tuple[list[tuple[int, dict]], int]:
    """The records of a table whose header is row `i`, up to the first empty row; an error for a
    header not in `columns` or given twice, and for a value under no header (never dropped)."""
    if i >= len(rows) or not any(v is not None for v in rows[i][1]):
        return [], i
    header = [str(h) if h is not None else "" for h in rows[i][1]]
    _check_header(header, columns, where.at(row=rows[i][0]))
    records, i = [], i + 1
    while i < len(rows) and any(v is not None for v in rows[i][1]):
        r, values = rows[i]
        stray = next((k for k, v in enumerate(values) if v is not None and (k >= len(header) or not header[k])), None)
        if stray is not None:
            raise where.error(f"a value ({quote(values[stray])}) in a column without a header: clear it, or move it to its column", row=r, column=_letter(stray + 1))
        records.append((r, {h: v for h, v in zip(header, values) if h and v is not None}))
        i += 1
    return records, i


def _uncertainty_type(d: dict, where: Where) -> int:
    """The stats_arrays id in the `uncertainty type` column (0 where blank); an error for a
    number that is not a whole one. A text is left to the validation (it names the types)."""
    kind = d.get("uncertainty type")
    if kind is None:
        return 0
    if isinstance(kind, str):
        return int(kind) if kind.isdigit() else -1
    if isinstance(kind, bool) or not isinstance(kind, (int, float)) or not float(kind).is_integer():
        raise where.error(f"uncertainty type {quote(kind)} is not a stats_arrays id ({', '.join(f'{v} {k}' for k, v in distributions.TYPES.items())})", column="uncertainty type")
    return int(kind)


def _check_uncertainty(d: dict, where: Where) -> None:
    """An error for a distribution column that is given but not read for the row's type (never
    dropped silently): a lognormal or a normal is its `scale` about the amount, a uniform,
    triangular or beta its `minimum` and `maximum` (`loc` is derived from the amount)."""
    kind = _uncertainty_type(d, where)
    given = [k for k in ("scale", "minimum", "maximum", "loc") if d.get(k) is not None]
    if kind in (0, 1) and given:
        raise where.error(f"{given[0]} is given without an uncertainty type: give the type ({', '.join(f'{v} {k}' for k, v in distributions.TYPES.items())}), or clear the cell", column=given[0])
    name = distributions.NAMES.get(kind)
    if name in ("lognormal", "normal"):
        stray = next((k for k in ("minimum", "maximum") if k in given), None)
        spread = "its scale (ln of the geometric standard deviation), its median at the amount" if name == "lognormal" else "its scale (the standard deviation), its mean at the amount"
        if stray:
            raise where.error(f"a {name} here is given by {spread} (loc follows the amount); minimum/maximum are not read for it: clear the cell", column=stray)
    elif name and "scale" in given:
        raise where.error(f"a {name} here is given by its minimum and maximum, its median at the amount; scale is not read for it: clear the cell", column="scale")


def _parameter(sheet: _Sheet, r: int, d: dict) -> None:
    where = sheet.where.at(row=r, what=f"parameter {quote(d.get('name'))}")
    p = {k: d[k] for k in ("name", "unit", "source", "comment") if k in d}
    if d.get("formula"):
        p["formula"] = str(d["formula"])
    elif "amount" in d:
        p["amount"] = d["amount"]
    _check_uncertainty(d, where)
    if distributions.to_spec(d):
        p["uncertainty"] = distributions.to_spec(d)
    check_parameter(p, where)
    if p["name"] in sheet.db.parameters:
        raise where.error(f"parameter {p['name']!r} defined twice", column="name")
    sheet.db.parameters[p["name"]] = {**p, "_where": where}


def _meta(act: _Activity, r: int, line: list, where: Where) -> None:
    """One `field | value` row of an activity's header block; an error for a field that is not
    one of `ACTIVITY_FIELDS` (with the closest) or given twice, and for a type other than
    `process` (the only one read)."""
    key, value = str(line[0]).strip(), line[1] if len(line) > 1 else None
    where = where.at(row=r, column="A")
    if key not in ACTIVITY_FIELDS:
        raise where.error(f"unknown field {quote(key)} in the activity's block{_unknown(key, ACTIVITY_FIELDS)}")
    if key in act.rows:
        raise where.error(f"field {key!r} is also in row {act.rows[key]}: keep one row per field")
    if key == "type" and value not in (None, "process"):
        raise where.error(f"type {quote(value)}: the activities of this workbook are processes (type 'process')", column="B")
    act.rows[key] = r
    act.meta[key] = value


def _activity(rows: list, i: int, where: Where) -> tuple[_Activity, int]:
    r, line = rows[i]
    act = _Activity(row=r, meta={"name": line[1] if len(line) > 1 else None})
    where = where.at(what=f"activity {quote(act.meta['name'])}")
    i += 1
    while i < len(rows) and rows[i][1] and _head(rows[i][1]) not in ("exchanges", "activity", ""):
        _meta(act, rows[i][0], rows[i][1], where)
        i += 1
    if i < len(rows) and _head(rows[i][1]) == "exchanges":
        act.exchanges, i = _table(rows, i + 1, EXCHANGE_COLUMNS, where.at(what=None))
    return act, i


#: The rows of a sheet outside its tables and activity blocks (lower case): the database's.
DATABASE_ROWS = ("format", "license")


def _check_loose_row(line: list, where: Where) -> None:
    """An error for a non-empty row outside the sections (a misspelt `Activity`, a field of an
    activity after an empty row, a value without a key): never skipped."""
    if not any(v is not None for v in line) or _head(line) in DATABASE_ROWS:
        return
    if line[0] is None:
        k = next(k for k, v in enumerate(line) if v is not None)
        raise where.error(f"a value ({quote(line[k])}) without a key in column A: clear it, or type its key", column=_letter(k + 1))
    text = str(line[0]).strip()
    if text.lower() == "database":
        raise where.error("a second 'Database' row: a sheet holds one database (bw2io reads one Database section per import)", column="A")
    if text.lower() in (*ACTIVITY_FIELDS, "exchanges", "name"):
        raise where.error(f"{quote(text)} is outside an activity's block (an empty row ends a block): remove the empty row above it", column="A")
    raise where.error(f"unknown row {quote(text)}{_unknown(text, ['Activity', 'Database parameters', *DATABASE_ROWS])}", column="A")


def _column_name(rows: list, i: int, col: int) -> str:
    """The header of 1-based column `col` for the row at index `i`: that of the table the row
    is in, else the column's letter."""
    j = i
    while j > 0 and (j == i or any(v is not None for v in rows[j][1])):
        if _head(rows[j - 1][1]) in ("exchanges", "database parameters"):
            header = rows[j][1]
            return str(header[col - 1]) if col <= len(header) and header[col - 1] is not None else _letter(col)
        j -= 1
    return _letter(col)


def _read_sheet(ws, path: Path, formulas: dict[tuple[int, int], str] | None = None) -> _Sheet | None:
    """The `Database` section of a worksheet (None for a sheet whose A1 is empty or `skip`);
    `formulas` are its cells holding a formula without a computed value (refused)."""
    from ..campaign.workbook import uncomputed_error

    rows = [(i, [_cell(v) for v in row]) for i, row in enumerate(ws.iter_rows(values_only=True), start=1)]
    where = Where(file=path.name, sheet=ws.title)
    skipped = not rows or not rows[0][1] or rows[0][1][0] in (None, "skip")
    if formulas and (not skipped or (1, 1) in formulas):
        r, c = min(formulas)
        raise uncomputed_error(where.at(row=r, column=_column_name(rows, r - 1, c)), formulas[(r, c)])
    if skipped:
        return None
    first = rows[0][1]
    if str(first[0]).lower() != "database" or len(first) < 2 or not first[1]:
        raise where.error("the first row must be 'Database | <name>'", row=1, column="A")
    if any(_head(line) == "format" and len(line) > 1 and line[1] in FOREIGN_FORMATS for _, line in rows[1:4]):
        return None  # the location flows and a campaign, written for other software
    sheet = _Sheet(db=InventoryDatabase(str(first[1])), title=ws.title, where=where)
    sheet.db.files.append(path)
    i = 1
    while i < len(rows):
        head = _head(rows[i][1])
        if head == "database parameters":
            records, i = _table(rows, i + 1, PARAM_COLUMNS, where)
            for r, d in records:
                _parameter(sheet, r, d)
        elif head == "activity":
            act, i = _activity(rows, i, where)
            sheet.activities.append(act)
        else:
            _check_loose_row(rows[i][1], where.at(row=rows[i][0]))
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


#: The amount of a production exchange: what the package writes (one unit of the reference
#: product; `inventory.validate.add_dataset`).
PRODUCTION_AMOUNT = 1


def _check_production(d: dict, ew: Where) -> None:
    """An error for a production row whose amount is not the one the package writes (blank is
    read as it), or that has a formula or a distribution: none of them would be read."""
    amount = d.get("amount")
    if amount is not None and (isinstance(amount, bool) or not isinstance(amount, (int, float)) or amount != PRODUCTION_AMOUNT):
        raise ew.error(f"production amount {quote(amount)} is not read: an activity here makes {PRODUCTION_AMOUNT} unit of its reference product (what export-inventories writes); scale its other exchanges instead", column="amount")
    for k in ("formula", "uncertainty type", "loc", "scale", "minimum", "maximum"):
        if d.get(k) is not None:
            raise ew.error(f"a production exchange has no {k} (its amount is {PRODUCTION_AMOUNT}): clear the cell", column=k)


def _exchange(d: dict, db: str, providers: _Providers, ew: Where) -> dict | None:
    """An exchange row in the inventory format (None for the production row)."""
    kind = d.get("type")
    if kind == "production":
        _check_production(d, ew)
        return None
    if kind == "biosphere" and is_located_flow(str(d.get("name"))):
        return None  # a location flow of water is derived again from the dataset (located_water)
    if kind not in ("technosphere", "biosphere"):
        raise ew.error(f"type {quote(kind)} must be production, technosphere or biosphere", column="type")
    exc = {k: d[k] for k in ("unit", "source", "comment") if k in d}
    exc["amount"] = str(d["formula"]) if d.get("formula") else d.get("amount")
    if exc["amount"] is None:
        raise ew.error("missing amount", column="amount")
    _check_uncertainty(d, ew)
    if distributions.to_spec(d) and d.get("formula"):
        raise ew.error("an exchange with a formula gets its uncertainty from the parameters of the formula; the uncertainty columns are not read for it: clear them, or give an amount without a formula", column="uncertainty type")
    if distributions.to_spec(d):
        exc["uncertainty"] = distributions.to_spec(d)
    if kind == "biosphere":
        exc["biosphere"] = [d.get("name"), [c for c in str(d.get("categories", "")).split("::") if c]]
    else:
        exc["technosphere"] = list(providers(str(d.get("database", db)), d, ew))
    return exc


def _add_activity(sheet: _Sheet, act: _Activity, providers: _Providers, bio: Biosphere) -> None:
    where = sheet.where.at(row=act.row, what=f"activity {quote(act.meta.get('name'))}")
    for key in ("code", "unit"):
        if not act.meta.get(key):
            raise where.error(f"missing field {key!r}", column=key)
    ds = {k: act.meta[k] for k in ("code", "name", "reference product", "unit", "location", "comment", "stage", "located_water") if act.meta.get(k) is not None}
    ds["comment"] = ds.get("comment", "")
    ds["exchanges"], wheres = [], []
    for r, d in act.exchanges:
        ew = sheet.where.at(row=r, what=f"exchange {quote(d.get('name'))}")
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
    from ..campaign.workbook import uncomputed_formulas

    result = workbook_databases(wb, path, uncomputed_formulas(path, wb, wb.sheetnames))
    for db in result:
        db.fingerprint = fingerprint("import", path.read_bytes())
    return result


def workbook_databases(wb, path: Path, formulas: dict[str, dict[tuple[int, int], str]] | None = None) -> list[InventoryDatabase]:
    """The validated databases of an open inventory workbook (openpyxl), in writing order.

    Parameters
    ----------
    wb : openpyxl.Workbook
        The workbook, or any object with `worksheets` whose items have `title` and `iter_rows`.
    path : Path
        The file, named in messages.
    formulas : dict, optional
        Sheet title -> {(row, column): formula} of the cells holding a formula without a
        computed value (`campaign.workbook.uncomputed_formulas`): refused, never read as blank.

    Returns
    -------
    list of InventoryDatabase
        The databases of the workbook, in writing order.
    """
    import bw2data as bd

    biosphere = find_biosphere(bd)
    if biosphere is None:
        raise AicomputeError("the project has no biosphere database; run: aicompute setup")
    bio = Biosphere(biosphere, flow_index(biosphere), flow_codes(biosphere))
    try:
        sheets = [s for s in (_read_sheet(ws, path, (formulas or {}).get(ws.title)) for ws in wb.worksheets) if s is not None]
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
        earlier = ImportReport()
        resume_import(bd, earlier)  # an earlier import killed half-way is completed first
        report = _install(bd, path)
        report.items[:0] = earlier.items
        return report


def _install(bd, path: Path) -> ImportReport:
    databases = _checked(bd, path)
    folder = _begin(bd, path)
    report = _write_all(bd, databases, path.name)
    shutil.rmtree(folder)
    return report


def _checked(bd, path: Path) -> list[InventoryDatabase]:
    """The databases of the workbook `path`, validated against the project (nothing written)."""
    databases = read_inventory_workbook(path)
    _check_names(databases)
    for db in databases:
        refuse_foreign(bd.databases, db.name, "rename it in the workbook")
    _check_dependants(databases)
    return databases


def _write_all(bd, databases: list[InventoryDatabase], workbook: str) -> ImportReport:
    from ..inventory.writer import refresh_dependants

    biosphere = find_biosphere(bd)
    report = ImportReport()
    for db in databases:
        write_database(bd, db, biosphere, imported_from=workbook)
        report.installed.append((db.name, len(db.datasets)))
    refresh_dependants(bd, {db.name for db in databases}, report)
    return report


def _journal_folder(bd) -> Path:
    return Path(bd.projects.dir) / JOURNAL


def _begin(bd, path: Path) -> Path:
    """Keep a copy of the workbook in the project and write the journal: the point from which
    an interrupted import is completed (`resume_import`) rather than lost half-written."""
    folder = _journal_folder(bd)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    atomic_write(folder / "workbook.xlsx", lambda tmp: shutil.copyfile(path, tmp))
    write_json(folder / "journal.json", {"workbook": path.name})
    return folder


def resume_import(bd, report, discard: bool = False) -> None:
    """Complete an `import-inventories` that was interrupted (killed, power lost) after it began
    writing, from the copy of the workbook it kept: the project then has the user's import,
    whole. An import killed before its journal was written changed nothing: its folder is
    removed. With `discard` (`setup --reinstall`), the journal is dropped instead.

    Parameters
    ----------
    bd : module
        bw2data, in the project (under the writer lock).
    report : SetupReport
        Gets one item per database completed.
    discard : bool
        Drop an interrupted import (the shipped inventories are restored over it).
    """
    folder = _journal_folder(bd)
    if not folder.exists():
        return
    journal = folder / "journal.json"
    if discard or not journal.is_file():
        shutil.rmtree(folder)
        return
    workbook = json.loads(journal.read_text(encoding="utf-8"))["workbook"]
    try:
        databases = _checked(bd, folder / "workbook.xlsx")
    except AicomputeError as exc:
        raise AicomputeError(f"an interrupted import of {workbook} cannot be completed ({exc}); aicompute setup --reinstall restores the shipped inventories") from None
    done = _write_all(bd, databases, workbook)
    shutil.rmtree(folder)
    for name, n in done.installed:
        report.add("database", name, "updated", f"completed the interrupted import of {workbook} ({n} datasets)")
    for name, action, detail in done.items:
        report.add("database", name, action, detail)
