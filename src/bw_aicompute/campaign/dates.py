"""When a campaign ran: the dates of its phases, the share of a phase's hours in each month, and
the monthly generation mixes a campaign file names (Ember's monthly electricity data).

A dated phase (`start`, `end`) is spread evenly over its hours; its electricity in a month is
that month's generation mix where the campaign's monthly file has it, the annual mix otherwise.

Reference: Ember, Monthly Electricity Data (long format, `monthly_full_release_long_format.csv`;
columns `ISO 3 code`, `Date`, `Category`, `Subcategory`, `Variable`, `Unit`, `Value`),
https://ember-energy.org/data/monthly-electricity-data/ (CC BY-SA 4.0).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

#: Ember's generation variables (Category "Electricity generation", Subcategory "Fuel") and the
#: technologies of the grid tables they go to (as Our World in Data maps them for the yearly mixes).
EMBER_FUELS = {"Coal": "coal", "Gas": "gas", "Other Fossil": "oil", "Nuclear": "nuclear", "Hydro": "hydro", "Wind": "wind", "Solar": "solar", "Bioenergy": "bio", "Other Renewables": "geo"}
TECHNOLOGIES = tuple(dict.fromkeys(EMBER_FUELS.values()))


@dataclass(frozen=True)
class MonthlyMix:
    """Generation by technology (TWh) of the site's grid for each month (`YYYY-MM`) of a file."""

    path: Path
    months: dict[str, dict[str, float]]


def parse_when(text: str, end: bool = False) -> dt.datetime | None:
    """A phase's `start` or `end`: `YYYY-MM-DD` (a day, whole) or `YYYY-MM` (a month, whole),
    optionally with a time (`YYYY-MM-DDTHH:MM`). An `end` day or month is included: the
    returned time is its end. None when the text is not a date."""
    text = text.strip()
    try:
        if len(text) == 7:
            first = dt.datetime.strptime(text, "%Y-%m")
            return _next_month(first) if end else first
        if len(text) == 10:
            day = dt.datetime.strptime(text, "%Y-%m-%d")
            return day + dt.timedelta(days=1) if end else day
        return dt.datetime.fromisoformat(text).replace(tzinfo=None)
    except ValueError:
        return None


def _next_month(t: dt.datetime) -> dt.datetime:
    return dt.datetime(t.year + t.month // 12, t.month % 12 + 1, 1)


def month_shares(start: dt.datetime, end: dt.datetime) -> dict[str, float]:
    """The share of the hours from `start` to `end` that fall in each month (`YYYY-MM`)."""
    total = (end - start).total_seconds()
    out, t = {}, start
    while t < end:
        stop = min(_next_month(dt.datetime(t.year, t.month, 1)), end)
        out[t.strftime("%Y-%m")] = (stop - t).total_seconds() / total
        t = stop
    return out


def read_monthly_mix(path: Path, iso3: str) -> MonthlyMix:
    """The months of country `iso3` in an Ember monthly file (long format), or in a wide CSV
    with columns `month` and the technologies (TWh, or any unit common to a row).

    Raises ValueError with the line and the problem for a malformed file."""
    text = path.read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    header = rows[0].keys() if rows else []
    if "Variable" in header:
        return MonthlyMix(path, _ember_months(rows, iso3))
    if "month" not in header:
        raise ValueError("line 1: needs the columns of Ember's monthly data (ISO 3 code, Date, Category, Subcategory, Variable, Value) or a column 'month'")
    months = {}
    for line, row in enumerate(rows, start=2):
        when = parse_when(str(row.get("month", "")))
        if when is None or len(str(row["month"]).strip()) != 7:
            raise ValueError(f"line {line}: month {row.get('month')!r} is not YYYY-MM")
        months[when.strftime("%Y-%m")] = {t: _number(row.get(t), line, t) for t in TECHNOLOGIES}
    return MonthlyMix(path, months)


def _ember_months(rows: list[dict], iso3: str) -> dict[str, dict[str, float]]:
    months: dict[str, dict[str, float]] = {}
    for line, row in enumerate(rows, start=2):
        if row.get("ISO 3 code") != iso3 or row.get("Category") != "Electricity generation" or row.get("Subcategory") != "Fuel":
            continue
        tech = EMBER_FUELS.get(str(row.get("Variable")))
        if tech is None or row.get("Unit") != "TWh":
            continue
        when = parse_when(str(row.get("Date", ""))[:10])
        if when is None:
            raise ValueError(f"line {line}: Date {row.get('Date')!r} is not a date")
        month = months.setdefault(when.strftime("%Y-%m"), dict.fromkeys(TECHNOLOGIES, 0.0))
        month[tech] += _number(row.get("Value"), line, "Value")
    return months


def _number(value: object, line: int, column: str) -> float:
    try:
        x = float(str(value).strip() or 0)
    except ValueError:
        raise ValueError(f"line {line}, column {column!r}: {value!r} is not a number") from None
    if not x >= 0 or x == float("inf"):
        raise ValueError(f"line {line}, column {column!r}: {value!r} must be a finite number >= 0")
    return x


def month_basis(mix: MonthlyMix | None, month: str) -> str:
    """Which mix a month's electricity is: the month's own (from the monthly file) or the
    annual mix, and why."""
    if mix is not None and sum(mix.months.get(month, {}).values()) > 0:
        return f"monthly mix ({mix.path.name})"
    return f"annual mix (not in {mix.path.name})" if mix is not None else "annual mix (no site.monthly_mix)"


@dataclass(frozen=True)
class HourlySeries:
    """An hourly intensity series of one zone: kg CO2-eq per kWh and, where given, L of water
    per kWh, by UTC hour."""

    path: Path
    zone: str
    kg: dict[dt.datetime, float]
    litres: dict[dt.datetime, float] | None


@dataclass(frozen=True)
class HourlyResult:
    """A log's energy-weighted intensity: kg CO2-eq/kWh, L/kWh (or None), the hours of the log
    the series covers, and the share of the log's energy in them."""

    kg_per_kwh: float
    l_per_kwh: float | None
    hours: int
    coverage: float
    months: dict[str, float]  # the share of the covered energy in each month


def read_hourly(path: Path, zone: str) -> HourlySeries:
    """The rows of `zone` of a CSV `timestamp,zone,kg_co2e_per_kwh[,l_per_kwh]` (ISO 8601
    times, UTC unless they say otherwise; each is the hour it starts). Raises ValueError with
    the line and the problem."""
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    header = list(rows[0].keys()) if rows else []
    missing = [c for c in ("timestamp", "zone", "kg_co2e_per_kwh") if c not in header]
    if missing:
        raise ValueError(f"line 1: needs the columns timestamp, zone, kg_co2e_per_kwh (optional l_per_kwh); missing {', '.join(missing)}")
    kg, litres = {}, {} if "l_per_kwh" in header else None
    for line, row in enumerate(rows, start=2):
        if str(row["zone"]).strip() != zone:
            continue
        try:
            t = dt.datetime.fromisoformat(str(row["timestamp"]).strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"line {line}: timestamp {row['timestamp']!r} is not ISO 8601") from None
        hour = (t.astimezone(dt.timezone.utc) if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)).replace(minute=0, second=0, microsecond=0)
        kg[hour] = _number(row["kg_co2e_per_kwh"], line, "kg_co2e_per_kwh")
        if litres is not None:
            litres[hour] = _number(row["l_per_kwh"], line, "l_per_kwh")
    if not kg:
        raise ValueError(f"no row of zone {zone!r}")
    return HourlySeries(path, zone, kg, litres)


def weighted(series: HourlySeries, energy: dict) -> HourlyResult | None:
    """The intensity of the series weighted by `energy` (kWh by UTC hour) over the hours both
    have; None when they share no hour."""
    hours = [h for h in energy if h in series.kg and energy[h] > 0]
    covered = sum(energy[h] for h in hours)
    if not covered:
        return None
    kg = sum(energy[h] * series.kg[h] for h in hours) / covered
    litres = sum(energy[h] * series.litres[h] for h in hours) / covered if series.litres is not None else None
    months: dict[str, float] = {}
    for h in hours:
        months[h.strftime("%Y-%m")] = months.get(h.strftime("%Y-%m"), 0.0) + energy[h] / covered
    return HourlyResult(kg, litres, len(hours), covered / sum(energy.values()), months)
