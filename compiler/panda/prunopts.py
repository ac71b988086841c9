"""The options prun knows, as panda-client's PrunScript (with CommonArgs) declares them.

PanDA's server checks every prun, junction and reana step by running the client's own command line
parser on it (`PrunScript.main(True, args, dry_mode=True)` in `workflow_utils.Node.make_task_params`):
an option the installed client does not know, or a value of the wrong type, makes the server refuse
the workflow. This is the list of panda-client 2.0.2 (749e856), with the options other releases
added or removed. Python's argparse (which PrunScript uses) also accepts an unambiguous prefix of a
long option (`--nFilesPer` for `--nFilesPerJob`).
"""

from __future__ import annotations

from typing import NamedTuple

CURRENT = (2, 0, 2)  # the newest release read

FLAGS = frozenset(
    (
        "--allowTaskDuplication",
        "--alrb",
        "--avoidVP",
        "--bulkSubmission",
        "--ctrCvmfs",
        "--ctrDebug",
        "--ctrNoX509",
        "--debugMode",
        "--devSrv",
        "--disableAutoRetry",
        "--eventPickWithGUID",
        "--execWithRealFileNames",
        "--expertOnly_skipScout",
        "--express",
        "--fixedCpuTime",
        "--fixedRamCount",
        "--followLinks",
        "--forceStaged",
        "--forceStagedSecondary",
        "--help",
        "--intrSrv",
        "--mergeLog",
        "--mergeOutput",
        "--msgDriven",
        "--noBuild",
        "--noCompile",
        "--noEmail",
        "--noLoopingCheck",
        "--noSeparateLog",
        "--noSubmit",
        "--notExpandDBR",
        "--notExpandInDS",
        "--notExpandSecDSs",
        "--notSkipLog",
        "--notUseCentralRegistry",
        "--official",
        "--oldContMode",
        "--osMatching",
        "--respectLB",
        "--respectSplitRule",
        "--unlimitNumOutputs",
        "--update",
        "--useAthenaPackages",
        "--useCentralRegistry",
        "--useDirectIOSites",
        "--useHomeDir",
        "--useLogAsInput",
        "--useNewCode",
        "--useNumFilesInSecDSsAsRatio",
        "--useRootCore",
        "--useSandbox",
        "--useSecrets",
        "--verbose",
        "--version",
        "--wrapExecInContainer",
        "-3",
        "-h",
        "-v",
        "-y",
    )
)
INTS = frozenset(
    (
        "--cpuTimePerEvent",
        "--maxAttempt",
        "--maxCore",
        "--maxCpuCount",
        "--maxFileSize",
        "--maxNFilesPerJob",
        "--maxWalltime",
        "--memory",
        "--nCore",
        "--nEvents",
        "--nEventsPerChunk",
        "--nEventsPerFile",
        "--nEventsPerJob",
        "--nFiles",
        "--nfiles",
        "--nFilesPerJob",
        "--nJobs",
        "--nSkipFiles",
        "--outDiskCount",
        "--parentTaskID",
        "--priority",
        "--split",
    )
)
STRINGS = frozenset(
    (
        "--addNthFieldOfInDSToLFN",
        "--addNthFieldOfInFileToLFN",
        "--allowNoOutput",
        "--alrbArgs",
        "--antiMatch",
        "--architecture",
        "--athenaTag",
        "--bexec",
        "--cmtConfig",
        "--containerImage",
        "--ctrDatadir",
        "--ctrWorkdir",
        "--dbRelease",
        "--descriptionInLFN",
        "--destSE",
        "--dumpJson",
        "--dumpTaskParams",
        "--ei_api",
        "--eventPickAmiTag",
        "--eventPickDataType",
        "--eventPickDS",
        "--eventPickEvtList",
        "--eventPickStreamName",
        "--excludedSite",
        "--excludeFile",
        "--exec",
        "--extFile",
        "--framework",
        "--gluePackages",
        "--goodRunListDataType",
        "--goodRunListDS",
        "--goodRunListProdStep",
        "--goodRunListXML",
        "--helpGroup",
        "--inDS",
        "--inDsTxt",
        "--inOutDsJson",
        "--inputFileList",
        "--inTarBall",
        "--loadJson",
        "--loadXML",
        "--match",
        "--mergeScript",
        "--nGBPerJob",
        "--nGBPerMergeJob",
        "--outDS",
        "--outputs",
        "--outTarBall",
        "--persistentFile",
        "--pfnList",
        "--processingType",
        "--prodSourceLabel",
        "--queueData",
        "--reusableSecondary",
        "--rootVer",
        "--secondaryDSs",
        "--site",
        "--skipFilesUsedBy",
        "--spaceToken",
        "--tarBallViaDDM",
        "--tmpDir",
        "--transferType",
        "--vo",
        "--voms",
        "--workDir",
        "--workingGroup",
        "--writeInputToTxt",
    )
)


class Span(NamedTuple):
    """The releases that know an option: from `first` up to `last` (None: no bound)."""

    first: tuple[int, ...] | None
    last: tuple[int, ...] | None


# options only some releases know (from the release tags of PanDAWMS/panda-client)
SPANS = {
    "--forceStagedSecondary": Span(None, (1, 6, 16)),  # removed by 9e1b8ba, released in 1.6.17
    "--nEventsPerChunk": Span(None, (2, 0, 0)),
    "--update": Span(None, (1, 5, 85)),
    "--transferType": Span((1, 6, 17), None),
    "--nfiles": Span((2, 0, 1), None),
    "--split": Span((2, 0, 1), None),
    "--maxCore": Span((1, 6, 3), None),
    "--framework": Span((1, 5, 80), None),
    "--tarBallViaDDM": Span((1, 5, 81), None),
    "--msgDriven": Span((1, 5, 69), None),
    "--useNumFilesInSecDSsAsRatio": Span((1, 5, 77), None),
}
# the releases that do not ask "Are you sure with the memory requirement?" above MEMORY_LIMIT MB/core
# without -y (PsubUtils.get_warning_for_memory, since bd797f7 in 1.5.67); on the server, with no one to
# answer, the question fails (EOF when reading a line)
MEMORY_QUESTION = Span(None, (1, 5, 66))
MEMORY_LIMIT = 4000

KNOWN = FLAGS | INTS | STRINGS


def version_text(version: tuple[int, ...]) -> str:
    return ".".join(map(str, version))


def refusing(span: Span) -> str:
    """The releases outside `span`, in words: 'panda-client 1.6.17 and later'."""
    parts = []
    if span.first is not None:
        parts.append(f"releases before {version_text(span.first)}")
    if span.last is not None:
        parts.append(f"{_next(span.last)} and later")
    return "panda-client " + " and ".join(parts)


def _next(version: tuple[int, ...]) -> str:
    """The release after `version` (releases are numbered one by one: 1.6.16, 1.6.17, ...)."""
    return version_text((*version[:-1], version[-1] + 1))


def parse_version(text: str) -> tuple[int, ...] | None:
    """`2.0.2` as (2, 0, 2); None when it is not a release number."""
    parts = text.strip().split(".")
    return tuple(int(p) for p in parts) if all(p.isdigit() for p in parts) and parts != [""] else None


def knows(span: Span, version: tuple[int, ...]) -> bool:
    return (span.first is None or version >= span.first) and (span.last is None or version <= span.last)


def resolve(name: str) -> tuple[str | None, list[str]]:
    """The option `name` stands for (itself, or the one option it is a prefix of, as argparse reads
    it), and the candidates when the prefix is ambiguous."""
    if name in KNOWN:
        return name, []
    if not name.startswith("--"):
        return None, []
    found = sorted(o for o in KNOWN if o.startswith(name))
    return (found[0], []) if len(found) == 1 else (None, found)
