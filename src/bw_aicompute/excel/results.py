"""The results workbook of an assessment: totals, breakdown (long and pivoted), phases, the
campaign's inputs, its life cycle inventory, its activities and, after a Monte Carlo, the
uncertainty and sensitivity tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ..report import Assessment


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


def _with_units(a: Assessment, df: pd.DataFrame) -> pd.DataFrame:
    """Indicator columns named with their units: `climate (kg CO2-Eq)`."""
    units = dict(zip(a.totals["indicator"], a.totals["unit"]))
    return df.rename(columns={k: f"{k} ({u})" for k, u in units.items()})


def _lay_out(xl) -> None:
    """Every sheet: frozen header row, columns as wide as their content (at most 60), numbers
    with thousands separators (scientific below 0.01), landscape pages fitted to the width with
    the header repeated."""
    for ws in xl.sheets.values():
        ws.freeze_panes = "B2" if ws.max_column > 1 else "A2"
        ws.page_setup.orientation = "landscape"
        ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.print_title_rows = "1:1"
        for col in ws.columns:
            width = 10
            for cell in col:
                if isinstance(cell.value, float):
                    cell.number_format = "0.00E+00" if 0 < abs(cell.value) < 0.01 else "#,##0.00" if abs(cell.value) < 1000 else "#,##0"
                width = max(width, min(60, len(str(cell.value)) + 2 if not isinstance(cell.value, float) else 14))
            ws.column_dimensions[col[0].column_letter].width = width


def write_assessment(a: Assessment, path: Path) -> None:
    """Write the results workbook of `a` to `path`."""
    totals = a.totals.assign(method=a.totals["method"].map(" | ".join))
    with pd.ExcelWriter(path, engine="openpyxl") as xl:
        totals.to_excel(xl, sheet_name="Totals", index=False)
        if a.market_based is not None:
            a.market_based.to_excel(xl, sheet_name="Market-based", index=False)
        a.breakdown.to_excel(xl, sheet_name="Breakdown", index=False)
        _with_units(a, a.by_phase()).to_excel(xl, sheet_name="By phase")
        _with_units(a, a.by_stage()).to_excel(xl, sheet_name="By stage")
        a.phases.to_excel(xl, sheet_name="Phases", index=False)
        pd.DataFrame(flatten_inputs(a.model.campaign.inputs)).to_excel(xl, sheet_name="Inputs", index=False)
        inventory_table(a).to_excel(xl, sheet_name="Inventory", index=False)
        activities_table(a.database).to_excel(xl, sheet_name="Activities", index=False)
        if a.uncertainty is not None:
            mc = a.uncertainty
            mc.totals_table().to_excel(xl, sheet_name="Uncertainty totals", index=False)
            mc.group_table("phase").to_excel(xl, sheet_name="Uncertainty by phase", index=False)
            mc.group_table("stage").to_excel(xl, sheet_name="Uncertainty by stage", index=False)
            mc.breakdown_table().to_excel(xl, sheet_name="Uncertainty breakdown", index=False)
            mc.sensitivity(top=20).to_excel(xl, sheet_name="Sensitivity", index=False)
        _lay_out(xl)
