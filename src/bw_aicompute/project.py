"""The Brightway project: importing bw2data for the right data directory, opening a project,
and the project's biosphere (which database, and its flows by name, categories and unit)."""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

from .errors import AicomputeError
from .locking import writer_lock

DEFAULT_PROJECT = "aicompute"
DEFAULT_BIOSPHERE = "biosphere3"

FlowKey = tuple[str, tuple[str, ...], str]  # (name, categories, unit)


def brightway():
    """Import and return `bw2data`, creating `BRIGHTWAY2_DIR` first when it is set but missing."""
    env = os.environ.get("BRIGHTWAY2_DIR")
    if env:
        path = Path(env)
        if path.exists() and not path.is_dir():
            raise AicomputeError(f"BRIGHTWAY2_DIR={env} exists and is not a directory")
        path.mkdir(parents=True, exist_ok=True)
    if "bw2data" in sys.modules:
        return sys.modules["bw2data"]
    with writer_lock("the Brightway data directory"), warnings.catch_warnings():  # importing writes projects.db
        warnings.simplefilter("ignore")
        import bw2data
    return bw2data


def open_project(name: str):
    """Activate an existing project (never creates one) and return `bw2data`."""
    bd = brightway()
    if name not in bd.projects:
        raise AicomputeError(f"project {name!r} does not exist; run: aicompute setup --project {name}")
    bd.projects.set_current(name)
    return bd


def find_biosphere(bd) -> str | None:
    """The project's biosphere database: Brightway's configured one (`biosphere3` unless an
    ecoinvent import set another), else a database whose name contains "biosphere"."""
    if bd.config.biosphere in bd.databases:
        return bd.config.biosphere
    candidates = sorted(n for n in bd.databases if "biosphere" in n.lower())
    return candidates[-1] if candidates else None


def flow_index(biosphere: str) -> dict[FlowKey, int]:
    """Map (name, categories, unit) to node id for every flow of a biosphere database."""
    from bw2data.backends import ActivityDataset as AD

    out = {}
    query = AD.select(AD.id, AD.name, AD.data).where(AD.database == biosphere)
    for id_, name, data in query.tuples():
        out[(name, tuple(data.get("categories") or ()), data.get("unit"))] = id_
    return out


def flow_codes(biosphere: str) -> dict[int, str]:
    """Map node id to code for every flow of a biosphere database."""
    from bw2data.backends import ActivityDataset as AD

    return dict(AD.select(AD.id, AD.code).where(AD.database == biosphere).tuples())
