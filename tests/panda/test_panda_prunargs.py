"""compiler.panda.prunargs: opt_args read as panda-client's prun reads it (PrunScript, argparse), with the
options cwlpilot gives a local meaning."""

from cwlpilot.compiler.panda.prunargs import Secondary, parse_args
from cwlpilot.compiler.panda.prunopts import Span


def test_local_meanings_and_ignored_options():
    pa = parse_args("--outputs a.root,b.pool --nJobs 3 --nFilesPerJob=2 --avoidVP --nFiles 7")
    assert pa.outputs == ("a.root", "b.pool") and pa.n_jobs == 3 and pa.files_per_job == 2 and pa.n_files == 7
    assert pa.ignored == ("--avoidVP",) and pa.errors == ()


def test_secondary_streams_with_free_names_patterns_and_skips():
    """MiscUtils.parse_secondary_datasets_opt: STREAM:NFILES:DATASET[:PATTERN[:NSKIP]], any stream name."""
    pa = parse_args("--secondaryDSs IN2:2:%{SECDS1},IN_MINH:5:%{SECDS2}:.*root:1")
    assert pa.secondary == (
        Secondary("IN2", 2, "%{SECDS1}", 15, 21, "", 0, "IN2:2:%{SECDS1}"),
        Secondary("IN_MINH", 5, "%{SECDS2}", 31, 41, ".*root", 1, "IN_MINH:5:%{SECDS2}:.*root:1"),
    )
    assert "Wrong format" in parse_args("--secondaryDSs IN2:%{SECDS1}").errors[0][1]
    assert "is not a number" in parse_args("--secondaryDSs IN2:x:ds").errors[0][1]  # int() fails on the server


def test_what_the_client_refuses_with_offsets():
    pa = parse_args("--outputs x --secondaryDSs %IN2:2:%{DS1} --nJobs zero --exec ls --nFilesPerjob 2")
    errors = dict(pa.errors)
    assert "invalid int value" in errors[49]
    assert errors[64] == "prun has no option --nFilesPerjob: panda-client refuses it (unrecognized arguments)"
    assert len(errors) == 2  # its value is not a second mistake
    warnings = {offset: (message, rule) for offset, message, rule in pa.warnings}
    assert warnings[27][1] == "panda-secondary-stream-name" and "named with '%'" in warnings[27][0]
    assert warnings[54][1] == "panda-option-in-args"  # the server's own --exec comes after it and wins


def test_argparse_prefixes_and_version_dependent_options():
    pa = parse_args("--nFilesPer 3 --forceStagedSecondary --memory 8192 -y")
    assert pa.files_per_job == 3 and pa.memory == 8192 and pa.confirmed
    assert pa.versioned == ((14, "--forceStagedSecondary", "panda-client-option", Span(None, (1, 6, 16))),)
    assert "ambiguous: it could be --nFiles, --nFilesPerJob" in parse_args("--nF 2").errors[0][1]


def test_output_names_panda_client_refuses():
    """PrunScript: an output file name with '/' or a character of PsubUtils.check_invalid_char ('%' too, so a
    %{name} in --outputs, which reaches the client as written), and a dataset suffix used twice."""
    errors = [m for _, m in parse_args("--outputs a/b.txt,c_%{i}.txt,S:d.txt,S:e.txt").errors]
    assert "contains '/'" in errors[0] and "contains '%'" in errors[1] and "used for more than one file" in errors[2]


def test_njobs_is_at_most_the_stage_limit():
    # regression: --nJobs 18446744073709551616 made `check` grow by 100 MB/s until it was killed
    from cwlpilot.compiler.limits import MAX_STAGES

    assert parse_args(f"--nJobs {MAX_STAGES}").n_jobs == MAX_STAGES
    for value in (str(MAX_STAGES + 1), "18446744073709551616"):
        pa = parse_args(f"--nJobs {value}")
        assert pa.n_jobs is None and pa.errors == ((8, f"--nJobs {value}: at most {MAX_STAGES} jobs per step"),)


def test_counts_beyond_64_bits_and_digits_python_cannot_read():
    # regression: a 5,000-digit count was "ValueError: Exceeds the limit (4300 digits)"; prun's int() refuses
    # it and int("²") as invalid int values, as the server does; a count prun reads has at most 18 digits here
    pa = parse_args(f"--nFilesPerJob {'9' * 5000} --nJobs ²")
    assert pa.files_per_job is None and pa.n_jobs is None
    assert [m for _, m in pa.errors] == [
        f"--nFilesPerJob needs a whole number, not '{'9' * 40}' (panda-client: invalid int value)",
        "--nJobs needs a whole number, not '²' (panda-client: invalid int value)",
    ]
    for option in ("--nFilesPerJob", "--nFiles"):
        expected = ((len(option) + 1, f"{option} {'9' * 19}: too large (at most 18 digits)"),)
        assert parse_args(f"{option} {'9' * 19}").errors == expected
    assert parse_args(f"--nFiles {'9' * 18}").n_files == int("9" * 18)
    assert parse_args("--nFilesPerJob 000000000000000000000000002").files_per_job == 2
    assert parse_args("--nJobs 0000").errors == ((8, "--nJobs needs a positive whole number, not '0000'"),)
