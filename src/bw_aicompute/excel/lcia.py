"""The LCIA methods of the indicators as workbooks that bw2io's `ExcelLCIAImporter` reads, one
per method, with an index (`methods.json`) of their names, units and descriptions: a project
that never ran bw_aicompute gets every indicator, `water_scarcity` included, from bw2io alone
(bw2io's own `create_default_lcia_methods` fails upstream, brightway2-io#277)."""

from __future__ import annotations

import json
from pathlib import Path

from .._resources import atomic_write, text_cells
from ..errors import AicomputeError

#: The columns of a method's sheet: bw2io links `name` and `categories` to the project's
#: biosphere; a flow of another biosphere database (the location flows of consumed water) is
#: given as `input`, `database::code`, which bw2io's `csv_restore_tuples` makes a key.
COLUMNS = ["name", "categories", "unit", "amount", "input"]


def method_rows(method: tuple[str, ...], biosphere: str) -> list[list]:
    """The characterisation factors of an installed method as rows of `COLUMNS`."""
    import bw2data as bd

    rows = []
    for key, cf in bd.Method(method).load():
        node = bd.get_node(id=key) if isinstance(key, int) else bd.get_node(database=key[0], code=key[1])
        amount = cf["amount"] if isinstance(cf, dict) else cf
        own = node["database"] == biosphere
        rows.append([node["name"], "::".join(node.get("categories", ())), node.get("unit"), float(amount), None if own else f"{node['database']}::{node['code']}"])
    return sorted(rows, key=lambda r: (r[0], r[1], r[4] or ""))


def export_methods(folder: str | Path, indicators: list[str] | None = None) -> list[Path]:
    """Write the method of each indicator as `<indicator>.xlsx` in `folder`, and `methods.json`
    (file, Brightway name, unit, description of each), for `bw2io.ExcelLCIAImporter`.

    Parameters
    ----------
    folder : str or Path
        The folder to write into (created; files of the same names are replaced).
    indicators : list of str, optional
        Indicator names (default: all of `methods/indicators.yaml`).

    Returns
    -------
    list of Path
        The files written, `methods.json` last.
    """
    import bw2data as bd
    from openpyxl import Workbook

    from ..methods import indicators as known
    from ..project import find_biosphere

    biosphere = find_biosphere(bd)
    chosen = [known()[n] for n in (indicators or list(known()))]
    missing = [i.name for i in chosen if i.method not in bd.methods]
    if missing:
        raise AicomputeError(f"methods of {', '.join(missing)} are not installed; run: aicompute setup")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    index, written = [], []
    for ind in chosen:
        wb = Workbook()
        ws = wb.active
        ws.title = ind.name[:31]
        ws.append(COLUMNS)
        for row in method_rows(ind.method, biosphere):
            ws.append(row)
        text_cells(wb)
        path = folder / f"{ind.name}.xlsx"
        atomic_write(path, wb.save)
        meta = bd.methods[ind.method]
        index.append({"indicator": ind.name, "file": path.name, "name": list(ind.method), "unit": meta.get("unit", ""), "description": meta.get("description") or ind.description})
        written.append(path)
    path = folder / "methods.json"
    atomic_write(path, lambda p: Path(p).write_text(json.dumps(index, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"))
    return [*written, path]
