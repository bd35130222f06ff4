"""``run_tests`` for one program and ``unit_test_reward`` for a batch (TRL's reward contract)."""

from __future__ import annotations

import json
import marshal
import os
import re
import signal
import textwrap
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

from rewards.code import judge
from rewards.code.sandbox import OUTPUT_CAP, Child, Limits, sandbox
from rewards.contract import completion_text
from rewards.pool import default_workers

MAX_PROGRAM_CHARS = 256 * 1024
MAX_STDIO_CASES = 256
JUDGE_GRACE_S = 2.0      # past the program's timeout, for the judge to report (it times the program itself)
REPORT_MAX = 64 * 1024   # a judge's report is a few numbers and a capped failure text
_QUIET_COMPILE = threading.Lock()  # catch_warnings swaps process-wide state
_FENCE = re.compile(r"```[ \t]*([\w+#.-]*)[^\n]*\n(.*?)```", re.S)


@dataclass
class TestResult:
    passed: bool
    n_passed: int
    n_total: int
    status: str         # passed | failed | timeout | memory | syntax_error | runtime_error | output_limit | bad_tests | empty
    detail: str = ""    # the first failure, for debugging (capped)
    stdout: str = ""    # the program's captured output (capped)
    stderr: str = ""

    @property
    def fraction(self) -> float:
        return self.n_passed / self.n_total if self.n_total else 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def _exit_status(status: int | None) -> str | None:
    """A status name for a child that died abnormally, from its raw wait status."""
    if status is None or status < 0:
        return None
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        return {signal.SIGXCPU: "timeout", signal.SIGKILL: "timeout", signal.SIGXFSZ: "output_limit",
                signal.SIGSEGV: "memory"}.get(sig, "runtime_error")
    return None


def _classify_error(text: str, default: str = "runtime_error") -> str:
    if "MemoryError" in text:
        return "memory"
    if "File too large" in text or "EFBIG" in text:  # Python ignores SIGXFSZ: writes past the cap fail instead
        return "output_limit"
    return default


def run_tests(program: str, tests, *, timeout: float = 10.0, memory_mb: int = 1024, prelude: str = "") -> TestResult:
    """Run ``program`` against ``tests`` in the sandbox; the verdict is computed here, never in the sandbox.

    ``tests`` is Python test code (asserts, ``check(candidate)`` plus its call, unittest classes) or a list
    of ``{"input": str, "output": str}`` stdin/stdout cases. ``prelude`` is prepended to the program
    (e.g. LeetCode's implicit ``from typing import *``). ``timeout`` bounds the whole run (wall clock;
    CPU time is limited to the same number of seconds); ``memory_mb`` the address space.
    """
    code, problem = compile_program(program, prelude)
    if code is None:
        return TestResult(False, 0, 0, "empty" if problem == "no program" else "syntax_error", problem)
    limits = Limits(timeout=timeout, memory_mb=memory_mb)
    tests = normalize_tests(tests)
    if isinstance(tests, str):
        return _run_function_tests(code, tests, limits)
    if isinstance(tests, list) and tests and all(isinstance(t, dict) and "input" in t and "output" in t for t in tests):
        return _run_stdio_tests(code, tests[:MAX_STDIO_CASES], limits)
    return TestResult(False, 0, 0, "bad_tests", "tests must be test code or a list of {'input', 'output'} cases")


def compile_program(program, prelude: str = ""):
    """(code object, "") or (None, why not). Compiled here and marshalled to the sandbox, so parsing
    hostile text costs the sandbox nothing."""
    if not isinstance(program, str) or not program.strip():
        return None, "no program"
    if len(program) > MAX_PROGRAM_CHARS or "\x00" in program:
        return None, "program too long or binary"
    try:
        with _QUIET_COMPILE, warnings.catch_warnings():  # a program's invalid escapes are not the caller's warnings
            warnings.simplefilter("ignore")
            return compile(prelude + ("\n" if prelude else "") + program, "<program>", "exec", dont_inherit=True), ""
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError) as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]


def normalize_tests(tests):
    """Accept the common data-set layouts: test code; ``[{"input", "output"}]``; ``{"functional": code}``
    (rllm/LeetCode); ``{"inputs": [...], "outputs": [...]}`` (APPS/TACO); or any of these as a JSON string."""
    if isinstance(tests, str) and tests.lstrip()[:1] in ("{", "["):
        try:
            tests = json.loads(tests)
        except ValueError:
            return tests  # test code that happens to start with a bracket
    if isinstance(tests, dict):
        if isinstance(tests.get("functional"), str):
            return tests["functional"]
        if isinstance(tests.get("inputs"), list) and isinstance(tests.get("outputs"), list):
            return [{"input": i, "output": o} for i, o in zip(tests["inputs"], tests["outputs"])]
    return tests


def run_judged(code, job: dict, limits: Limits) -> tuple[dict, Child, Child]:
    """Run ``code`` as a program and a judge child on ``job``: (the judge's report, program, judge).

    The report is one small message, validated here; {"timeout": True} when the judge did not report
    before the deadline (both children are then killed), {"died": ...} when it died. The caller closes
    both children.
    """
    program, judge_child = sandbox().spawn_judged(limits)
    deadline = time.monotonic() + limits.timeout + JUDGE_GRACE_S
    try:
        judge.wire.send_message(judge_child.channel, {**job, "timeout": limits.timeout,
                                                      "program": marshal.dumps(code).hex()})
        report = judge.wire.recv_message(judge_child.channel, deadline, max_size=REPORT_MAX)
    except TimeoutError:
        report = {"timeout": True}
    except (EOFError, OSError, ValueError) as exc:
        judge_child.wait(time.monotonic() + 2)
        report = {"died": f"the judge process ended without a verdict ({type(exc).__name__}, "
                          f"wait status {judge_child.status})"}
    if report.get("timeout") or report.get("died"):
        program.kill()
        judge_child.kill()
    return report, program, judge_child


def _verdict(report: dict) -> tuple[int, int, str | None, bool, bool] | None:
    """(passed, total, failure, program died, program timed out) from a judge's verdict; None if malformed."""
    v = report.get("verdict")
    if type(v) is not dict:
        return None
    passed, total, failure, died, timeout = (v.get(k) for k in ("passed", "total", "failure", "died", "timeout"))
    if type(passed) is not int or type(total) is not int or not 0 <= passed <= total or type(died) is not bool \
            or type(timeout) is not bool or not (failure is None or type(failure) is str):
        return None
    return passed, total, failure, died, timeout


def _run_function_tests(code, tests: str, limits: Limits) -> TestResult:
    try:
        prepared = judge.prepare_tests(tests)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        return TestResult(False, 0, 0, "bad_tests", f"the tests do not parse: {exc}")
    report, program, judge_child = run_judged(code, judge.job_for(prepared, limits.timeout), limits)
    try:
        minimum = max(1, prepared.n_asserts)
        if report.get("timeout") and "load_error" not in report:
            return _result(program, 0, minimum, "timeout", "the program (or the test code) timed out")
        if "load_error" in report:
            error = report["load_error"]
            name, text = error if type(error) is list and len(error) == 2 and all(type(e) is str for e in error) \
                else ("Error", "the judge sent a malformed report")
            if report.get("died"):
                program.kill()
                return _result(program, 0, 0, _exit_status(program.status) or "runtime_error", f"{name}: {text}")
            if report.get("timeout"):
                return _result(program, 0, 0, "timeout", text)
            status = "syntax_error" if name in ("SyntaxError", "IndentationError", "TabError") else _classify_error(name)
            return _result(program, 0, 0, status, f"{name}: {text}")
        if report.get("died"):  # the test code blew up (or up its judge): classified by how the judge ended
            return _result(program, 0, minimum, _exit_status(judge_child.status) or "runtime_error", report["died"])
        verdict = _verdict(report)
        if verdict is None:
            return _result(program, 0, minimum, "runtime_error", "the judge sent a malformed verdict")
        passed, total, failure, died, timed_out = verdict
        if timed_out:
            program.kill()
            return _result(program, 0, total, "timeout", "the program timed out")
        program.kill(wait=died)  # the exit status only matters when the program died
        if passed == total and total > 0 and failure is None:
            return _result(program, passed, total, "passed", "")
        status = _exit_status(program.status) if died else None
        status = status or _classify_error(failure or "", "failed")
        return _result(program, passed, total, status, failure or "")
    finally:
        program.close()
        judge_child.close()


def _run_stdio_tests(code, cases: list[dict], limits: Limits) -> TestResult:
    passed, first_failure, status = 0, "", "passed"
    stdout = stderr = ""
    for k, case in enumerate(cases):
        child = sandbox().spawn(code, mode="stdio", stdin=str(case["input"]).encode(), limits=limits)
        try:
            exit_status = child.wait(time.monotonic() + limits.timeout)
            child.kill()  # descendants included
            out = child.read_output("out", limit=None).decode("utf-8", "replace")
            err = child.read_output("err").decode("utf-8", "replace")
            stdout, stderr = out[:OUTPUT_CAP], err
            abnormal = "timeout" if exit_status is None else _exit_status(exit_status)
            exit_code = os.WEXITSTATUS(exit_status) if exit_status is not None and os.WIFEXITED(exit_status) else None
            if abnormal:
                case_status = abnormal
            elif exit_code != 0:
                case_status = "syntax_error" if re.search(r"^sandbox: (SyntaxError|IndentationError|TabError)", err, re.M) \
                    else _classify_error(err)
            elif judge.outputs_match(out, str(case["output"])):
                passed += 1
                continue
            else:
                case_status = "failed"
            if status == "passed":
                status, first_failure = case_status, f"case {k}: {case_status}"
        finally:
            child.close()
    ok = passed == len(cases)
    return TestResult(ok, passed, len(cases), "passed" if ok else status, first_failure, stdout, stderr[:OUTPUT_CAP])


def _result(child, passed: int, total: int, status: str, detail: str) -> TestResult:
    out = child.read_output("out").decode("utf-8", "replace")
    err = child.read_output("err").decode("utf-8", "replace")
    return TestResult(status == "passed", passed, total, status, detail[:500], out, err)


def extract_code(completion) -> str:
    """The last fenced code block (Python or unlabelled preferred), or the whole text when there is none."""
    text = completion_text(completion)
    blocks = _FENCE.findall(text)
    if not blocks:
        return textwrap.dedent(text)
    python = [body for lang, body in blocks if lang.lower() in ("", "python", "python3", "py")]
    return textwrap.dedent((python or [body for _, body in blocks])[-1])


def _score(item) -> float | None:
    completion, tests, partial, timeout, prelude = item
    if tests is None:
        return None
    result = run_tests(extract_code(completion), tests, timeout=timeout, prelude=prelude)
    return result.fraction if partial else float(result.passed)


def unit_test_reward(completions, tests, *, partial_credit: bool = False, timeout: float = 10.0,
                     num_workers: int | None = None, prelude: str = "", **kwargs) -> list[float | None]:
    """1.0 when the program in a completion passes all its ``tests`` (fraction passed with
    ``partial_credit``), else 0.0; ``None`` when a row has no tests. Runs the batch across
    ``num_workers`` threads (default: one per core): each only waits on its sandboxed children, so no
    process pool (and no ``if __name__ == "__main__"`` guard) is needed; one zygote serves them all.

    >>> unit_test_reward(["```python\\ndef add(a, b):\\n    return a + b\\n```"], ["assert add(2, 3) == 5"])
    [1.0]
    """
    if len(completions) != len(tests):
        raise ValueError(f"unit_test_reward got {len(completions)} completions but {len(tests)} tests")
    items = [(c, t, partial_credit, timeout, prelude) for c, t in zip(completions, tests)]
    workers = max(1, min(num_workers or default_workers(), len(items)))
    if workers == 1:
        return [_score(item) for item in items]
    with ThreadPoolExecutor(workers, thread_name_prefix="rlvr-code") as pool:
        return list(pool.map(_score, items))


def leetcode_reward(completions, tests, **kwargs) -> list[float | None]:
    """``unit_test_reward`` with LeetCode's implicit imports (``from typing import *`` and friends), for
    data in the rllm/LeetCode layout (``tests = {"functional": "def check(candidate): ..."}``)."""
    from rewards.code import LEETCODE_PRELUDE

    kwargs.setdefault("prelude", LEETCODE_PRELUDE)
    return unit_test_reward(completions, tests, **kwargs)
