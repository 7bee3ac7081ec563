"""The validation report: every published reference of `inventories/validation/references.yaml`
beside our result with the study's own inputs and with our bottom-up defaults, the deviation and
a verdict against the stated tolerance.

Campaigns are read from `examples/` (or the folder given) and assessed once each, on every
indicator their references name; datasets are scored in one MultiLCA. All of it happens in the
validation's own project (`aicompute-validation`, set up from the shipped inventories and marked
as bw_aicompute's), so a user's project is left as it was found.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ._resources import data_dir
from .assessment import Assessment, assess
from .errors import AicomputeError
from .inventory.templates import expand, tables
from .lca import score_table
from .ownership import OWNER_KEY

#: The project the validation writes into: its own, never a user's.
VALIDATION_PROJECT = "aicompute-validation"

COLUMNS = [
    "reference", "study", "quantity", "indicator", "unit", "published", "ours, study inputs", "ours, defaults",
    "deviation", "deviation, defaults", "tolerance", "verdict", "explanation", "source",
]


def references() -> list[dict]:
    """The published references (see `inventories/validation/references.yaml`); a reference
    with `for_each: TABLE` is repeated for every row of that inventory table, and a row whose
    published value is empty (null in the table) is left out."""
    path = data_dir("inventories") / "validation" / "references.yaml"
    items = yaml.safe_load(path.read_text(encoding="utf-8"))["references"]
    expanded = [r for r, _ in expand(items, tables(), path, "reference")]
    return [r for r in expanded if r.get("published") is not None]


def measure(a: Assessment, indicator: str, spec: Any) -> float:
    """A measure of an assessment: `total`, a sum over `stages` and/or `phases`, a
    `share_of_total` of stages, or a column of its deployment's `per_unit` table
    (`{per_unit: serving_per_unit}`)."""
    total = float(a.totals.set_index("indicator").loc[indicator, "value"])
    if spec == "total":
        return total
    if isinstance(spec, dict) and "per_unit" in spec:
        return float(a.per_unit.set_index("indicator").loc[indicator, spec["per_unit"]])
    rows = a.breakdown[a.breakdown["indicator"] == indicator]
    share = isinstance(spec, dict) and "share_of_total" in spec
    spec = spec["share_of_total"] if share else spec
    if "stages" in spec:
        rows = rows[rows["stage"].isin(spec["stages"])]
    if "phases" in spec:
        rows = rows[rows["phase"].isin(spec["phases"])]
    value = float(rows["value"].sum())
    return value / total if share else value


def _campaign_values(refs: list[dict], folder: Path, project: str) -> dict[tuple[str, str], float]:
    """(reference id, 'study_inputs' or 'bottom_up') -> our value, for the campaign-based rows."""
    indicators: dict[str, set[str]] = {}
    for r in refs:
        for key in ("study_inputs", "bottom_up"):
            if "campaign" in (r.get(key) or {}):
                indicators.setdefault(r[key]["campaign"], set()).add(r["indicator"])
    results = {name: assess(folder / name, indicators=sorted(inds), project=project, replace=True) for name, inds in indicators.items()}
    out = {}
    for r in refs:
        for key in ("study_inputs", "bottom_up"):
            spec = r.get(key) or {}
            if "campaign" in spec:
                out[(r["id"], key)] = measure(results[spec["campaign"]], r["indicator"], spec["measure"])
    return out


def _dataset_values(refs: list[dict]) -> dict[tuple[str, str], float]:
    """(reference id, 'bottom_up') -> our value for the rows that score one unit of a dataset
    (of `aicompute`, or of the `database` the row names), times the row's `scale`."""
    import bw2data as bd

    rows = [r for r in refs if "dataset" in (r.get("bottom_up") or {})]
    if not rows:
        return {}
    keys = sorted({(r["bottom_up"].get("database", "aicompute"), r["bottom_up"]["dataset"]) for r in rows})
    try:
        nodes = {f"{db}|{code}": bd.get_node(database=db, code=code) for db, code in keys}
    except Exception:
        raise AicomputeError(f"a dataset named in the validation references is missing ({', '.join(code for _, code in keys)})") from None
    scores = score_table(nodes, sorted({r["indicator"] for r in rows}))
    out = {}
    for r in rows:
        spec = r["bottom_up"]
        value = scores.loc[f"{spec.get('database', 'aicompute')}|{spec['dataset']}", r["indicator"]]
        out[(r["id"], "bottom_up")] = float(value) * spec.get("scale", 1)
    return out


def server_pcfs() -> dict:
    """The manufacturer server PCFs of `inventories/validation/server_pcfs.yaml`."""
    return yaml.safe_load((data_dir("inventories") / "validation" / "server_pcfs.yaml").read_text(encoding="utf-8"))


def _row(r: dict, ours: dict) -> dict:
    study, bottom = ours.get((r["id"], "study_inputs")), ours.get((r["id"], "bottom_up"))
    compared = study if study is not None else bottom
    deviation = compared / r["published"] - 1
    verdict = "within" if abs(deviation) <= r["tolerance"] else "outside"
    if r.get("circular") == "bottom-up":
        verdict += " (bottom-up circular: calibrated on this study)"
    elif r.get("circular"):
        verdict += " (circular: used in calibration)"
    return {
        "reference": r["id"],
        "study": r["study"],
        "quantity": r["quantity"],
        "indicator": r["indicator"],
        "unit": r["unit"],
        "published": r["published"],
        "ours, study inputs": study,
        "ours, defaults": bottom,
        "deviation": deviation,
        "deviation, defaults": bottom / r["published"] - 1 if bottom is not None else None,
        "tolerance": r["tolerance"],
        "verdict": verdict,
        "explanation": r.get("explanation", ""),
        "source": r["source"],
    }


def own_project(name: str) -> None:
    """Create the validation's project `name`, marked as bw_aicompute's (ProjectDataset data
    `{"bw_aicompute": "validation"}`), or check that an existing one carries the mark: a user's
    project is never written by the validation."""
    from bw2data.project import ProjectDataset

    from .project import brightway, use_project

    bd = brightway()
    if not name or not name.strip():
        raise AicomputeError("project name must not be empty")
    if name in bd.projects:
        data = ProjectDataset.get(ProjectDataset.name == name).data or {}
        if data.get(OWNER_KEY) != "validation":
            raise AicomputeError(f"project {name!r} was not created by aicompute validate; the validation writes only into its own project (default {VALIDATION_PROJECT!r})")
        return
    bd.projects.create_project(name, **{OWNER_KEY: "validation"})
    use_project(bd, name)


def validate(project: str = VALIDATION_PROJECT, examples: Path | None = None) -> pd.DataFrame:
    """The validation report as a table.

    Parameters
    ----------
    project : str
        The validation's own Brightway project (created, marked and set up from the shipped
        inventories when absent; an existing project that the validation did not create is
        refused). The example campaigns are written there, never into a user's project.
    examples : Path, optional
        The folder of the campaigns the references name (default: the shipped `examples/`).

    Returns
    -------
    DataFrame
        One row per reference: published value, ours with the study's inputs and with our
        bottom-up defaults (in the reference's unit), the deviation of the study-input value
        (or of the bottom-up value where there is none) as a fraction, the tolerance and the
        verdict.
    """
    refs = references()
    folder = examples or data_dir("examples")
    own_project(project)
    ours = _campaign_values(refs, folder, project)
    ours.update(_dataset_values(refs))
    return pd.DataFrame([_row(r, ours) for r in refs], columns=COLUMNS)


def _cell(value: Any, column: str) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if column in ("deviation", "deviation, defaults", "tolerance"):
        return f"{value:.0%}" if column == "tolerance" else f"{value:+.1%}"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


#: The columns of the markdown table; the explanations and sources follow it as lists.
TABLE_COLUMNS = [c for c in COLUMNS if c not in ("study", "explanation", "source")]


def to_markdown(table: pd.DataFrame) -> str:
    """The report as GitHub markdown: a table of the figures (readable on a page), then what
    explains the defaults' deviations and the study and source of every reference, as lists."""
    lines = ["| " + " | ".join(TABLE_COLUMNS) + " |", "|" + "---|" * len(TABLE_COLUMNS)]
    for row in table.to_dict(orient="records"):
        lines.append("| " + " | ".join(_cell(row[c], c) for c in TABLE_COLUMNS) + " |")
    explained = [r for r in table.to_dict(orient="records") if r["explanation"]]
    lines += ["", "Why our defaults land where they do:", ""] + [f"- `{r['reference']}`: {r['explanation']}" for r in explained]
    lines += ["", "Studies and sources:", ""] + [f"- `{r['reference']}`: {r['study']}; {r['source']}" for r in table.to_dict(orient="records")]
    return "\n".join(lines)
