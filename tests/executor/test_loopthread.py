"""executor.loopthread: the loop's own thread, and the main thread that waits for it."""

import signal
import threading
import time

import pytest

from cwlpilot.executor.loopthread import in_fresh_thread as _in_fresh_thread


def test_the_body_runs_in_another_thread_and_its_exception_reaches_the_caller():
    seen = []

    def body():
        seen.append(threading.current_thread() is threading.main_thread())
        raise ValueError("from the loop")

    with pytest.raises(ValueError, match="from the loop"):
        _in_fresh_thread(body, stop=lambda: None)
    assert seen == [False]


def test_sigchld_is_left_to_the_body_and_the_mask_is_restored():
    masks = []

    def body():
        masks.append(signal.pthread_sigmask(signal.SIG_BLOCK, set()))

    before = signal.pthread_sigmask(signal.SIG_BLOCK, set())
    _in_fresh_thread(body, stop=lambda: None)
    assert signal.SIGCHLD not in masks[0]
    assert signal.pthread_sigmask(signal.SIG_BLOCK, set()) == before


def test_an_exception_in_the_waiting_thread_stops_the_body_before_it_is_raised():
    """A signal handler raising in the main thread (not the pilot's own, which only sets a flag) must not
    leave the loop running on its own while the caller cleans up."""
    stopped = threading.Event()
    finished = []

    def body():
        while not stopped.is_set():
            time.sleep(0.01)
        time.sleep(0.1)  # the loop's own shutdown takes a moment
        finished.append(time.monotonic())

    def alarm(signum, frame):
        raise RuntimeError("interrupted from outside")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, 0.2)
    try:
        with pytest.raises(RuntimeError, match="interrupted from outside"):
            _in_fresh_thread(body, stop=stopped.set)
        raised_at = time.monotonic()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert stopped.is_set() and finished and finished[0] <= raised_at
