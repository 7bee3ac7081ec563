"""Presenting an assessment: the text report, the stacked-bar plot by phase and stage, and the
sensitivity plot. Reads an `Assessment`, writes nothing else."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from .campaign.schema import STAGES
from .uncertainty import noise_threshold


class Assessment(Protocol):
    """What the presentation reads of an assessment (`bw_aicompute.assessment.Assessment`, which
    calls these functions: this module does not import it, so the arrow points one way)."""

    campaign: str
    database: str
    totals: pd.DataFrame
    breakdown: pd.DataFrame
    phases: pd.DataFrame
    model: Any
    uncertainty: Any

    def by_phase(self) -> pd.DataFrame:
        """Scores by phase and indicator."""

    def by_stage(self) -> pd.DataFrame:
        """Scores by life-cycle stage and indicator."""


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
    """The text report of an assessment: totals, by phase, by life-cycle stage, and the Monte
    Carlo results when there are any."""
    labels = list(a.totals["indicator"])
    units = dict(zip(a.totals["indicator"], a.totals["unit"]))
    lines = [f"Campaign: {a.campaign}  (Brightway database {a.database!r})"]
    lines.append(
        f"  {len(a.phases)} phases, {fmt(a.phases['gpu_hours'].sum())} GPU-hours, {fmt(a.phases['it_energy_kwh'].sum())} kWh of IT energy"
    )
    lines += [f"  {note}" for note in a.model.campaign.resolved]
    lines += format_inputs(a.model)
    lines.append("")
    lines.append("Totals" if a.per_unit is None else "Totals of the training campaign (without serving)")
    for r in a.totals.itertuples():
        lines.append(f"  {r.indicator:<18} {fmt(r.value):>14} {r.unit:<24} {' | '.join(r.method)}")
    if a.per_unit is not None:
        lines += format_per_unit(a)
    if getattr(a, "per_model", None) is not None:
        lines += format_per_model(a)
    if a.market_based is not None:
        lines += ["", "Market-based totals (GHG Protocol Scope 2), beside the location-based totals above", f"  contract: {a.market_based['contract'].iloc[0]}"]
        lines += [f"  {r.indicator:<18} {fmt(r.value):>14} {r.unit:<24} ({(r.value / r.location_based - 1) if r.location_based else 0:+.1%} vs location-based)" for r in a.market_based.itertuples()]
    def table(title: str, df: pd.DataFrame, extra: dict[str, list[str]] | None = None) -> None:
        """A table sized to its content: names, extra text columns, one column per indicator
        with its unit below (nothing cut)."""
        extra = extra or {}
        names = [str(n) for n in df.index]
        first = max(len(title), *(len(n) + 2 for n in names))
        widths = {h: max(len(h), *(len(v) for v in vals)) + 2 for h, vals in extra.items()}
        values = {lab: [fmt(v) for v in df[lab]] for lab in labels}
        cols = {lab: max(len(lab), len(units[lab]) + 2, *(len(v) for v in values[lab])) + 2 for lab in labels}
        lines.append("")
        lines.append(f"{title:<{first}}" + "".join(f"{h:>{w}}" for h, w in widths.items()) + "".join(f"{lab:>{cols[lab]}}" for lab in labels))
        lines.append(f"{'':<{first}}" + "".join(f"{'':>{w}}" for w in widths.values()) + "".join(f"{'(' + units[lab] + ')':>{cols[lab]}}" for lab in labels))
        for j, name in enumerate(names):
            cells = "".join(f"{vals[j]:>{widths[h]}}" for h, vals in extra.items())
            lines.append(f"  {name:<{first - 2}}" + cells + "".join(f"{values[lab][j]:>{cols[lab]}}" for lab in labels))

    by_phase = a.by_phase().reindex(a.phases["phase"])
    table(
        "By phase",
        by_phase,
        {"kind": list(a.phases["kind"]), "GPU-h share": [f"{s:.1%}" for s in a.phases["gpu_time_share"]]},
    )
    table("By life-cycle stage", a.by_stage().reindex(list(STAGES)))
    if a.months is not None:
        table("By month", a.months.set_index("month")[labels], {"electricity": list(a.months["electricity"])})
    if a.uncertainty is not None:
        lines += format_uncertainty(a)
    if a.timex is not None:
        lines += format_timex(a.timex)
    return "\n".join(lines)


def format_timex(t) -> list[str]:
    """The report's block of the time-explicit LCA (bw_timex)."""
    lines = ["", f"Time-explicit LCA (bw_timex), climate, {t.seconds:.1f} s"]
    lines.append(f"  start {t.start:%Y-%m-%d} ({t.start_basis}); background dated {t.background_date:%Y-%m-%d}")
    if abs(t.static_score - t.base_score) > 1e-6 * abs(t.base_score):
        lines.append(f"  WARNING: bw_timex's static score differs from the LCA by {t.static_score / t.base_score - 1:+.3%}: its timeline is not the campaign's; do not use the dynamic scores")
    lines.append(f"  static score       {fmt(t.static_score):>12} kg CO2-eq (dated inventory, static factors; LCA {fmt(t.base_score)})")
    lines.append(f"  dynamic GWP100     {fmt(t.dynamic_gwp):>12} kg CO2-eq (horizon fixed at the start)")
    lines.append(f"  radiative forcing  {t.radiative_forcing:>12.4g} W/m2 (yearly values summed over 100 years)")
    lines.append("  by year of emission (kg CO2-eq, static factors):")
    years = [f"{int(r.year)} {fmt(r.emissions_kg_co2e)}" for r in t.by_year.itertuples()]
    lines += ["    " + ", ".join(years[k : k + 6]) for k in range(0, len(years), 6)]
    return lines


def _v(v, unit: str = "") -> str:
    """An applied value with its unit and where it came from: `0.87 (default)`."""
    return f"{v.value:,.4g}{' ' + unit if unit else ''} ({v.origin})"


def format_inputs(model) -> list[str]:
    """Lines of the report's `Inputs applied` block: the power per GPU-hour and its parts, the
    grid and the year of its mix, the WUE, lifetime and utilisation, each with where it came from
    (`bw_aicompute.applied`)."""
    from .applied import FROM_FILE, override_texts, parameter_value, parameters, power_per_gpu_hour, site_grid_text, site_values

    c = model.campaign
    params = parameters(model.foreground)
    site = site_values(model, params)
    lines = ["", "Inputs applied (campaign file; profile: the site's facility profile; default: the inventories', see aicompute list parameters)"]
    for pw in power_per_gpu_hour(model, params):
        which = "all phases" if len(pw.phases) == len(model.phases) else ", ".join(pw.phases) if len(pw.phases) <= 3 else f"{len(pw.phases)} phases"
        lines.append(f"  power per GPU-hour, {gpu_name(pw.gpu)} ({which}):")
        parts = f"    rated {_v(pw.rated, 'W')} x load factor {_v(pw.load_factor)}"
        if pw.node_share.value and pw.host_share.value != 1:
            parts += f" x (1 + node overhead share {_v(pw.node_share)} x host share {pw.host_share.value:g} of this accelerator)"
        elif pw.node_share.value:
            parts += f" x (1 + node overhead share {_v(pw.node_share)})"
        if pw.node_overhead.value or not pw.node_share.value:
            parts += f" + node overhead {_v(pw.node_overhead, 'W per GPU')}"
        lines.append(parts)
        lines.append(f"    = {pw.applied_w:,.0f} W of IT power; x PUE {_v(site['PUE'])} = {pw.applied_w * site['PUE'].value:,.0f} W drawn by the facility")
    measured = [pm.phase.name for pm in model.phases if pm.phase.energy_kwh is not None or pm.phase.measured_gpu_kwh is not None]
    if measured:
        lines.append(f"  measured energy: {', '.join(measured)} (replaces the power model); PUE {_v(site['PUE'])}")
    if c.site.grid_kg_co2e_per_kwh is not None:
        lines.append(f"  grid: as given ({FROM_FILE}), {c.site.grid_kg_co2e_per_kwh:g} kg CO2-eq per kWh; {c.site.grid_source or 'no source given'}")
    else:
        lines += _wrapped(f"  grid: {site_grid_text(c, model.foreground)}")
    lines += _month_lines(model) + _hourly_lines(model)
    lines.append(f"  water scarcity factor (AWARE 2.0, water_scarcity): {water_place_text(c.site.country)}")
    lines.append(f"  WUE: {_v(site['WUE'], site['WUE'].unit)}")
    given = {"hw_lifetime_years": c.hardware.lifetime_years, "utilisation": c.hardware.utilisation}
    life, use = (parameter_value(params, k, v) for k, v in given.items())
    lines.append(f"  hardware lifetime: {_v(life, 'years')}; utilisation: {_v(use)} of the lifetime allocated to jobs")
    for what, text in override_texts(c):
        lines += _wrapped(f"  {what} embodied: {text}")
    if model.serving is not None and c.deployment.energy_kwh is None and model.serving.gpu_hours:
        lines.append(f"  serving: {model.serving.it_energy_kwh / model.serving.gpu_hours * 1000:,.0f} W of IT power per GPU-hour (see Per {c.deployment.unit} below)")
    return lines


def _wrapped(line: str, width: int = 110) -> list[str]:
    """A report line of `Inputs applied` wrapped at `width`, continued with a deeper indent."""
    return textwrap.wrap(line, width, subsequent_indent="    ", break_on_hyphens=False) or [line]


def water_place_text(location: str) -> str:
    """The AWARE factor applied to water consumed at `location`, and its fallback if any."""
    from .water import places, world_cf

    p = places().get(location)
    if p is None:
        return f"{location} has no factor: its water gets the world factor {world_cf():g} (FALLBACK)"
    read = f" (read as {p.aware})" if p.aware != location else ""
    return f"{location} {p.cf:g} m3 world-eq per m3{read}{'; ' + p.note if p.note else ''}; water of unknown place {world_cf():g}"


def _hourly_lines(model) -> list[str]:
    """The hourly intensity applied to each phase with a log, and how it differs from the
    annual (and monthly) mix."""
    series = model.campaign.site.hourly_intensity
    out = []
    for pm in model.phases:
        h = pm.hourly
        if not h:
            continue
        line = (f"  hourly intensity ({series.path.name}, zone {series.zone}), phase {pm.phase.name}: {h['kg_per_kwh']:.4g} kg CO2-eq/kWh, "
                f"weighted by the log's GPU energy over {h['hours']} h ({h['coverage']:.0%} of it); "
                f"annual mix {h['annual_kg_per_kwh']:.4g} ({h['kg_per_kwh'] / h['annual_kg_per_kwh'] - 1:+.1%} hourly vs annual)")
        if h.get("monthly_kg_per_kwh"):
            line += f"; monthly mix {h['monthly_kg_per_kwh']:.4g} ({h['kg_per_kwh'] / h['monthly_kg_per_kwh'] - 1:+.1%} hourly vs monthly)"
        out.append(line)
    return out


def _month_lines(model) -> list[str]:
    """Which mix the electricity of each month of the dated phases is (monthly or annual)."""
    from .campaign.dates import month_basis
    from .campaign.write import annual_label

    months = sorted({m for pm in model.phases for m in pm.months})
    if not months:
        return []
    by_basis: dict[str, list[str]] = {}
    for m in months:
        by_basis.setdefault(month_basis(model.campaign.site.monthly_mix, m, annual_label(model.campaign, m, model.foreground)), []).append(m)
    undated = [pm.phase.name for pm in model.phases if not pm.months]
    out = [f"  electricity by month (dated phases): " + "; ".join(f"{', '.join(ms)}: {basis}" for basis, ms in by_basis.items())]
    if undated:
        out.append(f"  undated phases ({', '.join(undated) if len(undated) <= 3 else f'{len(undated)} phases'}): the annual mix above")
    return out


def gpu_name(slug: str) -> str:
    """The full name of a GPU model of the inventories (`h100_sxm_80gb` -> `H100 SXM 80GB`)."""
    from .inventory import tables

    return next((row["name"] for row in tables()["all_gpus"] if row["gpu"] == slug), slug)


def format_per_unit(a: Assessment) -> list[str]:
    """Lines of the per-functional-unit part of the report (a campaign with a deployment)."""
    from .campaign.schema import UNIT_PLURALS

    d, pu = a.model.campaign.deployment, a.per_unit
    unit = pu["functional_unit"].iloc[0]
    plural = UNIT_PLURALS[unit]
    lines = ["", f"Per {unit}: deployment {d.name!r}, {d.gpus:g} x {gpu_name(d.gpu)} for {fmt(d.hours)} h"]
    lines.append(f"  served: {fmt(pu['units_served'].iloc[0])} {plural}; {d.throughput}")
    lines.append(f"  IT energy of serving: {fmt(pu['serving_it_energy_kwh'].iloc[0])} kWh, {fmt(pu['it_energy_kwh_per_unit'].iloc[0] * 1000)} Wh per {unit} (before the PUE)")
    lines.append(f"  the training amortised over {fmt(pu['amortised_over'].iloc[0])} {plural}")
    lines.append(f"  per {unit}: serving alone and with the training amortised; break-even: {plural} after which serving exceeds training")
    head = f"serving per {unit}"
    lines.append(f"  {'':<18} {'serving total':>14} {head:>{len(head) + 2}} {'with training':>14} {'break-even':>14}")
    for r in pu.itertuples():
        lines.append(f"  {r.indicator:<18} {fmt(r.serving_total):>14} {fmt(r.serving_per_unit):>{len(head) + 2}} {fmt(r.amortised_per_unit):>14} {fmt(r.break_even_units):>14}  {r.unit}")
    if "serving_per_unit p2_5" in pu:
        lines.append("  95 % intervals (Monte Carlo, training and serving from the same draws):")
        for _, r in pu.iterrows():
            lines.append(f"  {r['indicator']:<18} [{fmt(r['serving_per_unit p2_5'])}, {fmt(r['serving_per_unit p97_5'])}] serving alone; [{fmt(r['amortised_per_unit p2_5'])}, {fmt(r['amortised_per_unit p97_5'])}] with training")
    return lines


def format_per_model(a: Assessment) -> list[str]:
    """Lines of the report per provider functional unit of the SCI for AI (Green Software
    Foundation, SPEC.md 8.2): the training campaign's totals divided by the model's parameters,
    training tokens or PFLOP (1e15 FLOP) of `model:`, and the estimate of the FLOP when they
    are 6 x parameters x training tokens."""
    pm, m = a.per_model, a.model.campaign.model
    first = pm.iloc[0]
    unit, plural = first["functional_unit"], {"parameter": "parameters", "training token": "training tokens", "PFLOP": "PFLOP"}[first["functional_unit"]]
    lines = ["", f"Per {unit} (SCI for AI, provider functional unit): the totals of the training campaign / {first['units']:.4g} {plural} ({first['field']})"]
    if first["estimated"]:
        lines.append(f"  {first['note']}: 6 x {m.parameters:.4g} x {m.training_tokens:.4g} = {m.training_flops:.4g} FLOP")
    if m.source:
        lines.append(f"  model size: {m.source}")
    if a.per_unit is not None:
        lines.append("  the serving is not included (the consumer boundary of the SCI for AI: per unit served, above)")
    for r in pm.itertuples():
        lines.append(f"  {r.indicator:<18} {r.value:>14.4g} {r.unit} per {unit}")
    if "p2_5" in pm:
        lines.append("  95 % intervals (Monte Carlo totals / the count):")
        lines += [f"  {r.indicator:<18} [{r.p2_5:.4g}, {r.p97_5:.4g}]" for r in pm.itertuples()]
    return lines


def per_unit_tables(a: Assessment) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The per-unit results for reading (the workbook's sheet `Per unit`, `--format` tables):
    (the deployment: quantity, value, unit; the results: one row per quantity, one column per
    indicator with its unit)."""
    from .campaign.schema import UNIT_PLURALS

    d, pu = a.model.campaign.deployment, a.per_unit
    first, unit = pu.iloc[0], pu["functional_unit"].iloc[0]
    plural = UNIT_PLURALS[unit]
    facts = [
        ("deployment", d.name, ""), ("GPUs", d.gpus, gpu_name(d.gpu)), ("duration", d.hours, "h"), ("functional unit", unit, ""),
        ("units served", first["units_served"], plural), ("how the units were obtained", d.throughput, ""),
        ("training amortised over", first["amortised_over"], plural), ("IT energy of serving", first["serving_it_energy_kwh"], "kWh (before the PUE)"),
        (f"IT energy per {unit}", first["it_energy_kwh_per_unit"] * 1000, "Wh (before the PUE)"),
    ]
    rows = {"serving total": "serving_total", "training total": "training_total", f"serving per {unit}": "serving_per_unit",
            f"serving and training, per {unit}": "amortised_per_unit", f"break-even ({plural})": "break_even_units"}
    rows |= {f"{label}, {p}": f"{column} {q}" for label, column in ((f"serving per {unit}", "serving_per_unit"), (f"serving and training, per {unit}", "amortised_per_unit"))
             for p, q in (("2.5 %", "p2_5"), ("97.5 %", "p97_5")) if f"{column} {q}" in pu}
    results = pd.DataFrame({"quantity": list(rows)} | {f"{r.indicator} ({r.unit})": [r[c] for c in rows.values()] for _, r in pu.iterrows()})
    return pd.DataFrame(facts, columns=["quantity", "value", "unit"]), results


def format_uncertainty(a: Assessment) -> list[str]:
    """Lines of the Monte Carlo part of the text report."""
    mc = a.uncertainty
    lines = ["", f"Uncertainty: Monte Carlo, {mc.iterations} iterations, seed {mc.seed} (exchange and parameter distributions)"]
    first = max(18, *(len(lab) for lab in mc.labels))
    lines.append(f"  {'':<{first}} {'2.5%':>12} {'25%':>12} {'median':>12} {'75%':>12} {'97.5%':>12} {'mean':>12} {'sd':>12}")
    for r in mc.totals_table().itertuples():
        lines.append(f"  {r.indicator:<{first}} {fmt(r.p2_5):>12} {fmt(r.p25):>12} {fmt(r.p50):>12} {fmt(r.p75):>12} {fmt(r.p97_5):>12} {fmt(r.mean):>12} {fmt(r.sd):>12}  {r.unit}")
    for by in ("phase", "stage"):
        t = mc.group_table(by)
        for lab in mc.labels:
            lines.append("")
            lines.append(f"  By {by}, {lab}: median [2.5%, 97.5%]")
            rows = t[t["indicator"] == lab]
            width = max(40, *(len(str(v)) for v in rows[by]))
            for r in rows.itertuples():
                lines.append(f"    {str(getattr(r, by)):<{width}} {fmt(r.p50):>12} [{fmt(r.p2_5)}, {fmt(r.p97_5)}]")
    sens = mc.sensitivity(top=5)
    lines.append("")
    lines.append("  Sensitivity: Spearman rank correlation of each sampled input with the total (share of explained variance)")
    lines.append(f"  (only inputs that can reach an indicator are tested on it; |rho| below the 95 % bound corrected for the inputs tested,")
    lines.append(f"  {noise_threshold(mc.iterations):.3f} for one input and {noise_threshold(mc.iterations, 20):.3f} for 20 at {mc.iterations} iterations, left out as noise)")
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
    fig, axes = plt.subplots(len(labels), 1, figsize=(10, 2.2 + 0.6 * top * len(labels)), squeeze=False)
    for ax, lab in zip(axes[:, 0], labels):
        d = sens[sens["indicator"] == lab].iloc[::-1]
        ax.barh(["\n".join(textwrap.wrap(n, 60)) for n in d["input"]], d["spearman"], color=["#C44E52" if v > 0 else "#4C72B0" for v in d["spearman"]])
        ax.axvline(0, color="black", lw=0.8)
        ax.set_xlim(-1, 1)
        ax.set_title(f"{lab}: Spearman rank correlation with the total", fontsize=10)
        ax.tick_params(labelsize=8)
    n = a.uncertainty.iterations
    fig.suptitle(f"Campaign: {a.campaign} ({n} iterations)\ninputs that reach each indicator; |rho| below the Bonferroni-corrected 95 % bound left out as noise", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.965))
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _thousands(v: float, _pos=None) -> str:
    return f"{v:,.0f}" if abs(v) >= 10 else f"{v:,.3g}"


def headroom(ax, tops: list[float], share: float = 0.1) -> None:
    """Room above the tallest bar or error bar: the y axis runs to `1 + share` times it."""
    highest = max([t for t in tops if t == t] + [0.0])
    if highest > 0:
        ax.set_ylim(min(0.0, ax.get_ylim()[0]), highest * (1 + share))


def _grid(plt, n: int, width: float, height: float):
    """A figure with `n` panels in up to three columns (the extra panels hidden)."""
    ncols = min(3, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows + 0.8), squeeze=False)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat)[:n]


def plot_assessment(a: Assessment, path: Path) -> None:
    """Stacked bars by life-cycle stage, one bar per phase, one panel per indicator in a grid of
    up to three columns; with Monte Carlo results, each phase's 95 % interval as an error bar.
    The format (PNG, SVG, PDF) follows the file's suffix."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = list(a.totals["indicator"])
    units = dict(zip(a.totals["indicator"], a.totals["unit"]))
    phases = list(a.phases["phase"])
    colors = ["#4C72B0", "#55A868", "#8172B2", "#DD8452", "#64B5CD"]
    fig, axes = _grid(plt, len(labels), max(4.5, 0.55 * len(phases) + 2), 4.8)
    bands = a.uncertainty.group_table("phase").set_index(["indicator", "phase"]) if a.uncertainty is not None else None
    for ax, lab in zip(axes, labels):
        data = a.breakdown[a.breakdown["indicator"] == lab].pivot_table(index="phase", columns="stage", values="value", aggfunc="sum").reindex(index=phases, columns=list(STAGES)).fillna(0.0)
        bottom = [0.0] * len(phases)
        for stage, color in zip(STAGES, colors):
            values = data[stage].tolist()
            ax.bar(range(len(phases)), values, bottom=bottom, color=color, label=stage, width=0.7)
            bottom = [b + v for b, v in zip(bottom, values)]
        top = list(bottom)
        if bands is not None:
            lo = [float(bands.loc[(lab, p), "p2_5"]) for p in phases]
            hi = [float(bands.loc[(lab, p), "p97_5"]) for p in phases]
            ax.errorbar(range(len(phases)), bottom, yerr=[[max(b - x, 0) for b, x in zip(bottom, lo)], [max(x - b, 0) for b, x in zip(bottom, hi)]], fmt="none", ecolor="black", capsize=3, lw=0.8)
            top = [max(t, h) for t, h in zip(top, hi)]
        _style_panel(ax, top, f"{lab} ({units[lab]})", phases)
    note = f"; error bars: 95 % interval of {a.uncertainty.iterations} iterations" if a.uncertainty is not None else ""
    _finish(plt, fig, axes[0], f"Campaign {a.campaign}: impacts by phase and life-cycle stage{note}", path)


def _style_panel(ax, tops: list[float], title: str, names: list[str]) -> None:
    """One bar panel: headroom above the bars, title, slanted names, thousands on the y axis."""
    from matplotlib.ticker import FuncFormatter

    headroom(ax, tops)
    ax.set_title(title, fontsize=10)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=35, ha="right", fontsize=8)
    ax.yaxis.set_major_formatter(FuncFormatter(_thousands))
    ax.tick_params(axis="y", labelsize=8)
    ax.grid(axis="y", alpha=0.3)


def plot_months(a: Assessment, path: Path) -> None:
    """Bars of each indicator by month of the dated phases (and `undated`), one panel per
    indicator; hatched bars: months on the annual mix."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = list(a.totals["indicator"])
    units = dict(zip(a.totals["indicator"], a.totals["unit"]))
    months = list(a.months["month"])
    annual = [not str(b).startswith("monthly") for b in a.months["electricity"]]
    fig, axes = _grid(plt, len(labels), max(4.5, 0.45 * len(months) + 2), 4.4)
    for ax, lab in zip(axes, labels):
        values = a.months[lab].tolist()
        bars = ax.bar(range(len(months)), values, color="#4C72B0", width=0.7)
        seen = set()
        for bar, hatched in zip(bars, annual):
            if hatched:
                bar.set_hatch("//"), bar.set_facecolor("#A9BCD9")
            label = "annual mix" if hatched else "monthly mix"
            bar.set_label(label if label not in seen else "_nolegend_")
            seen.add(label)
        _style_panel(ax, values, f"{lab} ({units[lab]})", months)
    _finish(plt, fig, axes[0], f"Campaign {a.campaign}: impacts by month\n(hatched: months on the annual mix)", path)


def _finish(plt, fig, first_ax, title: str, path: Path) -> None:
    """The stage legend under the panels, the title, and the file (format from its suffix)."""
    handles, names = first_ax.get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0.08, 1, 0.96))
    fig.savefig(path, dpi=130)
    plt.close(fig)


def plot_comparison(c, path: Path) -> None:
    """Stacked bars by life-cycle stage, one bar per campaign, one panel per indicator in a grid
    of up to three columns, with the 95 % interval of each total when iterations were run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    indicators = list(dict.fromkeys(c.table["indicator"]))
    fig, axes = _grid(plt, len(indicators), 4.2, 4.2)
    colors = ["#4C72B0", "#55A868", "#8172B2", "#DD8452", "#64B5CD"]
    x = range(len(c.labels))
    for ax, ind in zip(axes, indicators):
        rows = c.table[c.table["indicator"] == ind].set_index("item")
        bottom = [0.0] * len(c.labels)
        for stage, color in zip(STAGES, colors):
            values = [float(rows.loc[stage, label]) for label in c.labels]
            ax.bar(x, values, bottom=bottom, color=color, label=stage, width=0.6)
            bottom = [b + v for b, v in zip(bottom, values)]
        top = list(bottom)
        if c.intervals is not None:
            iv = c.intervals[c.intervals["indicator"] == ind].set_index("campaign").reindex(c.labels)
            total = [float(rows.loc["total", label]) for label in c.labels]
            ax.errorbar(x, total, yerr=[[t - lo for t, lo in zip(total, iv["p2_5"])], [hi - t for t, hi in zip(total, iv["p97_5"])]], fmt="none", ecolor="black", capsize=4, lw=1)
            top = [max(t, float(h)) for t, h in zip(top, iv["p97_5"])]
        headroom(ax, top)
        ax.set_title(f"{ind} ({rows['unit'].iloc[0]})", fontsize=10)
        ax.set_xticks(list(x))
        ax.set_xticklabels(c.labels, rotation=20, ha="right", fontsize=8)
        ax.yaxis.set_major_formatter(FuncFormatter(_thousands))
        ax.grid(axis="y", alpha=0.3)
    note = f"; bars: 95 % interval of {c.iterations} paired iterations" if c.intervals is not None else ""
    _finish(plt, fig, axes[0], f"Campaigns compared by life-cycle stage{note}", path)


def _short_labels(labels: list[str]) -> list[str]:
    """Labels without the words they all start with (a sweep's campaign name)."""
    words = [str(x).split(" ") for x in labels]
    n = 0
    while len(words) > 1 and all(len(w) > n + 1 and w[n] == words[0][n] for w in words):
        n += 1
    return [" ".join(w[n:])[:40] for w in words]


def plot_rows(table: pd.DataFrame, units: dict[str, str], path: Path, title: str, top: int = 15) -> None:
    """Horizontal bars of the rows of `table` (a `label` column, one column per indicator of
    `units`): per indicator, the `top` largest rows and the sum of the others, largest on top,
    each with its value; panels in up to three columns."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    names = [n for n in units if n in table.columns]
    table = table.assign(label=_short_labels(list(table["label"])))
    shown = min(top, len(table)) + (len(table) > top)
    fig, axes = _grid(plt, len(names), 5.2, 1.0 + 0.3 * shown)
    for ax, name in zip(axes, names):
        d = table.sort_values(name, ascending=False)
        labels, values = list(d["label"].head(top)), d[name].head(top).tolist()
        if len(d) > top:
            labels.append(f"{len(d) - top} others")
            values.append(float(d[name].iloc[top:].sum()))
        y = list(range(len(values)))[::-1]
        ax.barh(y, values, color=["#4C72B0"] * min(top, len(d)) + ["#A9BCD9"] * (len(d) > top))
        for yi, v in zip(y, values):
            ax.text(v, yi, f" {_thousands(v)}", va="center", fontsize=7)
        ax.set_yticks(y)
        ax.set_yticklabels(labels, fontsize=8)
        ax.set_xlim(0, max(values + [0]) * 1.25 or 1)
        ax.set_title(f"{name} ({units[name]}), total {_thousands(float(d[name].sum()))}", fontsize=9)
        ax.xaxis.set_major_formatter(FuncFormatter(_thousands))
        ax.tick_params(axis="x", labelsize=7)
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    fig.savefig(path, dpi=130)
    plt.close(fig)
