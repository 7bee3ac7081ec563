"""Benchmark: reading and integrating a large nvidia-smi power log.

Generates an nvidia-smi `--query-gpu=timestamp,index,name,pci.bus_id,power.draw,power.limit
--format=csv` log of 1,000,000 samples for 8 GPUs (125,000 samples per GPU at 100 ms, with
values carrying units and some [N/A]), then times `read_log` (parse, validate, integrate, find
gaps and active segments). Target: under 2 s.

With `--big-gb G` it also writes a log of about G GB (the 2 GB real-log case of the
robustness issue) and reads it in a child process, reporting its peak memory (target: a 2 GB
log within 1 GB of RSS).

Run: python bench/telemetry.py [--samples N] [--big-gb 2]
"""

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bw_aicompute.telemetry import read_log


def generate(path: Path, samples: int, gpus: int = 8) -> None:
    rng = np.random.default_rng(0)
    ticks = samples // gpus
    t = pd.Timestamp("2026-11-26 00:00:00") + pd.to_timedelta(np.arange(ticks) * 0.1 + rng.uniform(0, 0.02, ticks), unit="s")
    stamps = t.strftime("%Y/%m/%d %H:%M:%S.%f").str[:-3]
    load = np.where((np.arange(ticks) // 3000) % 2 == 0, 650.0, 80.0)
    with open(path, "w") as f:
        f.write("timestamp, index, name, pci.bus_id, power.draw [W], power.limit [W]\n")
        power = load[:, None] + rng.normal(0, 10, (ticks, gpus))
        lines = []
        for i in range(ticks):
            for k in range(gpus):
                value = "[N/A]" if (i * gpus + k) % 50_000 == 7 else f"{power[i, k]:.2f} W"
                lines.append(f"{stamps[i]}, {k}, NVIDIA H100 80GB HBM3, 00000000:{k:02X}:00.0, {value}, 700.00 W\n")
            if len(lines) > 200_000:
                f.writelines(lines)
                lines = []
        f.writelines(lines)


def generate_big(path: Path, gigabytes: float, gpus: int = 8) -> None:
    """A log of about `gigabytes` GB: blocks of 100,000 ticks at 100 ms for 8 GPUs."""
    rng = np.random.default_rng(1)
    start, written, tick = pd.Timestamp("2026-11-26"), 0, 0
    with open(path, "w") as f:
        f.write("timestamp, index, name, pci.bus_id, power.draw [W], power.limit [W]\n")
        while written < gigabytes * 1e9:
            t = start + pd.to_timedelta((np.arange(100_000) + tick) * 0.1, unit="s")
            stamps = np.repeat(t.strftime("%Y/%m/%d %H:%M:%S.%f").str[:-3].to_numpy(), gpus)
            power = np.char.mod("%.2f", 400 + 300 * rng.random(100_000 * gpus))
            index = np.tile(np.arange(gpus).astype(str), 100_000)
            lines = [f"{a}, {b}, NVIDIA H100 80GB HBM3, 00000000:0{b}:00.0, {c} W, 700.00 W\n" for a, b, c in zip(stamps, index, power)]
            text = "".join(lines)
            f.write(text)
            written += len(text)
            tick += 100_000


def child_peak_rss(path: Path) -> tuple[float, float, float]:
    """(seconds, energy kWh, peak RSS in MB) of `read_log` in a child process."""
    import json
    import resource
    import subprocess
    import sys

    code = "import json,sys,time; from bw_aicompute.telemetry import read_log; t=time.perf_counter(); s=read_log(sys.argv[1]); print(json.dumps([time.perf_counter()-t, s.energy_kwh]))"
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    seconds, energy = json.loads(out.stdout)
    return seconds, energy, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--big-gb", type=float, default=0.0)
    args = parser.parse_args()
    if args.big_gb:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "huge_nvidia_smi.csv"
            generate_big(path, args.big_gb)
            seconds, energy, rss = child_peak_rss(path)
            print(f"{path.stat().st_size / 1e9:.2f} GB log: read + integrate in {seconds:.1f} s, {energy:.1f} kWh, peak RSS {rss:.0f} MB (target: 2 GB within 1 GB)")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big_nvidia_smi.csv"
        t = time.perf_counter()
        generate(path, args.samples)
        print(f"generated {args.samples:,} samples for 8 GPUs ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.1f} s")
        runs = []
        for _ in range(3):
            t = time.perf_counter()
            s = read_log(path)
            runs.append(time.perf_counter() - t)
        print(f"read + integrate: {min(runs):.2f} s (best of 3; target < 2 s); {len(s.gpus)} GPUs, {s.energy_kwh:.2f} kWh, {len(s.segments)} active segments")


if __name__ == "__main__":
    main()
