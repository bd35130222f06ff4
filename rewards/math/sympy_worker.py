"""SymPy fallback in a separate process, so a hard time limit needs no ``signal.alarm``.

The fast paths decide most comparisons without SymPy. The rest (LaTeX our evaluator does not parse,
ill-conditioned values) go to one long-lived worker process per calling process. Each request gets a
deadline; when SymPy has not answered by then the worker is killed (SIGKILL, which works from any
thread and inside pool workers) and a fresh one is started in the background for the next call. A
timeout means "undecided", which the caller scores as not equivalent.

The one-time start of the worker (importing SymPy and latex2sympy2, about a second) is not part of any
call's budget; ``warm_up()`` starts it early in the background.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
import time

STARTUP_TIMEOUT = 60.0


class SympyWorker:
    def __init__(self):
        self._proc: subprocess.Popen | None = None
        self._owner = os.getpid()
        self._lock = threading.Lock()
        self._buffer = b""

    def _start(self) -> None:
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "PYTHONPATH", "HOME", "LANG")}
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        self._proc = subprocess.Popen(
            [sys.executable, "-u", "-m", "rewards.math.sympy_worker"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, start_new_session=True)
        self._owner = os.getpid()
        self._buffer = b""
        self._ready = False

    def _ensure(self) -> None:
        if self._proc is not None and self._owner != os.getpid():
            self._proc = None  # inherited across fork: the parent owns that worker
        if self._proc is None or self._proc.poll() is not None:
            self._start()

    def warm_up(self) -> None:
        with self._lock:
            self._ensure()

    def _kill(self) -> None:
        if self._proc is not None:
            try:
                self._proc.kill()
                self._proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self._proc = None

    def _readline(self, deadline: float) -> bytes | None:
        fd = self._proc.stdout.fileno()
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line

    def equal(self, a: str, b: str, timeout: float) -> bool | None:
        """SymPy's verdict on ``a == b`` (LaTeX), or None when undecided within ``timeout`` seconds."""
        start = time.monotonic()
        if not self._lock.acquire(timeout=timeout):
            return None
        try:
            self._ensure()
            if not self._ready:  # the one-time start does not count against the call
                if self._readline(time.monotonic() + STARTUP_TIMEOUT) != b"ready":
                    self._kill()
                    return None
                self._ready = True
                start = time.monotonic()
            self._proc.stdin.write(json.dumps({"a": a, "b": b}).encode() + b"\n")
            self._proc.stdin.flush()
            line = self._readline(start + timeout)
            if line is None:
                self._kill()
                self._start()  # warm a replacement in the background
                return None
            return json.loads(line)["equal"]
        except (OSError, ValueError, KeyError):
            self._kill()
            return None
        finally:
            self._lock.release()


_WORKER = SympyWorker()


def sympy_equal(a: str, b: str, timeout: float) -> bool | None:
    return _WORKER.equal(a, b, timeout)


def warm_up() -> None:
    """Start this process's SymPy worker in the background (optional; the first fallback call does it)."""
    _WORKER.warm_up()


def _decide(a: str, b: str) -> bool | None:
    import sympy
    from latex2sympy2_extended import latex2sympy

    try:
        x, y = latex2sympy(a), latex2sympy(b)
    except Exception:
        return None
    try:
        if isinstance(x, sympy.Expr) and isinstance(y, sympy.Expr):
            if sympy.simplify(x - y) == 0:
                return True
            return bool(x.equals(y)) if x.free_symbols or y.free_symbols else False
        return bool(x == y) or bool(sympy.simplify(x) == sympy.simplify(y))
    except Exception:
        return None


def _serve() -> None:
    import latex2sympy2_extended  # noqa: F401
    import sympy  # noqa: F401  (import before announcing readiness)

    out = sys.stdout.buffer
    out.write(b"ready\n")
    out.flush()
    for line in sys.stdin.buffer:
        request = json.loads(line)
        out.write(json.dumps({"equal": _decide(request["a"], request["b"])}).encode() + b"\n")
        out.flush()


if __name__ == "__main__":
    _serve()
