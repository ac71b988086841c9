"""compiler.rules and the documentation: every rule is documented, each lint example of README gives what
README shows, and every finding `check` makes has a rule of the registry (examples, conformance suite)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from cwlpilot.check_files import discover
from cwlpilot.check_one import Settings, check_all
from cwlpilot.compiler.findings import UNKNOWN_RULE, registry

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()
PANDA_README = (REPO / "examples" / "panda" / "README.md").read_text()
SHARED = next((p / "shared" for p in REPO.parents if (p / "shared").is_dir()), REPO.parent / "shared")
CONFORMANCE = Path(os.environ.get("CWL_CONFORMANCE_DIR") or SHARED / "cwl-conformance") / "tests"


def test_every_rule_is_documented() -> None:
    missing = [r for r in registry() if r != UNKNOWN_RULE and f"`{r}`" not in README + PANDA_README]
    assert missing == []


def lint_rows() -> list[tuple[str, str, str]]:
    """(rule, severity, example) of README's table of lint rules."""
    start = README.index("| rule | severity | example | fix |")
    rows = []
    for line in README[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split(" | ")]
        example = re.match(r"`+(.*?)`+(?: |$)", cells[2])
        assert example, line
        rows.append((cells[0].strip("`"), cells[1].strip("*"), example.group(1)))
    return rows


def test_each_lint_example_gives_what_readme_shows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    targets, _ = discover(["examples/cwl/lint", "examples/panda/hpo_only.cwl"])
    found = {d.gnu for result in check_all(targets, Settings()) for d in result.found}
    rows = lint_rows()
    assert {rule for rule, _, _ in rows} >= {r.id for r in registry().values() if r.id.startswith("cwl-")
                                             and (r.severity == "warning" or r.id == "cwl-javascript-requirement")}
    for rule, severity, example in rows:
        assert registry()[rule].severity == severity
        assert any(line.endswith(f"[{rule}]") and example.split(": ", 1)[1] in line for line in found
                   if line.split(":", 1)[0].endswith(example.split(":", 1)[0])), (rule, example)


def test_readme_text_example_is_what_check_prints(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from cwlpilot.check_cmd import main

    monkeypatch.chdir(REPO)
    err = io.StringIO()
    main(["check", "examples/cwl/lint"], io.StringIO(), err)
    block = README[README.index("$ cwlpilot check examples/cwl/lint\n"):].split("```", 1)[0].splitlines()[1:]
    lines = err.getvalue().splitlines()
    assert block[:3] == lines[:3] and block[-1] == lines[-1]


@pytest.mark.parametrize("where", ["examples", "conformance"])
def test_every_finding_has_a_rule_of_the_registry(where: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    if where == "conformance" and not CONFORMANCE.is_dir():
        pytest.skip("the CWL conformance suite is not at ../shared/cwl-conformance")
    targets, _ = discover(["examples"] if where == "examples" else [str(CONFORMANCE)])
    results = check_all(targets, Settings(), jobs=2)
    found = [d for r in results for d in r.found]
    assert len(results) > 20 and found
    assert [str(d) for d in found if d.rule not in registry() or d.rule == UNKNOWN_RULE] == []
