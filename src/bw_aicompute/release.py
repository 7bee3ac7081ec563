"""A citable, installable release of the inventories: bw_processing datapackages (matrices that
bw2calc solves without bw2data) with their licence, version, citation and sources, and a
Brightway project archive that `bw2io.backup.restore_project_directory` restores.

References: bw_processing (https://github.com/brightway-lca/bw_processing), the Frictionless
Data Package specification (https://specs.frictionlessdata.io/data-package/).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

from ._resources import atomic_write
from ._version import __version__
from .errors import AicomputeError

LICENCE = {"name": "CC-BY-SA-4.0", "path": "https://creativecommons.org/licenses/by-sa/4.0/", "title": "Creative Commons Attribution-ShareAlike 4.0 International"}
CITATION = f"bw_aicompute developers (2026). bw_aicompute: open Brightway life cycle inventories of AI compute, version {__version__}. Data licensed CC BY-SA 4.0."
#: The main sources of the data (the full list, per exchange: inventories/SOURCES.md).
SOURCES = [
    {"title": "ADEME / Tide / Hubblo GPU life cycle data (Lees-Perasso et al. 2026), hubblo-org/gpu-calculator, CC BY-SA 4.0", "path": "https://github.com/hubblo-org/gpu-calculator"},
    {"title": "ACT: architectural carbon modeling tool (Gupta et al., ISCA 2022)", "path": "https://github.com/facebookresearch/ACT"},
    {"title": "Ember and Energy Institute generation data via Our World in Data, CC BY 4.0", "path": "https://github.com/owid/energy-data"},
    {"title": "EIA-923 net generation by state (US Energy Information Administration), via Ember", "path": "https://ember-energy.org"},
    {"title": "AWARE 2.0 (Seitfudem et al., J. Ind. Ecol. 2025, doi:10.1111/jiec.70023)", "path": "https://doi.org/10.1111/jiec.70023"},
    {"title": "IPCC AR5 WGIII Annex III life-cycle emissions of electricity technologies", "path": "https://www.ipcc.ch/report/ar5/wg3/"},
    {"title": "bw_aicompute inventories/SOURCES.md: every source, cited at the exchange or parameter that uses it", "path": "inventories/SOURCES.md"},
]
MATRICES = ("technosphere_matrix", "biosphere_matrix", "characterization_matrix")


def _metadata(description: str) -> dict:
    return {"version": __version__, "licenses": [LICENCE], "citation": CITATION, "sources": SOURCES, "description": description}


def _copy_vectors(source, target) -> int:
    """Copy the matrix resource groups of a bw_processing datapackage; the number copied."""
    n = 0
    for group, part in source.groups.items():
        matrix = part.resources[0].get("matrix")
        if matrix not in MATRICES:
            continue
        arrays = {r["kind"]: part.get_resource(r["name"])[0] for r in part.resources}
        extra = {f"{k}_array": arrays[k] for k in ("flip", "distributions", "reference") if k in arrays}
        target.add_persistent_vector(matrix=matrix, name=group, indices_array=arrays["indices"], data_array=arrays["data"], **extra)
        n += 1
    return n


def _write_package(path: Path, name: str, description: str, fill) -> Path:
    """A datapackage zip written whole or not at all; `fill(dp)` adds its resources."""
    import bw_processing as bwp
    from fsspec.implementations.zip import ZipFileSystem

    def write(tmp: Path) -> None:
        tmp.unlink()  # the zip file system creates it
        fs = ZipFileSystem(str(tmp), mode="w")
        dp = bwp.create_datapackage(fs=fs, name=name, id_=f"{name}-{__version__}", metadata=_metadata(description))
        fill(dp)
        dp.finalize_serialization()

    return atomic_write(path, write)


def node_table(databases: list[str]) -> pd.DataFrame:
    """Every node of `databases` and every biosphere flow they use: the integer id the matrices
    index, with database, code, name, unit, location, type and classifications."""
    import bw2data as bd

    rows, flows = [], set()
    for name in databases:
        for node in bd.Database(name):
            cls = dict(node.get("classifications") or [])
            rows.append({"id": node.id, "database": name, "code": node["code"], "name": node["name"], "reference product": node.get("reference product", ""),
                         "unit": node.get("unit", ""), "location": node.get("location", ""), "type": node.get("type", ""),
                         "ISIC rev.4": cls.get("ISIC rev.4 ecoinvent", ""), "CPC": cls.get("CPC", "")})
            flows |= {e.input.id for e in node.biosphere()}
    for flow in (bd.get_node(id=i) for i in sorted(flows)):
        rows.append({"id": flow.id, "database": flow["database"], "code": flow["code"], "name": flow["name"], "reference product": "",
                     "unit": flow.get("unit", ""), "location": "::".join(flow.get("categories") or ()), "type": flow.get("type", ""), "ISIC rev.4": "", "CPC": ""})
    return pd.DataFrame(rows)


def export_datapackages(folder: str | Path, databases: list[str], indicators: list | None = None) -> list[Path]:
    """Write the inventories and the indicators' methods as bw_processing datapackages.

    Parameters
    ----------
    folder : str or Path
        Written into (created): `bw_aicompute-inventories.zip` (the technosphere and biosphere
        matrices of `databases`, with a `nodes` table of ids) and one
        `bw_aicompute-method-<indicator>.zip` per indicator (its characterization matrix).
    databases : list of str
        The Brightway databases whose matrices are written.
    indicators : list of Indicator, optional
        Default: every indicator whose method is installed.

    Returns
    -------
    list of Path
        The datapackages written; each has a `datapackage.json` with version, licence (CC BY-SA
        4.0), citation and sources. `bw2calc.LCA({id: 1}, data_objs=[inventories, method])`
        solves them without bw2data.
    """
    import bw2data as bd

    from .methods import indicators as known

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    chosen = indicators or [i for i in known().values() if i.method in bd.methods]

    def inventories(dp) -> None:
        for name in databases:
            _copy_vectors(bd.Database(name).datapackage(), dp)
        dp.add_csv_metadata(dataframe=node_table(databases), valid_for=[(g, "indices") for g in dp.groups], name="nodes")

    written = [_write_package(folder / "bw_aicompute-inventories.zip", "bw_aicompute-inventories", f"Technosphere and biosphere matrices of {', '.join(databases)}", inventories)]
    for ind in chosen:
        source = bd.Method(ind.method).datapackage()
        path = folder / f"bw_aicompute-method-{ind.name}.zip"
        written.append(_write_package(path, f"bw_aicompute-method-{ind.name}", f"{' | '.join(ind.method)}: {ind.description}", lambda dp, s=source: _copy_vectors(s, dp)))
    return written


def export_project_archive(path: str | Path) -> Path:
    """A Brightway project archive of the shipped inventories, as `bw2io.backup` writes one:
    `aicompute setup` in a new data directory (only the biosphere, the location flows, the
    inventories and the methods; nothing of the user's projects), archived by
    `bw2io.backup.backup_project_directory`. `bw2io.backup.restore_project_directory(path,
    project_name=...)` restores it.
    """
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="bw_aicompute_release_") as tmp:
        base, out = Path(tmp) / "brightway", Path(tmp) / "out"
        base.mkdir(), out.mkdir()
        env = {**os.environ, "BRIGHTWAY2_DIR": str(base), "BRIGHTWAY_NO_STRUCTLOG": "1"}
        script = (
            "import bw2io.backup as b, bw_aicompute.setup as s; s.setup_project('aicompute');"
            f"print(b.backup_project_directory('aicompute', timestamp=False, dir_backup={str(out)!r}))"
        )
        done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
        archives = list(out.glob("*.tar.gz"))
        if done.returncode or len(archives) != 1:
            raise AicomputeError(f"the project archive could not be written: {(done.stderr or done.stdout).strip().splitlines()[-1:] or 'no archive'}")
        atomic_write(path, lambda tmp_file: shutil.copyfile(archives[0], tmp_file))
    return path
