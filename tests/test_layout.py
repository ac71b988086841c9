"""The package layout: one import package, parts that import one way, no import cycles, a clean wheel.

The rules (README "Layout"): the command line (`cwlpilot` itself, folder `cli/`) is on top; `compiler` and
`executor` sit side by side and never import each other; both may use `semantics` (the CWL and PanDA
run-time meaning they share); `schemas` is at the bottom and imports nothing of the project. Imports are
read from the source with `ast`, function-level and `TYPE_CHECKING` ones included, so a lazy import cannot
hide a wrong-way edge or a cycle.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# folder -> the import name it installs as (pyproject.toml [tool.setuptools.package-dir])
FOLDERS = {
    "cli": "cwlpilot",
    "compiler": "cwlpilot.compiler",
    "executor": "cwlpilot.executor",
    "semantics": "cwlpilot.semantics",
    "schemas": "cwlpilot.schemas",
}
PARTS = ("compiler", "executor", "semantics", "schemas")  # everything else under cwlpilot is the command line
MAY_IMPORT = {
    "cli": {"cli", "compiler", "executor", "semantics", "schemas"},
    "compiler": {"compiler", "semantics", "schemas"},
    "executor": {"executor", "semantics", "schemas"},
    "semantics": {"semantics", "schemas"},
    "schemas": {"schemas"},
}
OLD_TOP_LEVEL = {"compiler", "executor", "schemas", "semantics", "cli"}


def _modules() -> dict[str, Path]:
    """Every module of the package, by its installed dotted name."""
    found = {}
    for folder, package in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT / folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            found[".".join([package, *parts])] = path
    return found


MODULES = _modules()


def part_of(module: str) -> str:
    for part in PARTS:
        if module == f"cwlpilot.{part}" or module.startswith(f"cwlpilot.{part}."):
            return part
    return "cli"


def _imports(path: Path, module: str) -> list[tuple[int, str]]:
    """(line, imported name) of every import in the file, resolved to a module of ours where it is one."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    is_package = path.name == "__init__.py"
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".") if is_package else module.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.append((node.lineno, sub if sub in MODULES else base))
    return found


def _graph() -> dict[str, set[str]]:
    return {
        mod: {name for _, name in _imports(path, mod) if name in MODULES and name != mod}
        for mod, path in MODULES.items()
    }


def test_every_module_is_found():
    assert "cwlpilot.main" in MODULES and "cwlpilot.compiler.emit" in MODULES
    assert "cwlpilot.executor.store.sqlite" in MODULES and "cwlpilot.semantics.panda.placeholders" in MODULES
    assert len(MODULES) > 70


def test_nothing_imports_the_old_top_level_names():
    bad = [
        f"{path.relative_to(ROOT)}:{line}: import {name}"
        for mod, path in MODULES.items()
        for line, name in _imports(path, mod)
        if name.split(".")[0] in OLD_TOP_LEVEL
    ]
    tests = [
        f"{path.relative_to(ROOT)}:{line}: import {name}"
        for path in sorted((ROOT / "tests").rglob("*.py")) + sorted((ROOT / "bench").rglob("*.py"))
        for line, name in _imports(path, "tests.x")
        if name.split(".")[0] in OLD_TOP_LEVEL
    ]
    assert not bad + tests


def test_parts_import_one_way():
    wrong = [
        f"{MODULES[mod].relative_to(ROOT)}: {part_of(mod)} imports {dep} ({part_of(dep)})"
        for mod, deps in _graph().items()
        for dep in deps
        if part_of(dep) not in MAY_IMPORT[part_of(mod)]
    ]
    assert not wrong


def test_the_rules_themselves_forbid_what_they_should():
    # compiler and executor never meet below the command line, and nothing imports the command line
    assert "executor" not in MAY_IMPORT["compiler"] and "compiler" not in MAY_IMPORT["executor"]
    assert all("cli" not in allowed for part, allowed in MAY_IMPORT.items() if part != "cli")
    assert part_of("cwlpilot.cwlrun") == "cli" and part_of("cwlpilot.semantics.cwl.expr") == "semantics"


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of `graph` as [a, b, ..., a], or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                return stack[stack.index(dep):] + [dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_module_imports_itself_through_others():
    assert _cycle(_graph()) is None


@pytest.mark.slow
def test_a_built_wheel_holds_only_the_cwlpilot_package(tmp_path):
    src = tmp_path / "src"
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    if not files:  # not a git checkout: copy the folders a build reads
        files = [str(p.relative_to(ROOT)) for f in (*FOLDERS, "pyproject.toml", "README.md")
                 for p in ([ROOT / f] if (ROOT / f).is_file() else (ROOT / f).rglob("*")) if p.is_file()]
    for name in files:
        if (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), str(src)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("cwlpilot-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert tops == {"cwlpilot", wheel.name.split("-")[0] + "-" + wheel.name.split("-")[1] + ".dist-info"}
    assert "cwlpilot/schemas/stages.schema.json" in names
    assert "cwlpilot/compiler/emit.py" in names and "cwlpilot/executor/pilot.py" in names
    assert "cwlpilot/semantics/cwl/cmdline.py" in names and "cwlpilot/main.py" in names
    entry = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "cwlpilot = cwlpilot.main:main" in entry
