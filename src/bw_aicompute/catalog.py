"""Browsing the installed inventories: list datasets, show one with its exchanges and sources,
and the summary tables of the README (GPU-hours per site, hardware totals)."""

from __future__ import annotations

import difflib

import pandas as pd

from . import distributions
from ._resources import csv_safe
from .errors import AicomputeError
from .lca import demand_table, score_table

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
    """A dataset of the bw_aicompute databases (campaigns and sweeps included) by exact name or
    by code. Raises an error with suggestions when not found or ambiguous."""
    import bw2data as bd

    from .ownership import owner

    ours = [db for db in bd.databases if db in DATABASES or (owner(bd.databases[db]) is not None and db.startswith(("aicompute-campaign-", "aicompute-sweep-")))]
    candidates = [ds for db in ours for ds in bd.Database(db)]
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


def markdown(df: pd.DataFrame, floatfmt: str | None = ".3g") -> str:
    """A GitHub markdown table (without the optional `tabulate` dependency): floats with
    `floatfmt`, or as the text tables (`_cell`) when None; pipes in cells escaped."""
    def cell(v) -> str:
        text = format(v, floatfmt) if isinstance(v, float) and floatfmt else _cell(v)
        return text.replace("|", "\\|")

    cols = [str(c).replace("|", "\\|") for c in df.columns]
    out = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    out += ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(out)


def formatted(df: pd.DataFrame, style: str = "text") -> str:
    """A table as text sized to its content (nothing cut), GitHub markdown or CSV."""
    if style == "markdown":
        return markdown(df, floatfmt=None)
    if style == "csv":
        return csv_safe(df).to_csv(index=False).rstrip("\n")
    cells = [[_cell(v) for v in row] for row in df.itertuples(index=False)]
    numeric = [pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]) for c in df.columns]
    widths = [max([len(str(c)), *(len(r[k]) for r in cells)]) for k, c in enumerate(df.columns)]
    lines = ["  ".join(str(c).rjust(w) if n else str(c).ljust(w) for c, w, n in zip(df.columns, widths, numeric)).rstrip()]
    lines += ["  ".join(v.rjust(w) if n else v.ljust(w) for v, w, n in zip(r, widths, numeric)).rstrip() for r in cells]
    return "\n".join(lines)


def _cell(v) -> str:
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 1e4 else f"{v:,.0f}"
    return str(v)


def readme_tables(sites: list[str]) -> str:
    """The tables of the README: per GPU-hour indicators by site, then hardware totals."""
    long = gpu_hour_table(sites)
    parts = []
    for column in long.columns[2:]:
        wide = long.pivot(index="GPU", columns="site", values=column)[sites].reset_index()
        parts.append(f"Per GPU-hour, {column}:\n\n{markdown(wide)}\n")
    parts.append("Hardware (cradle to gate; cards without distribution and end of life):\n\n" + markdown(hardware_table(), floatfmt=".4g"))
    return "\n".join(parts)


# ---------------------------------------------------------------------------------------------
# the choices of a campaign file (`aicompute list`)

CHOICES = ("gpus", "countries", "profiles", "kinds", "indicators", "parameters")


def _parameters() -> dict[str, object]:
    """The parameters of the foreground `aicompute` by name."""
    from bw2data.parameters import DatabaseParameter

    return {p.name: p for p in DatabaseParameter.select().where(DatabaseParameter.database == "aicompute")}


def _gpus() -> pd.DataFrame:
    """Accelerator models (GPUs, the GH200 and Google's TPUs): key, name, TDP (W; a TPU's is
    derived from Google's measured power), memory (GB), accelerators per node (per host) and the
    card's embodied climate (kg CO2-eq, at the factory gate), with the TDP's source."""
    import bw2data as bd

    from .campaign.read import gpu_catalog

    params = _parameters()
    models = sorted(set(gpu_catalog().values()), key=lambda v: v[1])
    cards = {slug: bd.get_node(database="aicompute", code=f"gpu-card-{slug}-gate") for slug, _ in models}
    climate = score_table(cards, ["climate"])["climate"]
    rows = []
    for slug, name in models:
        p = {k: params.get(f"{slug}_{k}") for k in ("tdp_w", "memory_gb", "gpus_per_node")}
        rows.append({"key": slug, "name": name, "tdp_w": p["tdp_w"].amount, "memory_gb": p["memory_gb"].amount, "gpus_per_node": p["gpus_per_node"].amount,
                     "card_climate_kg_co2e": float(climate[slug]), "source": (p["tdp_w"].data or {}).get("source", "")})
    return pd.DataFrame(rows)


def _countries() -> pd.DataFrame:
    """Grids: code, ISO alpha-3, name, and one kWh's climate (kg CO2-eq) and water consumed (L)
    from the inventories."""
    import bw2data as bd

    from .inventory import tables

    t = tables()
    rows = [{"key": r["iso2"], "iso3": r["iso3"], "name": r["country"], "source": f"OWID/Ember {r['year']} generation shares"} for r in t["grid_countries"]]
    rows += [{"key": r["state"], "iso3": "", "name": r["label"], "source": "EIA-923 2023 generation by source (Ember)"} for r in t["grid_us_states"]]
    rows += [{"key": r["province"], "iso3": "", "name": r["label"], "source": "provincial generation shares"} for r in t["grid_ca_provinces"]]
    rows.append({"key": "GLO", "iso3": "", "name": "World", "source": "OWID/Ember, sum of 213 countries"})
    nodes = {r["key"]: bd.get_node(database="aicompute-background", code=f"electricity-grid-{r['key']}") for r in rows}
    scores = score_table(nodes, ["climate", "water_consumption"])
    for r in rows:
        r["climate_kg_co2e_per_kwh"] = float(scores.loc[r["key"], "climate"])
        r["water_consumed_l_per_kwh"] = float(scores.loc[r["key"], "water_consumption"]) * 1000
    return pd.DataFrame(rows)[["key", "iso3", "name", "climate_kg_co2e_per_kwh", "water_consumed_l_per_kwh", "source"]]


SOURCES_OF_ELECTRICITY = ("coal", "gas", "oil", "nuclear", "hydro", "wind", "solar", "bio", "geo")


def countries_of_year(year: int) -> pd.DataFrame:
    """The countries' grids of one year (`site.grid_year`): code, name, year, one kWh's climate
    (kg CO2-eq) and water consumed (L), and the generation shares by source (%), from the
    inventories; the 50 US states and DC in any year of their series, and the US in a year
    without its dataset (2023: the states' datasets; other years composed from the shipped
    generation in the grid-mix template, as a campaign of that year is). A year no grid has: AicomputeError naming the years available."""
    import bw2data as bd

    from .campaign.dates import STATES_YEAR, state_years, us_years
    from .inventory import tables

    t = tables()
    names = {r["iso2"]: r["country"] for r in t["grid_countries"]} | {r["state"]: r["label"] for r in t["grid_us_states"]}
    rows = [dict(r, code=f"electricity-grid-{r['iso2']}") for r in t["grid_countries"] if r["year"] == year]
    rows += [dict(r, code=f"electricity-grid-{r['iso2']}-{year}") for r in t.get("grid_country_years", []) if r["year"] == year]
    composed = []
    if year == STATES_YEAR:  # the US states' mixes, EIA-923 of that year
        rows += [dict(r, iso2=r["state"], code=f"electricity-grid-{r['state']}") for r in t["grid_us_states"]]
    else:
        for r in t["grid_us_states"]:
            gen = state_years(r["state"]).get(year)
            if gen:
                composed.append(dict(gen, iso2=r["state"], total=sum(gen.values())))
        us = us_years().get(year)
        if us and not any(r["iso2"] == "US" for r in rows):  # the US of a year without a dataset: its states' sum
            composed.append(dict(us, iso2="US", total=sum(us.values())))
    if not rows and not composed:
        held = sorted({r["year"] for r in t["grid_countries"]} | {r["year"] for r in t.get("grid_country_years", [])})
        raise AicomputeError(f"--year {year}: no country has a generation mix of that year; years available: {', '.join(map(str, held))} (US states: 2001-2024)")
    demands = {r["iso2"]: {bd.get_node(database="aicompute-background", code=r["code"]).id: 1.0} for r in rows}
    demands |= {r["iso2"]: _grid_mix_demand(r) for r in composed}
    scores = demand_table(demands, ["climate", "water_consumption"])
    out = []
    for r in sorted(rows + composed, key=lambda r: r["iso2"]):
        row = {"key": r["iso2"], "name": names[r["iso2"]], "year": year, "climate_kg_co2e_per_kwh": float(scores.loc[r["iso2"], "climate"]), "water_consumed_l_per_kwh": float(scores.loc[r["iso2"], "water_consumption"]) * 1000}
        row.update({f"{s}_pct": 100 * r[s] / r["total"] for s in SOURCES_OF_ELECTRICITY})
        out.append(row)
    return pd.DataFrame(out)


def _grid_mix_demand(row: dict) -> dict[int, float]:
    """1 kWh of the grid-mix template (`electricity-grid-{iso2}`) filled with `row` (generation
    by source and its total): node id -> amount of each generation technology."""
    import bw2data as bd

    from .inventory import FormulaEvaluator, template
    from .inventory.templates import substitute

    item, database, where = template("electricity-grid-{iso2}")
    demand: dict[int, float] = {}
    for raw in item["exchanges"]:
        exc = substitute(raw, {**row, "iso2": row["iso2"]}, where)
        amount = float(FormulaEvaluator({})(str(exc["amount"])))
        node = bd.get_node(database=database, code=str(exc["technosphere"])).id
        demand[node] = demand.get(node, 0.0) + amount
    return demand


def _profiles() -> pd.DataFrame:
    """Facility profiles: PUE, WUE (L/kWh), whether the WUE counts withdrawal, default country."""
    from .campaign.read import profiles

    params = _parameters()
    rows = []
    for name, row in profiles().items():
        pue, wue = params[row["pue"]], params[row["wue"]]
        rows.append({"key": name, "default": bool(row.get("default")), "aliases": ", ".join(row.get("aliases", [])), "pue": pue.amount, "pue_range": distributions.describe(pue.data or {}), "wue_l_per_kwh": wue.amount,
                     "wue_is_withdrawal": bool(params[row["wue_withdrawal"]].amount), "default_country": row["default_country"],
                     "source": f"PUE: {(pue.data or {}).get('source', '')}; WUE: {(wue.data or {}).get('source', '')}"})
    return pd.DataFrame(rows)


def _indicators() -> pd.DataFrame:
    """Indicators: name, method, unit, description."""
    import bw2data as bd

    from .methods import find_method, indicators

    rows = []
    for name, ind in indicators().items():
        installed = find_method(ind.method, bd.methods)
        rows.append({"key": name, "method": " | ".join(ind.method), "unit": bd.methods[installed].get("unit", "") if installed else "", "description": ind.description})
    return pd.DataFrame(rows)


def _foreground_parameters() -> pd.DataFrame:
    """Parameters of `aicompute`: default, unit, distribution, source."""
    rows = []
    for name, p in sorted(_parameters().items()):
        data = p.data or {}
        rows.append({"key": name, "default": p.amount, "unit": data.get("unit", ""), "formula": p.formula or "", "distribution": distributions.describe(data), "source": data.get("source", "")})
    return pd.DataFrame(rows)


def choices(kind: str, year: int | None = None) -> pd.DataFrame:
    """The choices of a campaign file of one kind, with their main figures and sources.

    Parameters
    ----------
    kind : {'gpus', 'countries', 'profiles', 'kinds', 'indicators', 'parameters'}
    year : int, optional
        For `countries`: the grids of that year with their generation shares (`site.grid_year`).

    Returns
    -------
    DataFrame
        One row per choice; `key` is what a campaign file (or `--indicator`) takes. Units are in
        the column names (`tdp_w`: W; `climate_kg_co2e_per_kwh`: kg CO2-eq per kWh...).
    """
    from .campaign import KINDS

    if kind == "kinds":
        return pd.DataFrame({"key": list(KINDS)})
    if year is not None:
        if kind != "countries":
            raise AicomputeError(f"--year applies to 'list countries', not to {kind!r}")
        return countries_of_year(year)
    table = {"gpus": _gpus, "countries": _countries, "profiles": _profiles, "indicators": _indicators, "parameters": _foreground_parameters}.get(kind)
    if table is None:
        raise AicomputeError(f"unknown list {kind!r}; one of {', '.join(CHOICES)}")
    return table()
