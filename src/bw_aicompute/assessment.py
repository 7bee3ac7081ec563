"""Assess a training campaign: one MultiLCA over the campaign, every phase and every life-cycle
stage, on any number of indicators; results as DataFrames, text, JSON, Excel and a plot."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .campaign import STAGES, Campaign, CampaignModel, read_campaign, write_campaign
from ._resources import output_path
from .errors import AicomputeError
from .lca import method_for, multi_scores

DEFAULT_INDICATORS = ("climate", "water", "adp_minerals")


@dataclass
class Assessment:
    """Results of a campaign: `totals` (indicator, value, unit, method), `breakdown` (phase,
    stage, indicator, value, unit; adds up to the totals) and `phases` (GPU time and energy)."""

    campaign: str
    database: str
    totals: pd.DataFrame
    breakdown: pd.DataFrame
    phases: pd.DataFrame
    model: CampaignModel = field(repr=False)
    uncertainty: object = None  # uncertainty.MonteCarlo when iterations were run

    def to_dict(self) -> dict:
        return {
            "campaign": self.campaign,
            "totals": {
                r.indicator: {"value": r.value, "unit": r.unit, "method": list(r.method)} for r in self.totals.itertuples()
            },
            "rows": [
                {"phase": r.phase, "stage": r.stage, "indicator": r.indicator, "value": r.value, "unit": r.unit}
                for r in self.breakdown.itertuples()
            ],
            "phases": self.phases.to_dict(orient="records"),
            **({"uncertainty": self.uncertainty.to_dict()} if self.uncertainty is not None else {}),
        }

    def to_json(self, path: str | Path) -> None:
        output_path(path)
        Path(path).write_text(json.dumps(self.to_dict(), indent=2), encoding="utf-8")

    def to_excel(self, path: str | Path) -> None:
        from .excel import write_assessment

        output_path(path)
        write_assessment(self, Path(path))

    def plot(self, path: str | Path) -> None:
        output_path(path)
        plot_assessment(self, Path(path))

    def by_phase(self) -> pd.DataFrame:
        return self.breakdown.pivot_table(index="phase", columns="indicator", values="value", aggfunc="sum", sort=False)

    def by_stage(self) -> pd.DataFrame:
        return self.breakdown.pivot_table(index="stage", columns="indicator", values="value", aggfunc="sum", sort=False)

    def summary(self) -> str:
        return format_summary(self)

    def plot_sensitivity(self, path: str | Path) -> None:
        if self.uncertainty is None:
            raise AicomputeError("no Monte Carlo results: assess with iterations > 0")
        output_path(path)
        plot_sensitivity(self, Path(path))




def assess(
    campaign: Campaign | str | Path,
    indicators: list[str] | tuple[str, ...] = DEFAULT_INDICATORS,
    methods: list[tuple[str, ...]] | tuple = (),
    project: str = "aicompute",
    background: str = "open",
    ecoinvent_database: str | None = None,
    iterations: int = 0,
    seed: int = 0,
    processes: int = 1,
) -> Assessment:
    """Validate, write and solve a campaign in `project` (set up first if needed).

    `indicators` are names from `methods/indicators.yaml`; `methods` are any installed method
    tuples. `background="ecoinvent"` assesses against the foreground linked to ecoinvent by
    `link_ecoinvent` (`ecoinvent_database` chooses among several). With `iterations` > 0 a
    Monte Carlo over exchange and parameter distributions is added (`Assessment.uncertainty`),
    reproducible for a given `seed`, split over `processes` worker processes if > 1.
    Returns an `Assessment`.
    """
    if iterations < 0:
        raise AicomputeError(f"iterations must be zero or more, got {iterations}")
    if processes < 1:
        raise AicomputeError(f"processes must be at least 1, got {processes}")
    if background not in ("open", "ecoinvent"):
        raise AicomputeError(f"background must be 'open' or 'ecoinvent', not {background!r}")
    if not isinstance(campaign, Campaign):
        campaign = read_campaign(campaign)  # validated before anything is written
    from .project import setup_project

    report = setup_project(project)
    resolved = [method_for(i) for i in indicators] + [method_for(tuple(m)) for m in methods]
    if not resolved:
        raise AicomputeError("no indicator or method to assess")
    from .ecoinvent import foreground_for

    foreground = foreground_for(background, ecoinvent_database)
    model = write_campaign(campaign, report.biosphere, foreground=foreground)
    result = solve(model, resolved)
    if iterations:
        from . import uncertainty

        if processes == 1:
            result.uncertainty = uncertainty.run(model, resolved, iterations, seed)
        else:
            if campaign.path is None:
                raise AicomputeError("several processes need a campaign file")
            result.uncertainty = uncertainty.run_parallel(
                project, str(campaign.path), [lab for lab, _ in resolved], iterations, seed, processes, background, methods=[m for _, m in resolved]
            )
    return result


def node_stages(ids) -> dict[int, str]:
    """Life-cycle stage tag (`stage` field) of each node id that has one."""
    from bw2data.backends import ActivityDataset as AD

    out = {}
    ids = list(ids)
    for i in range(0, len(ids), 500):
        for id_, data in AD.select(AD.id, AD.data).where(AD.id.in_(ids[i : i + 500])).tuples():
            if data.get("stage"):
                out[id_] = data["stage"]
    return out


class StageAttribution:
    """Splits the demand of each campaign phase into life-cycle stages, from the technosphere
    matrix itself: a phase's inputs are followed down to the first node tagged with a stage;
    a tagged node's tagged inputs are moved to their own stage (the grid input of a datacenter
    operation, tagged "on-site water", goes to "electricity"). The stage demands add up to the
    phase, so the breakdown adds up to the total exactly."""

    def __init__(self, lca, phase_ids: list[int]):
        self.act = lca.dicts.activity  # id -> column
        self.prod = lca.dicts.product  # id -> row
        col_to_id = {c: i for i, c in self.act.items()}
        self.row_to_col = {r: self.act[i] for i, r in self.prod.items() if i in self.act}
        tags = node_stages(self.act.keys())
        self.stage = {self.act[i]: s for i, s in tags.items() if i in self.act}
        self.phase_cols = [self.act[i] for i in phase_ids]
        self.col_to_id = col_to_id

    def demands(self, A) -> list[dict[str, dict[int, float]]]:
        """Per phase: stage -> {product row: amount}, for the technosphere matrix `A` (csc)."""
        A = A.tocsc()
        indptr, indices, data = A.indptr, A.indices, A.data
        prod_row = {c: r for r, c in self.row_to_col.items()}
        stage = self.stage
        out_all = []

        def column(j):
            lo, hi = indptr[j], indptr[j + 1]
            return indices[lo:hi], data[lo:hi]

        def attribute(j: int, amount: float, out: dict, depth: int = 0) -> None:
            if depth > 50:
                raise AicomputeError("stage attribution: the campaign's supply chain is too deep or cyclic")
            rows, vals = column(j)
            own = prod_row[j]
            production = float(vals[rows == own].sum()) or 1.0
            per_unit = amount / production
            s = stage.get(j)
            if s:
                d = out.setdefault(s, {})
                d[own] = d.get(own, 0.0) + amount
            for r, a in zip(rows, vals):
                if r == own or a >= 0:
                    continue
                k = self.row_to_col[r]
                amt = per_unit * -float(a)
                sk = stage.get(k)
                if s and sk:
                    d = out[s]
                    d[r] = d.get(r, 0.0) - amt
                    attribute(k, amt, out, depth + 1)
                elif s == "on-site water":  # the facility's untagged electricity provider
                    d = out[s]
                    d[r] = d.get(r, 0.0) - amt
                    e = out.setdefault("electricity", {})
                    e[r] = e.get(r, 0.0) + amt
                elif not s:
                    attribute(k, amt, out, depth + 1)

        for p in self.phase_cols:
            out: dict[str, dict[int, float]] = {}
            rows, vals = column(p)
            own = prod_row[p]
            for r, a in zip(rows, vals):
                if r != own and a < 0:
                    attribute(self.row_to_col[r], -float(a), out)
            out_all.append(out)
        return out_all


def solve(model: CampaignModel, resolved: list[tuple[str, tuple]]) -> Assessment:
    import warnings

    import bw2calc as bc
    import bw2data as bd

    fu = bd.get_node(database=model.key[0], code=model.key[1])
    phase_ids = [bd.get_node(database=pm.key[0], code=pm.key[1]).id for pm in model.phases]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lca = bc.LCA({fu.id: 1.0}, resolved[0][1])
        lca.lci()
    attribution = StageAttribution(lca, phase_ids)
    row_to_id = {r: i for i, r in lca.dicts.product.items()}
    demands = {"total": {fu.id: 1.0}}
    for i, per_stage in enumerate(attribution.demands(lca.technosphere_matrix)):
        for stage, d in per_stage.items():
            d = {row_to_id[r]: a for r, a in d.items() if a != 0}
            if d:
                demands[f"{i}|{stage}"] = d
    methods = list(dict.fromkeys(m for _, m in resolved))
    scores = multi_scores(demands, methods)
    units = {m: bd.methods[m].get("unit", "") for m in methods}
    totals = pd.DataFrame(
        [{"indicator": label, "value": scores[(m, "total")], "unit": units[m], "method": m} for label, m in resolved]
    )
    rows = []
    for i, pm in enumerate(model.phases):
        for stage in STAGES:
            for label, m in resolved:
                key = f"{i}|{stage}"
                rows.append(
                    {"phase": pm.phase.name, "stage": stage, "indicator": label, "value": scores.get((m, key), 0.0), "unit": units[m]}
                )
    breakdown = pd.DataFrame(rows)
    # solver round-off (e.g. -6e-13 for a stage that is zero by construction) is shown as zero
    scale = breakdown.groupby("indicator")["value"].transform(lambda s: s.abs().max())
    breakdown.loc[breakdown["value"].abs() <= 1e-12 * scale, "value"] = 0.0
    total_gh = sum(pm.gpu_hours for pm in model.phases) or 1.0
    phases = pd.DataFrame(
        [
            {
                "phase": pm.phase.name,
                "kind": pm.phase.kind,
                "gpu": pm.phase.gpu,
                "gpu_hours": pm.gpu_hours,
                "gpu_time_share": pm.gpu_hours / total_gh,
                "it_energy_kwh": pm.it_energy_kwh,
                "energy_measured": pm.phase.energy_kwh is not None or pm.phase.measured_gpu_kwh is not None,
            }
            for pm in model.phases
        ]
    )
    return Assessment(campaign=model.campaign.name, database=model.database, totals=totals, breakdown=breakdown, phases=phases, model=model)


# ---------------------------------------------------------------------------------------------
# presentation


def fmt(value: float) -> str:
    """Three significant digits, thousands separated."""
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return f"{value:.3g}"


def format_summary(a: Assessment) -> str:
    labels = list(a.totals["indicator"])
    units = dict(zip(a.totals["indicator"], a.totals["unit"]))
    lines = [f"Campaign: {a.campaign}  (Brightway database {a.database!r})"]
    lines.append(
        f"  {len(a.phases)} phases, {fmt(a.phases['gpu_hours'].sum())} GPU-hours, {fmt(a.phases['it_energy_kwh'].sum())} kWh of IT energy"
    )
    lines.append("")
    lines.append("Totals")
    for r in a.totals.itertuples():
        lines.append(f"  {r.indicator:<18} {fmt(r.value):>14} {r.unit:<24} {' | '.join(r.method)}")
    width = 16

    def table(title: str, df: pd.DataFrame, extra: dict[str, tuple[int, list[str]]] | None = None) -> None:
        extra = extra or {}
        lines.append("")
        lines.append(
            f"{title:<42}" + "".join(f"{h:>{w}}" for h, (w, _) in extra.items()) + "".join(f"{lab[: width - 1]:>{width}}" for lab in labels)
        )
        lines.append(
            f"{'':<42}" + "".join(f"{'':>{w}}" for w, _ in extra.values()) + "".join(f"{'(' + units[lab][: width - 3] + ')':>{width}}" for lab in labels)
        )
        for j, (name, row) in enumerate(df.iterrows()):
            cells = "".join(f"{vals[j]:>{w}}" for w, vals in extra.values())
            lines.append(f"  {str(name)[:40]:<40}" + cells + "".join(f"{fmt(row[lab]):>{width}}" for lab in labels))

    by_phase = a.by_phase().reindex(a.phases["phase"])
    table(
        "By phase",
        by_phase,
        {"kind": (25, list(a.phases["kind"])), "GPU-h share": (13, [f"{s:.1%}" for s in a.phases["gpu_time_share"]])},
    )
    table("By life-cycle stage", a.by_stage().reindex(list(STAGES)))
    if a.uncertainty is not None:
        lines += format_uncertainty(a)
    return "\n".join(lines)


def format_uncertainty(a: Assessment) -> list[str]:
    mc = a.uncertainty
    lines = ["", f"Uncertainty: Monte Carlo, {mc.iterations} iterations, seed {mc.seed} (exchange and parameter distributions)"]
    lines.append(f"  {'':<18} {'2.5%':>12} {'median':>12} {'97.5%':>12} {'mean':>12} {'sd':>12}")
    for r in mc.totals_table().itertuples():
        lines.append(f"  {r.indicator:<18} {fmt(r.p2_5):>12} {fmt(r.p50):>12} {fmt(r.p97_5):>12} {fmt(r.mean):>12} {fmt(r.sd):>12}  {r.unit}")
    for by in ("phase", "stage"):
        t = mc.group_table(by)
        for lab in mc.labels:
            lines.append("")
            lines.append(f"  By {by}, {lab}: median [2.5%, 97.5%]")
            for r in t[t["indicator"] == lab].itertuples():
                lines.append(f"    {str(getattr(r, by))[:40]:<40} {fmt(r.p50):>12} [{fmt(r.p2_5)}, {fmt(r.p97_5)}]")
    sens = mc.sensitivity(top=5)
    lines.append("")
    lines.append("  Sensitivity: Spearman rank correlation of each sampled input with the total (share of explained variance)")
    for lab in mc.labels:
        lines.append(f"    {lab}:")
        for r in sens[sens["indicator"] == lab].itertuples():
            lines.append(f"      {r.spearman:+.2f} ({r.variance_share:.0%})  {r.input}")
    return lines


def plot_sensitivity(a: Assessment, path: Path, top: int = 8) -> None:
    """Horizontal bars of the Spearman rank correlations of the top inputs, per indicator."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sens = a.uncertainty.sensitivity(top=top)
    labels = list(a.uncertainty.labels)
    fig, axes = plt.subplots(len(labels), 1, figsize=(10, 2.2 + 0.45 * top * len(labels)), squeeze=False)
    for ax, lab in zip(axes[:, 0], labels):
        d = sens[sens["indicator"] == lab].iloc[::-1]
        ax.barh([n[:70] for n in d["input"]], d["spearman"], color=["#C44E52" if v > 0 else "#4C72B0" for v in d["spearman"]])
        ax.axvline(0, color="black", lw=0.8)
        ax.set_xlim(-1, 1)
        ax.set_title(f"{lab}: Spearman rank correlation with the total", fontsize=10)
        ax.tick_params(labelsize=8)
    fig.suptitle(f"Campaign: {a.campaign} ({a.uncertainty.iterations} iterations)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_assessment(a: Assessment, path: Path) -> None:
    """Stacked bars by life-cycle stage, one bar per phase, one panel per indicator."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = list(a.totals["indicator"])
    units = dict(zip(a.totals["indicator"], a.totals["unit"]))
    phases = list(a.phases["phase"])
    colors = ["#4C72B0", "#55A868", "#8172B2", "#DD8452", "#64B5CD"]
    fig, axes = plt.subplots(1, len(labels), figsize=(max(6, 1.0 * len(phases) + 3) * len(labels) / 1.6, 5.5), squeeze=False)
    for ax, lab in zip(axes[0], labels):
        data = a.breakdown[a.breakdown["indicator"] == lab].pivot_table(index="phase", columns="stage", values="value", aggfunc="sum").reindex(index=phases, columns=list(STAGES)).fillna(0.0)
        bottom = [0.0] * len(phases)
        for stage, color in zip(STAGES, colors):
            values = data[stage].tolist()
            ax.bar(range(len(phases)), values, bottom=bottom, color=color, label=stage, width=0.7)
            bottom = [b + v for b, v in zip(bottom, values)]
        ax.set_title(f"{lab}\n({units[lab]})", fontsize=10)
        ax.set_xticks(range(len(phases)))
        ax.set_xticklabels(phases, rotation=35, ha="right", fontsize=8)
        ax.tick_params(axis="y", labelsize=8)
        ax.grid(axis="y", alpha=0.3)
    handles, names = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=len(STAGES), fontsize=8, frameon=False)
    fig.suptitle(f"Campaign: {a.campaign}", fontsize=12)
    fig.tight_layout(rect=(0, 0.06, 1, 0.95))
    fig.savefig(path, dpi=130)
    plt.close(fig)
