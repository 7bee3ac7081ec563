"""Set up a Brightway project for bw_aicompute: biosphere, LCIA methods and inventories.

`setup_project` is offline, idempotent and safe:

* it creates the project if absent, in Brightway's data directory (`BRIGHTWAY2_DIR` when set);
* it installs the biosphere (ecoinvent 3.9 elementary flows shipped with bw2io) only when the
  project has none, and otherwise uses the one it has, whatever its name;
* it installs only the LCIA methods listed in `methods/` (a few seconds, instead of minutes for
  the 762 methods that `bw2setup` would write, and avoiding its failure, brightway2-io#277);
* it writes only databases and methods that carry its own mark (`metadata["bw_aicompute"]`); a
  database or method of the user's is never deleted or rewritten;
* each object it writes is marked `installing` first and `complete` last, with a fingerprint of
  its source, so a run that failed midway is completed by the next run and an up-to-date project
  is left untouched (a second run writes nothing).
"""

from __future__ import annotations

import copy
import functools
import sys
import time
import uuid
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from ._resources import fingerprint
from .errors import AicomputeError
from .excel.inventories import resume_import
from .inventory import install as install_inventories
from .methods import (
    MethodName,
    bw2io_version,
    custom_fingerprint,
    custom_methods,
    load_bw2io_methods,
    standard_fingerprint,
    standard_method_names,
)
from .locking import refresh_registries, writer_lock
from .ownership import database_rows, method_rows, write_owned
from .ownership import state as owned_state
from .project import DEFAULT_BIOSPHERE, DEFAULT_PROJECT, biosphere_token, brightway, find_biosphere, flow_correspondence, flow_index, other_biospheres, use_project


@dataclass
class SetupItem:
    """One object setup looked at: kind (biosphere, method, database), name, action (installed,
    updated, present, kept, stale) and detail."""
    kind: str  # "biosphere", "method", "database"
    name: str
    action: str  # "installed", "updated", "present", "kept"
    detail: str = ""


@dataclass
class SetupReport:
    """What `setup_project` did, item by item."""

    project: str
    data_dir: Path
    project_created: bool
    biosphere: str = ""
    items: list[SetupItem] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, kind: str, name: object, action: str, detail: str = "") -> None:
        """Record one item."""
        self.items.append(SetupItem(kind, str(name), action, detail))

    @property
    def changed(self) -> bool:
        """Whether anything was installed or updated."""
        return any(i.action in ("installed", "updated") for i in self.items)

    def summary(self) -> str:
        """The text printed by `aicompute setup`."""
        lines = [
            f"Project {self.project!r} in {self.data_dir} ({'created' if self.project_created else 'existing'})"
        ]
        by_kind: dict[str, list[SetupItem]] = defaultdict(list)
        for item in self.items:
            by_kind[item.kind].append(item)
        for kind in ("biosphere", "method", "database"):
            items = by_kind.get(kind, [])
            if kind == "database" and not items:
                lines.append("  inventories: none found")
                continue
            counts: dict[str, int] = defaultdict(int)
            for i in items:
                counts[i.action] += 1
            label = {"biosphere": "biosphere", "method": "methods", "database": "inventories"}[kind]
            if kind == "method":
                lines.append(f"  {label}: " + ", ".join(f"{n} {a}" for a, n in counts.items()))
            for i in items:
                if kind != "method" or i.action != "present":
                    lines.append(f"    {i.action:<9} {i.name}" + (f"  ({i.detail})" if i.detail else ""))
        lines.append(f"Setup {'done' if self.changed else 'already complete, nothing changed'} in {self.seconds:.2f} s")
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# biosphere


def _biosphere_fingerprint() -> str:
    return fingerprint("biosphere", "ecoinvent elementary flows 3.9", bw2io_version())


@functools.lru_cache(maxsize=2)
def _biosphere_flows(name: str, version: str) -> tuple[dict, ...]:
    """The ecoinvent 3.9 elementary flows shipped with bw2io, as bw2io imports them (parsed once
    per process)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from bw2io.importers import Ecospold2BiosphereImporter

    importer = Ecospold2BiosphereImporter(name=name)
    importer.apply_strategies(verbose=False)
    return tuple(importer.data)


def _install_biosphere(bd, name: str, fp: str) -> int:
    data = {(name, ds["code"]): copy.deepcopy(ds) for ds in _biosphere_flows(name, bw2io_version())}
    meta = {"format": "Ecoinvent XML (bw2io)", "version": "3.9", "depends": []}
    db = bd.Database(name)
    # a new token each write: methods and inventories, which hold its node ids, follow it
    write_owned(bd.databases, db, name, meta, fp, lambda: db.write(data), count=database_rows(name), expected=len(data), written=uuid.uuid4().hex)
    return len(data)


def _setup_biosphere(bd, report: SetupReport) -> str:
    fp = _biosphere_fingerprint()
    name = find_biosphere(bd)
    if name is None:
        name = DEFAULT_BIOSPHERE
    state = owned_state(bd.databases, name, fp, database_rows(name))
    if state == "foreign":
        report.add("biosphere", name, "kept", f"{len(bd.Database(name))} flows, not managed by bw_aicompute")
    elif state == "current":
        report.add("biosphere", name, "present", f"{bd.databases[name].get('number', 0)} flows")
    else:
        n = _install_biosphere(bd, name, fp)
        action = "installed" if state == "absent" else "updated"
        report.add("biosphere", name, action, f"{n} flows, ecoinvent 3.9 elementary flows from bw2io {bw2io_version()}")
    return name


def _setup_located_water(bd, report: SetupReport) -> None:
    """The location flows of consumed water (`bw_aicompute.water`), a database of ours."""
    from .water import LOCATED_DB, flows_data, located_fingerprint

    fp = located_fingerprint()
    state = owned_state(bd.databases, LOCATED_DB, fp, database_rows(LOCATED_DB))
    if state == "foreign":
        raise AicomputeError(f"database {LOCATED_DB!r} exists in project {bd.projects.current!r} and was not created by bw_aicompute; it is left untouched. Use another project (--project NAME).")
    if state == "current":
        report.add("biosphere", LOCATED_DB, "present", f"{bd.databases[LOCATED_DB].get('number', 0)} location flows")
        return
    data = flows_data()
    meta = {"format": "bw_aicompute location flows of consumed water", "depends": [], "license": "CC BY-SA 4.0 (see inventories/LICENSE.md)"}
    db = bd.Database(LOCATED_DB)
    write_owned(bd.databases, db, LOCATED_DB, meta, fp, lambda: db.write(data), count=database_rows(LOCATED_DB), expected=len(data), written=uuid.uuid4().hex)
    report.add("biosphere", LOCATED_DB, "installed" if state == "absent" else "updated", f"{len(data)} location flows of consumed water (AWARE 2.0 places)")


# ---------------------------------------------------------------------------------------------
# methods


def _write_method(bd, name: MethodName, cfs: list, meta: dict, fp: str) -> None:
    method = bd.Method(name)
    write_owned(bd.methods, method, name, meta, fp, lambda: method.write(cfs), count=method_rows(bd, name), expected=len(cfs))


@dataclass
class _Coverage:
    """The other biospheres of the project (an imported ecoinvent's) that the methods must also
    characterize, a token of them for the methods' fingerprints, and (read once, when a method
    is written) the correspondence of their flows with those of the setup biosphere."""

    biosphere: str
    others: list[str]
    token: str

    @functools.cached_property
    def maps(self) -> dict[str, dict[int, int]]:
        return {other: flow_correspondence(self.biosphere, other) for other in self.others}

    def covered(self, cfs: list) -> tuple[list, str]:
        """`cfs` plus the same factors on the same flows of each other biosphere, and a note."""
        out, note = list(cfs), []
        for other, same in self.maps.items():
            extra, seen = [], set()
            for flow, value in cfs:
                target = same.get(flow)
                if target is not None and target not in seen:
                    seen.add(target)
                    extra.append((target, value))
            out += extra
            note.append(f"{len(extra)} on {other}")
        return out, (", also " + ", ".join(note)) if note else ""


def _coverage(bd, biosphere: str) -> _Coverage:
    others = other_biospheres(bd, biosphere)
    return _Coverage(biosphere, others, "|".join(biosphere_token(bd, b) for b in others))


def _setup_standard_methods(bd, biosphere: str, report: SetupReport, coverage: _Coverage) -> None:
    todo = {}
    for name in standard_method_names():
        fp = fingerprint(standard_fingerprint(name, biosphere), coverage.token)
        state = owned_state(bd.methods, name, fp, method_rows(bd, name))
        if state == "current":
            report.add("method", name, "present")
        elif state == "foreign":
            report.add("method", name, "kept", "not managed by bw_aicompute")
        else:
            todo[name] = (state, fp)
    if not todo:
        return
    data = load_bw2io_methods(set(todo))
    by_name_cat: dict[tuple[str, tuple[str, ...]], list[tuple[int, str]]] = defaultdict(list)
    from bw2data.backends import ActivityDataset as AD

    query = AD.select(AD.id, AD.code, AD.name, AD.data).where(AD.database == biosphere)
    for id_, code, fname, fdata in query.tuples():
        by_name_cat[(fname, tuple(fdata.get("categories") or ()))].append((id_, code))
    for name, (state, fp) in todo.items():
        m = data[name]
        cfs, dropped = [], 0
        for cf in m["exchanges"]:
            matches = by_name_cat.get((cf["name"], cf["categories"]), [])
            if not matches:
                dropped += 1
                continue
            exact = [i for i, code in matches if code == cf["input"][1]]
            cfs.append((exact[0] if exact else matches[0][0], cf["amount"]))
        meta = {
            "unit": m["unit"],
            "description": m.get("description", ""),
            "filename": f"{m.get('filename', '')} via bw2io {bw2io_version()} lcia_39_ecoinvent.zip",
            "covers": [biosphere, *coverage.others],
        }
        all_cfs, note = coverage.covered(cfs)
        _write_method(bd, name, all_cfs, meta, fp)
        detail = f"{len(cfs)} CFs" + (f", {dropped} CFs on flows absent from {biosphere}" if dropped else "") + note
        report.add("method", name, "installed" if state == "absent" else "updated", detail)


def _located_factors(bd, method) -> list[tuple[int, float]]:
    """(node id, factor) of a method's location flows: the location's factor minus the world's."""
    from bw2data.backends import ActivityDataset as AD

    from .water import LOCATED_DB, flow_code

    if not method.located:
        return []
    ids = dict(AD.select(AD.code, AD.id).where(AD.database == LOCATED_DB).tuples())
    return [(ids[flow_code(loc)], delta) for loc, delta in method.located if delta != 0]


def _setup_custom_methods(bd, biosphere: str, report: SetupReport, coverage: _Coverage) -> None:
    index = None
    for method in custom_methods():
        fp = fingerprint(custom_fingerprint(method, biosphere), coverage.token)
        state = owned_state(bd.methods, method.name, fp, method_rows(bd, method.name))
        if state == "current":
            report.add("method", method.name, "present")
            continue
        if state == "foreign":
            report.add("method", method.name, "kept", "not managed by bw_aicompute")
            continue
        if index is None:
            index = flow_index(biosphere)
        cfs = []
        for fname, cats, unit, cf in method.factors:
            key = (fname, cats, unit)
            if key not in index:
                raise AicomputeError(
                    f"{method.path}: flow {fname!r} {list(cats)} ({unit}) not found in biosphere database {biosphere!r}"
                )
            cfs.append((index[key], cf))
        meta = {"unit": method.unit, "description": method.description, "filename": method.path.name, "covers": [biosphere, *coverage.others]}
        all_cfs, note = coverage.covered(cfs)
        located = _located_factors(bd, method)
        _write_method(bd, method.name, all_cfs + located, meta, fp)
        where = f", {len(located)} on location flows" if located else ""
        report.add("method", method.name, "installed" if state == "absent" else "updated", f"{len(cfs)} CFs{where}, custom{note}")


# ---------------------------------------------------------------------------------------------
# entry point


def install_methods(bd, biosphere: str, report: SetupReport) -> None:
    """Install or update the LCIA methods of `methods/` on `biosphere`, each also characterizing
    the same flows of every other biosphere of the project (an ecoinvent imported before or after
    setup), so that results linked to ecoinvent lose no factor. Run under the writer lock."""
    coverage = _coverage(bd, biosphere)
    _setup_standard_methods(bd, biosphere, report, coverage)
    _setup_custom_methods(bd, biosphere, report, coverage)


def _say_step(show: bool, step: str, report: SetupReport, mark: tuple[int, float]) -> tuple[int, float]:
    """One line on stderr for a step that installed or updated something (a first run); the
    mark (items, time) of the next step."""
    changed = [i for i in report.items[mark[0] :] if i.action in ("installed", "updated")]
    if show and changed:
        print(f"setup {step}: {len(changed)} installed or updated in {time.perf_counter() - mark[1]:.1f} s", file=sys.stderr, flush=True)
    return len(report.items), time.perf_counter()


def setup_project(name: str = DEFAULT_PROJECT, reinstall: bool = False, progress: bool = False) -> SetupReport:
    """Create or complete a Brightway project for bw_aicompute, offline.

    Installs, where missing or out of date: a biosphere database (ecoinvent 3.9 elementary flows
    from bw2io, only if the project has none), the LCIA methods of `methods/` (from bw2io's
    `lcia_39_ecoinvent.zip` and the custom water methods), and the inventory databases of
    `inventories/`. Objects that bw_aicompute did not create are never modified; running it
    again on a complete project writes nothing.

    Parameters
    ----------
    name : str
        The project, in Brightway's data directory (`BRIGHTWAY2_DIR` when set).
    reinstall : bool
        Restore the shipped inventories over databases imported from a workbook
        (`aicompute import-inventories`), which are otherwise kept.
    progress : bool
        Print one line per step that installs something on stderr (a first run).

    Returns
    -------
    SetupReport
        Every object looked at and what was done with it, and the time taken (s).

    References
    ----------
    bw2io `lcia_39_ecoinvent.zip` (ecoinvent 3.9 LCIA implementation) and `ecoinvent elementary
    flows 3.9.xml`; the list-to-tuple workaround of brightway2-io#277.
    """
    start = time.perf_counter()
    bd = brightway()
    if not name or not name.strip():
        raise AicomputeError("project name must not be empty")
    with writer_lock(f"project {name!r}"):
        created = name not in bd.projects
        use_project(bd, name)
        refresh_registries(bd)
        report = SetupReport(project=name, data_dir=Path(bd.projects.dir), project_created=created)
        mark = (len(report.items), time.perf_counter())
        report.biosphere = biosphere = _setup_biosphere(bd, report)
        _setup_located_water(bd, report)
        mark = _say_step(progress, "1/3 biosphere", report, mark)
        install_methods(bd, biosphere, report)
        mark = _say_step(progress, "2/3 methods", report, mark)
        resume_import(bd, report, discard=reinstall)
        install_inventories(bd, biosphere, report, reinstall=reinstall)
        _say_step(progress, "3/3 inventories", report, mark)
    report.seconds = time.perf_counter() - start
    return report
