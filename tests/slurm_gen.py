"""A generator of SLURM accounting in the real `sacct --parsable2 --allocations` format, for the
tests and the benchmark: allocations with their job steps (`.batch`, `.extern`, `.0`), array
tasks (`123_4`) and pending array placeholders (`123_[5-9]`), running jobs (End `Unknown`),
failed, timed-out, out-of-memory and `CANCELLED by <uid>` states, elapsed times with days, typed
and untyped GPU counts, CPU-only jobs and several partitions."""

import random
from datetime import datetime, timedelta

HEADER = "JobID|JobName|User|Account|Partition|State|Start|End|Elapsed|AllocTRES|NNodes|Comment|WCKey"
PARTITIONS = [("gpu_h100", "h100", 8), ("gpu_a100", "a100", 4), ("cpu", None, 0)]
NAMES = ["pretrain-lm", "pretrain-codec", "abl-lr", "abl-arch", "eval-asr", "debug", "notebook", "sweep-hp"]
STATES = ["COMPLETED"] * 12 + ["FAILED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "CANCELLED by 1001"]


def _elapsed(seconds: int) -> str:
    d, r = divmod(seconds, 86400)
    h, r = divmod(r, 3600)
    m, s = divmod(r, 60)
    return (f"{d}-" if d else "") + f"{h:02d}:{m:02d}:{s:02d}"


def lines(allocations: int, seed: int = 0) -> list[str]:
    """`allocations` allocations (about 2.5 records each with steps) after the header."""
    rng = random.Random(seed)
    t0 = datetime(2026, 1, 1)
    out = [HEADER]
    for k in range(allocations):
        part, kind, per_node = PARTITIONS[rng.randrange(3)]
        nodes = rng.choice([1, 1, 1, 2, 4, 8])
        seconds = rng.randrange(60, 3 * 86400)
        start = t0 + timedelta(seconds=rng.randrange(0, 300 * 86400))
        state = rng.choice(STATES)
        gpus = nodes * per_node
        gres = "" if not gpus else (f",gres/gpu:{kind}={gpus}" if rng.random() < 0.5 else f",gres/gpu={gpus}")
        tres = f"billing={nodes * 64},cpu={nodes * 64}{gres},mem={nodes * 256}G,node={nodes}"
        job = f"{10000 + k}_{rng.randrange(1, 50)}" if rng.random() < 0.2 else str(10000 + k)
        end = "Unknown" if rng.random() < 0.01 else (start + timedelta(seconds=seconds)).isoformat()
        name, user = rng.choice(NAMES), f"user{rng.randrange(40)}"
        common = f"{name}|{user}|proj-{rng.randrange(6)}|{part}"
        out.append(f"{job}|{common}|{state}|{start.isoformat()}|{end}|{_elapsed(seconds)}|{tres}|{nodes}||wck{rng.randrange(3)}")
        out.append(f"{job}.batch|batch|||{part}|COMPLETED|{start.isoformat()}|{end}|{_elapsed(seconds)}|cpu=64,mem=256G,node=1|1||")
        if rng.random() < 0.5:
            out.append(f"{job}.0|python|||{part}|COMPLETED|{start.isoformat()}|{end}|{_elapsed(seconds)}|{tres}|{nodes}||")
        if rng.random() < 0.02:
            out.append(f"{10000 + k}_[5-9]|{common}|PENDING|Unknown|Unknown|00:00:00||0||")
    return out


def expected_gpu_hours(text_lines: list[str]) -> float:
    """GPU-hours of the finished allocations, computed line by line (independently of pandas)."""
    import re

    total = 0.0
    for line in text_lines[1:]:
        f = line.split("|")
        if "." in f[0] or f[7] in ("Unknown", "None", "") or f[6] in ("Unknown", "None", ""):
            continue
        m = re.search(r"gres/gpu(?::[^=,]+)?=(\d+)", f[9])
        if not m:
            continue
        d, _, hms = f[8].rpartition("-")
        h, mi, s = (int(x) for x in hms.split(":"))
        total += int(m.group(1)) * ((int(d) if d else 0) * 86400 + h * 3600 + mi * 60 + s) / 3600
    return total
