"""The validation report: every published reference of `inventories/validation/references.yaml`
beside our result like with like (with the study's own inputs, or under the study's convention)
and with our bottom-up defaults, the deviation and a verdict against the stated tolerance, and
where the published figure falls in our distribution: its percentile, whether it lies inside our
95 % interval (the coverage of the report), and the width of the interval (p97.5 / p2.5).

Each reference states its convention (`convention: {text, parameters}`): how the study counted
(measured node power; GPU TDP x hours without the host, as model cards do; operational only;
AR5's new-plant factors; gross reservoir evaporation...). A campaign of the study's inputs states
it in its file; for datasets, the parameters of the convention are held at their values
(`bw_aicompute.conventions`); everything else stays default, with its distribution.

Campaigns are read from `examples/` (or the folder given) and assessed once each, on every
indicator their references name, with Monte Carlo; datasets are scored and sampled together. All
of it happens in the validation's own project (`aicompute-validation`, set up from the shipped
inventories and marked as bw_aicompute's), so a user's project is left as it was found.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._resources import data_dir
from .assessment import Assessment, assess
from .errors import AicomputeError
from .yamlfile import load_data
from .inventory.templates import expand, tables
from .ownership import OWNER_KEY

#: The project the validation writes into: its own, never a user's.
VALIDATION_PROJECT = "aicompute-validation"

COLUMNS = [
    "reference", "study", "quantity", "indicator", "unit", "published", "ours, study inputs", "ours, defaults",
    "deviation", "deviation, defaults", "tolerance", "verdict", "percentile", "in 95 %", "width", "width, defaults",
    "convention", "basis", "explanation", "source",
]
#: Monte Carlo iterations of the report (per campaign and per group of datasets).
ITERATIONS = 200


def references() -> list[dict]:
    """The published references (see `inventories/validation/references.yaml`); a reference
    with `for_each: TABLE` is repeated for every row of that inventory table, and a row whose
    published value is empty (null in the table) is left out."""
    path = data_dir("inventories") / "validation" / "references.yaml"
    items = load_data(path.read_text(encoding="utf-8"))["references"]
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


def measure_draws(a: Assessment, indicator: str, spec: Any) -> np.ndarray | None:
    """The Monte Carlo draws of `measure` (None where the assessment has no Monte Carlo or the
    measure is a per-unit serving figure, which the Monte Carlo does not carry)."""
    mc = a.uncertainty
    if mc is None or (isinstance(spec, dict) and "per_unit" in spec):
        return None
    j = mc.labels.index(indicator)
    if spec == "total":
        return mc.totals[:, j]
    share = isinstance(spec, dict) and "share_of_total" in spec
    inner = spec["share_of_total"] if share else spec
    rows = [k for k, (phase, stage) in enumerate(mc.rows) if ("stages" not in inner or stage in inner["stages"]) and ("phases" not in inner or phase in inner["phases"])]
    value = mc.breakdown[:, rows, j].sum(axis=1)
    return value / mc.totals[:, j] if share else value


def _campaign_values(refs: list[dict], folder: Path, project: str, iterations: int, seed: int) -> tuple[dict, dict]:
    """(reference id, 'study_inputs' or 'bottom_up') -> our value, and -> its Monte Carlo
    draws, for the campaign-based rows."""
    indicators: dict[str, set[str]] = {}
    for r in refs:
        for key in ("study_inputs", "bottom_up"):
            if "campaign" in (r.get(key) or {}):
                indicators.setdefault(r[key]["campaign"], set()).add(r["indicator"])
    results = {name: assess(folder / name, indicators=sorted(inds), project=project, replace=True, iterations=iterations, seed=seed) for name, inds in indicators.items()}
    out, draws = {}, {}
    for r in refs:
        for key in ("study_inputs", "bottom_up"):
            spec = r.get(key) or {}
            if "campaign" in spec:
                out[(r["id"], key)] = measure(results[spec["campaign"]], r["indicator"], spec["measure"])
                draws[(r["id"], key)] = measure_draws(results[spec["campaign"]], r["indicator"], spec["measure"])
    return out, draws


def _dataset_values(refs: list[dict], iterations: int, seed: int) -> tuple[dict, dict]:
    """(reference id, 'bottom_up' or 'study_inputs') -> our value and its draws for the rows
    that score one unit of a dataset (of `aicompute`, or of the `database` the row names), times
    the row's `scale`: 'bottom_up' with every parameter at its default, 'study_inputs' under
    the row's convention (`convention.parameters`), where it has one. The datasets of the rows
    of one convention are scored and sampled together (`bw_aicompute.conventions.sample`)."""
    import bw2data as bd

    from .conventions import sample
    from .lca import method_for

    rows = [r for r in refs if "dataset" in (r.get("bottom_up") or {})]
    groups: dict[str, list[tuple[dict, str]]] = {}
    for r in rows:
        groups.setdefault("", []).append((r, "bottom_up"))
        params = (r.get("convention") or {}).get("parameters")
        if params:
            groups.setdefault(json.dumps(params, sort_keys=True), []).append((r, "study_inputs"))
    indicators = sorted({r["indicator"] for r in rows})
    methods = [method_for(i)[1] for i in indicators]
    out, draws = {}, {}
    for convention, members in groups.items():
        keys = sorted({(r["bottom_up"].get("database", "aicompute"), r["bottom_up"]["dataset"]) for r, _ in members})
        try:
            ids = [bd.get_node(database=db, code=code).id for db, code in keys]
        except Exception:
            raise AicomputeError(f"a dataset named in the validation references is missing ({', '.join(code for _, code in keys)})") from None
        scored = sample(ids, methods, json.loads(convention) if convention else None, iterations, seed)
        for r, key in members:
            k, j = keys.index((r["bottom_up"].get("database", "aicompute"), r["bottom_up"]["dataset"])), indicators.index(r["indicator"])
            scale = r["bottom_up"].get("scale", 1)
            out[(r["id"], key)] = float(scored.static[k, j]) * scale
            draws[(r["id"], key)] = scored.draws[:, k, j] * scale if scored.draws is not None else None
    return out, draws


def server_pcfs() -> dict:
    """The manufacturer server PCFs of `inventories/validation/server_pcfs.yaml`."""
    return load_data((data_dir("inventories") / "validation" / "server_pcfs.yaml").read_text(encoding="utf-8"))


def _spread(published: float, draws: np.ndarray | None) -> tuple[float | None, bool | None, float | None]:
    """(percentile of `published` among `draws`, whether it lies in their 95 % interval, their
    p97.5 / p2.5), Nones without draws."""
    if draws is None or not len(draws):
        return None, None, None
    lo, hi = np.percentile(draws, [2.5, 97.5])
    percentile = 100.0 * float(np.mean(draws < published) + 0.5 * np.mean(draws == published))
    width = float(hi / lo) if lo > 0 else float("inf")
    return percentile, bool(lo <= published <= hi), width


def _row(r: dict, ours: dict, draws: dict) -> dict:
    study, bottom = ours.get((r["id"], "study_inputs")), ours.get((r["id"], "bottom_up"))
    compared = study if study is not None else bottom
    like = draws.get((r["id"], "study_inputs")) if study is not None else draws.get((r["id"], "bottom_up"))
    deviation = compared / r["published"] - 1
    verdict = "within" if abs(deviation) <= r["tolerance"] else "outside"
    if r.get("circular") == "bottom-up":
        verdict += " (bottom-up circular: calibrated on this study)"
    elif r.get("circular"):
        verdict += " (circular: used in calibration)"
    percentile, inside, width = _spread(r["published"], like)
    convention = r.get("convention") or {}
    if width is not None and width < 1 + 1e-9:  # the study's inputs leave nothing open: a reproduction
        inside = abs(deviation) <= r["tolerance"]
    if convention.get("like_with_like") is False:  # the convention cannot be reproduced: no coverage
        inside = None
    defaults = _spread(r["published"], draws.get((r["id"], "bottom_up")))[2] if bottom is not None else None
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
        "percentile": percentile,
        "in 95 %": inside,
        "width": width,
        "width, defaults": defaults,
        "convention": convention.get("text", ""),
        "basis": "campaign" if "campaign" in (r.get("bottom_up") or r.get("study_inputs") or {}) else "dataset",
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


def validate(project: str = VALIDATION_PROJECT, examples: Path | None = None, iterations: int = ITERATIONS, seed: int = 0) -> pd.DataFrame:
    """The validation report as a table.

    Parameters
    ----------
    project : str
        The validation's own Brightway project (created, marked and set up from the shipped
        inventories when absent; an existing project that the validation did not create is
        refused). The example campaigns are written there, never into a user's project.
    examples : Path, optional
        The folder of the campaigns the references name (default: the shipped `examples/`).
    iterations, seed : int
        Monte Carlo iterations of every campaign and group of datasets (0: no distribution).

    Returns
    -------
    DataFrame
        One row per reference: published value, ours like with like (the study's inputs, or
        its convention) and with our bottom-up defaults (in the reference's unit), the
        deviation of the like-with-like value (or of the bottom-up value where there is none)
        as a fraction, the tolerance and the verdict; the published figure's percentile in our
        like-with-like distribution, whether it lies in its 95 % interval, and the widths
        (p97.5 / p2.5) of that distribution and of the defaults'.
    """
    refs = references()
    folder = examples or data_dir("examples")
    own_project(project)
    ours, draws = _campaign_values(refs, folder, project, iterations, seed)
    more, more_draws = _dataset_values(refs, iterations, seed)
    ours.update(more)
    draws.update(more_draws)
    return pd.DataFrame([_row(r, ours, draws) for r in refs], columns=COLUMNS)


def summary(table: pd.DataFrame) -> dict[str, Any]:
    """Coverage and widths of a report: the rows compared like with like (with a distribution,
    or reproducing the study's inputs), the share of them whose published figure lies in our
    95 % interval (a reproduction: within its tolerance), by indicator too; the median width
    (p97.5 / p2.5) of the campaigns with full defaults and those above 3; and the rows of a
    TDP-only convention whose defaults fall below the published figure."""
    ranked = table.dropna(subset=["in 95 %"])
    inside = ranked["in 95 %"].astype(bool)
    campaigns = table[table["basis"] == "campaign"].dropna(subset=["width, defaults"])
    tdp = table[table["convention"].str.contains("TDP", na=False) & table["ours, defaults"].notna()]
    return {
        "rows": int(len(ranked)),
        "inside": int(inside.sum()),
        "coverage": float(inside.mean()) if len(ranked) else float("nan"),
        "by indicator": {ind: (int(inside[ranked["indicator"] == ind].sum()), int((ranked["indicator"] == ind).sum())) for ind in dict.fromkeys(ranked["indicator"])},
        "median width, defaults": float(campaigns["width, defaults"].median()) if len(campaigns) else float("nan"),
        "widths above 3, defaults": sorted(campaigns.loc[campaigns["width, defaults"] > 3, "reference"]),
        "defaults below a TDP-only figure": sorted(tdp.loc[tdp["ours, defaults"] < tdp["published"], "reference"]),
    }


def _cell(value: Any, column: str) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if column in ("deviation", "deviation, defaults", "tolerance"):
        return f"{value:.0%}" if column == "tolerance" else f"{value:+.1%}"
    if column == "percentile":
        return f"{value:.1f}"
    if column == "in 95 %":
        return "yes" if value else "no"
    if column in ("width", "width, defaults"):
        return f"{value:.2f}"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


#: The columns of the markdown table; the explanations and sources follow it as lists.
TABLE_COLUMNS = [c for c in COLUMNS if c not in ("study", "explanation", "source", "convention", "basis")]


def to_markdown(table: pd.DataFrame) -> str:
    """The report as GitHub markdown: a table of the figures (readable on a page), then what
    explains the defaults' deviations and the study and source of every reference, as lists."""
    s = summary(table)
    lines = [
        f"Coverage like with like: {s['inside']} of {s['rows']} rows ({s['coverage']:.0%}) have the published figure inside our 95 % interval "
        f"(a study's inputs that leave nothing open: reproduced within the tolerance); by indicator: "
        + ", ".join(f"{ind} {a} of {b}" for ind, (a, b) in s["by indicator"].items()) + ".",
        f"Width p97.5 / p2.5 of the campaigns with full defaults: median {s['median width, defaults']:.2f}; above 3: {', '.join(s['widths above 3, defaults']) or 'none'}.",
        f"Full defaults below a TDP-only figure: {', '.join(s['defaults below a TDP-only figure']) or 'none'}.",
        "",
        "| " + " | ".join(TABLE_COLUMNS) + " |", "|" + "---|" * len(TABLE_COLUMNS)]
    for row in table.to_dict(orient="records"):
        lines.append("| " + " | ".join(_cell(row[c], c) for c in TABLE_COLUMNS) + " |")
    explained = [r for r in table.to_dict(orient="records") if r["explanation"]]
    lines += ["", "Why our defaults land where they do:", ""] + [f"- `{r['reference']}`: {r['explanation']}" for r in explained]
    conventions = [r for r in table.to_dict(orient="records") if r["convention"]]
    lines += ["", "Conventions of the published figures (compared like with like):", ""] + [f"- `{r['reference']}`: {r['convention']}" for r in conventions]
    lines += ["", "Studies and sources:", ""] + [f"- `{r['reference']}`: {r['study']}; {r['source']}" for r in table.to_dict(orient="records")]
    return "\n".join(lines)
