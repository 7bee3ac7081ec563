"""Assess a training campaign: the campaign, every phase and every life-cycle stage on any number
of indicators, in one transposed solve (`bw_aicompute.solver`); results as DataFrames, with
text, JSON, Excel and plots."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ._resources import atomic_write, output_path, write_json
from . import solver
from .campaign import STAGES, Campaign, CampaignModel, read_campaign, write_campaign
from .linking import BACKGROUNDS, foreground_for
from .errors import AicomputeError
from .lca import method_for, node_ids, static_matrices
from .methods import DEFAULT_INDICATORS
from .locking import writer_lock
from .setup import setup_project
from .solver import Deltas, build_system
from .uncertainty import MonteCarlo, run, run_parallel


Resolved = list[tuple[str, tuple[str, ...]]]  # (label, method tuple)


@dataclass
class Assessment:
    """Results of a campaign.

    Attributes
    ----------
    campaign, database : str
        The campaign's name and its Brightway database.
    totals : DataFrame
        indicator, value, unit, method: the campaign's scores.
    breakdown : DataFrame
        phase, stage, indicator, value, unit: adds up to the totals.
    phases : DataFrame
        phase, kind, gpu, gpu_hours, gpu_time_share, it_energy_kwh (kWh), energy_measured.
    model : CampaignModel
        The campaign as written.
    uncertainty : MonteCarlo or None
        Monte Carlo results when iterations were run.
    market_based : DataFrame or None
        With an electricity contract: indicator, value (market-based), unit, location_based,
        contract (see `market_based`); the location-based `totals` are never replaced.
    per_unit : DataFrame or None
        With a deployment: every indicator per functional unit, serving alone and with the
        training amortised, and the break-even (see `per_unit`).
    per_model : DataFrame or None
        With `--per parameter`, `training token` or `PFLOP`: every indicator of the training
        campaign per provider functional unit of the SCI for AI (see `per_model_unit`).
    """

    campaign: str
    database: str
    totals: pd.DataFrame
    breakdown: pd.DataFrame
    phases: pd.DataFrame
    model: CampaignModel = field(repr=False)
    uncertainty: MonteCarlo | None = None
    market_based: pd.DataFrame | None = None
    per_unit: pd.DataFrame | None = None
    per_model: pd.DataFrame | None = None
    months: pd.DataFrame | None = None
    timex: Any = None  # bw_aicompute.timex.TimexResult with --timex

    def to_dict(self) -> dict:
        """The results as the JSON document of `aicompute assess --json`."""
        return {
            "campaign": self.campaign,
            "resolved": list(self.model.campaign.resolved),
            "totals": {r.indicator: {"value": r.value, "unit": r.unit, "method": list(r.method)} for r in self.totals.itertuples()},
            "rows": [
                {"phase": r.phase, "stage": r.stage, "indicator": r.indicator, "value": r.value, "unit": r.unit}
                for r in self.breakdown.itertuples()
            ],
            "phases": self.phases.to_dict(orient="records"),
            **({"per_unit": self.per_unit.to_dict(orient="records")} if self.per_unit is not None else {}),
            **({"per_model_unit": self.per_model.to_dict(orient="records")} if self.per_model is not None else {}),
            **({"months": self.months.to_dict(orient="records")} if self.months is not None else {}),
            **({"hourly": [{"phase": pm.phase.name, **pm.hourly} for pm in self.model.phases if pm.hourly]} if any(pm.hourly for pm in self.model.phases) else {}),
            **({"timex": self.timex.to_dict()} if self.timex is not None else {}),
            "water_scarcity_place": water_place(self.model.campaign.site.country),
            **({"totals_market_based": {r.indicator: {"value": r.value, "unit": r.unit, "contract": r.contract} for r in self.market_based.itertuples()}} if self.market_based is not None else {}),
            **({"uncertainty": self.uncertainty.to_dict()} if self.uncertainty is not None else {}),
        }

    def to_json(self, path: str | Path) -> None:
        """Write `to_dict()` as JSON."""
        write_json(output_path(path), self.to_dict())

    def to_excel(self, path: str | Path) -> None:
        """Write the results workbook (see `bw_aicompute.excel.results`)."""
        from .excel.results import write_assessment

        atomic_write(output_path(path), lambda tmp: write_assessment(self, tmp))

    def to_olca(self, path: str | Path) -> dict[str, int]:
        """Write the campaign with its supply chain in bw_aicompute's databases (the campaign, its
        foreground, the open background) as an openLCA JSON-LD package (see `bw_aicompute.olca`).
        With an ecoinvent background, the ecoinvent providers are referenced, not exported."""
        from .olca import export_olca

        # the foreground first: its parameters are the originals of the campaign's copies
        return export_olca(output_path(path), [self.model.foreground, "aicompute-background", self.database])

    def plot(self, path: str | Path, by: str = "phase") -> None:
        """Write stacked bars by stage, one bar per phase, one panel per indicator (PNG); with
        `by="month"`, bars by month of the dated phases."""
        from .report import plot_assessment, plot_months

        if by == "month" and self.months is None:
            raise AicomputeError("no phase has dates (start and end): nothing to show by month")
        atomic_write(output_path(path), lambda tmp: (plot_months if by == "month" else plot_assessment)(self, tmp))

    def by_phase(self) -> pd.DataFrame:
        """Scores by phase (rows) and indicator (columns)."""
        return self.breakdown.pivot_table(index="phase", columns="indicator", values="value", aggfunc="sum", sort=False)

    def by_stage(self) -> pd.DataFrame:
        """Scores by life-cycle stage (rows) and indicator (columns)."""
        return self.breakdown.pivot_table(index="stage", columns="indicator", values="value", aggfunc="sum", sort=False)

    def tables(self, style: str = "markdown") -> str:
        """The report's tables as GitHub markdown or CSV (`aicompute assess --format`): totals,
        by phase and by stage with the units in the headers, market-based totals and Monte Carlo
        totals when there are any."""
        from .catalog import formatted

        units = dict(zip(self.totals["indicator"], self.totals["unit"]))
        named = {k: f"{k} ({u})" for k, u in units.items()}
        parts = [("Totals", self.totals.assign(method=self.totals["method"].map(" | ".join)))]
        parts.append(("By phase", self.by_phase().reindex(self.phases["phase"]).rename(columns=named).reset_index()))
        parts.append(("By life-cycle stage", self.by_stage().reindex(list(STAGES)).rename(columns=named).reset_index()))
        if self.months is not None:
            parts.append(("By month", self.months))
        if self.market_based is not None:
            parts.append(("Market-based totals", self.market_based))
        if self.per_unit is not None:
            from .report import per_unit_tables

            facts, results = per_unit_tables(self)
            parts += [("Per functional unit", results), ("Deployment", facts)]
        if self.per_model is not None:
            parts.append((f"Per {self.per_model['functional_unit'].iloc[0]} (SCI for AI, training campaign)", self.per_model))
        if self.uncertainty is not None:
            parts.append(("Monte Carlo totals", self.uncertainty.totals_table()))
        return "\n\n".join((f"## {title}\n\n" if style == "markdown" else f"# {title}\n") + formatted(df, style) for title, df in parts)

    def summary(self) -> str:
        """The text report printed by `aicompute assess`."""
        from .report import format_summary

        return format_summary(self)

    def plot_sensitivity(self, path: str | Path) -> None:
        """Write bars of the Spearman rank correlations of the inputs that drive each indicator."""
        from .report import plot_sensitivity

        if self.uncertainty is None:
            raise AicomputeError("no Monte Carlo results: assess with iterations > 0")
        atomic_write(output_path(path), lambda tmp: plot_sensitivity(self, tmp))


def preflight(project: str, methods: list | tuple, background: str, ecoinvent_database: str | None) -> None:
    """Check the methods and the background before the project is created or written: a method
    must be installed or one that setup installs; `ecoinvent` needs a linked foreground."""
    from .methods import custom_methods, find_method, standard_method_names
    from .project import brightway, use_project

    bd = brightway()
    exists = bool(project and project.strip()) and project in bd.projects
    if exists:
        use_project(bd, project)
    setup_installs = set(standard_method_names()) | {m.name for m in custom_methods()}
    for m in methods:
        m = tuple(m)
        if m in setup_installs or (exists and find_method(m, bd.methods)):
            continue
        if exists:
            method_for(m)  # the error names the closest installed methods
        raise AicomputeError(f"method {' | '.join(m)!r} is not one that aicompute setup installs, and project {project!r} does not exist yet")
    if background != "open":
        if not exists:
            command = "link-uslci --source FOLDER" if background == "uslci" else "link-ecoinvent --database NAME"
            raise AicomputeError(f"project {project!r} does not exist, so no foreground is linked to {background}; run: aicompute {command}")
        foreground_for(background, ecoinvent_database)


def _check_options(iterations: int, processes: int, background: str) -> None:
    if iterations < 0:
        raise AicomputeError(f"iterations must be zero or more, got {iterations}")
    if processes < 1:
        raise AicomputeError(f"processes must be at least 1, got {processes}")
    if background not in BACKGROUNDS:
        raise AicomputeError(f"background must be one of {', '.join(map(repr, BACKGROUNDS))}, not {background!r}")


def _campaign(campaign: Campaign | str | Path, iterations: int, processes: int, background: str, dask: str | None, per: str | None = None, timex: bool = False) -> Campaign:
    """The validated campaign (read before anything is written) after the options are checked;
    workers read its file."""
    _check_options(iterations, processes, background)
    if timex and background != "open":
        raise AicomputeError(f"--timex works on the open background: a linked {background} has no date for bw_timex (see docs/timex.md)")
    campaign = campaign if isinstance(campaign, Campaign) else read_campaign(campaign)
    if iterations and (processes > 1 or dask) and campaign.path is None:
        raise AicomputeError("several processes or a Dask cluster need a campaign file")
    check_per(campaign, per)
    return campaign


def resolve_all(indicators: list[str] | tuple[str, ...], methods: list | tuple) -> Resolved:
    """(label, installed method) of the indicators, then of the method tuples; at least one."""
    resolved = [method_for(i) for i in indicators] + [method_for(tuple(m)) for m in methods]
    if not resolved:
        raise AicomputeError("no indicator or method to assess")
    return resolved


@contextmanager
def collection_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while a campaign is read, written and solved:
    the 10,000-phase file's hundreds of thousands of objects otherwise set off full collections
    over everything the process holds (bw2data's, pandas'), 1 to 2 s of a 5 s assess. Nothing
    is lost: cycles made meanwhile are collected when it resumes (if it was on)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


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
    progress: bool = False,
    dask: str | None = None,
    replace: bool = False,
    per: str | None = None,
    timex: bool = False,
    formulas: bool = True,
) -> Assessment:
    """Validate, write and solve a campaign in a Brightway project (set up first if needed).

    Parameters
    ----------
    campaign : Campaign, str or Path
        A campaign file (YAML or Excel) or a validated `Campaign`. One of the same name written
        from another file is refused unless `replace`.
    indicators : list of str
        Indicator names of `methods/indicators.yaml` (`climate`, `water`, `adp_minerals`...).
    methods, project : list of tuple, str
        Installed Brightway methods, in addition; the project (in `BRIGHTWAY2_DIR` when set).
    background : {'open', 'ecoinvent', 'uslci'}
        Assess against the open background, or the foreground linked to ecoinvent by
        `link_ecoinvent` (`ecoinvent_database` chooses among several) or to USLCI by `link_uslci`.
    iterations, seed, processes : int
        Monte Carlo iterations over exchange and parameter distributions (0: none); the same
        seed gives the same numbers, in this process, in `processes` worker processes or on a
        Dask cluster (`dask`: a scheduler address or `local`; see `bw_aicompute.cluster`).
    progress, dask, replace, per, timex, formulas : optional
        A progress bar (tqdm, on stderr); `per`: with a deployment, the functional unit of the
        per-unit results (`check_per`); `timex`: also the time-explicit LCA of the climate
        indicator with bw_timex (`bw_aicompute.timex`); `formulas=False` writes the exchanges as
        numbers only (`write_campaign`), without the parameter distributions.

    Returns
    -------
    Assessment
        Totals, breakdown by phase and stage, phases (GPU-hours, IT energy in kWh) and Monte
        Carlo results, in the methods' units (kg CO2-eq for `climate`).
    """
    with collection_paused():
        campaign = _campaign(campaign, iterations, processes, background, dask, per, timex)
        preflight(project, methods, background, ecoinvent_database)
        with writer_lock(f"project {project!r}"):
            report = setup_project(project, progress=progress)
            resolved = resolve_all(indicators, methods)
            model = write_campaign(campaign, report.biosphere, foreground=foreground_for(background, ecoinvent_database), replace=replace, formulas=formulas)
        result = solve(model, resolved, per)
    if iterations:
        _uncertainty(result, resolved, project, background, iterations, seed, processes, progress, dask)
    if timex:
        _timex(result, project)
    return result


def _timex(result: Assessment, project: str) -> None:
    """The time-explicit LCA of the climate indicator (`bw_aicompute.timex`)."""
    from .timex import run_timex

    with writer_lock(f"project {project!r}"):
        result.timex = run_timex(result.model, method_for("climate")[1])


def _uncertainty(result: Assessment, resolved: Resolved, project: str, background: str, iterations: int, seed: int, processes: int, progress: bool, dask: str | None) -> None:
    """The Monte Carlo of the campaign, and of the per-unit results when it has a deployment."""
    result.uncertainty = _monte_carlo(result.model, resolved, project, background, iterations, seed, processes, progress, dask)
    if result.model.serving:
        per_unit_uncertainty(result, resolved, iterations, seed)
    if result.per_model is not None:  # a constant divisor: the percentiles of the totals, divided
        stats = result.uncertainty.totals_table().set_index("indicator")
        for q in ("p2_5", "p97_5"):
            result.per_model[q] = [stats.loc[i, q] / n for i, n in zip(result.per_model["indicator"], result.per_model["units"])]


def _monte_carlo(model: CampaignModel, resolved: Resolved, project: str, background: str, iterations: int, seed: int, processes: int, progress: bool, dask: str | None) -> MonteCarlo:
    """Monte Carlo of a written campaign: in this process, split over worker processes, or on a
    Dask cluster."""
    path = str(model.campaign.path)
    if dask:
        from .cluster import monte_carlo_on_cluster

        return monte_carlo_on_cluster(dask, project, path, resolved, iterations, seed, background)
    if processes == 1:
        return run(model, resolved, iterations, seed, progress=progress)
    return run_parallel(project, path, resolved, iterations, seed, processes, background)


def phase_table(model: CampaignModel) -> pd.DataFrame:
    """GPU time and IT energy of the phases of a written campaign."""
    total_gh = sum(pm.gpu_hours for pm in model.phases) or 1.0
    rows = []
    for pm in model.phases:
        p = pm.phase
        measured = p.energy_kwh is not None or p.measured_gpu_kwh is not None
        rows.append({"phase": p.name, "kind": p.kind, "gpu": p.gpu, "gpu_hours": pm.gpu_hours, "gpu_time_share": pm.gpu_hours / total_gh, "it_energy_kwh": pm.it_energy_kwh, "energy_measured": measured})
    return pd.DataFrame(rows)


def solve(model: CampaignModel, resolved: Resolved, per: str | None = None) -> Assessment:
    """Solve a written campaign on the resolved methods ((label, method) pairs): the total and
    every phase x stage share with one transposed system (`bw_aicompute.solver`); with a
    deployment, the results per functional unit `per` (default: the deployment's)."""
    import bw2data as bd

    methods = list(dict.fromkeys(m for _, m in resolved))
    ids = node_ids([model.key, *(pm.key for pm in model.phases)])
    lca, characterization = static_matrices(ids[model.key], methods)
    system = build_system(lca, characterization, ids[model.key], [ids[pm.key] for pm in model.phases])
    totals_, shares = solver.solve(system, Deltas.none(1), Deltas.none(1))
    column = {m: k for k, m in enumerate(methods)}
    share = {(i, stage): part[0] for i, stage, part in shares}
    units = {m: bd.methods[m].get("unit", "") for m in methods}
    totals = pd.DataFrame([{"indicator": label, "value": float(totals_[0, column[m]]), "unit": units[m], "method": m} for label, m in resolved])
    rows = []
    for i, pm in enumerate(model.phases):
        for stage in STAGES:
            part = share.get((i, stage))
            for label, m in resolved:
                value = 0.0 if part is None else float(part[column[m]])
                rows.append({"phase": pm.phase.name, "stage": stage, "indicator": label, "value": value, "unit": units[m]})
    breakdown = pd.DataFrame(rows)
    a = Assessment(campaign=model.campaign.name, database=model.database, totals=totals, breakdown=breakdown, phases=phase_table(model), model=model)
    a.market_based = market_based(a, solver.stage_amounts(system, "electricity")) if model.campaign.site.contract else None
    from .campaign.schema import MODEL_UNITS

    a.per_unit = per_unit(a, None if per in MODEL_UNITS else per) if model.serving else None
    a.per_model = per_model_unit(a, per) if per in MODEL_UNITS else None
    a.months = month_table(model, resolved)
    return a


def water_place(location: str) -> dict:
    """The AWARE 2.0 factor applied to the site's (and its grid's) water, for the JSON."""
    from .water import places, world_cf

    p = places().get(location)
    if p is None:
        return {"location": location, "cf": world_cf(), "aware_location": "GLO", "note": "FALLBACK: no factor for this place, the world factor"}
    return {"location": location, "cf": p.cf, "aware_location": p.aware, "note": p.note, "world_cf": world_cf()}


def month_table(model: CampaignModel, resolved: Resolved) -> pd.DataFrame | None:
    """Scores by month of the dated phases (their months' activities) and, in a row
    `undated`, of the others; which mix each month's electricity is (`electricity`). The rows
    add up to the totals. None when no phase is dated."""
    from .campaign.dates import month_basis
    from .campaign.write import annual_label
    from .lca import multi_scores

    if not any(pm.months for pm in model.phases):
        return None
    keys = {m: [k for pm in model.phases for mm, k in pm.months.items() if mm == m] for m in sorted({m for pm in model.phases for m in pm.months})}
    undated = [pm.key for pm in model.phases if not pm.months]
    if undated:
        keys["undated"] = undated
    ids = node_ids([k for ks in keys.values() for k in ks])
    methods = list(dict.fromkeys(m for _, m in resolved))
    scores = multi_scores({m: {ids[k]: 1.0 for k in ks} for m, ks in keys.items()}, methods)
    mix = model.campaign.site.monthly_mix
    rows = []
    for m in keys:
        row = {"month": m, "electricity": month_basis(mix, m, annual_label(model.campaign, m, model.foreground)) if m != "undated" else "annual mix (phases without dates)"}
        row.update({label: scores[(tuple(method), m)] for label, method in resolved})
        rows.append(row)
    return pd.DataFrame(rows)


def per_unit_uncertainty(a: Assessment, resolved: Resolved, iterations: int, seed: int) -> None:
    """Add the 2.5 and 97.5 percentiles of the per-unit results to `a.per_unit`: the training
    and the serving totals from the same draws of every shared input (paired), per unit served."""
    import numpy as np

    from .uncertainty import paired_totals

    m, pu = a.model, a.per_unit
    serving = CampaignModel(campaign=m.campaign, database=m.database, key=m.serving.key, phases=[], foreground=m.foreground)
    draws = paired_totals([m, serving], resolved, iterations, seed)  # (iterations, 2, indicators)
    each, amortised = serving_and_amortised(draws[:, 1, :], draws[:, 0, :], float(pu["units_served"].iloc[0]), float(pu["amortised_over"].iloc[0]))
    for name, values in (("serving_per_unit", each), ("amortised_per_unit", amortised)):
        low, high = np.percentile(values, [2.5, 97.5], axis=0)
        pu[f"{name} p2_5"], pu[f"{name} p97_5"] = low, high


def serving_and_amortised(serving: Any, training: Any, units: float, over: float) -> tuple[Any, Any]:
    """(serving per unit, serving and training per unit): `serving / units` and that plus
    `training / over` (the training amortised over `over` units); numbers or arrays of draws."""
    each = serving / units
    return each, each + training / over


def check_per(campaign: Campaign, per: str | None) -> str | None:
    """The functional unit results are given per: `per`, which the campaign's deployment must
    declare (serve), or the deployment's own `unit`; None without a deployment. A provider
    functional unit of the SCI for AI (`parameter`, `training token`, `PFLOP`: `check_model_unit`)
    needs no deployment."""
    from .campaign.schema import MODEL_UNITS

    if per in MODEL_UNITS:
        return check_model_unit(campaign, per)
    d = campaign.deployment
    if d is None:
        if per:
            raise AicomputeError(f"{campaign.path or campaign.name}: --per {per!r} needs a deployment (a `deployment:` section, or a serving file)")
        return None
    if per is None:
        return d.unit
    if per not in d.served:
        from .campaign.schema import UNITS

        known = f"; functional units: {', '.join(UNITS)}" if per not in UNITS else ""
        raise AicomputeError(f"{campaign.path or campaign.name}: deployment {d.name!r} declares {', '.join(d.served)}, not {per!r}{known}")
    return per


def check_model_unit(campaign: Campaign, unit: str) -> str:
    """`unit`, a provider functional unit of the SCI for AI (`schema.MODEL_UNITS`), when the
    campaign's `model:` gives the count it divides by; else an error naming the field to add
    (before anything is written)."""
    from .campaign.schema import MODEL_UNITS

    key = MODEL_UNITS[unit][0]
    if campaign.model is None or getattr(campaign.model, key) is None:
        hint = " (or model.parameters and model.training_tokens, for the estimate 6 x parameters x training tokens)" if key == "training_flops" else ""
        example = {"parameters": "176B", "training_tokens": "366B tokens", "training_flops": "3.9e23 FLOP"}[key]
        raise AicomputeError(f"{campaign.path or campaign.name}: --per {unit!r} needs field 'model.{key}': add it to the campaign file (`model: {{{key}: {example}}}`){hint}")
    return unit


#: What the provider functional units divide: the training campaign, without the serving.
PROVIDER_BOUNDARY = "the training campaign (the SCI for AI provider boundary; serving, the consumer boundary, is not included)"
#: The note of training FLOP estimated from the parameters and the training tokens.
FLOPS_ESTIMATE = "ESTIMATE: training FLOP = 6 x parameters x training tokens (Kaplan et al. 2020; Hoffmann et al. 2022), not given in model.training_flops"


def per_model_unit(a: Assessment, unit: str) -> pd.DataFrame:
    """Every indicator of the training campaign per provider functional unit of the Green
    Software Foundation's SCI for AI (SPEC.md 8.2, github.com/Green-Software-Foundation/sci-ai:
    SCI = C / R, C the provider boundary's footprint, R per parameter, per training token or per
    FLOP): the totals divided by the count of `model:` (a PFLOP is 1e15 FLOP). Every indicator
    is divided, not only the carbon of the SCI. With a deployment the totals are still the
    training's: the serving is the consumer boundary (SPEC.md 6.1), given per request or per
    1,000 tokens by `per_unit`.

    Parameters
    ----------
    a : Assessment
        Of a campaign whose `model:` gives the count (`check_model_unit`).
    unit : {'parameter', 'training token', 'PFLOP'}
        The functional unit.

    Returns
    -------
    DataFrame
        indicator, unit (of the method; the value is that unit per functional unit),
        functional_unit, units (parameters, training tokens or PFLOP), field (the `model:`
        field counted), estimated (True for FLOP estimated as 6 N D), boundary, note (the
        estimate, or ''), total (the training campaign's), value (total / units).
    """
    from .campaign.schema import MODEL_UNITS

    m = a.model.campaign.model
    key, size = MODEL_UNITS[check_model_unit(a.model.campaign, unit)]
    count = getattr(m, key) / size
    estimated = key == "training_flops" and m.flops_estimated
    return pd.DataFrame([{
        "indicator": r.indicator, "unit": r.unit, "functional_unit": unit, "units": count, "field": f"model.{key}",
        "estimated": estimated, "boundary": PROVIDER_BOUNDARY, "note": FLOPS_ESTIMATE if estimated else "",
        "total": r.value, "value": r.value / count,
    } for r in a.totals.itertuples()])


def per_unit(a: Assessment, unit: str | None = None) -> pd.DataFrame:
    """Every indicator per functional unit of the deployment (a request, 1,000 tokens, an hour
    of audio, an image): serving alone, and with the training campaign amortised over
    `amortise_over` units (default: the units served); and the break-even, the number of units
    after which serving's footprint exceeds training's.

    Parameters
    ----------
    a : Assessment
        Of a campaign with a `deployment:`.
    unit : str, optional
        One of the units the deployment serves (`check_per`); default its `unit`.

    Returns
    -------
    DataFrame
        indicator, unit (of the method, per functional unit), functional_unit, units_served,
        amortised_over, serving_it_energy_kwh, it_energy_kwh_per_unit (IT energy of serving,
        kWh, without the PUE), serving_total, training_total, serving_per_unit,
        amortised_per_unit, break_even_units.
    """
    from .lca import score_keys

    d = a.model.campaign.deployment
    unit = check_per(a.model.campaign, unit)
    serving = score_keys([a.model.serving.key], list(a.totals["method"]))[0]
    units, over = d.served[unit], d.amortise_over(unit)
    rows = []
    for r, s in zip(a.totals.itertuples(), serving):
        each, amortised = serving_and_amortised(s, r.value, units, over)
        rows.append({
            "indicator": r.indicator, "unit": r.unit, "functional_unit": unit, "units_served": units, "amortised_over": over,
            "serving_it_energy_kwh": a.model.serving.it_energy_kwh, "it_energy_kwh_per_unit": a.model.serving.it_energy_kwh / units,
            "serving_total": s, "training_total": r.value, "serving_per_unit": each,
            "amortised_per_unit": amortised, "break_even_units": r.value / each if each else float("inf"),
        })
    return pd.DataFrame(rows)


def market_based(a: Assessment, grid_kwh: float) -> pd.DataFrame:
    """The market-based totals of a campaign with an electricity contract (GHG Protocol Scope 2
    Guidance, 2015, chapter 6): the contracted share of the grid electricity is scored with the
    contract's generation technology instead of the grid. PROXY: no residual mix is available,
    so the uncovered share keeps the location-based grid (which counts the contracted
    generation twice; the Guidance asks for a residual mix).

    Parameters
    ----------
    a : Assessment
        The location-based result.
    grid_kwh : float
        kWh drawn from the grid by the campaign (`solver.stage_amounts(system, 'electricity')`).
    """
    from .campaign.write import CONTRACT_CODE
    from .lca import score_keys

    c = a.model.campaign.site.contract
    per_kwh = score_keys([(a.model.database, CONTRACT_CODE)], list(a.totals["method"]))[0]
    stage = a.by_stage()
    rows = []
    for r, tech in zip(a.totals.itertuples(), per_kwh):
        electricity = float(stage.loc["electricity", r.indicator]) if "electricity" in stage.index else 0.0
        value = r.value - c.share * electricity + c.share * grid_kwh * tech
        rows.append({"indicator": r.indicator, "value": value, "unit": r.unit, "location_based": r.value, "contract": f"{'PPA' if c.type == 'ppa' else 'certificates'}, {c.technology}, {c.share:.0%} of {grid_kwh:,.0f} kWh drawn from the grid; {c.source}"})
    return pd.DataFrame(rows)
