"""`check --panda-client V` against PanDA's own verdicts on real workflows: the sPHENIX production workflows
(klendathu2k/sPHENIX-test-production), the PanDA documentation's examples, and edge cases, each run through
panda-server's front end offline (pcwl_utils.parse_workflow_file -> resolve_nodes -> resolve_params with
panda-client's PrunScript dry run -> Node.verify -> convert_nodes_to_workflow) with panda-client 2.0.2 and
1.6.16. The verdicts are read from the reference folder (`refs/panda` beside the project, or
CWLPILOT_PANDA_REFS); without it the test is skipped.

    python -m pytest -q tests/panda/test_panda_reference.py
"""

import os
import re
from pathlib import Path

import pytest

from tests.panda.helpers import check_json

HERE = Path(__file__).resolve()
REFS = Path(
    os.environ.get("CWLPILOT_PANDA_REFS")
    or next((p / "refs" / "panda" for p in HERE.parents if (p / "refs" / "panda" / "sphenix").is_dir()), HERE / "none")
)
SEEDS = next((p / "shared" / "seed-workflows" / "panda" for p in HERE.parents if (p / "shared").is_dir()), HERE)
CLIENTS = ("2.0.2", "1.6.16")
# not PanDA documents (no step runs a PanDA kind): checked as standard CWL, where they are valid
NOT_PANDA = {"inline.cwl"}
# the documentation's examples as shared/seed-workflows/panda has them, through the same pipeline
SEED_VERDICTS = {
    "athena.cwl": ("dummy.yaml", False, False),  # Verification failure: opt_inDS is unresolved
    "cond.cwl": ("dummy.yaml", True, True),
    "hpo.cwl": ("dummy.yaml", False, False),  # cwl-utils: `when` in a v1.0 document
    "loop.cwl": ("dummy.yaml", False, False),  # cwl-utils: run: prun.cwl, no such file
    "loop_main.cwl": ("dummy.yaml", False, False),
    "merge_many.cwl": ("inputs2.yaml", True, True),
    "multi_loop.cwl": ("inputs2.yaml", False, True),  # 2.0.2: --forceStagedSecondary of the junction
    "sequential_loop.cwl": ("inputs.yaml", False, False),
    "sig_bg_comb.cwl": ("inputs.yaml", False, False),  # Verification failure: %{DS2} is unresolved
    "simple_chain.cwl": ("dummy.yaml", True, True),
}


def _sphenix():
    verdicts = REFS / "sphenix" / "EXPECTED.txt"
    if not verdicts.is_file():
        return []
    cases = []
    for line in verdicts.read_text().splitlines():
        name, new, old = (part.strip() for part in line.split("|"))
        folder = REFS / "sphenix" / name
        for client, text in zip(CLIENTS, (new, old), strict=True):
            cases.append(
                (
                    f"sphenix/{name}",
                    folder / f"{name}-workflow.cwl",
                    folder / f"{name}-input.yaml",
                    client,
                    "ACCEPTED" in text,
                )
            )
    return cases


def _results(folder, default_yaml):
    path = folder / "RESULTS.txt"
    if not path.is_file():
        return []
    cases = []
    for line in path.read_text().splitlines():
        m = re.match(r"(\S+)\s+(?:yaml=(\S+)\s+)?server=panda-server-src\s+client=(\S+)\s+(.*)", line)
        if not m or m.group(1) in NOT_PANDA:
            continue
        client = "2.0.2" if m.group(3) == "panda-client-src" else "1.6.16"
        yaml = m.group(2) or ("s.yaml" if m.group(1) == "toplevel_param.cwl" else default_yaml)
        where = folder if (folder / m.group(1)).is_file() else folder / "docs" / "source" / "client" / "cwl"
        cases.append(
            (f"{folder.name}/{m.group(1)}", where / m.group(1), where / yaml, client, "is_OK=True" in m.group(4))
        )
    return cases


def _seeds():
    if not SEEDS.is_dir():
        return []
    return [
        (f"seeds/{name}", SEEDS / name, SEEDS / yaml, client, ok)
        for name, (yaml, new, old) in SEED_VERDICTS.items()
        for client, ok in zip(CLIENTS, (new, old), strict=True)
    ]


CASES = _sphenix() + _results(REFS / "panda-docs", "empty.yaml") + _results(REFS / "edge-cases", "e.yaml") + _seeds()


@pytest.mark.skipif(not CASES, reason="the PanDA reference verdicts are not here")
@pytest.mark.parametrize(
    ("name", "workflow", "inputs", "client", "accepted"), CASES, ids=[f"{c[0]}@{c[3]}" for c in CASES]
)
def test_check_gives_the_servers_verdict(name, workflow, inputs, client, accepted):
    data = check_json(workflow, inputs, "--panda-client", client)
    assert data["valid"] is accepted, [e["message"] for e in data["errors"]]
