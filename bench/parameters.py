"""Benchmark: Brightway's own recalculation after a database parameter is edited (what Activity
Browser runs after each edit), on the `aicompute` database (2,339 parameterized exchanges).

- tool: the registration of `aicompute setup`, one parameter group per database
  (`bw_aicompute.inventory.writer.register_parameters`);
- baseline: the same project regrouped with bw2data's own API, `parameters.add_exchanges_to_group`
  per activity (one group and one `__dummy_` parameter per activity: 429 groups), what a user
  registering the formulas with bw2data gets.

Both edit `gpu_load_factor` and run `bw2data.parameters.recalculate()`, alternated, 3 runs each.

Run: python bench/parameters.py    (uses a temporary Brightway data directory)
"""

import os
import statistics
import tempfile
import time
import warnings

os.environ["BRIGHTWAY2_DIR"] = tempfile.mkdtemp(prefix="bench_parameters_")
os.environ.setdefault("BRIGHTWAY_NO_STRUCTLOG", "1")
os.environ.setdefault("TQDM_DISABLE", "1")
warnings.simplefilter("ignore")

import bw2data as bd  # noqa: E402
from bw2data.parameters import ActivityParameter, DatabaseParameter, Group  # noqa: E402

from bw_aicompute import setup_project  # noqa: E402


def regroup_per_activity() -> None:
    """bw2data's per-activity registration of every activity with formulas."""
    with bd.parameters.db.atomic():
        for act in bd.Database("aicompute"):
            if any("formula" in e for e in act.exchanges()):
                bd.parameters.add_exchanges_to_group(str(act.id), act)
        ActivityParameter.delete().where(ActivityParameter.group == "aicompute::exchanges").execute()
        Group.delete().where(Group.name == "aicompute::exchanges").execute()


def recalc(project: str, value: float) -> float:
    bd.projects.set_current(project)
    p = DatabaseParameter.get(database="aicompute", name="gpu_load_factor")
    p.amount = value
    p.save()
    t = time.perf_counter()
    bd.parameters.recalculate()
    return time.perf_counter() - t


def main() -> None:
    setup_project()
    bd.projects.set_current("aicompute")
    bd.projects.copy_project("aicompute-per-activity", switch=True)
    regroup_per_activity()
    times = {"aicompute": [], "aicompute-per-activity": []}
    for i in range(3):
        for project in times:
            times[project].append(recalc(project, 0.87 + 0.01 * (i % 2)))
    for project, label in (("aicompute", "one group per database (tool)"), ("aicompute-per-activity", "one group per activity (baseline)")):
        bd.projects.set_current(project)
        groups = sum(g.name not in bd.databases and g.name != "project" for g in Group.select())
        print(f"{label}: {groups} activity groups, recalculate min {min(times[project]):.2f} s, median {statistics.median(times[project]):.2f} s")


if __name__ == "__main__":
    main()
