"""Link the foreground to a user's licensed ecoinvent database.

`link_ecoinvent` builds a linked copy of the foreground database `aicompute`
(`aicompute-linked-<ecoinvent database>`) in which the providers of the open background
(`aicompute-background`) are replaced by the matching activities of the user's ecoinvent
database, from the mapping files `inventories/ecoinvent/mapping-<version>-cutoff.yaml`
(activity name, reference product, location, unit; no ecoinvent data is shipped), linked by
`bw_aicompute.linking` as any other mapping (USLCI's is the other). Biosphere exchanges are
matched by UUID, change report or (name, categories, unit) to ecoinvent's biosphere, whatever it
is called. Where no match exists the open proxy is kept and reported. The ecoinvent database and
the user's other data are only read.
"""

from __future__ import annotations

import re
from pathlib import Path

from ._resources import ecoinvent_versions
from .errors import AicomputeError
from .linking import LINKED_PREFIX, LinkReport, Mapping, foreground_for, link_foreground, linked_foreground, load_mapping_file, mapping_path
from .locking import refresh_registries, writer_lock
from .ownership import refuse_foreign
from .project import find_biosphere
from .setup import SetupReport, install_methods

__all__ = ["VERSIONS", "LINKED_PREFIX", "LinkReport", "detect_version", "foreground_for", "link_ecoinvent", "linked_foreground", "load_mapping"]

VERSIONS = ecoinvent_versions()  # ("3.9", "3.10", "3.11", "3.12"): the mapping files shipped


def detect_version(database: str) -> str | None:
    """The ecoinvent release named in a database name (`ecoinvent-3.10-cutoff` -> `3.10`), or None."""
    minors = "|".join(v.split(".")[1] for v in VERSIONS)
    m = re.search(rf"3\.({minors})(?:\.\d+)?(?!\d)", database)
    return f"3.{m.group(1)}" if m else None


def load_mapping(version: str) -> Mapping:
    """The mapping of ecoinvent `version` (cut-off), templates expanded."""
    if version not in VERSIONS:
        raise AicomputeError(f"no mapping for ecoinvent {version}; mappings exist for {', '.join(VERSIONS)}")
    path = mapping_path("ecoinvent", f"mapping-{version}-cutoff.yaml")
    return load_mapping_file(path, "ecoinvent", f"ecoinvent {version} cut-off mapping")


def _ecoinvent_biosphere(bd, ei_db: str) -> str:
    depends = [d for d in bd.databases[ei_db].get("depends", []) if d in bd.databases and "biosphere" in d.lower()]
    if depends:
        return depends[0]
    found = find_biosphere(bd)
    if found is None:
        raise AicomputeError(f"no biosphere database found for {ei_db!r}")
    return found


def _check(bd, ei_db: str, version: str | None, foreground: str) -> str:
    if ei_db not in bd.databases:
        raise AicomputeError(f"database {ei_db!r} is not in project {bd.projects.current!r}; installed: {', '.join(sorted(bd.databases))}")
    if foreground not in bd.databases:
        raise AicomputeError(f"database {foreground!r} is not installed; run: aicompute setup")
    version = version or detect_version(ei_db)
    if version is None:
        raise AicomputeError(f"cannot tell the ecoinvent version from the name {ei_db!r}; give --version ({', '.join(VERSIONS)})")
    if version not in VERSIONS:
        raise AicomputeError(f"no mapping for ecoinvent {version}; mappings exist for {', '.join(VERSIONS)}")
    refuse_foreign(bd.databases, LINKED_PREFIX + ei_db, "remove or rename it")
    return version


def link_ecoinvent(ei_db: str, version: str | None = None, foreground: str = "aicompute", progress: bool = False) -> LinkReport:
    """Write `aicompute-linked-<ei_db>`, a copy of the foreground linked to a licensed ecoinvent
    database of the current project.

    Parameters
    ----------
    ei_db : str
        The ecoinvent database (e.g. `ecoinvent-3.10-cutoff`).
    version : str, optional
        Its release (`3.9`, `3.10`, `3.11`, `3.12`); read from the name by default.
    foreground : str
        The database to copy (default `aicompute`).
    progress : bool
        Show a progress bar (tqdm, on stderr) over the datasets copied.

    Returns
    -------
    LinkReport
        Every replaced and kept exchange, with the reason.
    """
    import bw2data as bd

    with writer_lock(f"project {bd.projects.current!r}"):
        refresh_registries(bd)
        version = _check(bd, ei_db, version, foreground)
        methods = SetupReport(project=bd.projects.current, data_dir=Path(bd.projects.dir), project_created=False)
        install_methods(bd, find_biosphere(bd), methods)
        mapping = load_mapping(version)
        ei_bio = _ecoinvent_biosphere(bd, ei_db)
        report = link_foreground(bd, ei_db, ei_bio, mapping, foreground, progress, ecoinvent_version=version)
        report.methods = [f"{i.name}: {i.detail}" for i in methods.items if i.action in ("installed", "updated")]
        return report
