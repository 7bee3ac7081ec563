"""Browsing the installed inventories: list datasets, show one with its exchanges and sources,
and the summary tables of the README (GPU-hours per site, hardware totals)."""

from __future__ import annotations

import difflib

import pandas as pd

from . import distributions
from .errors import AicomputeError
from .lca import score_table

DATABASES = ("aicompute", "aicompute-background")


def datasets(database: str | None = None, search: str | None = None) -> pd.DataFrame:
    """The datasets of the bw_aicompute databases (or of `database`), sorted by name."""
    import bw2data as bd

    names = [database] if database else [d for d in DATABASES if d in bd.databases]
    for name in names:
        if name not in bd.databases:
            raise AicomputeError(f"database {name!r} is not installed; run: aicompute setup")
    rows = []
    for name in names:
        for ds in bd.Database(name):
            if search and search.lower() not in ds["name"].lower():
                continue
            rows.append(
                {"database": name, "code": ds["code"], "name": ds["name"], "location": ds.get("location"), "unit": ds.get("unit")}
            )
    return pd.DataFrame(rows, columns=["database", "code", "name", "location", "unit"]).sort_values(["database", "name", "location"], ignore_index=True)


def find_dataset(query: str):
    """A dataset of the bw_aicompute databases by exact name, by `name` + location in the form
    "name, LOCATION"... or by code. Raises an error with suggestions when not found or ambiguous."""
    import bw2data as bd

    candidates = [ds for db in DATABASES if db in bd.databases for ds in bd.Database(db)]
    for field in ("name", "code"):
        found = [ds for ds in candidates if ds[field] == query]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            options = ", ".join(f"{ds['code']} ({ds.get('location')})" for ds in found[:12])
            raise AicomputeError(f"{len(found)} datasets are named {query!r}; give the code instead: {options}")
    close = difflib.get_close_matches(query, sorted({ds["name"] for ds in candidates} | {ds["code"] for ds in candidates}), n=5, cutoff=0.5)
    hint = f"; did you mean: {'; '.join(close)}" if close else "; list them with: aicompute datasets"
    raise AicomputeError(f"no dataset named {query!r}{hint}")


def exchanges(ds) -> pd.DataFrame:
    """The exchanges of a dataset with their providers or flows, formulas, uncertainty and sources."""
    rows = []
    for exc in ds.exchanges():
        if exc["type"] == "production":
            continue
        other = exc.input
        what = other["name"]
        if exc["type"] == "biosphere":
            what += f" {list(other.get('categories', ()))}"
        else:
            what += f" [{other.get('location')}]"
        unc = distributions.describe(exc.as_dict())
        rows.append(
            {
                "type": exc["type"],
                "amount": exc["amount"],
                "unit": exc.get("unit", other.get("unit")),
                "input": what,
                "formula": exc.get("formula", ""),
                "uncertainty": unc,
                "source": exc.get("source", ""),
            }
        )
    return pd.DataFrame(rows, columns=["type", "amount", "unit", "input", "formula", "uncertainty", "source"])


def show(query: str) -> str:
    """Text description of a dataset: metadata, then every exchange with its source."""
    ds = find_dataset(query)
    lines = [
        f"{ds['name']}",
        f"  database: {ds['database']}   code: {ds['code']}   location: {ds.get('location')}   unit: {ds.get('unit')}",
    ]
    if ds.get("comment"):
        lines.append(f"  {ds['comment']}")
    lines.append("Exchanges (per 1 {}):".format(ds.get("unit")))
    for row in exchanges(ds).itertuples():
        lines.append(f"  {row.type:<12} {row.amount:>12.6g} {row.unit:<20} {row.input}")
        if row.formula:
            lines.append(f"      formula: {row.formula}")
        if row.uncertainty:
            lines.append(f"      uncertainty: {row.uncertainty}")
        lines.append(f"      source: {row.source}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# README tables

GPU_TABLE_INDICATORS = ["climate", "water_consumption", "water", "adp_minerals"]


def gpu_models() -> list[tuple[str, str]]:
    """(slug, display name) of every GPU model with a card dataset."""
    import bw2data as bd

    out = []
    for ds in bd.Database("aicompute"):
        code = ds["code"]
        if code.startswith("gpu-card-") and not code.endswith("-gate"):
            out.append((code.removeprefix("gpu-card-"), ds["name"].removeprefix("GPU card, ")))
    return sorted(out, key=lambda x: x[1])


def gpu_hour_table(sites: list[str]) -> pd.DataFrame:
    """Climate (kg CO2-eq), water consumed (L), EF water use (m3 world-eq deprived) and ADP
    (mg Sb-eq) of one GPU-hour of every GPU model at each site."""
    import bw2data as bd

    nodes = {}
    for slug, name in gpu_models():
        for site in sites:
            try:
                nodes[(name, site)] = bd.get_node(database="aicompute", code=f"gpu-hour-{slug}-{site}")
            except Exception:
                raise AicomputeError(f"no GPU-hour dataset for site {site!r}") from None
    scores = score_table({f"{n}|{s}": node for (n, s), node in nodes.items()}, GPU_TABLE_INDICATORS)
    rows = []
    for (name, site) in nodes:
        r = scores.loc[f"{name}|{site}"]
        rows.append(
            {
                "GPU": name,
                "site": site,
                "climate (kg CO2-eq)": r["climate"],
                "water consumed (L)": r["water_consumption"] * 1000,
                "EF water use (m3 world-eq)": r["water"],
                "ADP minerals (mg Sb-eq)": r["adp_minerals"] * 1e6,
            }
        )
    return pd.DataFrame(rows)


def hardware_table() -> pd.DataFrame:
    """Climate, water and ADP of each GPU card (at factory gate), each reference node and each
    server without GPUs."""
    import bw2data as bd

    nodes = {}
    for ds in sorted(bd.Database("aicompute"), key=lambda d: d["name"]):
        code = ds["code"]
        if code.endswith("-gate") or code.startswith("node-dgx") or code.startswith("node-hgx") or code.startswith("server-"):
            nodes[ds["name"]] = ds
    scores = score_table(nodes, ["climate", "water_consumption", "adp_minerals"])
    return pd.DataFrame(
        {
            "dataset": list(nodes),
            "climate (kg CO2-eq)": scores["climate"].values,
            "water consumed (m3)": scores["water_consumption"].values,
            "ADP minerals (g Sb-eq)": scores["adp_minerals"].values * 1000,
        }
    )


def markdown(df: pd.DataFrame, floatfmt: str = ".3g") -> str:
    """A GitHub markdown table (without the optional `tabulate` dependency)."""
    cols = list(df.columns)
    out = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in df.itertuples(index=False):
        cells = [format(v, floatfmt) if isinstance(v, float) else str(v) for v in row]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def readme_tables(sites: list[str]) -> str:
    """The tables of the README: per GPU-hour indicators by site, then hardware totals."""
    long = gpu_hour_table(sites)
    parts = []
    for column in long.columns[2:]:
        wide = long.pivot(index="GPU", columns="site", values=column)[sites].reset_index()
        parts.append(f"Per GPU-hour, {column}:\n\n{markdown(wide)}\n")
    parts.append("Hardware (cradle to gate; cards without distribution and end of life):\n\n" + markdown(hardware_table(), floatfmt=".4g"))
    return "\n".join(parts)
