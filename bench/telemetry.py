"""Benchmark: reading and integrating a large nvidia-smi power log.

Generates an nvidia-smi `--query-gpu=timestamp,index,name,pci.bus_id,power.draw,power.limit
--format=csv` log of 1,000,000 samples for 8 GPUs (125,000 samples per GPU at 100 ms, with
values carrying units and some [N/A]), then times `read_log` (parse, validate, integrate, find
gaps and active segments). Target: under 2 s.

Run: python bench/telemetry.py [--samples N]
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=1_000_000)
    args = parser.parse_args()
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
