"""The code's structure, read from the source: imports point one way (no cycles, layers as in the
README's architecture), functions are short, public definitions are documented, the public
API is documented in numpydoc, and the README's Python uses only the public API."""

import ast
import graphlib
import inspect
import re
from pathlib import Path

import pytest

import bw_aicompute

ROOT = Path(__file__).parents[1]
PACKAGE = ROOT / "src" / "bw_aicompute"

# Lower layers never import higher ones (README, "Architecture").
LAYERS = [
    {"_version", "bulk", "errors", "yamlfile", "_resources", "distributions", "attribution", "refine", "classifications"},
    {"locking", "ownership", "project", "methods", "telemetry", "water"},
    {"inventory", "inventory.templates", "inventory.formulas", "inventory.validate", "inventory.writer"},
    {"setup", "lca", "solver", "sampling", "ecoinvent", "campaign", "campaign.schema", "campaign.dates", "campaign.read", "campaign.workbook", "campaign.write", "excel", "excel.layout", "excel.inventories", "excel.lcia", "olca", "release", "linking", "uslci"},
    {"applied", "catalog", "uncertainty", "conventions", "cluster", "slurm", "report", "excel.results", "timex"},
    {"assessment", "sweeps", "comparison"},
    {"validation"},
    {"cli", "__main__", "__init__"},
]
LAYER = {name: i for i, names in enumerate(LAYERS) for name in names}


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Modules of the package that `name` imports, at module level, in functions, or for type
    checkers only: an arrow is an arrow."""
    package = ([] if name == "__init__" else name.split(".")) if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    stack = [ast.parse(path.read_text())]
    while stack:
        node = stack.pop()
        for child in ast.iter_child_nodes(node):
            stack.append(child)
            if isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package[: len(package) - child.level + 1] if child.level > 1 else package
                    target = ".".join([*base, child.module] if child.module else base)
                elif child.module and child.module.startswith("bw_aicompute"):
                    target = child.module.removeprefix("bw_aicompute").lstrip(".")
                else:
                    continue
                for alias in child.names:
                    sub = f"{target}.{alias.name}" if target else alias.name
                    found.add(sub if sub in known else (target or "__init__"))
            elif isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.startswith("bw_aicompute."):
                        found.add(alias.name.removeprefix("bw_aicompute."))
    return {f for f in found if f in known and f != name}


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    mods = modules()
    return {name: imports(name, path, set(mods)) for name, path in mods.items()}


def test_no_import_cycles(graph):
    try:
        list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        pytest.fail(f"import cycle: {' -> '.join(exc.args[1])}")


def test_imports_point_down_the_layers(graph):
    assert set(graph) == set(LAYER), "a module is missing from LAYERS: " + str(set(graph) ^ set(LAYER))
    upward = [(m, d) for m, deps in graph.items() for d in deps if LAYER[d] > LAYER[m]]
    assert not upward, upward


def test_functions_are_short():
    """At most 60 lines a function, docstring included (the argument parser excepted)."""
    long = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            length = node.end_lineno - node.lineno + 1 if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else 0
            if length > 60 and node.name != "build_parser":
                long.append(f"{path.name}:{node.name} ({length} lines)")
    assert not long, long


def test_public_definitions_have_docstrings():
    missing = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
                members = [node] + [m for m in node.body if isinstance(node, ast.ClassDef) and isinstance(m, ast.FunctionDef) and not m.name.startswith("_")]
                missing += [f"{path.name}:{m.name}" for m in members if not ast.get_docstring(m)]
    assert not missing, missing


def test_public_api_is_documented_in_numpydoc():
    assert set(bw_aicompute._API) <= set(bw_aicompute.__all__)
    assert set(bw_aicompute.__all__) >= {"setup_project", "read_campaign", "assess", "read_log", "link_ecoinvent", "export_inventories", "import_inventories"}
    for name in bw_aicompute.__all__:
        obj = getattr(bw_aicompute, name)
        if inspect.isfunction(obj):
            doc = inspect.getdoc(obj)
            assert doc and "Parameters\n----------" in doc and "Returns\n-------" in doc, name
        elif inspect.isclass(obj):
            assert inspect.getdoc(obj), name


def test_readme_python_uses_only_the_public_api():
    text = "\n".join(p.read_text() for p in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))])
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks
    for block in blocks:
        for line in block.splitlines():
            if re.match(r"\s*(from|import)\s+bw_aicompute", line):
                assert re.match(r"\s*(from bw_aicompute import |import bw_aicompute$)", line), line
