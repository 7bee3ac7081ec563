"""Measured energy from GPU power logs: nvidia-smi CSV logs, CodeCarbon `emissions.csv`, plain
`timestamp,power_w[,gpu]` CSV files, `amd-smi` and `rocm-smi` CSV, NVIDIA DCGM exporter metrics
as CSV and Zeus (`ZeusMonitor`) energy logs; the format is detected from the header, never guessed
(a header that fits two formats is refused).

Energy per GPU is the trapezoidal integral of power over time. An interval between two valid
samples longer than `gap_seconds` (default 5 s) is a gap: it is reported and not integrated
(never bridged silently). `start`/`end` (ISO 8601) select part of a log. Active segments (load
versus idle) are runs of samples above a power threshold: an explicit `active_watts` (above 0 and
at most `MAX_POWER_W`), else 30% of the GPU's power limit when the log has one (nvidia-smi
`power.limit [W]`), else a threshold between the log's idle level (5th percentile) and its peak
(99th percentile). A Zeus energy log holds energy per measurement window (J, from the GPUs'
energy counters): the energy is the sum of its outermost windows, never integrated from power.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import AicomputeError, Where, quote

NA_TOKENS = {"[N/A]", "N/A", "[Not Supported]", "Not Supported", "[Unknown Error]", "", "N/A (Secondary die)"}
GPU_ID_COLUMNS = ("index", "uuid", "pci.bus_id", "gpu")
POWER_COLUMNS = ("power.draw [W]", "power.draw.instant [W]", "power.draw.average [W]", "power.draw", "power_w")
CODECARBON_COLUMNS = {"timestamp", "run_id", "duration", "gpu_energy", "energy_consumed"}
SEGMENT_MERGE_S = 3.0  # idle dips shorter than this inside a segment are merged into it
SEGMENT_MIN_S = 2.0  # shorter bursts are not segments
MAX_POWER_W = 10_000.0  # one GPU's power; a larger sample is an error in the log
MAX_GPUS_PER_RUN = 10_000  # CodeCarbon gpu_count
MAX_HEADER_BYTES = 65_536  # the first line of a log
MAX_COLUMNS = 1_000
BLOCK_BYTES = 32 * 2**20  # read at a time
MAX_CODECARBON_BYTES = 100 * 2**20
CODECARBON_REQUIRED = ("duration", "gpu_energy", "cpu_energy", "ram_energy", "energy_consumed")
EPOCH_RANGE_S = (0.0, 7.0e9)  # epoch seconds from 1970 to about 2191
WANTED = {"timestamp", "power.limit [W]", "energy_j", *GPU_ID_COLUMNS, *POWER_COLUMNS} | CODECARBON_COLUMNS | {"cpu_energy", "ram_energy", "gpu_count"}
# amd-smi (`monitor -p` / `metric -p`, `--csv`), rocm-smi (`--showpower --csv`), DCGM exporter, Zeus
AMD_POWER_COLUMNS = ("power_usage", "socket_power")
ROCM_POWER_COLUMNS = ("Current Socket Graphics Package Power (W)", "Average Graphics Package Power (W)")
DCGM_POWER, DCGM_ENERGY = "DCGM_FI_DEV_POWER_USAGE", "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"
ZEUS_COLUMNS = ("start_time", "window_name", "elapsed_time")
ZEUS_GPU = re.compile(r"gpu(\d+)_energy")
ZEUS_TOLERANCE_S = 1e-6  # a window inside another may end this much after it (float times)
WANTED |= {*AMD_POWER_COLUMNS, "device", *ROCM_POWER_COLUMNS, DCGM_POWER, DCGM_ENERGY, *ZEUS_COLUMNS}


@dataclass
class GpuSummary:
    """Energy of one GPU in the window: samples, span, time integrated (s, span minus gaps),
    energy (kWh), mean and peak power (W), and the gaps."""
    gpu: str
    samples: int
    start: pd.Timestamp
    end: pd.Timestamp
    duration_s: float  # wall-clock span of the selection
    covered_s: float  # time integrated (span minus gaps)
    energy_kwh: float
    mean_power_w: float
    peak_power_w: float
    gaps: list[dict] = field(default_factory=list)
    hourly_kwh: dict[pd.Timestamp, float] = field(default_factory=dict)  # energy by UTC hour (sample logs)


@dataclass
class TelemetrySummary:
    """Energy of a power log: per GPU and in total, with gaps and active segments."""

    file: str
    kind: str  # "nvidia-smi", "plain", "codecarbon", "amd-smi", "rocm-smi", "dcgm-exporter" or "zeus"
    gpus: list[GpuSummary]
    segments: list[dict]
    gap_seconds: float
    runs: list[dict] = field(default_factory=list)  # CodeCarbon runs
    energy_counter_kwh: float | None = None  # NVML energy counter, when the log has one

    @property
    def energy_kwh(self) -> float:
        """Energy of all GPUs in the window, kWh."""
        return float(sum(g.energy_kwh for g in self.gpus))

    @property
    def hourly_kwh(self) -> dict[pd.Timestamp, float]:
        """Energy of all GPUs by UTC hour (its start), kWh; empty for a CodeCarbon log."""
        out: dict[pd.Timestamp, float] = {}
        for g in self.gpus:
            for hour, kwh in g.hourly_kwh.items():
                out[hour] = out.get(hour, 0.0) + kwh
        return dict(sorted(out.items()))

    @property
    def duration_s(self) -> float:
        """Wall-clock span of the window over all GPUs, s."""
        if not self.gpus:
            return 0.0
        return float((max(g.end for g in self.gpus) - min(g.start for g in self.gpus)).total_seconds())

    @property
    def gpu_hours(self) -> float:
        """GPU time of the selection: each GPU's wall-clock duration, summed (GPUs x duration
        for a log of GPUs sampled together; for the time-allocated embodied share)."""
        return sum(g.duration_s for g in self.gpus) / 3600

    def to_dict(self) -> dict:
        """The summary as the JSON document of `aicompute telemetry --json`."""
        def ts(t):
            return t.isoformat() if isinstance(t, pd.Timestamp) else t

        return {
            "file": self.file,
            "kind": self.kind,
            "energy_kwh": self.energy_kwh,
            "duration_s": self.duration_s,
            "gpu_hours": self.gpu_hours,
            "gap_seconds": self.gap_seconds,
            "energy_counter_kwh": self.energy_counter_kwh,
            "gpus": [
                {
                    "gpu": g.gpu,
                    "samples": g.samples,
                    "start": ts(g.start),
                    "end": ts(g.end),
                    "duration_s": g.duration_s,
                    "covered_s": g.covered_s,
                    "energy_kwh": g.energy_kwh,
                    "mean_power_w": g.mean_power_w,
                    "peak_power_w": g.peak_power_w,
                    "gaps": [{k: ts(v) for k, v in gap.items()} for gap in g.gaps],
                }
                for g in self.gpus
            ],
            "segments": [{k: ts(v) for k, v in s.items()} for s in self.segments],
            "runs": self.runs,
        }

    def report(self) -> str:
        """The text printed by `aicompute telemetry`."""
        lines = [f"{self.file} ({self.kind} log)"]
        lines.append(
            f"  total: {len(self.gpus)} GPU(s), duration {self.duration_s:,.1f} s, energy {self.energy_kwh:.6g} kWh"
            + (f" (NVML energy counter: {self.energy_counter_kwh:.6g} kWh)" if self.energy_counter_kwh is not None else "")
        )
        for g in self.gpus:
            lines.append(
                f"  GPU {g.gpu}: {g.samples} samples, {g.start} to {g.end}, duration {g.duration_s:,.1f} s, "
                f"energy {g.energy_kwh:.6g} kWh, mean {g.mean_power_w:.1f} W, "
                + (f"peak {g.peak_power_w:.1f} W, " if g.peak_power_w == g.peak_power_w else "peak not in the log, ")
                + f"{len(g.gaps)} gap(s) over {self.gap_seconds:g} s"
            )
            for gap in g.gaps:
                lines.append(f"    gap: {gap['start']} to {gap['end']} ({gap['seconds']:.1f} s, not integrated)")
        if self.runs:
            lines.append("  runs:")
            for r in self.runs:
                lines.append(
                    f"    {r['run_id']}: {r['duration_s']:,.0f} s, GPU {r['gpu_energy_kwh']:.6g} kWh, CPU {r['cpu_energy_kwh']:.6g} kWh, "
                    f"RAM {r['ram_energy_kwh']:.6g} kWh, total {r['energy_kwh']:.6g} kWh"
                )
        lines.append(f"  active segments: {len(self.segments)}")
        for s in self.segments:
            lines.append(
                f"    GPU {s['gpu']}: {s['start']} to {s['end']} ({s['duration_s']:.1f} s, {s['energy_kwh']:.6g} kWh, mean {s['mean_power_w']:.1f} W)"
            )
        return "\n".join(lines)


def _clean_bytes(raw: bytes, header: list[str]) -> bytes:
    """nvidia-smi writes units and [N/A] into the values ("694.68 W"): drop them once over a
    block, so that the C parser reads numbers directly (per-value string work is slow)."""
    if b" W," in raw:
        raw = raw.replace(b" W,", b",")
    if header and header[-1].endswith("[W]"):
        raw = raw.replace(b" W\n", b"\n").replace(b" W\r\n", b"\r\n")
    for token in (b"[N/A]", b"[Not Supported]", b"[Unknown Error]"):
        if token in raw:
            raw = raw.replace(token, b"")
    return raw


def _header(path: Path, err: Where) -> list[str]:
    """The column names of a log's first line."""
    if not path.is_file():
        raise err.error("telemetry file not found")
    with open(path, "rb") as f:
        head = f.readline(MAX_HEADER_BYTES + 1)
    if not head.strip():
        raise err.error("the file is empty")
    if len(head) > MAX_HEADER_BYTES or b"\x00" in head:
        raise err.error(f"not a power log (the first line is binary or longer than {MAX_HEADER_BYTES:,} bytes)")
    try:
        header = [c.strip() for c in head.decode("utf-8").lstrip("\ufeff").split(",")]
    except UnicodeDecodeError:
        raise err.error("not a text file") from None
    if len(header) > MAX_COLUMNS:
        raise err.error(f"not a power log ({len(header):,} columns; at most {MAX_COLUMNS:,})")
    return header


def _blocks(path: Path, err: Where) -> Iterator[tuple[bytes, int]]:
    """The log after its header in blocks of whole lines (about BLOCK_BYTES each), with the
    number of the first line of each block."""
    with open(path, "rb") as f:
        f.readline(MAX_HEADER_BYTES + 1)
        line, rest = 2, b""
        while True:
            chunk = f.read(BLOCK_BYTES)
            if not chunk:
                if rest.strip():
                    yield rest, line
                return
            chunk = rest + chunk
            cut = chunk.rfind(b"\n") + 1
            if cut == 0 and len(chunk) > BLOCK_BYTES:
                raise err.error(f"a line longer than {BLOCK_BYTES:,} bytes; not a power log", line=line)
            block, rest = chunk[:cut], chunk[cut:]
            if block:
                yield block, line
                line += block.count(b"\n")


def _read_block(block: bytes, header: list[str], err: Where, line: int) -> pd.DataFrame:
    """One block of a log as a DataFrame of the used columns; index + 2 is the line number."""
    if b"\x00" in block:
        raise err.error("not a text file (NUL bytes)", line=line + block[: block.index(b"\x00")].count(b"\n"))
    try:
        df = pd.read_csv(io.BytesIO(_clean_bytes(block, header)), header=None, names=header, skipinitialspace=True, engine="c", usecols=_wanted, skip_blank_lines=False)
    except pd.errors.EmptyDataError:
        return pd.DataFrame(columns=[c for c in header if _wanted(c)])
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise err.error(f"not a readable CSV file ({quote(str(exc).strip().splitlines()[-1])[1:-1]})", line=line) from None
    df.index = np.arange(line, line + len(df)) - 2
    return df.dropna(how="all")


def read_log(
    path: str | Path,
    start: str | None = None,
    end: str | None = None,
    gap_seconds: float = 5.0,
    active_watts: float | None = None,
) -> TelemetrySummary:
    """Read a GPU power log and summarise the energy of the selected window.

    The log is read in blocks, keeping only times and powers (16 bytes a sample): a 2 GB log
    is read in well under 1 GB of memory.

    Parameters
    ----------
    path : str or Path
        A power log, its kind detected from the header: nvidia-smi CSV, plain CSV
        (`timestamp,power_w[,gpu][,energy_j]`), CodeCarbon `emissions.csv`, `amd-smi` or
        `rocm-smi` CSV, DCGM exporter metrics as CSV or a Zeus energy log (`docs/telemetry.md`
        lists the formats and the commands that write them).
    start, end : str, optional
        ISO 8601 times bounding the window.
    gap_seconds : float
        Intervals between samples longer than this (s) are gaps: reported, not integrated.
    active_watts : float, optional
        Power (W) above which a GPU counts as active (default: 30 % of its power limit). It is
        above 0 (a powered GPU never draws 0 W, so a threshold of 0 or less makes every sample
        active) and at most `MAX_POWER_W` (no sample is larger); anything else, NaN and
        infinities included, is refused.

    Returns
    -------
    TelemetrySummary
        Energy (kWh, trapezoidal integral of power over time) per GPU and in total, gaps and
        active segments.

    References
    ----------
    NVIDIA, nvidia-smi documentation (`--query-gpu` fields `power.draw`, `power.limit`);
    CodeCarbon, `emissions.csv` output (energy in kWh per run, cumulative rows); AMD SMI CLI
    README (ROCm/amdsmi, `amd-smi monitor`, `--csv`, `-w`); ROCm SMI (`rocm-smi --showpower
    --csv`); NVIDIA dcgm-exporter README and `etc/default-counters.csv`; Zeus, "Measuring
    Energy" (ml.energy/zeus, `ZeusMonitor` `log_file`).
    """
    path = Path(path)
    err = Where(file=str(path))
    _check_options(gap_seconds, active_watts, err)
    header = _header(path, err)
    window = (_parse_time(start, "--start", err), _parse_time(end, "--end", err))
    if window[0] is not None and window[1] is not None and window[1] <= window[0]:
        raise err.error("--end must be after --start")
    fmt = _detect(header, err)
    if fmt.kind == "codecarbon":
        return _codecarbon(_small_frame(path, header, err, "CodeCarbon"), path, err, window, gap_seconds)
    if fmt.kind == "zeus":
        return _zeus(_small_frame(path, header, err, "Zeus"), path, err, window, gap_seconds)
    samples = _Samples(fmt, window, err)
    for block, line in _blocks(path, err):
        samples.add(_read_block(block, header, err, line))
    return samples.summary(path, gap_seconds, active_watts)


def _wanted(column: str) -> bool:
    """Whether a column of a log is read (the others are skipped by the CSV parser)."""
    return column in WANTED or ZEUS_GPU.fullmatch(column) is not None


@dataclass(frozen=True)
class _Format:
    """How to read a sample log: its kind, the columns of power (W), GPU id and energy counter
    (with the joules per counter unit), and a fallback power column."""

    kind: str
    power: str = ""
    gpu: str | None = None
    counter: str | None = None
    counter_j: float = 1.0
    power_alt: str | None = None


# The header of each format, by a signature that no other format's header has (a header that fits
# two is refused); the columns a format needs beyond its signature are checked after it is chosen.
SIGNATURES = {
    "nvidia-smi or plain": lambda cols: "timestamp" in cols and any(c in cols for c in POWER_COLUMNS),
    "codecarbon": lambda cols: CODECARBON_COLUMNS <= cols,
    "amd-smi": lambda cols: any(c in cols for c in AMD_POWER_COLUMNS),
    "rocm-smi": lambda cols: "device" in cols and any(c.endswith("Graphics Package Power (W)") for c in cols),
    "dcgm-exporter": lambda cols: any(c.startswith("DCGM_FI_") for c in cols),
    "zeus": lambda cols: {"start_time", "window_name"} <= cols,
}
UNKNOWN_FORMAT = (
    "unknown log format: expected an nvidia-smi CSV log (columns 'timestamp' and 'power.draw [W]'), "
    "a plain CSV ('timestamp,power_w[,gpu]'), a CodeCarbon emissions.csv, an amd-smi CSV ('timestamp,gpu,power_usage' "
    "or 'socket_power'), a rocm-smi CSV ('timestamp,device,Current Socket Graphics Package Power (W)'), DCGM exporter "
    "metrics as CSV ('timestamp,gpu,DCGM_FI_DEV_POWER_USAGE') or a Zeus energy log ('start_time,window_name,elapsed_time,gpu0_energy'); "
    "found columns: "
)
#: A Grace Hopper/Blackwell log of module power alone: CPU, GPU and memory together, which the
#: GPU-hour's node overhead (host CPU and DRAM) would count again.
MODULE_POWER = (
    "a log of 'module.power.draw' alone (the Grace CPU, the GPU and their memory together): log the GPU's "
    "own 'power.draw' as well (nvidia-smi --query-gpu=timestamp,index,power.draw,module.power.draw --format=csv); "
    "the rest of the node, the Grace CPU included, is then counted once by node_overhead_share"
)
NO_TIMESTAMP = {
    "amd-smi": "amd-smi writes it only when watching: amd-smi monitor -p -w 1 --csv --file LOG.csv",
    "rocm-smi": "rocm-smi writes none: add the time of each reading, as in docs/telemetry.md",
    "dcgm-exporter": "the time of each scrape of the exporter, as in docs/telemetry.md",
}


def _detect(header: list[str], err: Where) -> _Format:
    """The format of a log from its header (exactly one format's signature must fit), with the
    columns it needs checked: a missing one is named, on line 1.

    References
    ----------
    AMD SMI CLI README, `amd-smi monitor` / `amd-smi metric` with `--csv` and `-w` (watch adds
    `timestamp`, epoch s), https://github.com/ROCm/amdsmi; ROCm SMI, `rocm-smi --showpower
    --csv` (`device`, `... Graphics Package Power (W)`), https://github.com/ROCm/rocm_smi_lib;
    dcgm-exporter README and `etc/default-counters.csv` (`DCGM_FI_DEV_POWER_USAGE` in W,
    `DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION` in mJ), https://github.com/NVIDIA/dcgm-exporter.
    """
    cols = set(header)
    found = [kind for kind, fits in SIGNATURES.items() if fits(cols)]
    if len(found) > 1:
        raise err.error(f"the header fits several log formats ({', '.join(found)}); columns: " + quote(", ".join(header)), line=1)
    if not found and any(c.startswith("module.power.draw") for c in cols):
        raise err.error(MODULE_POWER, line=1)
    if not found:
        raise err.error(UNKNOWN_FORMAT + quote(", ".join(header)))
    kind = found[0]
    if kind in ("codecarbon", "zeus"):
        return _Format(kind)
    if kind == "nvidia-smi or plain":
        power = next(c for c in POWER_COLUMNS if c in cols)
        return _Format("plain" if power == "power_w" else "nvidia-smi", power, next((c for c in GPU_ID_COLUMNS if c in cols), None), "energy_j" if "energy_j" in cols else None)
    if kind == "amd-smi":
        fmt = _Format(kind, next(c for c in AMD_POWER_COLUMNS if c in cols), "gpu")
    elif kind == "rocm-smi":
        powers = [c for c in ROCM_POWER_COLUMNS if c in cols]
        if not powers:
            raise err.error(f"rocm-smi log without the column {ROCM_POWER_COLUMNS[0]!r} or {ROCM_POWER_COLUMNS[1]!r} (rocm-smi --showpower --csv writes one)", line=1)
        fmt = _Format(kind, powers[0], "device", power_alt=powers[1] if len(powers) > 1 else None)
    else:
        fmt = _Format(kind, DCGM_POWER, "gpu", DCGM_ENERGY if DCGM_ENERGY in cols else None, 1e-3)  # counter in mJ
    for column in ("timestamp", fmt.gpu, fmt.power):
        if column not in cols:
            hint = f" ({NO_TIMESTAMP[kind]})" if column == "timestamp" else ""
            raise err.error(f"{kind} log without the column {column!r}{hint}", line=1)
    return fmt


def _check_options(gap_seconds: float, active_watts: float | None, err: Where) -> None:
    """Refuse a gap threshold that is not in (0, 1 day] s and an `active_watts` that is not in
    (0, `MAX_POWER_W`] W (NaN and infinities included: NaN compares false)."""
    if not 0 < gap_seconds <= 86400:
        raise err.error(f"gap threshold must be positive and at most a day, got {gap_seconds:g} s")
    if active_watts is not None and not 0 < active_watts <= MAX_POWER_W:
        raise err.error(f"--active-watts {active_watts:g}: must be a power in watts above 0 and at most {MAX_POWER_W:,.0f} (a threshold of 0 W or less makes every sample active)")


def _small_frame(path: Path, header: list[str], err: Where, tool: str) -> pd.DataFrame:
    """A CodeCarbon or Zeus log (one row per run or window, small) read whole."""
    if path.stat().st_size > MAX_CODECARBON_BYTES:
        raise err.error(f"a {tool} log larger than {MAX_CODECARBON_BYTES:,} bytes")
    frames = [f for f in (_read_block(block, header, err, line) for block, line in _blocks(path, err)) if not f.empty]
    if not frames:
        raise err.error("the file has a header but no samples")
    return pd.concat(frames)


class _Samples:
    """The samples of a power log, kept per GPU as arrays of times (ns) and powers (W), block by
    block: checked (numbers, times that do not go backwards) and filtered to the window."""

    def __init__(self, fmt: "_Format", window, err: Where):
        self.fmt, self.window, self.err = fmt, window, err
        self.power_col, self.gpu_col = fmt.power, fmt.gpu
        self.has_counter = fmt.counter is not None
        self.times: dict = {}
        self.powers: dict = {}
        self.last: dict = {}  # last time of each GPU (ns), for the order check across blocks
        self.limit: dict = {}
        self.counter: dict = {}  # (first, last) energy counter reading of each GPU, J
        self.rows = 0

    def add(self, df: pd.DataFrame) -> None:
        """Check and keep one block."""
        if df.empty:
            return
        self.rows += len(df)
        err = self.err
        t = _timestamps(df["timestamp"], err).to_numpy(dtype="datetime64[ns]").view(np.int64)
        p, na = _numbers(df[self.power_col], " W", err, self.power_col, MAX_POWER_W)
        if self.fmt.power_alt is not None:  # rocm-smi: a card's 'Current Socket', else its 'Average' power
            alt, alt_na = _numbers(df[self.fmt.power_alt], " W", err, self.fmt.power_alt, MAX_POWER_W)
            p, na = p.where(~na, alt), na & alt_na
        gpu = df[self.gpu_col] if self.gpu_col else pd.Series(0, index=df.index)
        empty = np.flatnonzero(gpu.isna().to_numpy())
        if empty.size:
            raise err.error(f"column {self.gpu_col!r}: empty GPU id", line=int(df.index[empty[0]]) + 2)
        limit = _numbers(df["power.limit [W]"], " W", err, "power.limit [W]", MAX_POWER_W)[0].to_numpy(dtype=float) if "power.limit [W]" in df.columns else None
        counter = _numbers(df[self.fmt.counter], " J", err, self.fmt.counter)[0].to_numpy(dtype=float) * self.fmt.counter_j if self.has_counter else None
        keep = ~na
        if self.window[0] is not None:
            keep &= t >= self.window[0].value
        if self.window[1] is not None:
            keep &= t <= self.window[1].value
        power = p.to_numpy(dtype=float)
        for g, idx in gpu.groupby(gpu, sort=False).indices.items():
            self._check_order(g, idx, t, df.index)
            k = idx[keep[idx]]
            if k.size:
                self._keep(g, t[k], power[k], None if limit is None else limit[k], None if counter is None else counter[k])

    def _check_order(self, g, idx: np.ndarray, t: np.ndarray, lines) -> None:
        """Timestamps must not go backwards (per GPU; rows of several GPUs may interleave)."""
        tg = np.concatenate(([self.last.get(g, t[idx[0]])], t[idx]))
        back = np.flatnonzero(np.diff(tg) < 0)
        if back.size:
            before, row = pd.Timestamp(int(tg[back[0]])), idx[back[0]]
            raise self.err.error(f"timestamp goes backwards for GPU {g} ({before} then {pd.Timestamp(int(t[row]))})", line=int(lines[row]) + 2)
        self.last[g] = t[idx[-1]]

    def _keep(self, g, t: np.ndarray, power: np.ndarray, limit: np.ndarray | None, counter: np.ndarray | None) -> None:
        self.times.setdefault(g, []).append(t)
        self.powers.setdefault(g, []).append(power)
        if limit is not None and np.isfinite(limit).any():
            self.limit[g] = max(self.limit.get(g, 0.0), float(np.nanmax(limit)))
        if counter is not None:
            c = counter[~np.isnan(counter)]
            if c.size:
                self.counter[g] = (self.counter.get(g, (c[0],))[0], c[-1])

    def summary(self, path: Path, gap_seconds: float, active_watts: float | None) -> TelemetrySummary:
        """Energy per GPU, gaps and segments of the kept samples."""
        if not self.rows:
            raise self.err.error("the file has a header but no samples")
        if not self.times:
            windowed = self.window[0] is not None or self.window[1] is not None
            raise self.err.error("no valid sample in the selected window" if windowed else "no valid power sample")
        gpus, segments = [], []
        for g in list(self.times):
            t_ns, pw = np.concatenate(self.times.pop(g)), np.concatenate(self.powers.pop(g))
            limit = np.array([self.limit[g]]) if g in self.limit else None
            summary, seg = _integrate(str(g).strip(), t_ns, pw, gap_seconds, _threshold(pw, limit, active_watts))
            gpus.append(summary)
            segments += seg
        counter_kwh = sum(float(b - a) for a, b in self.counter.values()) / 3.6e6 if self.has_counter else None
        return TelemetrySummary(file=str(path), kind=self.fmt.kind, gpus=gpus, segments=segments, gap_seconds=gap_seconds, energy_counter_kwh=counter_kwh)


def _parse_time(value: str | None, flag: str, err: Where) -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise err.error(f"{flag} {value!r} is not an ISO 8601 time (e.g. 2026-11-26T03:52:30)") from None
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts


def _epoch(seconds: pd.Series) -> pd.Series:
    """Epoch seconds as times; values outside EPOCH_RANGE_S (or not finite) become NaT."""
    seconds = seconds.astype(float).where(seconds.astype(float).between(*EPOCH_RANGE_S))
    return pd.to_datetime(seconds, unit="s", errors="coerce")


def _timestamps(col: pd.Series, err: Where) -> pd.Series:
    """Times of a timestamp column: nvidia-smi's format, ISO 8601 or epoch seconds."""
    if pd.api.types.is_numeric_dtype(col):  # epoch seconds
        t = _epoch(col)
    else:
        s = col.astype(str)
        t = pd.to_datetime(s, format="%Y/%m/%d %H:%M:%S.%f", errors="coerce")  # nvidia-smi
        if t.isna().any():
            iso = pd.to_datetime(s.str.strip(), format="ISO8601", errors="coerce", utc=True).dt.tz_localize(None)
            t = t.fillna(iso)
        if t.isna().any():
            numeric = pd.to_numeric(s, errors="coerce")
            if numeric.notna().all():
                t = _epoch(numeric)
    bad = np.flatnonzero(t.isna().to_numpy())
    if bad.size:
        raise err.error(f"timestamp {quote(col.iloc[bad[0]])} cannot be read (use nvidia-smi's format, ISO 8601 or epoch seconds from 1970 to 2191)", line=int(bad[0]) + 2)
    return t


def _numbers(col: pd.Series, suffix: str, err: Where, name: str, maximum: float = 1e15) -> tuple[pd.Series, np.ndarray]:
    """Numbers of a column (units already dropped), finite, from 0 to `maximum`; missing values
    are allowed, text is not."""
    if pd.api.types.is_numeric_dtype(col):
        values = col.astype(float)
        na = values.isna().to_numpy()
    else:  # a value that is not a number somewhere: find it for the message
        s = col.astype(str).str.strip()
        na = (col.isna() | s.isin(NA_TOKENS)).to_numpy()
        values = pd.to_numeric(s.str.removesuffix(suffix.strip()).str.strip(), errors="coerce")
        bad = np.flatnonzero(values.isna().to_numpy() & ~na)
        if bad.size:
            raise err.error(f"column {name!r}: value {quote(col.iloc[bad[0]])} is not a number", line=int(bad[0]) + 2)
    neg = np.flatnonzero((values < 0).to_numpy())
    if neg.size:
        raise err.error(f"column {name!r}: negative value {quote(col.iloc[neg[0]])}", line=int(neg[0]) + 2)
    wrong = np.flatnonzero(((values > maximum) | np.isinf(values)).to_numpy())
    if wrong.size:
        raise err.error(f"column {name!r}: value {quote(col.iloc[wrong[0]])} is above {maximum:g}", line=int(wrong[0]) + 2)
    return values, na


def _threshold(power: np.ndarray, limit: np.ndarray | None, active_watts: float | None) -> float:
    if active_watts is not None:
        return float(active_watts)
    if limit is not None and np.isfinite(limit).any():
        return 0.3 * float(np.nanmax(limit))
    lo, hi = np.percentile(power, [5, 99])
    return float(max(1.5 * lo, lo + 0.3 * (hi - lo)))


def _integrate(gpu: str, t_ns: np.ndarray, pw: np.ndarray, gap_s: float, threshold: float) -> tuple[GpuSummary, list[dict]]:
    """Trapezoidal energy of one GPU's samples (times in ns since the epoch, power in W), gaps
    longer than `gap_s` left out, and its active segments above `threshold` W."""
    secs = (t_ns - t_ns[0]) / 1e9
    tt = _Times(t_ns)
    dt = np.diff(secs)
    ok = dt <= gap_s
    trap = (pw[1:] + pw[:-1]) / 2 * dt
    energy_j = float(trap[ok].sum())
    covered = float(dt[ok].sum())
    gaps = [
        {"start": tt.iloc[i], "end": tt.iloc[i + 1], "seconds": float(dt[i])} for i in np.flatnonzero(~ok)
    ]
    summary = GpuSummary(
        gpu=gpu,
        samples=int(len(pw)),
        start=tt.iloc[0],
        end=tt.iloc[-1],
        duration_s=float(secs[-1]),
        covered_s=covered,
        energy_kwh=energy_j / 3.6e6,
        mean_power_w=energy_j / covered if covered else float(pw.mean()),
        peak_power_w=float(pw.max()),
        gaps=gaps,
        hourly_kwh=_by_hour(t_ns, trap, ok),
    )
    # active segments: runs of samples above the threshold, short dips merged, short bursts dropped
    active = pw > threshold
    segments = []
    if active.any():
        edges = np.flatnonzero(np.diff(np.concatenate(([0], active.astype(np.int8), [0]))))
        runs = list(zip(edges[::2], edges[1::2] - 1))  # inclusive sample indices
        merged = [list(runs[0])]
        for a, b in runs[1:]:
            if secs[a] - secs[merged[-1][1]] <= SEGMENT_MERGE_S and (ok[merged[-1][1] : a].all()):
                merged[-1][1] = b
            else:
                merged.append([a, b])
        for a, b in merged:
            if secs[b] - secs[a] < SEGMENT_MIN_S:
                continue
            sel = ok[a:b]
            e = float(trap[a:b][sel].sum())
            cov = float(dt[a:b][sel].sum())
            segments.append(
                {
                    "gpu": gpu,
                    "start": tt.iloc[a],
                    "end": tt.iloc[b],
                    "duration_s": float(secs[b] - secs[a]),
                    "energy_kwh": e / 3.6e6,
                    "mean_power_w": e / cov if cov else float(pw[a : b + 1].mean()),
                    "threshold_w": threshold,
                }
            )
    return summary, segments


def _by_hour(t_ns: np.ndarray, trap_j: np.ndarray, ok: np.ndarray) -> dict[pd.Timestamp, float]:
    """Energy (kWh) of the integrated intervals by the UTC hour of their midpoint."""
    mids = (t_ns[:-1] + (t_ns[1:] - t_ns[:-1]) // 2)[ok]
    hours, inverse = np.unique(mids // 3_600_000_000_000, return_inverse=True)
    kwh = np.bincount(inverse, weights=trap_j[ok], minlength=len(hours)) / 3.6e6
    return {pd.Timestamp(int(h) * 3_600_000_000_000, tz="UTC"): float(e) for h, e in zip(hours, kwh)}


class _Times:
    """Timestamps of int64 nanoseconds, made into `pd.Timestamp` only where one is reported."""

    def __init__(self, t_ns: np.ndarray):
        self.iloc = self
        self.t_ns = t_ns

    def __getitem__(self, i: int) -> pd.Timestamp:
        return pd.Timestamp(int(self.t_ns[i]))


def _codecarbon_data(df: pd.DataFrame, err: Where) -> pd.DataFrame:
    """The columns of a CodeCarbon log that are used, checked."""
    missing = [c for c in CODECARBON_REQUIRED if c not in df.columns]
    if missing:
        raise err.error(f"CodeCarbon log without the column(s) {', '.join(missing)}")
    t = _timestamps(df["timestamp"], err)
    cols = {}
    for name in CODECARBON_REQUIRED:
        cols[name], na = _numbers(df[name], "", err, name)
        if na.any():
            raise err.error(f"column {name!r}: empty value", line=int(np.flatnonzero(na)[0]) + 2)
    gpu_count = pd.to_numeric(df["gpu_count"], errors="coerce") if "gpu_count" in df.columns else pd.Series(np.nan, index=df.index)
    big = np.flatnonzero((gpu_count > MAX_GPUS_PER_RUN).to_numpy())
    if big.size:
        raise err.error(f"column 'gpu_count': {gpu_count.iloc[big[0]]:g} GPUs in one run (at most {MAX_GPUS_PER_RUN:,})", line=int(big[0]) + 2)
    empty = np.flatnonzero(df["run_id"].isna().to_numpy())
    if empty.size:
        raise err.error("column 'run_id': empty value", line=int(empty[0]) + 2)
    return pd.DataFrame({"t": t, "run_id": df["run_id"].astype(str).str.strip(), **cols, "gpu_count": gpu_count})


def _codecarbon(df: pd.DataFrame, path: Path, err: Where, window, gap_seconds: float) -> TelemetrySummary:
    """Summary of a CodeCarbon emissions.csv: one entry per run (last, cumulative row)."""
    data = _codecarbon_data(df, err)
    keep = pd.Series(True, index=data.index)
    if window[0] is not None:
        keep &= data["t"] - pd.to_timedelta(data["duration"], unit="s") >= window[0]
    if window[1] is not None:
        keep &= data["t"] <= window[1]
    data = data[keep]
    if data.empty:
        raise err.error("no run in the selected window")
    # CodeCarbon rewrites a run's row with cumulative values: keep the last row of each run
    last = data.sort_values("t").groupby("run_id", sort=False).tail(1)
    runs, gpus, segments = [], [], []
    for r in last.itertuples():
        start = r.t - pd.to_timedelta(r.duration, unit="s")
        runs.append(
            {
                "run_id": r.run_id,
                "start": start.isoformat(),
                "end": r.t.isoformat(),
                "duration_s": float(r.duration),
                "gpu_count": None if np.isnan(r.gpu_count) else float(r.gpu_count),
                "gpu_energy_kwh": float(r.gpu_energy),
                "cpu_energy_kwh": float(r.cpu_energy),
                "ram_energy_kwh": float(r.ram_energy),
                "energy_kwh": float(r.energy_consumed),
            }
        )
        n = 1 if np.isnan(r.gpu_count) or r.gpu_count < 1 else int(r.gpu_count)
        for k in range(n):
            e = float(r.gpu_energy) / n
            gpus.append(
                GpuSummary(
                    gpu=f"{r.run_id}:{k}",
                    samples=1,
                    start=start,
                    end=r.t,
                    duration_s=float(r.duration),
                    covered_s=float(r.duration),
                    energy_kwh=e,
                    mean_power_w=e * 3.6e6 / r.duration if r.duration else 0.0,
                    peak_power_w=float("nan"),
                )
            )
        segments.append(
            {"gpu": f"run {r.run_id}", "start": start, "end": r.t, "duration_s": float(r.duration), "energy_kwh": float(r.gpu_energy), "mean_power_w": float(r.gpu_energy) * 3.6e6 / r.duration if r.duration else 0.0, "threshold_w": None}
        )
    return TelemetrySummary(file=str(path), kind="codecarbon", gpus=gpus, segments=segments, gap_seconds=gap_seconds, runs=runs)


def _zeus_data(df: pd.DataFrame, err: Where) -> tuple[pd.DataFrame, list[str]]:
    """The windows of a Zeus energy log, checked: start (epoch s), end, name, line and each GPU's
    energy (J), with the GPU columns."""
    gpus = [c for c in df.columns if ZEUS_GPU.fullmatch(c)]
    for column in ("elapsed_time", *([] if gpus else ["gpu0_energy"])):
        if column not in df.columns:
            raise err.error(f"zeus log without the column {column!r} (ZeusMonitor writes 'start_time,window_name,elapsed_time,gpu<N>_energy')", line=1)
    empty = np.flatnonzero(df["window_name"].isna().to_numpy())
    if empty.size:
        raise err.error("column 'window_name': empty value", line=int(df.index[empty[0]]) + 2)
    start = _timestamps(df["start_time"], err)
    cols = {}
    for name in ("elapsed_time", *gpus):
        cols[name], na = _numbers(df[name], "", err, name)
        if na.any():
            raise err.error(f"column {name!r}: empty value", line=int(df.index[np.flatnonzero(na)[0]]) + 2)
    data = pd.DataFrame({"t": start, "name": df["window_name"].astype(str).str.strip(), "line": df.index + 2, **cols})
    data["end"] = data["t"] + pd.to_timedelta(data["elapsed_time"], unit="s")
    return data, gpus


def _zeus_outer(data: pd.DataFrame, err: Where) -> pd.DataFrame:
    """The outermost windows: a window inside another (ZeusMonitor windows nest, e.g. steps in an
    epoch) is measured twice and left out; two windows that overlap only in part are refused."""
    order = data.assign(length=-data["elapsed_time"]).sort_values(["t", "length"], kind="stable")
    keep, outer_end, outer_line = [], None, None
    tol = pd.Timedelta(seconds=ZEUS_TOLERANCE_S)
    for i, row in zip(order.index, order.itertuples()):
        if outer_end is None or row.t >= outer_end - tol:
            keep.append(i)
            outer_end, outer_line = row.end, row.line
        elif row.end > outer_end + tol:
            raise err.error(f"window {row.name!r} overlaps the window of line {outer_line} in part (windows may nest, not overlap)", line=int(row.line))
    return data.loc[keep]


def _zeus(df: pd.DataFrame, path: Path, err: Where, window, gap_seconds: float) -> TelemetrySummary:
    """Summary of a Zeus energy log (`ZeusMonitor(log_file=...)`: one row per measurement
    window with its start, duration and each GPU's energy in J, from the GPUs' energy counters):
    the energy of the outermost windows in the selection, summed; time between them is a gap.

    References
    ----------
    Zeus, "Measuring Energy", https://ml.energy/zeus/measure/ (`ZeusMonitor`, `begin_window`,
    `end_window`, `log_file`: `start_time,window_name,elapsed_time,gpu<N>_energy`).
    """
    data, gpus = _zeus_data(df, err)
    keep = pd.Series(True, index=data.index)
    if window[0] is not None:
        keep &= data["t"] >= window[0]
    if window[1] is not None:
        keep &= data["end"] <= window[1]
    if not keep.any():
        raise err.error("no measurement window in the selected window")
    outer = _zeus_outer(data[keep], err).sort_values("t", kind="stable")
    covered = float(outer["elapsed_time"].sum())
    waits = (outer["t"].iloc[1:].to_numpy() - outer["end"].iloc[:-1].to_numpy()) / np.timedelta64(1, "s")
    gaps = [{"start": outer["end"].iloc[i], "end": outer["t"].iloc[i + 1], "seconds": float(w)} for i, w in enumerate(waits) if w > gap_seconds]
    start, end = outer["t"].iloc[0], outer["end"].max()
    summaries = []
    for column in gpus:
        energy_j = float(outer[column].sum())
        summaries.append(
            GpuSummary(
                gpu=ZEUS_GPU.fullmatch(column).group(1), samples=len(outer), start=start, end=end,
                duration_s=float((end - start).total_seconds()), covered_s=covered, energy_kwh=energy_j / 3.6e6,
                mean_power_w=energy_j / covered if covered else 0.0, peak_power_w=float("nan"), gaps=list(gaps),
            )
        )
    total_j = outer[gpus].sum(axis=1)
    segments = [
        {"gpu": f"window {name}", "start": t, "end": e, "duration_s": float(d), "energy_kwh": float(j) / 3.6e6, "mean_power_w": float(j) / d if d else 0.0, "threshold_w": None}
        for name, t, e, d, j in zip(outer["name"], outer["t"], outer["end"], outer["elapsed_time"], total_j)
    ]
    return TelemetrySummary(file=str(path), kind="zeus", gpus=summaries, segments=segments, gap_seconds=gap_seconds)


# ---------------------------------------------------------------------------------------------
# recording (NVIDIA's management library, optional extra `gpu`: nvidia-ml-py)


def nvml_available() -> tuple[bool, str]:
    """Whether NVML can be used here, and why not."""
    try:
        import pynvml
    except ImportError:
        return False, "NVIDIA's management library is not installed (pip install 'bw_aicompute[gpu]')"
    try:
        pynvml.nvmlInit()
    except Exception as exc:  # pynvml.NVMLError and driver loading errors
        return False, f"no NVIDIA driver or GPU available ({exc})"
    try:
        count = pynvml.nvmlDeviceGetCount()
    finally:
        pynvml.nvmlShutdown()
    return (count > 0, "" if count else "no NVIDIA GPU found")


def record(out: str | Path, command: list[str], interval_s: float = 0.1) -> int:
    """Run `command` while sampling every GPU's power (W) and energy counter (J) into `out`, a
    plain CSV log (`timestamp,gpu,power_w,energy_j`) that `read_log` accepts. Returns the
    command's exit status."""
    import datetime
    import subprocess
    import time

    ok, why = nvml_available()
    if not ok:
        raise AicomputeError(f"cannot record: {why}")
    if not command:
        raise AicomputeError("no command to run: aicompute record --out LOG.csv -- COMMAND ...")
    import pynvml

    pynvml.nvmlInit()
    try:
        handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]

        def sample(f) -> None:
            now = datetime.datetime.now().isoformat(timespec="milliseconds")
            for i, h in enumerate(handles):
                power = pynvml.nvmlDeviceGetPowerUsage(h) / 1000.0
                try:
                    energy = f"{pynvml.nvmlDeviceGetTotalEnergyConsumption(h) / 1000.0:.3f}"
                except pynvml.NVMLError:
                    energy = ""
                f.write(f"{now},{i},{power:.3f},{energy}\n")

        if Path(out).is_symlink():  # the link is replaced, what it points to never written
            Path(out).unlink()
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o666)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write("timestamp,gpu,power_w,energy_j\n")
            try:
                proc = subprocess.Popen(command)
            except OSError as exc:
                raise AicomputeError(f"cannot run {command[0]!r}: {exc}") from None
            sample(f)
            while proc.poll() is None:
                time.sleep(interval_s)
                sample(f)
            sample(f)
        return int(proc.returncode)
    finally:
        pynvml.nvmlShutdown()
