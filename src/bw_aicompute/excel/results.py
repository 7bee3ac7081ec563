"""The results workbook of an assessment: totals, breakdown (long and pivoted), phases, the
campaign's inputs, its life cycle inventory, its activities and, after a Monte Carlo, the
uncertainty and sensitivity tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ..applied import applied_inputs
from .layout import lay_out
from ..report import Assessment, per_unit_tables


def flatten_inputs(doc: Any, prefix: str = "") -> list[dict]:
    """The fields of a campaign document as (dotted field, value) rows."""
    if isinstance(doc, dict):
        return [row for k, v in doc.items() for row in flatten_inputs(v, f"{prefix}.{k}" if prefix else str(k))]
    if isinstance(doc, list):
        return [row for i, v in enumerate(doc, start=1) for row in flatten_inputs(v, f"{prefix}[{i}]")]
    return [{"field": prefix, "value": doc}]


def inventory_table(a: Assessment) -> pd.DataFrame:
    """The campaign's life cycle inventory: every elementary flow with its amount."""
    import bw2calc as bc
    import bw2data as bd

    node = bd.get_node(database=a.model.key[0], code=a.model.key[1])
    lca = bc.LCA({node: 1}, tuple(a.totals["method"].iloc[0]))
    lca.lci()
    flows = lca.inventory.sum(axis=1).A1
    rev = {v: k for k, v in lca.dicts.biosphere.items()}
    rows = []
    for row, amount in enumerate(flows):
        if amount:
            flow = bd.get_node(id=rev[row])
            rows.append({"flow": flow["name"], "categories": "::".join(flow.get("categories", ())), "unit": flow["unit"], "amount": float(amount)})
    return pd.DataFrame(rows).sort_values("amount", key=abs, ascending=False)


def activities_table(database: str) -> pd.DataFrame:
    """Every exchange of the campaign's database with its source."""
    import bw2data as bd

    rows = []
    for ds in bd.Database(database):
        for exc in ds.exchanges():
            if exc["type"] == "production":
                continue
            rows.append(
                {
                    "activity": ds["name"],
                    "code": ds["code"],
                    "type": exc["type"],
                    "input": exc.input["name"],
                    "input database": exc.input["database"],
                    "amount": exc["amount"],
                    "unit": exc.get("unit", exc.input.get("unit")),
                    "source": exc.get("source", ""),
                }
            )
    return pd.DataFrame(rows)


def sensitivity_table(sens: pd.DataFrame) -> pd.DataFrame:
    """The sensitivity rows with the input split into its own columns: `parameter` and its name,
    `exchange` with the flow, the activity and its location, or `choice` (the score per unit of a
    drawn grid); `one_at_a_time` is the total's change when the input alone rises by 1 %."""
    import re

    parts = []
    for name in sens["input"]:
        m = re.match(r"^(.*?) of (.*) \[(.*)\]$", name)
        if name.startswith("parameter "):
            parts.append({"input kind": "parameter", "parameter or flow": name.removeprefix("parameter "), "activity": "", "location": ""})
        elif name.startswith("choice "):
            parts.append({"input kind": "choice", "parameter or flow": name.removeprefix("choice "), "activity": "", "location": ""})
        elif m:
            parts.append({"input kind": "exchange", "parameter or flow": m.group(1), "activity": m.group(2), "location": m.group(3)})
        else:
            parts.append({"input kind": "", "parameter or flow": name, "activity": "", "location": ""})
    columns = ["indicator", "input kind", "parameter or flow", "activity", "location", "spearman", "variance_share", "one_at_a_time"]
    return pd.concat([sens.drop(columns=["input"]).reset_index(drop=True), pd.DataFrame(parts, columns=columns[1:5])], axis=1)[columns]


def _with_units(a: Assessment, df: pd.DataFrame) -> pd.DataFrame:
    """Indicator columns named with their units: `climate (kg CO2-Eq)`."""
    units = dict(zip(a.totals["indicator"], a.totals["unit"]))
    return df.rename(columns={k: f"{k} ({u})" for k, u in units.items()})


def write_assessment(a: Assessment, path: Path) -> None:
    """Write the results workbook of `a` to `path`."""
    totals = a.totals.assign(method=a.totals["method"].map(" | ".join))
    with pd.ExcelWriter(path, engine="openpyxl") as xl:
        summary_headers = write_summary(a, xl)
        totals.to_excel(xl, sheet_name="Totals", index=False)
        if a.market_based is not None:
            a.market_based.to_excel(xl, sheet_name="Market-based", index=False)
        if a.per_unit is not None:
            facts, results = per_unit_tables(a)
            results.to_excel(xl, sheet_name="Per unit", index=False)
            facts.to_excel(xl, sheet_name="Per unit", index=False, startrow=len(results) + 2)
        if a.per_model is not None:
            a.per_model.to_excel(xl, sheet_name="Per model unit", index=False)
        a.breakdown.to_excel(xl, sheet_name="Breakdown", index=False)
        _with_units(a, a.by_phase()).to_excel(xl, sheet_name="By phase")
        _with_units(a, a.by_stage()).to_excel(xl, sheet_name="By stage")
        a.phases.to_excel(xl, sheet_name="Phases", index=False)
        applied_inputs(a.model).to_excel(xl, sheet_name="Applied inputs", index=False)
        pd.DataFrame(flatten_inputs(a.model.campaign.inputs)).to_excel(xl, sheet_name="Inputs", index=False)
        inventory_table(a).to_excel(xl, sheet_name="Inventory", index=False)
        activities_table(a.database).to_excel(xl, sheet_name="Activities", index=False)
        if a.months is not None:
            units = dict(zip(a.totals["indicator"], a.totals["unit"]))
            a.months.rename(columns={k: f"{k} ({u})" for k, u in units.items()}).to_excel(xl, sheet_name="By month", index=False)
        if a.timex is not None:
            t = a.timex
            facts = pd.DataFrame([("start", t.start.date().isoformat(), ""), ("background date", t.background_date.date().isoformat(), ""),
                                  ("static score", t.static_score, "kg CO2-eq"), ("LCA score", t.base_score, "kg CO2-eq"),
                                  ("dynamic GWP100, horizon fixed at the start", t.dynamic_gwp, "kg CO2-eq"), ("radiative forcing, yearly values summed over 100 years", t.radiative_forcing, "W/m2")],
                                 columns=["time-explicit LCA (bw_timex)", "value", "unit"])
            facts.to_excel(xl, sheet_name="Time-explicit", index=False)
            t.by_year.rename(columns={"year": "year of emission", "emissions_kg_co2e": "emissions, static factors (kg CO2-eq)"}).to_excel(xl, sheet_name="Time-explicit", index=False, startrow=len(facts) + 2)
        if a.uncertainty is not None:
            mc = a.uncertainty
            mc.totals_table().to_excel(xl, sheet_name="Uncertainty totals", index=False)
            mc.group_table("phase").to_excel(xl, sheet_name="Uncertainty by phase", index=False)
            mc.group_table("stage").to_excel(xl, sheet_name="Uncertainty by stage", index=False)
            mc.breakdown_table().to_excel(xl, sheet_name="Uncertainty breakdown", index=False)
            sensitivity_table(mc.sensitivity(top=20)).to_excel(xl, sheet_name="Sensitivity", index=False)
        lay_out(xl, headers={"Summary": summary_headers}, notes={"Summary": set(range(1, len(SUMMARY_NOTE) + 2))})


def summary_tables(a: Assessment) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(phases x indicators with units and shares of the total, in phase order with a total row;
    totals: each indicator with its unit, the deterministic value beside the Monte Carlo median
    and 95 % interval)."""
    labels, units = list(a.totals["indicator"]), dict(zip(a.totals["indicator"], a.totals["unit"]))
    by_phase = a.by_phase().reindex(a.phases["phase"])
    table = pd.DataFrame({"phase": list(by_phase.index), "GPU-hours": list(a.phases["gpu_hours"])})
    total = a.totals.set_index("indicator")["value"]
    for lab in labels:
        table[f"{lab} ({units[lab]})"] = by_phase[lab].values
        table[f"{lab} share"] = by_phase[lab].values / total[lab] if total[lab] else 0.0
    last = {"phase": "total", "GPU-hours": a.phases["gpu_hours"].sum(), **{f"{lab} ({units[lab]})": total[lab] for lab in labels}, **{f"{lab} share": 1.0 for lab in labels}}
    table = pd.concat([table, pd.DataFrame([last])], ignore_index=True)
    totals = pd.DataFrame({"indicator (unit)": [f"{lab} ({units[lab]})" for lab in labels], "deterministic": [total[lab] for lab in labels]})
    if a.uncertainty is not None:
        mc = a.uncertainty.totals_table().set_index("indicator")
        totals = totals.assign(**{"median": [mc.loc[lab, "p50"] for lab in labels], "p2.5": [mc.loc[lab, "p2_5"] for lab in labels], "p97.5": [mc.loc[lab, "p97_5"] for lab in labels]})
    return table, totals


SUMMARY_NOTE = [
    "deterministic: the result at every input's default (inventories and campaign file);",
    "median and 95 % interval (p2.5-p97.5): of the Monte Carlo over the input distributions, when iterations were run;",
    "the distributions are skewed, so the median can differ from the deterministic value: report the deterministic value with the interval.",
]


def write_summary(a: Assessment, xl) -> set[int]:
    """The `Summary` sheet: the campaign, phases x indicators with shares, the totals with their
    interval, and what each number is; returns the rows of its two headers (one printed page)."""
    table, totals = summary_tables(a)
    pd.DataFrame({"Summary": [f"Campaign {a.campaign}", *SUMMARY_NOTE]}).to_excel(xl, sheet_name="Summary", index=False, header=False)
    start = len(SUMMARY_NOTE) + 2
    table.to_excel(xl, sheet_name="Summary", index=False, startrow=start)
    totals.to_excel(xl, sheet_name="Summary", index=False, startrow=start + len(table) + 2)
    ws = xl.sheets["Summary"]
    headers = [c.value for c in ws[start + 1]]
    for row in ws.iter_rows(min_row=start + 2, max_row=start + 1 + len(table)):
        for cell, header in zip(row, headers):
            if header and str(header).endswith("share"):
                cell.number_format = "0.0%"
    return {start + 1, start + len(table) + 3}
