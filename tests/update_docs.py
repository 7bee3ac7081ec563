"""Regenerate what the documentation prints from the code (the tests check that it is current):
the example outputs of `aicompute` commands in docs/*.md, the inventory tables, the validation
report and the command-line reference.

Run from the repository root: python tests/update_docs.py   (a temporary Brightway directory)
"""

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).parents[1]
COMMANDS = re.compile(r"```\n\$ (aicompute (?:assess|sweep|compare|telemetry|from-slurm) (?:examples|tests)/[^\n]*)\n(.*?)```", re.S)
# `aicompute show "NAME"` after a `datasets` line: the output up to a last line `  ...` kept as is
SHOW = re.compile(r"(\$ aicompute show (\"[^\"]+\")[^\n]*\n)(.*?)(\n  \.\.\.\n```)", re.S)


def run(command: str, env: dict) -> list[str]:
    args = command.split(" ")
    if '"' in command:  # quoted values (sweep --vary "...")
        import shlex

        args = shlex.split(command)
    out = subprocess.run([sys.executable, "-m", "bw_aicompute", *args[1:]], cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout
    return [line.replace(str(ROOT) + "/", "") for line in out.rstrip().splitlines()]


def cut(old: list[str], new: list[str]) -> int:
    """How much of a command's new output a documentation block keeps: up to the line with the
    label (the text before the numbers) of the block's last line, so that a block showing the
    first tables of a report keeps showing them when lines are added above; the whole output
    when the label is not found."""
    if not old:
        return len(new)
    label = re.split(r"\s{2,}", old[-1].strip())[0]
    return next((i + 1 for i in range(max(len(old) - 1, 0), len(new)) if new[i].strip().startswith(label)), len(new))


def update_examples(env: dict) -> None:
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        text = page.read_text()

        def replace(m: re.Match) -> str:
            old = m.group(2).rstrip("\n").splitlines()
            new = run(m.group(1).replace(" --sensitivity-plot sens.png", ""), env)
            return "```\n$ " + m.group(1) + "\n" + "\n".join(new[: cut(old, new)]) + "\n```"

        def show(m: re.Match) -> str:
            n = len(m.group(3).splitlines())
            new = _show(m.group(2).strip('"'), env)
            return m.group(1) + "\n".join(new[:n]) + m.group(4)

        new_text = SHOW.sub(show, COMMANDS.sub(replace, text))
        if new_text != text:
            page.write_text(new_text)
            print(f"updated {page.relative_to(ROOT)}")


def _show(name: str, env: dict) -> list[str]:
    out = subprocess.run([sys.executable, "-m", "bw_aicompute", "show", name], cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout
    return out.rstrip().splitlines()


def main() -> None:
    env = {**os.environ, "BRIGHTWAY2_DIR": tempfile.mkdtemp(prefix="update_docs_"), "BRIGHTWAY_NO_STRUCTLOG": "1", "TQDM_DISABLE": "1"}
    subprocess.run([sys.executable, "-m", "bw_aicompute", "setup", "--quiet"], cwd=ROOT, env=env, check=True)
    # the validation first: every documented command must still work after it (issue 23)
    subprocess.run([sys.executable, "-m", "bw_aicompute", "validate"], cwd=ROOT, env=env, check=True, capture_output=True)
    update_examples(env)
    subprocess.run([sys.executable, "-m", "bw_aicompute", "tables", "--update-readme", "docs/methodology/inventories.md"], cwd=ROOT, env=env, check=True, capture_output=True)
    target = Path(env["BRIGHTWAY2_DIR"]) / "validation.md"  # a file: Brightway's log lines go to stdout
    code = f"from bw_aicompute.validation import validate, to_markdown; open({str(target)!r}, 'w').write(to_markdown(validate()))"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    report = target.read_text().strip()
    page = ROOT / "docs" / "methodology" / "validation.md"
    page.write_text(re.sub(r"(<!-- validation:start -->\n).*?(\n<!-- validation:end -->)", lambda m: m.group(1) + report + m.group(2), page.read_text(), flags=re.S))
    code = "from bw_aicompute.cli import reference_markdown; print(reference_markdown(), end='')"
    (ROOT / "docs" / "reference" / "cli.md").write_text(subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout)


if __name__ == "__main__":
    main()
