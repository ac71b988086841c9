"""The pilot's loop in a thread of its own, while the main thread waits for it and runs signal handlers."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable

LEFT_TO_THE_BODY = frozenset({signal.SIGCHLD, signal.SIGINT, signal.SIGTERM})


def in_fresh_thread(body: Callable[[], None], stop: Callable[[], None]) -> None:
    """Run `body` in a new thread while this, the main thread, waits for it. Signal handlers written in
    Python run in the main thread only, so it wakes ten times a second to run them; the signals themselves
    (SIGCHLD, which arrives with every stage's end, and the stop signals SIGINT and SIGTERM) are left to
    `body`'s thread, which sleeps on the wake-up pipe, where each signal's C-level handler writes its number.

    Why the stop signals too: a batch system stops a job by signalling all of its processes, the pilot and
    its stages, so the pilot may find its SIGTERM pending together with the SIGCHLD of stages the same
    signal ended. The kernel runs the handlers of all the signals pending for a thread before that thread
    goes on (one frame each), so the stop's number is in the pipe with those ends' when the loop reads it,
    and the loop sees the stop before it records them (it gives such stages back: `executor.pilot`). With
    the main thread taking the stop, the two threads raced, and on a busy machine the loop could read and
    record the ends before the main thread had run the stop's handler.

    Why a new thread: Linux estimates each thread's CPU use from its past (util_est) and never lowers the
    estimate of a thread that also waits for a CPU, as the pilot does while stages run. Reading and storing
    a 10,000-stage plan keeps a core busy for a third of a second and left the estimate at 95%; fork
    balancing then judged the pilot's core full and queued each new stage process behind the stage running
    on the other core, while the pilot's core idled until the start was done. A start blocked the pilot
    0.45 ms instead of 0.27 ms, 12% of a run of 10,000 short stages (bench/bench_executor.py). A new thread
    begins with a new estimate, made of the loop's own work.

    Should this thread be interrupted by an exception of its own (a signal handler of somebody else's), it
    calls `stop` and waits for `body` to end before raising it: the loop never runs on alone.
    """
    failure: list[BaseException] = []
    # Waited for instead of Thread.join: a join interrupted by an exception may later return before the
    # thread has ended (CPython 3.11), and this wait must hold until it has.
    done = threading.Event()

    def target() -> None:
        try:
            body()
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread, which raises it
            failure.append(exc)
        finally:
            done.set()

    worker = threading.Thread(target=target, name="cwlpilot-loop")
    worker.start()
    before = signal.pthread_sigmask(signal.SIG_BLOCK, LEFT_TO_THE_BODY)
    try:
        while not done.wait(0.1):
            pass
    except BaseException:
        stop()
        done.wait()
        raise
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)
    worker.join()
    if failure:
        raise failure[0]
