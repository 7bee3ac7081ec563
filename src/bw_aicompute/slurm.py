"""Campaigns from cluster accounting: SLURM job records (`sacct --parsable2 --allocations`)
classified by rules into the phases of campaign files.

The records are read with pandas and every step is vectorised (a million records in seconds):
job steps (`123.batch`, `123.0`) are dropped, so each allocation, array tasks included
(`123_4`), counts once; jobs still running (End `Unknown` or `None`) and jobs that never started
are reported and left out; `CANCELLED by <uid>` is `CANCELLED`; Elapsed is `[D-]HH:MM:SS`, not
longer than End - Start (SLURM's Elapsed is End - Start less suspended time; a longer one is
refused); the GPUs of an allocation are AllocTRES's `gres/gpu=N` (else the sum of its
`gres/gpu:<type>=N`), N a whole number from 0 to `MAX_GPUS_PER_JOB` (1,000,000; anything else is
refused). GPU-hours = GPUs x Elapsed.

Rules (a YAML file, see `examples/slurm/rules.yaml`): `partitions` maps each partition to its
GPU model and site; `rules`, in order, map job name, account, user, partition, comment or wckey
(glob, or a regex between slashes) to a phase and its kind, the first match winning; FAILED,
TIMEOUT, NODE_FAIL and OUT_OF_MEMORY jobs, and CANCELLED ones that ran at least
`failed_min_minutes`, go to `<phase> (failed or restarted)` of kind `failed or restarted run`
unless their rule says `failed: keep`; jobs no rule matches go to phase `unclassified`, never
dropped.

Reference: SLURM `sacct` manual, fields JobID, State, Elapsed, AllocTRES
(https://slurm.schedmd.com/sacct.html).
"""

from __future__ import annotations

import fnmatch
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import AicomputeError, InputError, Where, quote
from .yamlfile import load_yaml

#: The fields to export: `sacct --parsable2 --allocations --format=` + ",".join(FIELDS).
FIELDS = ("JobID", "JobName", "User", "Account", "Partition", "State", "Start", "End", "Elapsed", "AllocTRES", "NNodes")
OPTIONAL = ("Comment", "WCKey", "QOS")
FAILED_STATES = ("FAILED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY")
MATCH_FIELDS = {"job_name": "JobName", "account": "Account", "user": "User", "partition": "Partition", "comment": "Comment", "wckey": "WCKey", "qos": "QOS"}
#: With more campaigns than this, `Accounting.report` lists them one line each (the largest by
#: GPU-hours, the others summed) instead of one table of phases each; the files hold them all.
REPORT_CAMPAIGNS = 20
#: The most GPUs of one allocation: a larger AllocTRES count is refused as an error in the export.
MAX_GPUS_PER_JOB = 1_000_000
#: Elapsed may exceed End - Start by this much (s) before it is refused (SLURM rounds to seconds) ...
ELAPSED_TOLERANCE_S = 60.0
#: ... or by this fraction of End - Start, whichever is larger.
ELAPSED_TOLERANCE = 0.01
SACCT_COMMAND = "sacct --allusers --parsable2 --allocations --starttime YYYY-MM-DD --endtime YYYY-MM-DD --format=" + ",".join(FIELDS + OPTIONAL)


@dataclass
class Rules:
    """A classification rules file: partitions (GPU model, site), ordered rules, settings."""

    path: str
    partitions: dict[str, dict]
    rules: list[dict]
    gpu_types: dict[str, str] = field(default_factory=dict)
    failed_min_minutes: float = 10.0
    unclassified_kind: str = "debugging"
    campaign: dict = field(default_factory=dict)


def _pattern(text: str, where: Where) -> re.Pattern:
    """A compiled regex for a glob (`pretrain*`, the whole value) or a regex between slashes
    (`/^abl-/`, searched in the value)."""
    try:
        if len(text) > 1 and text.startswith("/") and text.endswith("/"):
            return re.compile(text[1:-1])
        return re.compile(r"\A" + fnmatch.translate(text))  # searched: anchored at the start too
    except re.error as exc:
        raise where.error(f"pattern {text!r} does not compile ({exc})") from None


RULES_KEYS = ("campaign", "partitions", "gpu_types", "failed_min_minutes", "unclassified_kind", "rules")


def _text_map(value: Any, where: Where, field_: str) -> dict[str, str]:
    """A mapping of names to texts (numbers are read as text), or an error naming the field."""
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value.values()):
        raise where.at(field=field_).error("must be a mapping of names to texts")
    return {str(k): str(v) for k, v in value.items()}


def _rule(rule: Any, i: int, path: Path) -> dict:
    """One checked rule with its patterns compiled (`patterns`: sacct column -> regex)."""
    from .campaign import KINDS

    where = Where(file=str(path), field=f"rules[{i}]")
    if not isinstance(rule, dict) or not isinstance(rule.get("match"), dict) or not rule["match"] or not isinstance(rule.get("phase"), (str, int)) or not str(rule["phase"]).strip():
        raise where.error("a rule has `match` (a mapping of fields to patterns), `phase` and `kind`")
    unknown = set(rule) - {"match", "phase", "kind", "failed"} or set(rule["match"]) - set(MATCH_FIELDS)
    if unknown:
        raise where.error(f"unknown field {sorted(map(str, unknown))[0]!r}; a rule has match ({', '.join(MATCH_FIELDS)}), phase, kind and failed")
    if rule.get("kind") not in KINDS:
        raise where.at(field=f"rules[{i}].kind").error(f"unknown kind {str(rule.get('kind'))[:60]!r}; use one of: {', '.join(KINDS)}")
    if rule.get("failed") not in (None, "keep"):
        raise where.at(field=f"rules[{i}].failed").error("is `keep` (failed jobs stay in this phase) or absent")
    patterns = _text_map(rule["match"], where, f"rules[{i}].match")
    compiled = {MATCH_FIELDS[k]: _pattern(v, where.at(field=f"rules[{i}].match.{k}")) for k, v in patterns.items()}
    return {**rule, "phase": str(rule["phase"]).strip(), "patterns": compiled}


def _partitions(doc: dict, path: Path) -> dict[str, dict]:
    parts = doc.get("partitions")
    if not isinstance(parts, dict) or not parts:
        raise Where(file=str(path), field="partitions").error("a rules file has `partitions`: a mapping of each GPU partition to its `gpu` and site")
    out = {}
    for name, p in parts.items():
        where = Where(file=str(path), field=f"partitions.{name}")
        if not isinstance(p, dict) or not p.get("gpu"):
            raise where.error("needs `gpu` (the GPU model of the partition)")
        unknown = set(p) - {"gpu", "country", "profile"}
        if unknown:
            raise where.error(f"unknown field {sorted(map(str, unknown))[0]!r}; a partition has gpu, country and profile")
        out[str(name)] = _text_map(p, where, f"partitions.{name}")
    return out


def read_rules(path: str | Path) -> Rules:
    """Read and check a rules file (YAML): every field of the wrong type or unknown is refused,
    naming it.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    Rules
        With every pattern compiled (`rule["patterns"]`: sacct column -> regex).
    """
    import math


    from .campaign import KINDS

    path = Path(path)
    doc = load_yaml(path, "rules file")
    where = Where(file=str(path))
    if not isinstance(doc, dict) or not isinstance(doc.get("rules", []), list):
        raise AicomputeError(f"{path}: a rules file has `partitions` (a mapping) and `rules` (a list)")
    unknown = set(doc) - set(RULES_KEYS)
    if unknown:
        raise where.at(field=str(sorted(map(str, unknown))[0])).error(f"unknown field; a rules file has {', '.join(RULES_KEYS)}")
    minutes = doc.get("failed_min_minutes", 10)
    if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or not math.isfinite(minutes) or not 0 <= minutes <= 1e6:
        raise where.at(field="failed_min_minutes").error("must be a number of minutes from 0 to 1,000,000")
    kind = doc.get("unclassified_kind", "debugging")
    if kind not in KINDS:
        raise where.at(field="unclassified_kind").error(f"unknown kind {str(kind)[:60]!r}; use one of: {', '.join(KINDS)}")
    campaign = doc.get("campaign") or {}
    if not isinstance(campaign, dict) or not isinstance(campaign.get("site", {}), dict) or not isinstance(campaign.get("name", ""), (str, int, float)):
        raise where.at(field="campaign").error("is a mapping with an optional `name` and `site` (a mapping, as in a campaign file)")
    rules = [_rule(rule, i, path) for i, rule in enumerate(doc.get("rules") or [], start=1)]
    gpu_types = _text_map(doc.get("gpu_types"), where, "gpu_types")
    return Rules(str(path), _partitions(doc, path), rules, gpu_types, float(minutes), kind, campaign)


_ELAPSED = re.compile(r"(?:(\d+)-)?(?:(\d+):)?(\d+):(\d+(?:\.\d+)?)")


def _elapsed_seconds(text: str) -> float:
    m = _ELAPSED.fullmatch(text)
    if m is None:
        return np.nan
    days, hours, minutes, secs = m.groups()
    return int(days or 0) * 86400 + int(hours or 0) * 3600 + int(minutes) * 60 + float(secs)


def _seconds(elapsed: pd.Series) -> pd.Series:
    """Seconds of `[D-]HH:MM:SS` (or `MM:SS`) durations; NaN where it is not one (each
    distinct text read once)."""
    codes, uniques = pd.factorize(elapsed)
    texts = uniques.tolist()
    seconds, done = _clock_seconds(texts)
    for k in np.flatnonzero(~done).tolist():  # other forms (MM:SS, fractions) and errors
        seconds[k] = _elapsed_seconds(texts[k])
    return pd.Series(seconds[codes], index=elapsed.index)


def _clock_seconds(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(seconds, which were read) of the texts of the form `[D-]HH:MM:SS` (D up to 6 digits),
    read as bytes columns with numpy (what sacct writes; the regex reads the rest)."""
    try:
        b = np.array(texts, dtype="S16")
    except (UnicodeEncodeError, ValueError):
        b = None
    if b is None or not texts:
        return np.zeros(len(texts)), np.zeros(len(texts), dtype=bool)
    u = b.view(np.uint8).reshape(len(texts), -1).astype(np.int16) - 48  # digits 0-9, ':' 10, '-' -3
    n = (u != -48).sum(axis=1)
    ok = (n >= 8) & (np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)) <= 16)
    at = np.arange(len(texts))
    clock = u[at[:, None], np.clip(n[:, None] - 8 + np.arange(8), 0, u.shape[1] - 1)]  # HH:MM:SS
    digit = (clock >= 0) & (clock <= 9)
    ok &= digit[:, [0, 1, 3, 4, 6, 7]].all(axis=1) & (clock[:, 2] == 10) & (clock[:, 5] == 10)
    head = n - 9  # with days: D (1 to 6 digits) then '-' at n - 9
    ok &= (n == 8) | ((head >= 1) & (head <= 6) & (u[at, np.clip(head, 0, None)] == -3))
    days = np.zeros(len(texts))
    for k in range(6):  # Horner over the day digits
        inside = k < head
        ok &= ~inside | ((u[:, k] >= 0) & (u[:, k] <= 9))
        days = np.where(inside, days * 10 + u[:, k], days)
    hms = clock[:, [0, 3, 6]].astype(np.int64) * 10 + clock[:, [1, 4, 7]]
    seconds = days * 86400 + hms[:, 0] * 3600 + hms[:, 1] * 60 + hms[:, 2]
    return np.where(ok, seconds, 0.0).astype(float), ok


def _hms(seconds: float) -> str:
    """`[D-]HH:MM:SS` of a number of seconds, as sacct writes Elapsed."""
    days, rest = divmod(int(round(seconds)), 86400)
    return (f"{days}-" if days else "") + f"{rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}"


def _times(df: pd.DataFrame, path: Path) -> tuple[pd.Series, pd.Series]:
    """(seconds of Elapsed, Start as a UTC time) of finished allocations, checked against each
    other: Elapsed is `[D-]HH:MM:SS`, Start and End are ISO 8601 times, and Elapsed is not longer
    than End - Start.

    SLURM's Elapsed is End - Start less the time the job was suspended, so a shorter Elapsed is
    kept; a longer one (beyond `ELAPSED_TOLERANCE_S` or `ELAPSED_TOLERANCE` of End - Start,
    whichever is larger) contradicts Start and End and is refused, naming the line. sacct writes
    local times without an offset: where neither Start nor End has one, Elapsed may also be one
    hour longer, within the same tolerance (the clock set back at the end of daylight saving time
    during the job).
    """
    where = Where(file=str(path), field="Elapsed")
    seconds = _seconds(df["Elapsed"])
    bad = seconds.isna()
    if bad.any():
        raise where.error(f"Elapsed {quote(df.loc[bad, 'Elapsed'].iloc[0])} is not [D-]HH:MM:SS", line=int(df.index[bad][0]) + 2)
    times = {}
    for col in ("Start", "End"):
        times[col] = pd.to_datetime(df[col], format="ISO8601", errors="coerce", utc=True)
        bad = times[col].isna()
        if bad.any():
            raise where.error(f"{col} {quote(df.loc[bad, col].iloc[0])} is not an ISO 8601 time", line=int(df.index[bad][0]) + 2, field=col)
    span = (times["End"] - times["Start"]).dt.total_seconds()
    excess, tolerance = seconds - span, (ELAPSED_TOLERANCE * span.clip(lower=0)).clip(lower=ELAPSED_TOLERANCE_S)
    longer = excess > tolerance  # only these rows' times are read for an offset
    offset = r"(?:Z|[+-]\d\d(?::?\d\d)?)$"
    local = ~(df.loc[longer, "Start"].str.contains(offset) | df.loc[longer, "End"].str.contains(offset))
    shifted = local & ((excess[longer] - 3600.0).abs() <= tolerance[longer])
    bad = (span < 0) | (longer & ~shifted.reindex(df.index, fill_value=False))
    if bad.any():
        i = df.index[bad][0]
        start, end = quote(df.at[i, "Start"]), quote(df.at[i, "End"])
        if span[i] < 0:
            raise where.error(f"End {end} is before Start {start}", line=int(i) + 2, field="End")
        problem = f"Elapsed {quote(df.at[i, 'Elapsed'])} is longer than End - Start ({_hms(span[i])}, from Start {start} to End {end}); SLURM's Elapsed is End - Start less any suspended time"
        raise where.error(problem, line=int(i) + 2)
    return seconds, times["Start"]


_GRES = re.compile(r"(?:^|,)(gres/gpu(?:[:=][^,]*)?)(?=,|$)")
_GPU_COUNT = re.compile(r"gres/gpu(?::([^=,]+))?=([0-9]{1,7})")


def _gpu_entries(tres: str) -> tuple[float, str, str]:
    """(GPUs, GPU type or '', the first malformed `gres/gpu` entry or '') of one AllocTRES."""
    untyped, typed, kind = None, 0.0, ""
    for entry in _GRES.findall(tres):
        m = _GPU_COUNT.fullmatch(entry)
        if m is None or int(m.group(2)) > MAX_GPUS_PER_JOB:
            return 0.0, "", entry
        if m.group(1) is None:
            untyped = float(m.group(2)) if untyped is None else untyped
        else:
            typed += float(m.group(2))
            kind = kind or m.group(1)
    return (untyped if untyped is not None else typed), kind, ""


def _gpus(tres: pd.Series, path: Path) -> tuple[pd.Series, pd.Series]:
    """(GPUs, GPU type or '') of AllocTRES strings: `gres/gpu=N`, else the sum of the typed
    counts `gres/gpu:<type>=N`; each distinct string read once.

    Every `gres/gpu` entry must read `gres/gpu[:TYPE]=N` with N a whole number from 0 to
    `MAX_GPUS_PER_JOB` (a fraction, an exponent, `inf`, `nan`, a sign or a larger number is
    refused, naming the line and the column AllocTRES: it would be misread or dropped).
    """
    codes, uniques = pd.factorize(tres)
    parsed = [_gpu_entries(v) for v in uniques.tolist()]
    bad = [k for k, p in enumerate(parsed) if p[2]]
    if bad:  # codes are in order of first appearance: the first malformed row
        row = tres.index[int(np.flatnonzero(codes == bad[0])[0])]
        problem = f"GPU count {quote(parsed[bad[0]][2])} is not gres/gpu[:TYPE]=N with N a whole number from 0 to {MAX_GPUS_PER_JOB:,}"
        raise Where(file=str(path), line=int(row) + 2, field="AllocTRES").error(problem)
    gpus = np.array([p[0] for p in parsed], dtype=float)
    kinds = np.array([p[1] for p in parsed], dtype=object)
    return pd.Series(gpus[codes], index=tres.index), pd.Series(kinds[codes], index=tres.index, dtype=object)


def _without_duplicates(df: pd.DataFrame, path: Path) -> tuple[pd.DataFrame, int]:
    """The allocations with exact duplicates dropped (the same row twice, as when overlapping
    exports are joined), and how many were dropped; the same JobID with other fields is refused,
    naming both lines."""
    same_id = df["JobID"].duplicated(keep=False)  # an exact duplicate has its JobID twice
    if not same_id.any():
        return df, 0
    exact = df[same_id].duplicated(keep="first").reindex(df.index, fill_value=False)
    df = df[~exact]
    again = df["JobID"].duplicated(keep=False)
    if again.any():
        job = df.loc[again, "JobID"].iloc[0]
        lines = [int(i) + 2 for i in df.index[df["JobID"] == job][:2]]
        differ = next(c for c in df.columns if df.loc[df["JobID"] == job, c].nunique() > 1)
        raise InputError(f"JobID {job!r} appears on lines {lines[0]} and {lines[1]} with different {differ} ({df.loc[df['JobID'] == job, differ].iloc[0]!r}, {df.loc[df['JobID'] == job, differ].iloc[1]!r}); keep one record per allocation", Where(file=str(path), line=lines[1], field="JobID"))
    return df, int(exact.sum())


def read_sacct(path: str | Path) -> tuple[pd.DataFrame, dict[str, int]]:
    """Read `sacct --parsable2 --allocations` output (with the `FIELDS`; `Comment` and `WCKey`
    when present).

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    jobs : DataFrame
        One row per allocation that ran: the sacct fields, `state` (CANCELLED by ... ->
        CANCELLED), `seconds` (s), `gpus`, `gpu_type`, `gpu_hours` (GPU-h) and `start` (time).
    counts : dict
        records, steps (dropped), duplicates (exact repeats of a row, dropped), running (left
        out), not started (left out), allocations.
    """
    path = Path(path)
    try:
        head = path.open(encoding="utf-8", errors="replace").readline().rstrip("\n")
    except OSError as exc:
        raise AicomputeError(f"{path}: cannot be read ({exc.strerror})") from None
    header = head.split("|")
    if len(header) < 3:
        raise AicomputeError(f"{path}, line 1: not `sacct --parsable2` output (no '|'-separated header); export it with: {SACCT_COMMAND}")
    missing = [f for f in FIELDS if f not in header]
    if missing:
        raise AicomputeError(f"{path}, line 1: column {missing[0]!r} is missing; export with: {SACCT_COMMAND}")
    df = pd.read_csv(path, sep="|", dtype=str, keep_default_na=False, na_filter=False, usecols=[c for c in header if c in FIELDS + OPTIONAL], engine="c")
    for col in OPTIONAL:
        if col not in df:
            df[col] = ""
    counts = {"records": len(df)}
    step = np.array(["." in j for j in df["JobID"].to_numpy()], dtype=bool)
    counts["steps"] = int(step.sum())
    df, counts["duplicates"] = _without_duplicates(df[~step], path)
    running = df["End"].isin(["Unknown", "None", ""])
    not_started = df["Start"].isin(["Unknown", "None", ""])
    counts["running"], counts["not started"] = int((running & ~not_started).sum()), int(not_started.sum())
    df = df[~(running | not_started)].copy()
    df["seconds"], df["start"] = _times(df, path)
    df["state"] = df["State"].map({s: s.split(" ", 1)[0] for s in df["State"].unique()})  # a few distinct states
    df["gpus"], df["gpu_type"] = _gpus(df["AllocTRES"], path)
    df["gpu_hours"] = df["gpus"] * df["seconds"] / 3600.0
    counts["allocations"] = len(df)
    return df, counts


def _matches(values: pd.Series, pattern: re.Pattern) -> pd.Series:
    """Which values the pattern matches, tested once per distinct value."""
    hits = {v for v in values.unique() if pattern.search(v)}
    return values.isin(hits)


def classify(jobs: pd.DataFrame, rules: Rules, source: str = "") -> pd.DataFrame:
    """Add `phase`, `kind`, `gpu` (model name) and `country`/`profile` to the jobs.

    Parameters
    ----------
    jobs : DataFrame
        From `read_sacct`.
    rules : Rules
    source : str
        The accounting file, named in messages.
    """
    jobs = jobs.copy(deep=False)  # new columns only: the caller's frame is left as it was
    free = pd.Series(True, index=jobs.index)
    jobs["phase"], jobs["kind"], keep = "unclassified", rules.unclassified_kind, pd.Series(False, index=jobs.index)
    for rule in rules.rules:
        hit = free.copy()
        for column, pattern in rule["patterns"].items():
            hit &= _matches(jobs[column], pattern)
        jobs.loc[hit, "phase"], jobs.loc[hit, "kind"] = str(rule["phase"]), rule["kind"]
        keep |= hit & (rule.get("failed") == "keep")
        free &= ~hit
    failed = jobs["state"].isin(FAILED_STATES) | ((jobs["state"] == "CANCELLED") & (jobs["seconds"] >= 60 * rules.failed_min_minutes))
    move = failed & ~keep
    jobs.loc[move, "phase"] = jobs.loc[move, "phase"] + " (failed or restarted)"
    jobs.loc[move, "kind"] = "failed or restarted run"
    unknown = ~jobs["Partition"].isin(list(rules.partitions))
    if unknown.any():
        line = int(jobs.index[unknown][0]) + 2
        raise InputError(f"partition {jobs.loc[unknown, 'Partition'].iloc[0]!r} has no GPU model in the rules file {rules.path} (`partitions`)", Where(file=source, line=line, field="Partition"))
    for key in ("gpu", "country", "profile"):
        jobs[key] = jobs["Partition"].map({k: str(v.get(key, "")) for k, v in rules.partitions.items()})
    typed = jobs["gpu_type"].map(rules.gpu_types).fillna("")
    jobs["gpu"] = typed.where(typed != "", jobs["gpu"])
    return jobs


def _months(start: pd.Series) -> pd.Series:
    """`YYYY-MM` of UTC times (numpy's month unit: strftime is 10x slower on a year of jobs)."""
    months = start.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[M]").astype(str)
    return pd.Series(months, index=start.index, dtype=object)


#: `--by` groups: name -> how a job's group is read.
GROUPS = {
    "account": lambda j: j["Account"],
    "user": lambda j: j["User"],
    "project": lambda j: j["WCKey"].where(j["WCKey"] != "", j["Comment"].where(j["Comment"] != "", j["Account"])),
    "partition": lambda j: j["Partition"],
    "qos": lambda j: j["QOS"],
    "month": lambda j: _months(j["start"]),
}


def _phases(keys: np.ndarray, hours: np.ndarray, states: np.ndarray, start: np.ndarray, end: np.ndarray, source: str) -> list[dict]:
    """The phases of one campaign from its jobs, sorted by (phase, kind, GPU model)
    (`campaign_documents`: `keys` those three per job, then GPU-hours, states and UTC start and
    end times): one phase per (phase, kind, GPU model), with its GPU-hours and job counts as its
    source."""
    cuts = [0, *(1 + np.flatnonzero((keys[1:] != keys[:-1]).any(axis=1))).tolist(), len(keys)]
    gpus: dict[str, set] = {}
    for a in cuts[:-1]:
        gpus.setdefault(keys[a][0], set()).add(keys[a][2])
    out = []
    for a, b in zip(cuts[:-1], cuts[1:]):
        phase, kind, gpu = keys[a]
        counts = ", ".join(f"{n} {s.lower()}" for s, n in sorted(Counter(states[a:b]).items(), key=lambda sn: -sn[1]))  # as value_counts
        total = hours[a:b].sum()
        out.append({
            "name": f"{phase} ({gpu})" if len(gpus[phase]) > 1 else phase,
            "kind": kind,
            "gpu": gpu,
            "gpu_hours": round(float(total), 6),
            # the days of its first start and last end (UTC): the phase's months (spread evenly)
            "start": str(np.datetime_as_string(start[a:b].min(), unit="D")),
            "end": str(np.datetime_as_string(end[a:b].max(), unit="D")),
            "description": f"{b - a} job{'s' if b - a != 1 else ''} ({counts}) of {source}, {total:,.1f} GPU-hours",
        })
    return out


def campaign_documents(jobs: pd.DataFrame, rules: Rules, by: str | None, source: str) -> list[tuple[str, dict]]:
    """Campaign documents (as a campaign YAML file holds) of classified jobs: one per group of
    `by` and per site (country, profile) of the partitions. The jobs are sorted once by
    campaign, phase, kind and GPU model (stable: each group's rows in their order) and read in
    slices (a centre's 2,000 accounts: one pandas group per phase took 30 s)."""
    base = str(rules.campaign.get("name") or "").strip() or Path(source).stem
    groups = GROUPS[by](jobs) if by else pd.Series("", index=jobs.index)
    if by == "qos" and (groups == "").any():
        raise AicomputeError(f"{source}: --by qos: {int((groups == '').sum())} GPU jobs have no QOS; export it with: {SACCT_COMMAND}")
    keys = ["group", "country", "profile", "phase", "kind", "gpu"]
    t = jobs[keys[1:] + ["state", "gpu_hours", "start", "seconds"]].assign(group=groups).dropna(subset=keys).sort_values(keys, kind="stable")
    utc = lambda times: times.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()  # noqa: E731 - numpy datetimes, UTC
    start, end = utc(t["start"]), utc(t["start"] + pd.to_timedelta(t["seconds"], unit="s"))
    main = t.groupby(["group", "country", "profile", "gpu"], sort=True)["gpu_hours"].sum()
    several_countries = jobs["country"].nunique() > 1
    every, hours, states = t[keys].to_numpy(), t["gpu_hours"].to_numpy(), t["state"].to_numpy()
    cuts = [0, *(1 + np.flatnonzero((every[1:, :3] != every[:-1, :3]).any(axis=1))).tolist(), len(t)]
    out = []
    for a, b in zip(cuts[:-1], cuts[1:]):
        group, country, profile = every[a, :3]
        site = {**rules.campaign.get("site", {}), **({"country": country} if country else {}), **({"profile": profile} if profile else {})}
        label = " ".join(x for x in (str(group), country if several_countries else "") if x)
        name = f"{base} {label}".strip()
        doc = {
            "campaign": {"name": name, "description": f"From the SLURM accounting {source} with the rules {rules.path}: {b - a} jobs."},
            "site": site or {"country": "GLO"},
            "hardware": {"gpu": main.loc[(group, country, profile)].idxmax()},
            "phases": _phases(every[a:b, 3:], hours[a:b], states[a:b], start[a:b], end[a:b], Path(source).name),
        }
        out.append((label or name, doc))
    return out


def monthly(jobs: pd.DataFrame) -> pd.DataFrame:
    """GPU-hours by month (rows, UTC start of the job) and phase (columns)."""
    month = _months(jobs["start"])
    table = jobs["gpu_hours"].groupby([month, jobs["phase"]]).sum().unstack(fill_value=0.0)
    return table.rename_axis(index="month", columns=None)


@dataclass
class Accounting:
    """Campaigns made from an accounting file.

    Attributes
    ----------
    campaigns : list of (label, document)
        Campaign documents (what a campaign YAML file holds), one per group.
    jobs : DataFrame
        The classified allocations (`classify`).
    counts : dict
        records, steps, running, not started, allocations, unclassified, and GPU-hours.
    """

    campaigns: list[tuple[str, dict]]
    jobs: pd.DataFrame
    counts: dict[str, Any]

    def report(self) -> str:
        """The text printed by `aicompute from-slurm`."""
        from .catalog import formatted

        c = self.counts
        lines = [
            f"{c['records']:,} records: {c['steps']:,} job steps dropped, {c['duplicates']:,} duplicated rows dropped, {c['running']:,} running, {c['not started']:,} never started and {c['without GPUs']:,} without GPUs left out; "
            f"{c['allocations']:,} allocations, {c['gpu_hours']:,.1f} GPU-hours, {c['unclassified']:,} unclassified",
        ]
        if len(self.campaigns) > REPORT_CAMPAIGNS:
            lines += ["", f"{len(self.campaigns):,} campaigns, the {REPORT_CAMPAIGNS} with the most GPU-hours (every one is in its file)", formatted(self.largest())]
        else:
            for _, doc in self.campaigns:
                table = pd.DataFrame(doc["phases"])[["name", "kind", "gpu", "gpu_hours"]]
                site = ", ".join(f"{k} {v}" for k, v in doc["site"].items())
                lines += ["", f"Campaign {doc['campaign']['name']!r} ({site})", formatted(table)]
        lines += ["", "GPU-hours by month", formatted(monthly(self.jobs).reset_index())]
        return "\n".join(lines)

    def largest(self, top: int = REPORT_CAMPAIGNS) -> pd.DataFrame:
        """One row per campaign (name, phases, GPU-hours), the `top` with the most GPU-hours
        and a last row summing the others."""
        rows = pd.DataFrame(
            [{"campaign": doc["campaign"]["name"], "phases": len(doc["phases"]), "gpu_hours": sum(p["gpu_hours"] for p in doc["phases"])} for _, doc in self.campaigns]
        ).sort_values("gpu_hours", ascending=False, kind="stable")
        rest = rows.iloc[top:]
        if len(rest):
            rows = pd.concat([rows.iloc[:top], pd.DataFrame([{"campaign": f"the other {len(rest):,}", "phases": int(rest["phases"].sum()), "gpu_hours": rest["gpu_hours"].sum()}])])
        return rows.reset_index(drop=True)


def _date(text: str | None, option: str) -> pd.Timestamp:
    """A UTC time from an ISO date (no bound: the earliest or latest time)."""
    if not text:
        return pd.Timestamp.min.tz_localize("UTC") if option == "--from" else pd.Timestamp.max.tz_localize("UTC")
    try:
        return pd.Timestamp(text, tz="UTC")
    except ValueError:
        raise AicomputeError(f"{option} {text!r} is not an ISO date (YYYY-MM-DD)") from None


def from_slurm(sacct: str | Path, rules: str | Path | Rules, by: str | None = None, start: str | None = None, end: str | None = None) -> Accounting:
    """Campaigns from SLURM accounting.

    Parameters
    ----------
    sacct : str or Path
        `sacct --parsable2 --allocations` output with `FIELDS` (`SACCT_COMMAND`).
    rules : str, Path or Rules
        The classification rules file (`read_rules`).
    by : {'account', 'user', 'project', 'partition', 'qos', 'month'}, optional
        One campaign per group.
    start, end : str, optional
        Keep the jobs that started in [start, end) (ISO dates, UTC).

    Returns
    -------
    Accounting
        The campaign documents, the classified jobs and the counts; GPU-hours over the phases add
        up to those of the kept jobs.
    """
    rules = rules if isinstance(rules, Rules) else read_rules(rules)
    if by is not None and by not in GROUPS:
        raise AicomputeError(f"--by {by!r}: use one of {', '.join(GROUPS)}")
    jobs, counts = read_sacct(sacct)
    if start or end:
        jobs = jobs[(jobs["start"] >= _date(start, "--from")) & (jobs["start"] < _date(end, "--to"))]
    counts["without GPUs"] = int((jobs["gpus"] <= 0).sum())
    jobs = jobs[jobs["gpus"] > 0]
    if jobs.empty:
        raise AicomputeError(f"{sacct}: no finished GPU job in the file (or in the dates given)")
    jobs = classify(jobs, rules, str(sacct))
    counts.update(unclassified=int((jobs["phase"].str.startswith("unclassified")).sum()), gpu_hours=float(jobs["gpu_hours"].sum()), kept=len(jobs))
    return Accounting(campaign_documents(jobs, rules, by, str(sacct)), jobs, counts)


def write_campaign_files(accounting: Accounting, out: Path, several: bool, force: bool = False, inputs: list = ()) -> list[Path]:
    """Validate every campaign document as a campaign file, then write them (YAML): `out` is
    the file, or with `several` a folder (created) holding `<group>.yaml` files. Nothing is
    written when one does not validate; a file is never one of `inputs` (the accounting and
    rules files) nor inside the Brightway data directory, with or without `force`."""
    import yaml

    from ._resources import atomic_write, outside_brightway, output_path
    from .campaign.read import parse_campaign
    from .campaign.schema import slugify
    from .inventory.templates import files_unchanged

    if several:
        targets = [out / f"{slugify(label) or 'all'}.yaml" for label, _ in accounting.campaigns]
    elif len(accounting.campaigns) > 1:
        raise AicomputeError(f"the partitions are on {len(accounting.campaigns)} sites: give --by and a folder for --out, one campaign per site")
    else:
        targets = [out]
    if several:
        outside_brightway(out)
    if several and out.exists() and not out.is_dir():
        raise AicomputeError(f"--out {out}: with --by, --out is a folder (one campaign file per group), not a file")
    with files_unchanged():  # the inventory files' signatures read once, not per phase
        for path, (_, doc) in zip(targets, accounting.campaigns):
            if not several or out.is_dir():  # a folder not created yet holds no file to refuse
                output_path(path, inputs=inputs, force=force)
            parse_campaign(doc, path)  # a class that makes no valid phase fails here, before any file is written
    if several:
        out.mkdir(parents=True, exist_ok=True)  # only once every campaign validates
    header = "# Written by aicompute from-slurm: review the phases, then assess with aicompute assess.\n"
    for path, (_, doc) in zip(targets, accounting.campaigns):
        text = header + yaml.dump(doc, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=False, allow_unicode=True, width=100)  # libyaml's emitter: the same text, 10x faster
        atomic_write(path, lambda tmp, text=text: tmp.write_text(text, encoding="utf-8"))
    return targets
