"""The inventory files and their templates: reading `inventories/*.yaml`, the named tables
(GPU models, countries, sites, facility profiles), and expanding `for_each` templates by
filling `{column}` placeholders with the values of a table row.

A campaign renders the same templates with a row of its own (see `bw_aicompute.campaign.write`),
so that the GPU-hour model is written once, in `inventories/datacenter.yaml`.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from .._resources import data_dir
from ..errors import AicomputeError, Where
from ..yamlfile import load_data_file

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def inventory_files(directory: Path | None = None) -> list[Path]:
    """The inventory files (`*.yaml`) of `directory` (default: the shipped `inventories/`)."""
    directory = directory or data_dir("inventories")
    return sorted(directory.glob("*.yaml"))


def where_in(path: Path, what: str) -> Where:
    """A place in an inventory file, for error messages."""
    return Where(file=f"inventories/{path.name}", what=what)


def substitute(value: Any, row: dict, where: Where) -> Any:
    """`value` (text, list or mapping) with every `{column}` replaced by the row's value; a
    text that is one placeholder takes the value itself (a number stays a number)."""
    if isinstance(value, str):
        whole = _PLACEHOLDER.fullmatch(value)
        if whole:
            if whole.group(1) not in row:
                raise where.error(f"placeholder {value} has no column in the table")
            return row[whole.group(1)]

        def repl(m):
            if m.group(1) not in row:
                raise where.error(f"placeholder {{{m.group(1)}}} has no column in the table")
            return str(row[m.group(1)])

        return _PLACEHOLDER.sub(repl, value)
    if isinstance(value, list):
        return [substitute(v, row, where) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, row, where) for k, v in value.items()}
    return value


def _joined_rows(names: list[str], tables: dict, where: Where):
    for combo in itertools.product(*(tables[t] for t in names)):
        row: dict = {}
        for part in combo:
            clash = set(row) & set(part)
            if clash:
                raise where.error(f"tables {names} share the columns {sorted(clash)}")
            row.update(part)
        yield row


def expand(items: list, tables: dict, path: Path, kind: str) -> list[tuple[dict, Where]]:
    """Items of a file (`kind`: parameter or dataset), each template repeated for every row of
    its table (or of the product of its tables), with where each one comes from."""
    out = []
    for i, item in enumerate(items or []):
        if not isinstance(item, dict):
            raise where_in(path, f"{kind} #{i + 1}").error("must be a mapping")
        label = item.get("code", item.get("name", f"#{i + 1}"))
        where = where_in(path, f"{kind} {label!r}")
        if "for_each" not in item:
            out.append((item, where))
            continue
        names = item["for_each"] if isinstance(item["for_each"], list) else [item["for_each"]]
        for table in names:
            if table not in tables:
                raise where.error(f"for_each names unknown table {table!r}; known: {sorted(tables)}")
        body = {k: v for k, v in item.items() if k != "for_each"}
        for row in _joined_rows(names, tables, where):
            expanded = substitute(body, row, where)
            label = expanded.get("code", expanded.get("name"))
            origin = f"(from template {item.get('code', item.get('name'))!r}, table {' x '.join(names)!r})"
            out.append((expanded, where_in(path, f"{kind} {label!r} {origin}")))
    return out


def read_files(directory: Path | None = None) -> tuple[list[tuple[Path, dict]], dict[str, list[dict]]]:
    """Parse every inventory file; return the documents and the tables of all files."""
    docs = []
    tables: dict[str, list] = {}
    for path in inventory_files(directory):
        try:
            doc = load_data_file(path)
        except yaml.YAMLError as exc:
            raise AicomputeError(f"inventories/{path.name}: not valid YAML: {exc}") from None
        if not isinstance(doc, dict) or "database" not in doc:
            raise where_in(path, "top level").error("needs the key 'database'")
        for name, rows in (doc.get("tables") or {}).items():
            if name in tables:
                raise where_in(path, f"table {name!r}").error("defined twice")
            if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
                raise where_in(path, f"table {name!r}").error("must be a list of mappings")
            tables[name] = rows
        docs.append((path, doc))
    return docs, tables


#: While `files_unchanged()` is active: folder -> the signature of its files, read once.
_UNCHANGED: dict[str, tuple] | None = None


@contextmanager
def files_unchanged() -> Iterator[None]:
    """Within the `with`, the inventory files are taken as unchanged: their names, times and
    sizes are read once per folder, not at every `tables()` or `template()` (a sweep of 2,000
    campaigns asked 94,000 times, 8 s of stat calls). For a job that reads the inventories
    and writes none of them."""
    global _UNCHANGED
    outer = _UNCHANGED
    _UNCHANGED = {} if outer is None else outer
    try:
        yield
    finally:
        _UNCHANGED = outer


def _signature(directory: Path | None) -> tuple[str, tuple]:
    key = str(directory or data_dir("inventories"))
    if _UNCHANGED is not None and key in _UNCHANGED:
        return key, _UNCHANGED[key]
    signature = tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in inventory_files(directory))
    if _UNCHANGED is not None:
        _UNCHANGED[key] = signature
    return key, signature


def tables(directory: Path | None = None) -> dict[str, list[dict]]:
    """The named tables of the inventory files (GPU models, countries, facility profiles...).
    Cached per folder while the files are unchanged; treat the result as read-only."""
    return _read_cached(*_signature(directory))[1]


def template(code: str, directory: Path | None = None) -> tuple[dict, str, Where]:
    """The dataset template whose code pattern is `code` (`gpu-hour-{gpu}-{site}`), unexpanded,
    with its database and where it is. Cached like `tables`; treat it as read-only."""
    docs, _ = _read_cached(*_signature(directory))
    for path, doc in docs:
        for item in doc.get("datasets") or []:
            if isinstance(item, dict) and item.get("code") == code:
                return item, doc["database"], where_in(path, f"template {code!r}")
    raise AicomputeError(f"inventories: no dataset template with code {code!r}")


def parameter(name: str, directory: Path | None = None) -> dict:
    """The parameter `name` as the inventory files define it (`for_each` templates expanded):
    its `amount` or `formula`, `unit` and `source`."""
    docs, rows = _read_cached(*_signature(directory))
    for path, doc in docs:
        for item, _ in expand(doc.get("parameters") or [], rows, path, "parameter"):
            if item.get("name") == name:
                return item
    raise AicomputeError(f"inventories: no parameter {name!r}")


@functools.lru_cache(maxsize=8)
def _read_cached(directory: str, signature: tuple) -> tuple[list[tuple[Path, dict]], dict[str, list[dict]]]:
    return read_files(Path(directory))
