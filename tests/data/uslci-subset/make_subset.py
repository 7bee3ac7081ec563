"""How tests/data/uslci-subset/ was made: the USLCI processes that `inventories/uslci/mapping.yaml`
maps and every process their inputs reach (by flow id, or by the name and unit of a product a
process makes, as `bw_aicompute.uslci` links them), with the flows, flow properties, unit groups,
categories and locations those documents name, copied unchanged.

    python tests/data/uslci-subset/make_subset.py ../shared/data/uslci/uslci_olca1_5_0_json_ld.zip
"""

import json
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

import yaml

HERE = Path(__file__).parent
ROOTS = [m["provider"]["name"] for m in yaml.safe_load((HERE.parents[2] / "inventories" / "uslci" / "mapping.yaml").read_text())["mappings"]]


def refs(doc, kind: str) -> set[str]:
    """Every @id of a reference of @type `kind` in a document."""
    out = set()
    stack = [doc]
    while stack:
        d = stack.pop()
        if isinstance(d, dict):
            if d.get("@type") == kind and "@id" in d:
                out.add(d["@id"])
            stack += list(d.values())
        elif isinstance(d, list):
            stack += d
    return out


def closure(folder: Path) -> set[str]:
    procs = {p.stem: json.loads(p.read_text()) for p in (folder / "processes").glob("*.json")}
    made, by_name = {}, {}
    for pid, p in procs.items():
        for e in p["exchanges"]:
            if e.get("quantitativeReference"):
                made[e["flow"]["@id"]] = pid
                by_name.setdefault((e["flow"]["name"].strip(), e["unit"]["name"]), []).append(pid)
    todo = [pid for pid, p in procs.items() if p["name"] in ROOTS]
    seen = set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        for e in procs[pid]["exchanges"]:
            if e.get("input") and e["flow"].get("flowType") == "PRODUCT_FLOW":
                other = made.get(e["flow"]["@id"]) or (by_name.get((e["flow"]["name"].strip(), e["unit"]["name"])) or [None, None])[0]
                if other:
                    todo.append(other)
    return seen


def main(source: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        zipfile.ZipFile(source).extractall(tmp)
        folder = next(p.parent for p in Path(tmp).rglob("processes") if p.is_dir())
        keep = {"processes": closure(folder)}
        docs = [json.loads((folder / "processes" / f"{p}.json").read_text()) for p in keep["processes"]]
        keep["flows"] = set().union(*(refs(d, "Flow") for d in docs))
        flows = [json.loads((folder / "flows" / f"{f}.json").read_text()) for f in keep["flows"]]
        keep["flow_properties"] = set().union(*(refs(d, "FlowProperty") for d in docs + flows))
        props = [json.loads((folder / "flow_properties" / f"{f}.json").read_text()) for f in keep["flow_properties"]]
        keep["unit_groups"] = set().union(*(refs(d, "UnitGroup") for d in props))
        keep["locations"] = set().union(*(refs(d, "Location") for d in docs))
        keep["categories"] = {p.stem for p in (folder / "categories").glob("*.json")}  # small; the paths need the parents
        for sub, ids in keep.items():
            (HERE / sub).mkdir(exist_ok=True)
            for i in ids:
                shutil.copyfile(folder / sub / f"{i}.json", HERE / sub / f"{i}.json")
        print({k: len(v) for k, v in keep.items()})


if __name__ == "__main__":
    main(sys.argv[1])
