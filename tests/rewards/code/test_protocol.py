"""The length-prefixed messages between the harness, its zygote and the judged program."""

import socket
import time

from rewards.code import zygote


def test_a_message_already_received_is_read_past_the_deadline():
    # A reader late for its deadline between a header and its body must not leave the stream misaligned
    # (seen under load: the next read took JSON text for a length, "message too large").
    ours, theirs = socket.socketpair()
    with ours, theirs:
        zygote.send_message(theirs, {"exit": 7})
        zygote.send_message(theirs, {"pid": 8})
        assert zygote.recv_message(ours, time.monotonic() - 1) == {"exit": 7}
        assert zygote.recv_message(ours, time.monotonic() + 1) == {"pid": 8}


def test_whatever_the_judge_reports_run_tests_returns_a_status(monkeypatch):
    """Test code runs in the judge and can write on its channel: a malformed report is a failure, never
    an exception out of run_tests."""
    from rewards.code import reward, run_tests

    for report in ({"load_error": "x"}, {"load_error": [1, 2]}, {"verdict": {"passed": 3, "total": 2}},
                   {"verdict": [1]}, {"verdict": {"passed": 1, "total": 1, "failure": None, "died": "no",
                                                  "timeout": False}}, {}):
        real = reward.run_judged

        def fake(code, job, limits, report=report, real=real):
            _, program, judge_child = real(code, job, limits)
            return report, program, judge_child

        monkeypatch.setattr(reward, "run_judged", fake)
        result = run_tests("def add(a, b):\n    return a + b\n", "assert add(1, 2) == 3")
        assert not result.passed and result.status in ("runtime_error", "failed"), (report, result)
