"""A zygote dies with its caller, however the caller dies, and takes its programs and helpers with it."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.conftest import ZYGOTE, descendants, process_table

ROOT = Path(__file__).resolve().parents[3]
# Sleeps for an hour without using CPU (so no CPU limit ends it), and so does a thread it starts (new
# processes are denied: the sandbox is one process).
SLEEPER = "import threading, time\nthreading.Thread(target=time.sleep, args=(3600,)).start()\ntime.sleep(3600)\n"
CASES = [{"input": "", "output": "done"}]
CALLERS = {  # each blocks while its programs sleep; and the (zygotes, programs) it will have
    "in_process": ("from rewards.code import run_tests\n"
                   f"run_tests({SLEEPER!r}, {CASES!r}, timeout=600)\n", (1, 1)),
    "threads": ("from rewards.code import unit_test_reward\n"
                f"unit_test_reward([{SLEEPER!r}] * 2, [{CASES!r}] * 2, num_workers=2, timeout=600)\n", (1, 2)),
}


def sandbox_counts(pid: int) -> tuple[int, int]:
    table = process_table()
    ours = [p for p in descendants(pid, table) if ZYGOTE in table[p][0] and table[p][1] != "Z"]
    programs = [p for p in ours if ZYGOTE in table.get(table[p][2], (b"",))[0]]
    return len(ours) - len(programs), len(programs)


def survivors(pids: list[int]) -> list[str]:
    """The pids still running; the dead ones that were re-parented to us (we are a subreaper) are reaped."""
    table, alive = process_table(), []
    for pid in pids:
        if pid in table and table[pid][1] != "Z":
            alive.append(f"{pid} {table[pid][0][:80]!r}")
        elif pid in table:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
    return alive


def start_caller(code: str, tmp_path) -> subprocess.Popen:
    env = {**os.environ, "TMPDIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env)


@pytest.mark.parametrize("caller", sorted(CALLERS))
def test_a_sigkilled_caller_leaves_nothing_running(caller, tmp_path):
    code, expected = CALLERS[caller]
    proc = start_caller(code, tmp_path)
    try:
        deadline = time.monotonic() + 60
        while (counts := sandbox_counts(proc.pid)) != expected:
            assert proc.poll() is None and time.monotonic() < deadline, f"(zygotes, programs) = {counts}"
            time.sleep(0.1)
        started = descendants(proc.pid)  # zygotes and programs; with a pool also its workers and forkserver
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 5
    while survivors(started) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = survivors(started)
    for entry in left:  # tidy up after a failure
        os.kill(int(entry.split()[0]), signal.SIGKILL)
    assert left == [], f"still running 5 s after the caller was SIGKILLed: {left}"


def test_the_zygote_outlives_the_thread_that_started_it(tmp_path):
    # The zygote's parent-death signal also fires when the caller's starting *thread* exits.
    code = textwrap.dedent(f"""
        import threading, time
        from rewards.code import run_tests
        from rewards.code.sandbox import sandbox
        run = lambda: run_tests("print('done')", {CASES!r})
        thread = threading.Thread(target=run)
        thread.start()
        thread.join()
        first = sandbox().zygote_pid
        time.sleep(1.5)  # more than the zygote's poll interval
        assert run().passed and sandbox().zygote_pid == first
    """)
    assert start_caller(code, tmp_path).wait(timeout=120) == 0


def test_a_dead_zygote_is_replaced_on_the_next_call(clean_after):
    """A zygote killed under the caller (OOM killer, an operator) costs the runs in flight, not the rest
    of training: the next call starts a new one."""
    from rewards.code import run_tests
    from rewards.code.sandbox import sandbox

    program, tests = "def add(a, b):\n    return a + b\n", "assert add(1, 2) == 3"
    for _ in range(5):  # killed right before the next call: the reader thread has not yet seen it go
        assert run_tests(program, tests).passed
        old = sandbox().zygote_pid
        os.kill(old, signal.SIGKILL)
        assert run_tests(program, tests).passed
        assert sandbox().zygote_pid not in (None, old)
