"""The Brightway project: importing bw2data for the right data directory, opening a project,
and the project's biosphere (which database, and its flows by name, categories and unit)."""

from __future__ import annotations

import functools
import os
import sys
import warnings
from pathlib import Path

from ._resources import data_dir
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
        where = "BRIGHTWAY2_DIR" if os.environ.get("BRIGHTWAY2_DIR") else "Brightway's default data directory; set BRIGHTWAY2_DIR for another"
        raise AicomputeError(f"project {name!r} does not exist in {bd.projects._base_data_dir} ({where}); run: aicompute setup --project {name}")
    use_project(bd, name)
    return bd


def use_project(bd, name: str) -> None:
    """Make `name` the current project; nothing to do when it already is (bw2data's
    `set_current` resets its SQLite connections and runs the garbage collector every time).
    The objects that exist already are set aside for those two full collections (`gc.freeze`,
    then `gc.unfreeze`): they do not become garbage by switching, and scanning what pandas,
    scipy and bw2data hold took 0.17 s of a 3 s command."""
    import gc

    if bd.projects.current != name:
        frozen = gc.get_freeze_count()
        gc.freeze()
        try:
            bd.projects.set_current(name)
        finally:
            if not frozen:
                gc.unfreeze()


def find_biosphere(bd) -> str | None:
    """The project's biosphere database: Brightway's configured one (`biosphere3` unless an
    ecoinvent import set another), else a database whose name contains "biosphere"."""
    if bd.config.biosphere in bd.databases:
        return bd.config.biosphere
    candidates = sorted(n for n in bd.databases if "biosphere" in n.lower())
    return candidates[-1] if candidates else None


#: The flows of the biosphere last read, by (data directory, project, biosphere token).
_FLOWS: dict[tuple[str, str, str], tuple[dict, dict]] = {}


def _flows(biosphere: str) -> tuple[dict, dict]:
    """(flow index, flow codes) of `biosphere`, read once per process while the database's size
    and last write (`biosphere_token`) stay the same."""
    import bw2data as bd
    from bw2data.backends import ActivityDataset as AD

    key = (str(bd.projects.dir), bd.projects.current, biosphere_token(bd, biosphere))
    if key not in _FLOWS:
        index, codes = {}, {}
        for id_, code, name, data in AD.select(AD.id, AD.code, AD.name, AD.data).where(AD.database == biosphere).tuples():
            index[(name, tuple(data.get("categories") or ()), data.get("unit"))] = id_
            codes[id_] = code
        _FLOWS.clear()
        _FLOWS[key] = (index, codes)
    return _FLOWS[key]


def flow_index(biosphere: str) -> dict[FlowKey, int]:
    """Map (name, categories, unit) to node id for every flow of a biosphere database (a copy
    of the process's cache, see `_flows`)."""
    return dict(_flows(biosphere)[0])


def flow_codes(biosphere: str) -> dict[int, str]:
    """Map node id to code for every flow of a biosphere database."""
    return dict(_flows(biosphere)[1])


def other_biospheres(bd, biosphere: str) -> list[str]:
    """The project's other biosphere databases (an imported ecoinvent's
    `ecoinvent-3.x-biosphere`...): databases whose name contains "biosphere" and whose nodes
    are elementary flows (not processes or products)."""
    from bw2data.backends import ActivityDataset as AD

    names = sorted(n for n in bd.databases if "biosphere" in n.lower() and n != biosphere)
    technosphere = set(bd.labels.lci_node_types)
    return [n for n in names if not AD.select().where(AD.database == n, AD.type.in_(technosphere)).exists()]


def biosphere_token(bd, name: str) -> str:
    """What identifies the content of a biosphere we do not own: its name, size and last write."""
    meta = bd.databases.get(name, {})
    return f"{name}#{meta.get('number', '')}#{meta.get('modified', '')}"


@functools.lru_cache(maxsize=1)
def replacement_candidates() -> dict[str, list[tuple[str, str]]]:
    """Flow UUID of ecoinvent 3.9 -> [(UUID, name) of the flow that replaces it in each later
    release, oldest first], chained through ecoinvent's biosphere change reports
    (`inventories/ecoinvent/biosphere-replacements.csv`; renames that keep the UUID are not
    there: a flow is matched by UUID first)."""
    import csv

    path = data_dir("inventories") / "ecoinvent" / "biosphere-replacements.csv"
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    steps: dict[str, dict[str, tuple[str, str]]] = {}
    for row in csv.DictReader(lines):
        steps.setdefault(row["to"], {})[row["source uuid"]] = (row["target uuid"], row["target name"])
    out: dict[str, list[tuple[str, str]]] = {}
    for release in sorted(steps, key=lambda r: tuple(int(x) for x in r.split("."))):
        step = steps[release]
        for chain in out.values():
            if chain[-1][0] in step:
                chain.append(step[chain[-1][0]])
        for old, new in step.items():
            out.setdefault(old, [new])
    return out


def flow_correspondence(biosphere: str, other: str) -> dict[int, int]:
    """Flow id of `biosphere` -> id of the same elementary flow in `other`: same UUID (code), else
    a replacement from the change reports, else the same (name, categories, unit)."""
    codes, index = flow_codes(biosphere), {v: k for k, v in flow_index(biosphere).items()}
    other_codes = {code: id_ for id_, code in flow_codes(other).items()}
    other_index, replaced = flow_index(other), replacement_candidates()
    out = {}
    for id_, code in codes.items():
        chain = [code] + [uuid for uuid, _ in replaced.get(code, [])]
        target = next((other_codes[c] for c in chain if c in other_codes), None)
        target = target if target is not None else other_index.get(index.get(id_))
        if target is not None:
            out[id_] = target
    return out
