"""executor.targets: -tt, --target-labels and --rerun-from as O2DPG's filter_workflow and execute read them."""

import pytest

from cwlpilot.executor.errors import UsageError
from cwlpilot.executor.plan import Stage
from cwlpilot.executor.targets import rerun_from, select, strip_quotes

STAGES = [
    Stage("gen_1", "x", labels=("GEN",)), Stage("sim_1", "x", needs=("gen_1",), labels=("SIM",)),
    Stage("aod_1", "x", needs=("sim_1",), labels=("AOD",)), Stage("gen_2", "x", labels=("GEN",)),
    Stage("aod_2", "x", needs=("gen_2",), labels=("AOD",)),
    Stage("aodmerge", "x", needs=("aod_1", "aod_2"), labels=("AOD", "MERGE")),
]


def wanted(tasks=(), labels=()):
    sel = select(STAGES, tasks, labels)
    return None if sel.wanted is None else sorted(sel.wanted)


def test_no_filter_and_a_lone_star_select_everything():
    assert wanted() is None and wanted(["*"]) is None


def test_patterns_match_from_the_start_of_the_name():
    assert wanted(["aod"]) == ["aod_1", "aod_2", "aodmerge", "gen_1", "gen_2", "sim_1"]
    assert wanted(["aod_1"]) == ["aod_1", "gen_1", "sim_1"]
    assert wanted(["aod_1$"]) == ["aod_1", "gen_1", "sim_1"]


def test_quotes_are_stripped_as_anchormc_passes_them():
    """Regression: `-tt "'aodmerge.*'"` (anchorMC.sh) matched nothing."""
    assert strip_quotes("\"'aodmerge.*'\"") == "aodmerge.*"
    assert wanted(["'aodmerge.*'"]) == wanted(["aodmerge"])


def test_labels_and_names_combine_with_and():
    """Regression: -tt X --target-labels L was a union (109 stages instead of O2DPG's 38)."""
    assert wanted(["gen"], ["AOD"]) == []
    assert wanted([".*_2"], ["AOD"]) == ["aod_2", "gen_2"]
    assert wanted([], ["GEN"]) == ["gen_1", "gen_2"]


def test_nothing_selected_is_reported_not_refused():
    sel = select(STAGES, ["nomatch"], [])
    assert sel.nothing and sel.wanted == frozenset()


def test_a_bad_pattern_is_a_usage_error():
    with pytest.raises(UsageError, match="not a regular expression"):
        select(STAGES, ["*gen"], [])


def test_rerun_from_matches_within_the_selection_and_refuses_no_match():
    assert rerun_from(STAGES, "aod", None) == ["aod_1", "aod_2", "aodmerge"]
    assert rerun_from(STAGES, "aod", frozenset({"aod_2", "gen_2"})) == ["aod_2"]
    with pytest.raises(UsageError, match="No task matching x found; cowardly refusing to do anything"):
        rerun_from(STAGES, "x", None)
