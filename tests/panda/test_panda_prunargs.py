"""compiler.panda.prunargs: the prun options with a local meaning, and the others listed once."""

from cwlpilot.compiler.panda.prunargs import Secondary, parse_args


def test_local_meanings_and_ignored_options():
    pa = parse_args("--outputs a.root,b.pool --nJobs 3 --nFilesPerJob=2 --avoidVP --nGBPerJob 10")
    assert pa.outputs == ("a.root", "b.pool") and pa.n_jobs == 3 and pa.files_per_job == 2
    assert pa.ignored == ("--avoidVP", "--nGBPerJob") and pa.errors == ()


def test_secondary_streams():
    pa = parse_args("--secondaryDSs IN2:2:%{SECDS1},IN3:5:%{SECDS2}")
    assert pa.secondary == (Secondary(2, 2, "%{SECDS1}", 15, 21), Secondary(3, 5, "%{SECDS2}", 31, 37))


def test_mistakes_with_offsets():
    pa = parse_args("--outputs x --secondaryDSs %IN2:2:%{DS1} --nJobs zero --exec ls")
    messages = dict(pa.errors)
    assert "must be written without '%'" in messages[27]
    assert "positive whole number" in messages[49]
    assert "opt_exec" in messages[54]


def test_njobs_is_at_most_the_stage_limit():
    # regression: --nJobs 18446744073709551616 made `check` grow by 100 MB/s until it was killed
    from cwlpilot.compiler.limits import MAX_STAGES

    assert parse_args(f"--nJobs {MAX_STAGES}").n_jobs == MAX_STAGES
    for value in (str(MAX_STAGES + 1), "18446744073709551616"):
        pa = parse_args(f"--nJobs {value}")
        assert pa.n_jobs is None and pa.errors == ((8, f"--nJobs {value}: at most {MAX_STAGES} jobs per step"),)


def test_counts_beyond_64_bits_and_digits_python_cannot_read():
    # regression: a 5,000-digit count was "ValueError: Exceeds the limit (4300 digits)"; int("²") fails too
    pa = parse_args(f"--nFilesPerJob {'9' * 5000} --nJobs ²")
    assert pa.files_per_job is None and pa.n_jobs is None
    assert [m for _, m in pa.errors] == [
        f"--nFilesPerJob {'9' * 40}: too large (at most 18 digits)",
        "--nJobs needs a positive whole number, not '²'",
    ]
    assert parse_args("--nFilesPerJob 000000000000000000000000002").files_per_job == 2
    assert parse_args("--nJobs 0000").errors == ((8, "--nJobs needs a positive whole number, not '0000'"),)
