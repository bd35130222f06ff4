"""The judge: runs the *tests* in a sandboxed process of its own; the program is only an oracle behind RPC.

Three processes take part in one verdict. The harness (the caller of ``run_tests``) parses and compiles
the test code, then waits for a small verdict message. The *judge* (a sandboxed child of the zygote,
locked down like a program) executes the test code: HumanEval's ``check(candidate)`` plus its call, MBPP
assert lists, LeetCode ``check(Solution().method)``, unittest classes. The *program* (another sandboxed
child) answers the judge's calls. Test code is input too: if it loops, exits or blows up, only the judge
dies, within the harness's deadline.

Names the tests use but do not define (the entry point, ``Solution``, a helper from the prompt) are bound
to proxies: calling one sends the arguments to the program, which runs the call and sends back the result
in a type-exact canonical encoding (``wire.py``). Results are rebuilt in the judge as genuine builtins,
so every comparison is Python's own on plain values: an ``__eq__`` that is always true, an ``int``
subclass or a patched builtin in the program cannot reach it. Objects that are not plain values stay in
the program as opaque handles equal to nothing; their attributes can be read and set, and they can be
called, but no dunder or protocol lookup is forwarded. Expected values never enter the program.

Each ``assert`` is counted (pass, fail, or the exception it raised) and the run continues, so partial
credit is the fraction of asserts that passed.

This module is imported both by the harness (``rewards.code.judge``) and, by path, by the zygote, so it
uses the standard library only.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import io
import json
import sys
import time
import unittest
from dataclasses import dataclass
from functools import lru_cache

if __package__:
    from rewards.code import wire
else:  # loaded by path inside the zygote, beside wire.py
    import wire

# Exceptions the program may raise that the tests see as themselves (``assertRaises(ValueError)``).
# Control flow (StopIteration ends a test's ``map()`` silently, GeneratorExit, SystemExit) never is.
_CONTROL_FLOW = (StopIteration, StopAsyncIteration)


class CandidateError(Exception):
    """The program raised, crashed, timed out or sent something malformed during a call."""


class Timeout(CandidateError):
    pass


class Remote:
    """An object living in the program. Calls and attribute reads and writes go over RPC; nothing else."""

    __slots__ = ("_session", "_handle", "_label")

    def __init__(self, session: Session, handle: int | str, label: str):
        object.__setattr__(self, "_session", session)
        object.__setattr__(self, "_handle", handle)
        object.__setattr__(self, "_label", label)

    def __call__(self, *args, **kwargs):
        return self._session.request({"op": "call", "handle": self._handle, "args": [self._session.send(a) for a in args],
                                      "kwargs": {str(k): self._session.send(v) for k, v in kwargs.items()}})

    def __getattr__(self, name):
        # Protocol lookups (numpy's ``__array_interface__``, ``__index__``, ``__fspath__``...) would let the
        # program choose how the judge's own libraries treat it: they are never forwarded.
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self._session.request({"op": "getattr", "handle": self._handle, "name": name})

    def __setattr__(self, name, value):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(f"cannot set {name} on a sandboxed object")
        self._session.request({"op": "setattr", "handle": self._handle, "name": name, "value": self._session.send(value)})

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
        self.channel, self.deadline, self.calls, self.died = channel, deadline, 0, False

    def handle(self, key) -> Remote:
        return Remote(self, key, f"object #{key}")

    def _foreign(self, value):
        if type(value) is Remote and value._session is self:
            return ["h", value._handle]
        raise TypeError(f"cannot send a {type(value).__name__} to the program")

    def send(self, value):
        return wire.encode(value, self._foreign)

    def request(self, message: dict):
        if self.died:
            raise CandidateError("the program died")
        self.calls += 1
        try:
            wire.send_message(self.channel, message)
            reply = wire.recv_message(self.channel, self.deadline)
        except TimeoutError:
            raise Timeout("the program timed out") from None
        except (EOFError, OSError) as exc:
            self.died = True
            raise CandidateError(f"the program died ({type(exc).__name__})") from None
        except ValueError as exc:
            raise CandidateError(f"the program sent a malformed reply ({exc})") from None
        if "ok" in reply:
            try:
                return wire.decode(reply["ok"], self.handle)
            except ValueError as exc:
                raise CandidateError(f"the program sent a malformed value ({exc})") from None
        error = reply.get("error")
        name, text = error if type(error) is list and len(error) == 2 and all(type(e) is str for e in error) \
            else ("MalformedReply", "")
        kind = getattr(builtins, name, None)
        # Builtin exception types are re-raised as themselves so tests can expect them; anything else
        # (SkipTest, custom classes, control flow) is a plain failure.
        if isinstance(kind, type) and issubclass(kind, Exception) and not issubclass(kind, _CONTROL_FLOW):
            raise kind(text[:500])
        raise CandidateError(f"{name[:100]}: {text[:500]}")

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
    builtin_names: tuple = ()  # free names that are builtins (``max``): the program's only if it is the entry point
    module_names: tuple = ()   # free names only used as ``name.attr`` (``math.isclose``): imported, not the program's


@lru_cache(maxsize=512)  # a group of samples shares its tests: parse and compile them once
def prepare_tests(tests: str) -> PreparedTests:
    """Parse once: free names, assert count, and the counting transform (raises SyntaxError)."""
    tree = ast.parse(tests)
    bound, loaded, n_asserts, as_module, not_module = set(), [], 0, set(), set()
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
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            as_module.add(node.value.id)
        used = node.func if isinstance(node, ast.Call) else node.value if isinstance(node, ast.Subscript) else None
        if isinstance(used, ast.Name):  # called or indexed: a function or a value, not a module
            not_module.add(used.id)
    free = [n for n in dict.fromkeys(loaded) if n not in bound]
    modules = tuple(n for n in free if n in as_module and n not in not_module and not hasattr(builtins, n))
    code = compile(_CountAsserts().visit(tree), "<tests>", "exec", dont_inherit=True)
    return PreparedTests(code, tuple(n for n in free if not hasattr(builtins, n) and n not in modules), n_asserts,
                         tuple(n for n in free if hasattr(builtins, n)), modules)


def _import(name: str):
    try:
        return importlib.import_module(name)
    except (ImportError, OSError, ValueError):
        return None


def bind_names(session: Session, prepared: PreparedTests, namespace: dict) -> None:
    """Bind the names the tests use but do not define."""
    supplied = False
    for name in prepared.module_names:  # the real module, never the program's ``class math``
        module = _import(name)
        namespace[name] = module if module is not None else session.lookup(name)
    for name in prepared.free_names:
        value = session.lookup(name)
        if value is not None:
            namespace[name] = value
            supplied = True
    # ``def max(...)`` is the function under test only when the tests call nothing else of the program's:
    # otherwise the tests' own ``abs``/``sorted``/``len`` must stay Python's.
    if not supplied:
        for name in prepared.builtin_names:
            value = session.lookup(name)
            if isinstance(value, Remote):
                namespace[name] = value


def run_test_code(session: Session, prepared: PreparedTests) -> tuple[int, int, str | None]:
    """Execute the test code against the sandboxed program: (passed, total, first failure)."""
    namespace: dict = {"__name__": "__rlvr_tests__", "__builtins__": builtins}
    bind_names(session, prepared, namespace)
    tally = Tally()
    namespace["__rlvr_tally"] = tally
    failure = None
    try:
        exec(prepared.code, namespace)
    except Timeout:
        raise
    except SystemExit as exc:  # sys.exit()/exit() in test code ends the code, not the judge; 0 is a clean end
        if exc.code not in (None, 0, False):
            failure = f"the test code exited with status {exc.code!r}"[:500]
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
    if failure is None and tally.first_failure is None and tally.passed < total:
        failure = f"the test code ended after {tally.total} of {prepared.n_asserts} asserts"
    return tally.passed, total, failure or tally.first_failure


def signature(session: Session, entry_point: str, inputs: list) -> list[str] | None:
    """What ``entry_point`` (a function, or ``Class.method`` of a fresh ``Class()``) returns on each input,
    canonically encoded; None when the program lacks it."""
    owner, _, method = entry_point.partition(".")
    target = session.lookup(owner)
    if not isinstance(target, Remote):
        return None
    if method:
        target = getattr(target(), method)
    out: list[str] = []
    for args, kwargs in inputs:
        try:
            value = target(*args, **kwargs)
            out.append(json.dumps(wire.encode(value, lambda v: ["object"])))
        except Timeout:
            return out + ["timeout"] * (len(inputs) - len(out))
        except Exception as exc:  # noqa: BLE001 - an error is a behaviour too
            out.append(f"error:{type(exc).__name__}")
    return out


def serve(harness, program) -> None:
    """The judge child's main: take a job from the harness, run it against the program, report."""
    job = wire.recv_message(harness)
    deadline = time.monotonic() + float(job["timeout"])
    unittest.main = lambda *a, **k: None  # test code's unittest.main(): the TestCase classes are run below
    session = Session(program, deadline)
    try:
        wire.send_message(program, {"code": job["program"]})
        hello = wire.recv_message(program, deadline)
    except TimeoutError:
        wire.send_message(harness, {"load_error": ["Timeout", "the program did not load in time"], "timeout": True})
        return
    except (EOFError, OSError, ValueError) as exc:
        wire.send_message(harness, {"load_error": ["Died", f"the program did not load ({type(exc).__name__})"],
                                    "died": True})
        return
    if "load_error" in hello:
        error = hello["load_error"]
        ok = type(error) is list and len(error) == 2 and all(type(e) is str for e in error)
        wire.send_message(harness, {"load_error": [e[:500] for e in error] if ok else ["Error", "malformed"]})
        return
    import marshal

    if job["job"] == "signature":
        inputs = [(tuple(wire.decode(a)), wire.decode(k)) for a, k in job["inputs"]]
        wire.send_message(harness, {"signature": signature(session, job["entry"], inputs)})
        return
    prepared = PreparedTests(marshal.loads(bytes.fromhex(job["code"])), tuple(job["free"]), int(job["n_asserts"]),
                             tuple(job["builtins"]), tuple(job["modules"]))
    try:
        passed, total, failure = run_test_code(session, prepared)
        verdict = {"passed": passed, "total": total, "failure": failure, "died": session.died, "timeout": False}
    except Timeout:
        verdict = {"passed": 0, "total": max(1, prepared.n_asserts), "failure": "the program timed out", "died": False,
                   "timeout": True}
    sys.stdout.flush()
    wire.send_message(harness, {"verdict": verdict})


def job_for(prepared: PreparedTests, timeout: float) -> dict:
    """The harness's message to the judge for ``prepared`` tests."""
    import marshal

    return {"job": "tests", "code": marshal.dumps(prepared.code).hex(), "free": list(prepared.free_names),
            "n_asserts": prepared.n_asserts, "builtins": list(prepared.builtin_names),
            "modules": list(prepared.module_names), "timeout": timeout}


def outputs_match(actual: str, expected: str) -> bool:
    """Exact, except trailing whitespace on each line and trailing blank lines are ignored."""
    def lines(text: str) -> list[str]:
        out = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
        while out and out[-1] == "":
            out.pop()
        return out

    return lines(actual) == lines(expected)
