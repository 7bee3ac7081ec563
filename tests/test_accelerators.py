"""Accelerators beyond NVIDIA's discrete GPUs (issue 39, item 5): Google's TPU v4, v5e, v5p and
v6e with their hosts, the H800 and A800 as named proxies of the H100 and A100, and a GH200
whose Grace CPU is counted once (in the module, not again in the node and its overhead)."""

import json
from pathlib import Path

import bw2calc as bc
import bw2data as bd
import pytest
import yaml

from bw_aicompute.cli import main
from bw_aicompute.inventory import tables

CLIMATE = ("IPCC 2021", "climate change", "global warming potential (GWP100)")
# Google's measured fleet power per machine and chips per machine (Schneider et al. 2025,
# Table 1, as reported by secondary texts; Google Cloud TPU pages for the chips per host)
MACHINE_W = {"tpu_v5e": (1171, 8), "tpu_v5p": (2176, 4), "tpu_v6e": (2173, 8)}


def node(code: str):
    return bd.get_node(database="aicompute", code=code)


def score(code: str) -> float:
    lca = bc.LCA({node(code): 1}, CLIMATE)
    lca.lci()
    lca.lcia()
    return lca.score


def energy_per_hour(gpu: str, site: str = "fr-ai-cluster") -> float:
    """IT energy (kWh) of one accelerator-hour of `gpu` (its GPU-hour's exchange to the facility)."""
    hour = next(n for n in bd.Database("aicompute") if n["code"].startswith(f"gpu-hour-{gpu}-"))
    return next(e["amount"] for e in hour.technosphere() if e.input["code"].startswith("datacenter-operation-"))


def test_gh200_counts_its_grace_cpu_once(ready_dir):
    """The GH200's node has no CPUs or DRAM of its own (the Grace CPU and its LPDDR5X are in the
    module dataset, measured by ADEME/Hubblo), and its 1,000 W module power, which has the CPU's,
    gets no node overhead for a host CPU on top: 0.87 kWh per GPU-hour, not 0.87 x 1.43."""
    server = node("server-grace_hopper")
    chips = [e for e in server.technosphere() if e.input["code"].startswith("chip-")]
    assert chips and all(e["amount"] == 0 for e in chips)
    assert all(e["amount"] == 0 for e in server.technosphere() if "dram" in e.input["code"])
    hour = next(n for n in bd.Database("aicompute") if n["code"].startswith("gpu-hour-gh200-"))
    servers = [e.input["code"] for e in hour.technosphere() if e.input["code"].startswith("server-")]
    assert servers == ["server-grace_hopper"]
    card = [e.input["code"] for e in node("gpu-card-gh200-gate").technosphere()]
    assert card.count("grace-module-gh200") == 1
    assert energy_per_hour("gh200") == pytest.approx(1000 * 0.87 / 1000, rel=1e-6)
    # a discrete GPU keeps the host's overhead: the H100 SXM draws 700 W x 0.87 x 1.43
    assert energy_per_hour("h100_sxm_80gb") == pytest.approx(700 * 0.87 * 1.43 / 1000, rel=1e-6)
    # the embodied node per GPU fell from the generic 2-socket server's to storage, power and fans
    assert score("server-grace_hopper") < 0.5 * score("server-generic")


def test_a_log_of_module_power_alone_is_refused(tmp_path, capsys):
    """nvidia-smi's module.power.draw on Grace Hopper is CPU + GPU + memory: read alone, the node
    overhead would count the CPU again; one line asks for the GPU's own power.draw, exit 2."""
    log = tmp_path / "gh200.csv"
    log.write_text("timestamp, index, module.power.draw [W]\n2025/01/01 00:00:00.000, 0, 650.0\n2025/01/01 00:00:01.000, 0, 655.0\n")
    assert main(["telemetry", str(log)]) == 2
    err = capsys.readouterr().err
    assert "module.power.draw" in err and "power.draw" in err and err.count("\n") == 1


def test_tpus_are_accelerators_with_their_hosts(ready_dir, capsys):
    """`list gpus` shows the four TPUs with their chips per host; a TPU-hour draws Google's
    measured machine power per chip (by construction: rated power and host share are derived
    from it, a check of that derivation, not of the model), and the H800 / A800 are the H100 /
    A100 under their own names, flagged as proxies."""
    assert main(["list", "gpus", "--json", "-"]) == 0
    rows = {r["key"]: r for r in json.loads(capsys.readouterr().out)}
    for slug, per_host in (("tpu_v4", 4), ("tpu_v5e", 8), ("tpu_v5p", 4), ("tpu_v6e", 8)):
        assert rows[slug]["gpus_per_node"] == per_host and rows[slug]["name"].startswith("TPU v")
    for slug, (machine_w, chips) in MACHINE_W.items():
        assert energy_per_hour(slug) * 1000 == pytest.approx(machine_w / chips, rel=0.01), slug
    assert rows["h800_sxm_80gb"]["source"].startswith("PROXY") and rows["a800_sxm4_80gb"]["source"].startswith("PROXY")
    assert score("gpu-card-h800_sxm_80gb") == pytest.approx(score("gpu-card-h100_sxm_80gb"), rel=1e-6)
    assert score("gpu-card-a800_sxm4_80gb") == pytest.approx(score("gpu-card-a100_sxm4_80gb"), rel=1e-6)
    # a newer TPU carries more silicon and memory per chip than the v5e (Google: manufacturing
    # per chip rises with each generation)
    assert score("gpu-card-tpu_v5e") < score("gpu-card-tpu_v6e") < score("gpu-card-tpu_v5p")


def test_a_campaign_on_tpus_and_googles_per_chip_figures(ready_dir, tmp_path):
    """A campaign names a TPU like a GPU; per chip with its host's share, ours lies within 35 %
    of Google's published embodied emissions (TPU tray + host, Schneider et al. 2025 as reported;
    v5e 344 kg, v6e 583 kg), the split between tray and host differing (validation report)."""
    from bw_aicompute import assess

    doc = {"campaign": {"name": "tpu run"}, "site": {"country": "US-OK", "grid_year": 2023}, "hardware": {"gpu": "TPU v6e"},
           "phases": [{"name": "train", "kind": "pretraining", "gpus": 256, "hours": 100}]}
    path = tmp_path / "tpu.yaml"
    path.write_text(yaml.safe_dump(doc))
    a = assess(path, indicators=["climate", "water", "adp_minerals"])
    totals = a.totals.set_index("indicator")["value"]
    assert all(totals[i] > 0 for i in ("climate", "water", "adp_minerals"))
    for r in tables()["tpu_checks"]:
        ours = score(f"node-{r['node']}") * r["scale"]
        assert ours == pytest.approx(r["total"], rel=0.35), r["gpu"]
