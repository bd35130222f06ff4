"""The judge: runs the *tests* in the trusted harness process; the program is only an oracle behind RPC.

Test code (HumanEval's ``check(candidate)`` plus its call, MBPP assert lists, LeetCode
``check(Solution().method)``, unittest classes) is executed here, never in the sandbox. Names the tests
use but do not define (the entry point, ``Solution``, a helper from the prompt) are bound to proxies:
calling one sends the arguments to the sandboxed program, which runs the call and sends back the
result in a type-exact canonical encoding. Results are rebuilt here as genuine builtins, so every
comparison is Python's own on plain values: an ``__eq__`` that is always true, an ``int`` subclass or a
patched builtin in the program cannot reach it. Objects that are not plain values stay in the sandbox
as opaque handles and compare equal to nothing. Expected values never enter the sandbox.

Each ``assert`` is counted (pass, fail, or the exception it raised) and the run continues, so partial
credit is the fraction of asserts that passed.
"""

from __future__ import annotations

import ast
import builtins
import io
import unittest
from dataclasses import dataclass
from functools import lru_cache

from rewards.code import zygote


class CandidateError(Exception):
    """The program raised, crashed or timed out during a call."""


class Timeout(CandidateError):
    pass


class Remote:
    """An object living in the sandbox. Calls and attribute reads go over RPC; nothing else works."""

    __slots__ = ("_session", "_handle", "_label")

    def __init__(self, session: Session, handle: int | None, label: str):
        object.__setattr__(self, "_session", session)
        object.__setattr__(self, "_handle", handle)
        object.__setattr__(self, "_label", label)

    def __call__(self, *args, **kwargs):
        return self._session.request({"op": "call", "handle": self._handle, "args": [self._session.send(a) for a in args],
                                      "kwargs": {k: self._session.send(v) for k, v in kwargs.items()}})

    def __getattr__(self, name):
        return self._session.request({"op": "getattr", "handle": self._handle, "name": name})

    def __bool__(self):
        raise TypeError(f"the truth of sandboxed object {self._label} is not trusted")

    def __eq__(self, other):
        return self is other

    def __hash__(self):
        return id(self)

    def __repr__(self):
        return f"<sandboxed {self._label}>"


class Session:
    """One RPC conversation with a sandboxed program."""

    def __init__(self, channel, deadline: float):
        self.channel, self.deadline, self.calls = channel, deadline, 0

    def handle(self, key: int) -> Remote:
        return Remote(self, key, f"object #{key}")

    def send(self, value):
        if isinstance(value, Remote):
            return ["h", value._handle]
        return zygote.encode(value)

    def request(self, message: dict):
        self.calls += 1
        try:
            zygote.send_message(self.channel, message)
            reply = zygote.recv_message(self.channel, self.deadline)
        except TimeoutError:
            raise Timeout("the program timed out") from None
        except (EOFError, OSError, ValueError) as exc:
            raise CandidateError(f"the program died ({type(exc).__name__})") from None
        if "ok" in reply:
            return zygote.decode(reply["ok"], self.handle)
        name, message_text = reply.get("error", ["Error", ""])
        kind = getattr(builtins, name, None)
        # Builtin exception types are re-raised as themselves so tests can expect them; anything else
        # (SkipTest, custom classes) is a plain failure.
        if isinstance(kind, type) and issubclass(kind, Exception) and kind.__module__ == "builtins":
            raise kind(message_text)
        raise CandidateError(f"{name}: {message_text}")

    def lookup(self, name: str):
        """The program's global ``name`` (a value or a handle), or None when it defines no such name."""
        try:
            return self.request({"op": "lookup", "name": name})
        except KeyError:
            return None


class Tally:
    def __init__(self):
        self.passed = self.total = 0
        self.first_failure: str | None = None

    def record(self, check, where: str) -> None:
        self.total += 1
        try:
            ok = bool(check())
            why = "assertion failed"
        except Timeout:
            raise
        except Exception as exc:  # noqa: BLE001 - a failing test, reported with its cause
            ok, why = False, f"{type(exc).__name__}: {exc}"
        if ok:
            self.passed += 1
        elif self.first_failure is None:
            self.first_failure = f"{where}: {why}"[:500]


class _CountAsserts(ast.NodeTransformer):
    """``assert E`` -> ``__rlvr_tally.record(lambda: E, "line N")``: count every assert, keep going."""

    def visit_Assert(self, node: ast.Assert):
        where = {"lineno": node.lineno, "col_offset": node.col_offset, "end_lineno": node.end_lineno,
                 "end_col_offset": node.end_col_offset}
        func = ast.Attribute(ast.Name("__rlvr_tally", ast.Load(), **where), "record", ast.Load(), **where)
        check = ast.Lambda(ast.arguments([], [], None, [], [], None, []), node.test, **where)
        return ast.Expr(ast.Call(func, [check, ast.Constant(f"line {node.lineno}", **where)], [], **where), **where)


@dataclass(frozen=True)
class PreparedTests:
    code: object              # the compiled, assert-counting test code
    free_names: tuple         # names the program must provide
    n_asserts: int            # assert statements in the source (the minimum total)


@lru_cache(maxsize=512)  # a group of samples shares its tests: parse and compile them once
def prepare_tests(tests: str) -> PreparedTests:
    """Parse once: free names, assert count, and the counting transform (raises SyntaxError)."""
    tree = ast.parse(tests)
    bound, loaded, n_asserts = set(), [], 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load):
                loaded.append(node.id)
            else:
                bound.add(node.id)
        elif isinstance(node, ast.Assert):
            n_asserts += 1
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    free = tuple(dict.fromkeys(n for n in loaded if n not in bound and not hasattr(builtins, n)))
    code = compile(_CountAsserts().visit(tree), "<tests>", "exec", dont_inherit=True)
    return PreparedTests(code, free, n_asserts)


def run_test_code(session: Session, prepared: PreparedTests) -> tuple[int, int, str | None]:
    """Execute the test code against the sandboxed program: (passed, total, first failure)."""
    namespace: dict = {"__name__": "__rlvr_tests__", "__builtins__": builtins}
    for name in prepared.free_names:
        value = session.lookup(name)
        if value is not None:
            namespace[name] = value
    tally = Tally()
    namespace["__rlvr_tally"] = tally
    failure = None
    try:
        exec(prepared.code, namespace)
    except Timeout:
        raise
    except Exception as exc:  # noqa: BLE001 - the tests stop; the rest count as failed
        failure = f"{type(exc).__name__}: {exc}"[:500]
    cases = [v for v in namespace.values() if isinstance(v, type) and issubclass(v, unittest.TestCase)
             and v is not unittest.TestCase]
    if cases:
        suite = unittest.TestSuite(unittest.defaultTestLoader.loadTestsFromTestCase(c) for c in cases)
        result = unittest.TextTestRunner(stream=io.StringIO(), verbosity=0).run(suite)
        bad = len(result.failures) + len(result.errors) + len(result.skipped) + len(result.unexpectedSuccesses)
        tally.total += result.testsRun
        tally.passed += result.testsRun - bad
        if bad and tally.first_failure is None:
            tally.first_failure = "unittest: " + "; ".join(str(t) for t, _ in (result.failures + result.errors)[:3])
    total = max(tally.total, prepared.n_asserts, 1 if failure else 0)
    return tally.passed, total, failure or tally.first_failure


def outputs_match(actual: str, expected: str) -> bool:
    """Exact, except trailing whitespace on each line and trailing blank lines are ignored."""
    def lines(text: str) -> list[str]:
        out = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
        while out and out[-1] == "":
            out.pop()
        return out

    return lines(actual) == lines(expected)
