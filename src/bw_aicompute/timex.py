"""Time-explicit LCA of a campaign with bw_timex: each emission at its date, climate
characterised dynamically.

The campaign's database is copied into `aicompute-timex-<campaign>` with temporal distributions
(bw_temporalis) on its exchanges, the rest of the supply chain is used as it is:

* the electricity and GPU time of a phase happen in its months (`start`, `end`; share of the
  hours in each month, at the month's middle), an undated phase at the campaign's start;
* the hardware a GPU-hour uses (card, server, network, storage, building share) was made before
  it is used: its manufacture is spread evenly over the `lifetime` years before the use (the
  cluster's hardware of every age in its service life, one point per year).

bw_timex then builds the timeline (its graph traversal), relinks to the background of the
nearest date (one background here, dated 1 January of the grid's year: the static score is the
ordinary LCA score) and characterises the dated inventory with dynamic_characterization
(radiative forcing, and GWP over a horizon fixed at the campaign's start).

References: Müller et al., bw_timex (Brightway), https://docs.brightway.dev/projects/bw-timex;
IPCC AR6 WG1 ch. 7 (radiative efficiencies and lifetimes used by dynamic_characterization).
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .campaign import CampaignModel
from .errors import AicomputeError
from .ownership import refuse_foreign, write_owned

TIMEX_DB_PREFIX = "aicompute-timex-"
#: The GPU-hour's inputs that are hardware made before its use.
HARDWARE = ("gpu-card-", "server-", "network-switch", "storage-tb-year", "datacenter-infrastructure-kw-year")
DAY = 86400.0


@dataclass
class TimexResult:
    """A time-explicit LCA: its start, the static and dynamic scores, and the dated climate
    inventory by year."""

    start: dt.datetime
    start_basis: str  # how the start was chosen
    background_date: dt.datetime
    base_score: float  # kg CO2-eq, the ordinary LCA
    static_score: float  # kg CO2-eq, time-explicit inventory, static factors
    dynamic_gwp: float  # kg CO2-eq, GWP100 with the horizon fixed at the start
    radiative_forcing: float  # W m-2, summed over the yearly values of 100 years
    by_year: pd.DataFrame  # year of the emissions, kg CO2-eq at static factors
    seconds: float

    def to_dict(self) -> dict:
        """The result as the `timex` part of the JSON."""
        return {
            "start": self.start.isoformat(), "start_basis": self.start_basis, "background_date": self.background_date.isoformat(),
            "base_score_kg_co2e": self.base_score, "static_score_kg_co2e": self.static_score,
            "dynamic_gwp100_fixed_horizon_kg_co2e": self.dynamic_gwp, "radiative_forcing_w_m2_summed": self.radiative_forcing,
            "by_year": self.by_year.to_dict(orient="records"), "seconds": self.seconds,
        }


def _td(days: list[float], amounts: list[float]):
    from bw_temporalis import TemporalDistribution

    return TemporalDistribution(date=np.array([round(d) for d in days], dtype="timedelta64[D]"), amount=np.array(amounts, dtype=float))


def campaign_start(model: CampaignModel) -> dt.datetime:
    """The first day of the first month of the dated phases; without dates, 1 January of the
    year of the grid's mix."""
    months = sorted(m for pm in model.phases for m in pm.months)
    if months:
        return dt.datetime.strptime(months[0], "%Y-%m")
    return dt.datetime(model.campaign.site.grid_year or grid_year(model), 1, 1)


def grid_year(model: CampaignModel) -> int:
    """The year of the site's (latest) annual mix."""
    from .inventory import tables

    row = next((r for r in tables()["grid_countries"] if r["iso2"] == model.campaign.site.country), None)
    return int(row["year"]) if row else 2023


def _month_offset(start: dt.datetime, month: str) -> float:
    """Days from `start` to the middle of `month` (YYYY-MM)."""
    first = dt.datetime.strptime(month, "%Y-%m")
    nxt = dt.datetime(first.year + first.month // 12, first.month % 12 + 1, 1)
    return ((first - start).total_seconds() + (nxt - first).total_seconds() / 2) / DAY


def hardware_distribution(lifetime_years: float):
    """Manufacture spread evenly over the `lifetime_years` before use: one point per year, at
    its middle (the last year partial)."""
    n = max(1, math.ceil(lifetime_years - 1e-9))
    widths = [min(1.0, lifetime_years - k) for k in range(n)]
    days = [-(k + widths[k] / 2) * 365.25 for k in range(n)]
    return _td(days, [w / lifetime_years for w in widths])


def _with_distributions(model: CampaignModel, db: str, start: dt.datetime, lifetime: float) -> dict:
    """The campaign's datasets renamed into `db`, with temporal distributions (module doc)."""
    import bw2data as bd

    src = model.database
    data = {}
    months = {k: m for pm in model.phases for m, k in pm.months.items()}
    made = hardware_distribution(lifetime)
    for (_, code), ds in bd.Database(src).load().items():
        ds = dict(ds)
        excs = []
        for e in ds["exchanges"]:
            e = {**e, "input": (db, e["input"][1]) if e["input"][0] == src else tuple(e["input"])}
            if "output" in e:
                e["output"] = (db, code)
            if e["type"] == "technosphere":
                if (src, e["input"][1]) in months and (src, code) not in months:  # phase -> its month
                    e["temporal_distribution"] = _td([_month_offset(start, months[(src, e["input"][1])])], [1.0])
                elif code.startswith("gpu-time-") and e["input"][1].startswith(HARDWARE):
                    e["temporal_distribution"] = made
            excs.append(e)
        ds["exchanges"] = excs
        data[(db, code)] = ds
    return data


def _lifetime(model: CampaignModel) -> float:
    """The hardware lifetime (years) the campaign applies."""
    from bw2data.parameters import DatabaseParameter

    if model.campaign.hardware.lifetime_years is not None:
        return float(model.campaign.hardware.lifetime_years)
    return float(DatabaseParameter.get(database=model.foreground, name="hw_lifetime_years").amount)


def write_timex_database(model: CampaignModel) -> tuple[str, dt.datetime]:
    """Write the campaign's copy with temporal distributions (`aicompute-timex-<slug>`, ours,
    replaced each time); its name and the campaign's start."""
    import bw2data as bd

    db = TIMEX_DB_PREFIX + model.database.removeprefix("aicompute-campaign-")
    refuse_foreign(bd.databases, db, "rename the campaign")
    start = campaign_start(model)
    data = _with_distributions(model, db, start, _lifetime(model))
    meta = {"format": "bw_aicompute campaign with temporal distributions (bw_timex)", "campaign": model.campaign.name, "depends": sorted({e["input"][0] for d in data.values() for e in d["exchanges"]} - {db})}
    write_owned(bd.databases, bd.Database(db), db, meta, "timex", lambda: bd.Database(db).write(data), kind="timex")
    return db, start


def run_timex(model: CampaignModel, method: tuple[str, ...]) -> TimexResult:
    """The time-explicit LCA of a written campaign on a climate `method` (bw_timex).

    Parameters
    ----------
    model : CampaignModel
        The campaign as written (`write_campaign`).
    method : tuple
        The climate method of the static scores (IPCC 2021 GWP100).

    Returns
    -------
    TimexResult
        Base, static and dynamic scores (kg CO2-eq; radiative forcing in W m-2 summed over
        the yearly values of 100 years) and the dated inventory by year.
    """
    import time

    try:
        from bw_timex import TimexLCA
    except ImportError:
        raise AicomputeError('--timex needs bw_timex: pip install "bw_aicompute[timex]"') from None
    t0 = time.perf_counter()
    db, start = write_timex_database(model)
    background = dt.datetime(model.campaign.site.grid_year or grid_year(model), 1, 1)
    # Only the campaign's copy is dynamic: every temporal distribution is on its exchanges, so
    # the foreground and its background are static, dated like the grid (a dynamic foreground
    # made bw_timex walk all of it: 200 s, and cut at its max_calc, for a 10-phase campaign);
    # the dated inventory straight from the timeline, without the expanded technosphere.
    dates = {"aicompute-background": background, model.foreground: background, db: "dynamic"}
    tl = _quiet(lambda: TimexLCA({(db, model.key[1]): 1.0}, method, database_dates=dates))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _quiet(lambda: (tl.build_timeline(starting_datetime=start, temporal_grouping="day"), tl.lci(expand_technosphere=False), tl.static_lcia()))
    static_by_year = _static_by_year(tl)
    _complete(static_by_year, float(tl.base_score), caught)
    rf = _quiet(lambda: (tl.dynamic_lcia(metric="radiative_forcing", time_horizon=100), tl.dynamic_score)[1])
    gwp = _quiet(lambda: (tl.dynamic_lcia(metric="GWP", time_horizon=100, fixed_time_horizon=True, time_horizon_start=start), tl.dynamic_score)[1])
    by_year = static_by_year
    basis = "the first month of the dated phases" if any(pm.months for pm in model.phases) else "no dated phase: 1 January of the grid mix's year"
    return TimexResult(start, basis, background, float(tl.base_score), float(tl.static_score), float(gwp), float(rf), by_year, time.perf_counter() - t0)


def _complete(by_year: pd.DataFrame, base: float, caught: list) -> None:
    """Check that the dated inventory holds the whole campaign: its years add up to the plain
    LCA score (`base`, within 1e-6), or warn with the share it holds. bw_graph_tools' warning
    that its walk "covered only" part of the score is dropped when they do add up: it counts
    the walk of the campaign's dynamic copy only, whose static foreground and background
    bw_timex adds whole; the other warnings of bw_timex are passed on."""
    held = float(by_year["emissions_kg_co2e"].sum())
    whole = abs(held - base) <= 1e-6 * abs(base)
    for w in caught:
        if not (whole and "Graph traversal covered only" in str(w.message)):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if not whole:
        share = f" ({held / base:.2%})" if base else ""
        warnings.warn(f"the time-explicit inventory holds {held:,.6g} of the campaign's {base:,.6g} kg CO2-eq{share}; its years do not add up to the LCA", stacklevel=3)


def _static_by_year(tl) -> pd.DataFrame:
    """The dated inventory of bw_timex times the method's (static) factors, by year (kg CO2-eq)."""
    import bw2data as bd

    inv = tl.create_dynamic_inventory_dataframe()
    cfs = {(k if isinstance(k, int) else bd.get_id(k)): v for k, v in bd.Method(tl.method).load()}
    value = inv["amount"] * inv["flow"].map(cfs).fillna(0.0)
    return value.groupby(inv["date"].dt.year).sum().rename_axis("year").reset_index(name="emissions_kg_co2e")


def _quiet(call):
    """Run `call` with bw_timex's and loguru's INFO messages silenced."""
    from loguru import logger

    logger.disable("bw_timex")
    logger.disable("dynamic_characterization")
    try:
        return call()
    finally:
        logger.enable("bw_timex")
        logger.enable("dynamic_characterization")
