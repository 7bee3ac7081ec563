"""The inventories of `inventories/`: templates and tables, formulas, validation, install.

`inventories/*.yaml` are the single source of truth (see `inventories/README.md` for the format).
Each file belongs to one database and holds:

* `tables`: named lists of rows, used to repeat a template (a country list, the GPU models);
* `parameters`: database parameters (a number or a formula over other parameters of the same
  database), each with unit, source and, where the source gives a range, an uncertainty;
* `datasets`: activities with their exchanges (biosphere flows by (name, categories, unit),
  technosphere providers by code), each exchange with amount (a number or a formula), unit and
  source. A dataset or a parameter with `for_each: TABLE` is repeated for every row of the table,
  `{column}` in its strings being replaced by the row's value.

Modules: `templates` (files, tables, templates), `formulas` (names, order, evaluation),
`validate` (datasets and links, before anything is written), `writer` (writing into the
project with parameters registered so that `bw2data.parameters.recalculate()` works).
"""

from .formulas import FormulaEvaluator, evaluate_checked, formula_names
from .writer import imported_from, install, refresh_dependants, write_database
from .templates import inventory_files, tables, template
from .validate import InventoryDatabase, inventories_fingerprint, load

__all__ = [
    "FormulaEvaluator",
    "InventoryDatabase",
    "evaluate_checked",
    "formula_names",
    "imported_from",
    "install",
    "inventories_fingerprint",
    "inventory_files",
    "load",
    "refresh_dependants",
    "tables",
    "template",
    "write_database",
]
