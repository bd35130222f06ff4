"""Behaviour of candidate programs on shared inputs, for execution-based consensus (CodeT-style voting).

Each candidate runs in the sandbox on the same inputs; its *signature* is the tuple of what it returned
(canonical encoding) or printed (trailing whitespace per line ignored), with errors recorded by type.
Programs with equal signatures behave alike on these inputs; ``rlvr.testtime.execution_vote`` picks the
largest agreeing cluster. Only inputs are used: expected outputs never influence the choice.
"""

from __future__ import annotations

import ast
import time

from rewards.code import wire
from rewards.code.reward import _exit_status, compile_program, run_judged
from rewards.code.sandbox import OUTPUT_CAP, Limits, sandbox


def call_inputs(tests: str, callee: str = "candidate") -> list[tuple[tuple, dict]]:
    """The literal arguments of every ``callee(...)`` call in test code (calls with non-literal arguments
    are skipped): the shared inputs for function-call tasks.

    >>> call_inputs("def check(candidate):\\n    assert candidate([1, 2], k=3) == 4\\n    assert candidate(x) == 1")
    [(([1, 2],), {'k': 3})]
    """
    out = []
    for node in ast.walk(ast.parse(tests)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == callee:
            try:
                args = tuple(ast.literal_eval(a) for a in node.args)
                kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg}
            except (ValueError, SyntaxError, TypeError):
                continue
            out.append((args, kwargs))
    return out


def function_signature(program: str, entry_point: str, inputs: list[tuple[tuple, dict]], *,
                       timeout: float = 5.0, prelude: str = "") -> tuple | None:
    """What ``entry_point`` (a function name, or ``Class.method`` for a fresh ``Class()``) returns on each
    input; None when the program does not load."""
    code, _ = compile_program(program, prelude)
    if code is None:
        return None
    job = {"job": "signature", "entry": entry_point, "inputs": [[wire.encode(list(a)), wire.encode(k)] for a, k in inputs]}
    report, child, judge_child = run_judged(code, job, Limits(timeout=timeout))
    try:
        if report.get("timeout") and "load_error" not in report:
            return ("timeout",) * len(inputs)
        out = report.get("signature")
        if type(out) is not list or len(out) != len(inputs) or not all(type(x) is str for x in out):
            return None
        return tuple(out)
    finally:
        child.close()
        judge_child.close()


def stdio_signature(program: str, inputs: list[str], *, timeout: float = 5.0) -> tuple | None:
    """What the program prints for each stdin (trailing whitespace per line and trailing blank lines
    dropped); None when it does not compile."""
    code, _ = compile_program(program)
    if code is None:
        return None
    out = []
    for stdin in inputs:
        child = sandbox().spawn(code, mode="stdio", stdin=str(stdin).encode(), limits=Limits(timeout=timeout))
        try:
            status = child.wait(time.monotonic() + timeout)
            child.kill()
            if status is None or status != 0:
                # killed by its CPU limit and out of wall time are the same behaviour: which of the two
                # fires first is a race, and the signature must not depend on it
                timed_out = status is None or _exit_status(status) == "timeout"
                out.append("timeout" if timed_out else "error")
                continue
            text = child.read_output("out", limit=OUTPUT_CAP).decode("utf-8", "replace")
            lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
            while lines and not lines[-1]:
                lines.pop()
            out.append("\n".join(lines))
        finally:
            child.close()
    return tuple(out)
