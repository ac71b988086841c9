"""executor.loopthread: the loop's own thread, and the main thread that waits for it."""

import contextlib
import os
import signal
import threading
import time
from typing import Any

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


def _blocked_in(tid):
    """The signals thread `tid` of this process blocks, from the kernel's own account (SigBlk)."""
    with open(f"/proc/self/task/{tid}/status") as fh:
        mask = int(next(line for line in fh if line.startswith("SigBlk:")).split()[1], 16)
    return {sig for sig in signal.valid_signals() if mask >> (sig - 1) & 1}


def test_sigchld_and_the_stop_signals_are_left_to_the_body_and_the_mask_is_restored():
    """Only the body's thread takes SIGCHLD, SIGINT and SIGTERM, so the kernel hands it a stop that came
    with stage ends first (lowest number first), instead of two threads racing to report them."""
    masks, main = [], []

    def body():
        masks.append(signal.pthread_sigmask(signal.SIG_BLOCK, set()))
        deadline = time.monotonic() + 5  # the main thread sets its mask once this thread has started
        while signal.SIGCHLD not in _blocked_in(threading.main_thread().native_id) and time.monotonic() < deadline:
            time.sleep(0.001)
        main.append(_blocked_in(threading.main_thread().native_id))

    before = signal.pthread_sigmask(signal.SIG_BLOCK, set())
    _in_fresh_thread(body, stop=lambda: None)
    assert not {signal.SIGCHLD, signal.SIGINT, signal.SIGTERM} & masks[0]
    assert {signal.SIGCHLD, signal.SIGINT, signal.SIGTERM} <= main[0]
    assert signal.pthread_sigmask(signal.SIG_BLOCK, set()) == before


def test_a_stop_pending_with_stage_ends_is_in_the_wakeup_pipe_with_them():
    """SIGCHLD and SIGTERM pending at once for the body's thread: the kernel runs both C-level handlers
    before the thread goes on, so its first read of the wake-up pipe finds the stop with the stage ends (the
    loop never records such ends without seeing the stop that came with them)."""
    read_fd, write_fd = os.pipe2(os.O_NONBLOCK)
    handlers = {sig: signal.signal(sig, lambda *_: None) for sig in (signal.SIGCHLD, signal.SIGTERM)}
    old_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    first: list[Any] = []

    def body():
        held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD, signal.SIGTERM})
        os.kill(os.getpid(), signal.SIGCHLD)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)  # the main thread blocks them too: both stay pending, for this thread alone
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        with contextlib.suppress(BlockingIOError):
            first.extend(os.read(read_fd, 16))

    try:
        _in_fresh_thread(body, stop=lambda: None)
    finally:
        signal.set_wakeup_fd(old_fd)
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        os.close(read_fd)
        os.close(write_fd)
    assert sorted(first) == [signal.SIGTERM, signal.SIGCHLD]


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
