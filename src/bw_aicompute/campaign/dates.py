"""When a campaign ran: the dates of its phases, the share of a phase's hours in each month, and
the monthly generation mixes a campaign file names (Ember's monthly electricity data).

A dated phase (`start`, `end`) is spread evenly over its hours; its electricity in a month is
that month's generation mix where the campaign's monthly file has it, the annual mix otherwise.

Reference: Ember, Monthly Electricity Data (long format, `monthly_full_release_long_format.csv`;
columns `ISO 3 code`, `Date`, `Category`, `Subcategory`, `Variable`, `Unit`, `Value`),
https://ember-energy.org/data/monthly-electricity-data/ (CC BY-SA 4.0).

Bounds (checked before anything is built; a value outside is refused with its line and column):

* a phase's dates lie in the years `FIRST_YEAR` to `LAST_YEAR` (1990-2100) and span at most
  `MAX_PHASE_MONTHS` (600 months, 50 years: a phase is written as one activity per month);
* a country's generation in a month is at most `MAX_MONTH_TWH` (10,000 TWh, each value and
  their sum): the world generates about 2,500 TWh a month (about 29,500 TWh in 2023, Ember
  Global Electricity Review 2024), China, the largest, under 900 TWh;
* an hourly intensity is at most 2 kg CO2-eq/kWh and 200 L/kWh, the ranges of `site.grid`
  (`schema.RANGES`): a zone's mix is never dirtier than its dirtiest plants, and coal and
  lignite emit about 0.75-1.2 kg CO2-eq/kWh over their life cycle (IPCC AR5 WG3 Annex III:
  740-910 g for pulverised coal; old lignite units at the top); the dirtiest grids are about
  1.1-1.2 kg/kWh in their worst hours, so no real hour comes near 2 kg. 200 L/kWh covers
  reservoir hydropower's evaporation (median about 17 L/kWh, Macknick et al. 2012).
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import math
from dataclasses import dataclass
from pathlib import Path

from ..errors import quote
from .schema import RANGES

#: Ember's generation variables (Category "Electricity generation", Subcategory "Fuel") and the
#: technologies of the grid tables they go to (as Our World in Data maps them for the yearly mixes).
EMBER_FUELS = {"Coal": "coal", "Gas": "gas", "Other Fossil": "oil", "Nuclear": "nuclear", "Hydro": "hydro", "Wind": "wind", "Solar": "solar", "Bioenergy": "bio", "Other Renewables": "geo"}
TECHNOLOGIES = tuple(dict.fromkeys(EMBER_FUELS.values()))
#: The columns of Ember's long format that are read.
EMBER_COLUMNS = ("ISO 3 code", "Date", "Category", "Subcategory", "Variable", "Unit", "Value")
#: The years a phase's `start` and `end` may name.
FIRST_YEAR, LAST_YEAR = 1990, 2100
#: The most months one dated phase spans (50 years; each month is an activity of its own).
MAX_PHASE_MONTHS = 600
#: The most a country generates in a month, TWh (about four times the world's monthly generation).
MAX_MONTH_TWH = 1e4
#: The bounds of a cell (the most, and its unit and why): a country's month, an hour's intensity.
TWH_BOUND = (MAX_MONTH_TWH, "TWh, the most a country generates in a month (the world about 2,500 TWh)")
KG_BOUND = (RANGES["kg_co2e_per_kwh"][1], "kg CO2-eq/kWh, the most of any grid (the dirtiest about 1.2, coal and lignite plants 0.75-1.2)")
L_BOUND = (RANGES["water_l_per_kwh"][1], "L/kWh, the most of any grid (the bound of site.grid.water_l_per_kwh)")


@dataclass(frozen=True)
class MonthlyMix:
    """Generation by technology (TWh) of the site's grid for each month (`YYYY-MM`) of a file;
    `source` names the shipped data when the campaign file names none."""

    path: Path
    months: dict[str, dict[str, float]]
    source: str = ""

    @property
    def name(self) -> str:
        """How the report names the data: the file, or the shipped source."""
        return self.source or self.path.name


def parse_when(text: str, end: bool = False) -> dt.datetime | None:
    """A phase's `start` or `end`: `YYYY-MM-DD` (a day, whole) or `YYYY-MM` (a month, whole),
    optionally with a time (`YYYY-MM-DDTHH:MM`). An `end` day or month is included: the
    returned time is its end. A time is UTC unless it carries an offset (`+05:00`, `Z`), which
    converts it to UTC; the result is a naive UTC time. None when the text is not a date (or
    one that cannot be converted, such as the end of the year 9999)."""
    text = text.strip()
    try:
        if len(text) == 7:
            first = dt.datetime.strptime(text, "%Y-%m")
            return _next_month(first) if end else first
        if len(text) == 10:
            day = dt.datetime.strptime(text, "%Y-%m-%d")
            return day + dt.timedelta(days=1) if end else day
        t = dt.datetime.fromisoformat(text)
        return t.astimezone(dt.timezone.utc).replace(tzinfo=None) if t.tzinfo is not None else t
    except (ValueError, OverflowError):
        return None


class PhaseDateError(ValueError):
    """A problem with a phase's `start` or `end` (`key`), stated in the message."""

    def __init__(self, key: str, problem: str):
        super().__init__(problem)
        self.key = key


def phase_span(start_text: str, end_text: str) -> tuple[dt.datetime, dt.datetime]:
    """(start, end) of a dated phase, naive UTC, the end exclusive (`parse_when`), checked
    before anything is built on them: dates, in the years `FIRST_YEAR`-`LAST_YEAR`, the end
    after the start, at most `MAX_PHASE_MONTHS` months apart.

    Raises PhaseDateError naming `start` or `end` and the problem."""
    text = {"start": start_text, "end": end_text}
    given = {key: parse_when(value) for key, value in text.items()}  # the instants as written
    for key, t in given.items():
        if t is None:
            raise PhaseDateError(key, f"{quote(text[key])} is not a date: give YYYY-MM-DD or YYYY-MM (a time may follow: YYYY-MM-DDTHH:MM, UTC unless it has an offset)")
        if not FIRST_YEAR <= t.year <= LAST_YEAR:
            raise PhaseDateError(key, f"{quote(text[key])} is in the year {t.year}; a phase's dates lie in the years {FIRST_YEAR}-{LAST_YEAR}")
    start, end = given["start"], parse_when(end_text, end=True)
    if end is None or end <= start:
        raise PhaseDateError("end", f"{quote(end_text)} is not after the start {quote(start_text)}")
    last = end - dt.timedelta(microseconds=1)
    months = (last.year - start.year) * 12 + last.month - start.month + 1
    if months > MAX_PHASE_MONTHS:
        raise PhaseDateError("end", f"the phase spans {months} months ({start:%Y-%m} to {last:%Y-%m}); a dated phase spans at most {MAX_PHASE_MONTHS} months ({MAX_PHASE_MONTHS // 12} years): split it or leave it undated")
    return start, end


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


def _csv_rows(text: str) -> tuple[list[str], list[tuple[int, dict]]]:
    """(header, [(line, row)]) of a CSV text; the line is the file's (blank lines and quoted
    line breaks counted). A row with more or fewer cells than the header is refused."""
    reader = csv.DictReader(io.StringIO(text))
    rows = []
    try:
        header = list(reader.fieldnames or [])
        twice = next((c for i, c in enumerate(header) if c in header[:i]), None)
        if twice is not None:
            raise ValueError(f"line 1: the column {quote(twice)} is given twice")
        for row in reader:
            if None in row or None in row.values():
                cells = len(header) + len(row.get(None, [])) - sum(v is None for v in row.values())
                raise ValueError(f"line {reader.line_num}: {cells} cells; the header (line 1) has {len(header)}")
            rows.append((reader.line_num, row))
    except csv.Error as exc:  # a NUL byte, a quote left open
        raise ValueError(f"line {reader.line_num}: not CSV ({exc})") from None
    return header, rows


def read_monthly_mix(path: Path, iso3: str | None) -> MonthlyMix:
    """The months of country `iso3` in an Ember monthly file (long format), or in a wide CSV
    with columns `month` and the technologies (TWh; an empty cell is 0), the only layout for a
    state or province (`iso3` None: Ember's country file has none).

    Each month once (each of the country's variables once a month in Ember's file), with
    generation (a month of zeros is refused, not read as missing), each value and a month's sum
    at most `MAX_MONTH_TWH`. Raises ValueError with the line, the column and the problem."""
    header, rows = _csv_rows(path.read_text(encoding="utf-8-sig"))
    if "Variable" in header:
        if iso3 is None:
            raise ValueError("line 1: Ember's monthly country file has no states or provinces; give a CSV of month and the technologies (TWh)")
        missing = [c for c in EMBER_COLUMNS if c not in header]
        if missing:
            raise ValueError(f"line 1: Ember's monthly data has the columns {', '.join(EMBER_COLUMNS)}; missing {', '.join(missing)}")
        return MonthlyMix(path, _ember_months(rows, iso3))
    if "month" not in header:
        raise ValueError(f"line 1: needs the columns of Ember's monthly data ({', '.join(EMBER_COLUMNS)}) or a column 'month'")
    missing, unknown = [t for t in TECHNOLOGIES if t not in header], [c for c in header if c not in ("month", *TECHNOLOGIES)]
    if missing or unknown:
        problem = f"missing {', '.join(missing)}" if missing else f"unknown column {quote(unknown[0])}"
        raise ValueError(f"line 1: needs the columns month, {', '.join(TECHNOLOGIES)} (TWh), and no other; {problem}")
    months: dict[str, dict[str, float]] = {}
    lines: dict[str, int] = {}
    for line, row in rows:
        when = parse_when(str(row["month"]))
        if when is None or len(str(row["month"]).strip()) != 7:
            raise ValueError(f"line {line}, column 'month': {quote(row['month'])} is not YYYY-MM")
        month = when.strftime("%Y-%m")
        if month in lines:
            raise ValueError(f"line {line}, column 'month': {month} is also on line {lines[month]}; give each month once")
        lines[month] = line
        months[month] = {t: _number(row[t], line, t, TWH_BOUND) for t in TECHNOLOGIES}
        _month_total(months[month], line, f"month {month}", "every technology column is empty or 0")
    if not months:
        raise ValueError("no month: the file has a header and no row")
    return MonthlyMix(path, months)


def _month_total(month: dict[str, float], line: int, name: str, zero: str) -> None:
    """Refuse a month with no generation (`zero` says why), or more than `MAX_MONTH_TWH`."""
    total = sum(month.values())
    if total <= 0:
        raise ValueError(f"line {line}: {name} has no generation ({zero}); remove the month to use the annual mix")
    if total > MAX_MONTH_TWH:
        raise ValueError(f"line {line}: {name} adds up to {total:,.6g} TWh, above {MAX_MONTH_TWH:,.0f} {TWH_BOUND[1]}")


def _ember_months(rows: list[tuple[int, dict]], iso3: str) -> dict[str, dict[str, float]]:
    """The generation by fuel (TWh) of `iso3` in each month of Ember's long format."""
    months: dict[str, dict[str, float]] = {}
    first: dict[str, int] = {}  # month -> its first line
    seen: dict[tuple[str, str], int] = {}  # (month, Variable) -> line
    for line, row in rows:
        if row["ISO 3 code"] != iso3 or row["Category"] != "Electricity generation" or row["Subcategory"] != "Fuel":
            continue
        tech = EMBER_FUELS.get(row["Variable"])
        if tech is None or row["Unit"] != "TWh":
            continue
        when = parse_when(row["Date"][:10])
        if when is None:
            raise ValueError(f"line {line}, column 'Date': {quote(row['Date'])} is not a date")
        key = (when.strftime("%Y-%m"), row["Variable"])
        if key in seen:
            raise ValueError(f"line {line}, column 'Variable': {iso3}'s {key[1]} in {key[0]} is also on line {seen[key]}; give it once")
        seen[key] = line
        first.setdefault(key[0], line)
        month = months.setdefault(key[0], dict.fromkeys(TECHNOLOGIES, 0.0))
        month[tech] += _number(row["Value"], line, "Value", TWH_BOUND)
        if sum(month.values()) > MAX_MONTH_TWH:
            _month_total(month, line, f"the month {key[0]} of {iso3}", "")
    for m, month in months.items():
        _month_total(month, first[m], f"the month {m} of {iso3}", "the Value of every fuel is empty or 0")
    if not months:
        raise ValueError(f"no row of {iso3} (ISO 3 code) with Category 'Electricity generation', Subcategory 'Fuel' and Unit 'TWh'")
    return months


def _number(value: object, line: int, column: str, bound: tuple[float, str] = (math.inf, ""), empty: float | None = 0.0) -> float:
    """A cell's number, finite, at least 0 and at most `bound` (the most, and its unit and
    why); an empty cell is `empty` (None: refused)."""
    text = str(value).strip()
    if not text and empty is not None:
        return empty
    if not text:
        raise ValueError(f"line {line}, column {column!r}: is empty; give a number")
    try:
        x = float(text)
    except ValueError:
        raise ValueError(f"line {line}, column {column!r}: {quote(value)} is not a number") from None
    if not 0 <= x < math.inf:  # NaN fails both
        raise ValueError(f"line {line}, column {column!r}: {quote(value)} must be a finite number >= 0")
    if x > bound[0]:
        raise ValueError(f"line {line}, column {column!r}: {quote(value)} is above {bound[0]:,.6g} {bound[1]}")
    return x


def month_basis(mix: MonthlyMix | None, month: str, annual: str = "annual mix") -> str:
    """Which mix a month's electricity is: the month's own (from the monthly file) or the
    annual mix (`annual`: which one, e.g. "annual mix of 2022"), and why."""
    if mix is not None and sum(mix.months.get(month, {}).values()) > 0:
        return f"monthly mix ({mix.name})"
    return f"{annual} (not in {mix.name})" if mix is not None else f"{annual} (no site.monthly_mix)"


#: The shipped monthly and yearly generation of the US states (GWh; inventories/us_states/).
STATE_MONTHS = ("us_states", "monthly_generation.csv")
STATE_YEARS = ("us_states", "yearly_generation.csv")
#: The year of the states' grid datasets (`grid_us_states`, checked against eGRID2023): their
#: mix when a campaign names no year.
STATES_YEAR = 2023


@functools.lru_cache(maxsize=2)
def _state_rows(parts: tuple[str, str], period: str) -> dict[str, dict[str, dict[str, float]]]:
    """state -> period (`YYYY-MM` or the year as text) -> generation by technology (TWh)."""
    from .._resources import data_dir

    path = data_dir("inventories").joinpath(*parts)
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    out: dict[str, dict[str, dict[str, float]]] = {}
    for row in csv.DictReader(lines):
        out.setdefault(row["state"], {})[row[period]] = {t: float(row[t]) / 1000 for t in TECHNOLOGIES}
    return out


def state_years(state: str) -> dict[int, dict[str, float]]:
    """The shipped yearly generation (TWh by technology) of US state `state`, 2001-2024
    (EIA-923 via Ember, `api_generation_usa_yearly`, CC BY 4.0); {} elsewhere."""
    return {int(y): gen for y, gen in _state_rows(STATE_YEARS, "year").get(state, {}).items()}


@functools.lru_cache(maxsize=1)
def us_years() -> dict[int, dict[str, float]]:
    """The US's yearly generation (TWh by technology), 2001-2024: the sum of its 50 states and
    DC in the shipped yearly file (EIA-923 via Ember, CC BY 4.0)."""
    out: dict[int, dict[str, float]] = {}
    for years in _state_rows(STATE_YEARS, "year").values():
        for y, gen in years.items():
            total = out.setdefault(int(y), dict.fromkeys(TECHNOLOGIES, 0.0))
            for t, v in gen.items():
                total[t] += v
    return out


def state_months(state: str) -> MonthlyMix | None:
    """The shipped monthly generation mix of US state `state` (`US-TX`), 2015-01 .. 2022-08:
    EIA-923 net generation by fuel as processed by Ember (`api_subnational_generation_monthly`,
    CC BY 4.0), in TWh; None for a place without it. A dated phase at a state site takes it
    when the campaign names no monthly file.

    References
    ----------
    Ember, US electricity data (ember-climate/ember-data-api, 2025), from EIA Form 923 and the
    Electric Power Monthly.
    """
    from .._resources import data_dir

    months = _state_rows(STATE_MONTHS, "month").get(state)
    if not months:
        return None
    return MonthlyMix(data_dir("inventories").joinpath(*STATE_MONTHS), months, source="EIA-923 by state and month via Ember, shipped")


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
    times, UTC unless they say otherwise; each is the hour it starts). Each hour of the zone
    once, every intensity given (an empty cell is refused, not read as 0), at most `KG_BOUND`
    and `L_BOUND`. Raises ValueError with the line, the column and the problem."""
    header, rows = _csv_rows(path.read_text(encoding="utf-8-sig"))
    missing = [c for c in ("timestamp", "zone", "kg_co2e_per_kwh") if c not in header]
    if missing:
        raise ValueError(f"line 1: needs the columns timestamp, zone, kg_co2e_per_kwh (optional l_per_kwh); missing {', '.join(missing)}")
    kg, litres = {}, {} if "l_per_kwh" in header else None
    lines: dict[dt.datetime, int] = {}
    for line, row in rows:
        if str(row["zone"]).strip() != zone:
            continue
        hour = _hour(row["timestamp"], line)
        if hour in lines:
            raise ValueError(f"line {line}, column 'timestamp': the hour {hour:%Y-%m-%d %H}:00 UTC of zone {zone} is also on line {lines[hour]}; give each hour once")
        lines[hour] = line
        kg[hour] = _number(row["kg_co2e_per_kwh"], line, "kg_co2e_per_kwh", KG_BOUND, empty=None)
        if litres is not None:
            litres[hour] = _number(row["l_per_kwh"], line, "l_per_kwh", L_BOUND, empty=None)
    if not kg:
        raise ValueError(f"no row of zone {quote(zone)}")
    return HourlySeries(path, zone, kg, litres)


def _hour(value: str, line: int) -> dt.datetime:
    """The UTC hour (aware) a timestamp of an hourly series falls in (UTC unless it has an offset)."""
    try:
        t = dt.datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        t = t.astimezone(dt.timezone.utc) if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)
    except (ValueError, OverflowError):
        raise ValueError(f"line {line}, column 'timestamp': {quote(value)} is not an ISO 8601 time (in UTC, or with an offset)") from None
    return t.replace(minute=0, second=0, microsecond=0)


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
