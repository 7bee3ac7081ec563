"""bw_aicompute: open Brightway life cycle inventories for AI compute.

GPU servers, datacenter infrastructure and AI training activities as Brightway inventory
datasets, solved with standard LCIA methods for climate change, water and abiotic depletion.

The public API (everything a user needs from Python; the modules behind it are listed in
`docs`):

- `setup_project`: create or complete a Brightway project (biosphere, methods, inventories);
- `read_campaign`, `assess`: read a campaign file, assess it (`Assessment`, with `MonteCarlo`
  results when iterations are run);
- `read_log`: energy of a GPU power log;
- `link_ecoinvent`: link the foreground to a licensed ecoinvent database;
- `export_inventories`, `import_inventories`: the inventories as an Excel workbook;
- `export_olca`: databases as an openLCA JSON-LD package;
- `score_table`: scores of any datasets on any indicators;
- `sweep`: variants of campaigns in one database and one solve (`Sweep`);
- `run_chunks`, `combine`: Monte Carlo chunks for Dask, Ray or a job scheduler;
- `validate`: our results beside published studies (the validation report);
- `AicomputeError`, `InputError`: problems stated for the user.

Names are imported on first use, so that `import bw_aicompute` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ._version import __version__
from .errors import AicomputeError, InputError

_API = {
    "setup_project": "setup",
    "SetupReport": "setup",
    "read_campaign": "campaign",
    "Campaign": "campaign",
    "assess": "assessment",
    "Assessment": "assessment",
    "MonteCarlo": "uncertainty",
    "run_chunks": "uncertainty",
    "combine": "uncertainty",
    "read_log": "telemetry",
    "TelemetrySummary": "telemetry",
    "link_ecoinvent": "ecoinvent",
    "LinkReport": "ecoinvent",
    "export_inventories": "excel.inventories",
    "import_inventories": "excel.inventories",
    "export_olca": "olca",
    "score_table": "lca",
    "sweep": "sweeps",
    "Sweep": "sweeps",
    "validate": "validation",
}

__all__ = [
    "AicomputeError",
    "Assessment",
    "Campaign",
    "InputError",
    "LinkReport",
    "MonteCarlo",
    "SetupReport",
    "Sweep",
    "TelemetrySummary",
    "__version__",
    "assess",
    "combine",
    "export_inventories",
    "export_olca",
    "import_inventories",
    "link_ecoinvent",
    "read_campaign",
    "read_log",
    "run_chunks",
    "score_table",
    "setup_project",
    "sweep",
    "validate",
]

if TYPE_CHECKING:  # for type checkers and documentation tools; at run time see __getattr__
    from .assessment import Assessment, assess
    from .campaign import Campaign, read_campaign
    from .ecoinvent import LinkReport, link_ecoinvent
    from .excel.inventories import export_inventories, import_inventories
    from .lca import score_table
    from .olca import export_olca
    from .setup import SetupReport, setup_project
    from .sweeps import Sweep, sweep
    from .telemetry import TelemetrySummary, read_log
    from .uncertainty import MonteCarlo, combine, run_chunks
    from .validation import validate


def __getattr__(name: str):
    if name in _API:
        value = getattr(importlib.import_module(f".{_API[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
