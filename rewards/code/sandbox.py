"""The trusted side of the sandbox: start the zygote, spawn locked-down children, collect and kill them.

One zygote per harness process, started lazily (``python -I zygote.py``: isolated mode, no environment,
no user site). A spawned child gets a private temporary working directory, stdin from a file, stdout and
stderr to files capped by the file-size limit, and a socket to the judge. Everything the child does is
bounded: when the harness is done (or the deadline passes) the child's whole process group is
SIGKILLed (its descendants cannot leave the group: ``setsid``/``setpgid`` are denied), and the directory
is removed. The zygote and its children die with the harness process, however it dies (see zygote.py).
"""

from __future__ import annotations

import json
import marshal
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from rewards.code import zygote

ZYGOTE = Path(zygote.__file__)
OUTPUT_CAP = 64 * 1024  # bytes of stdout/stderr kept for debugging


@dataclass(frozen=True)
class Limits:
    timeout: float = 10.0          # wall-clock seconds for the whole run
    memory_mb: int = 1024          # address space
    file_mb: int = 16              # largest file the program may write (its stdout included)
    processes: int = 32            # RLIMIT_NPROC (per user; effective because root drops to nobody)
    open_files: int = 64

    def to_child(self) -> dict:
        return {"cpu_s": max(1, int(self.timeout + 0.999)), "memory_bytes": self.memory_mb << 20,
                "file_bytes": self.file_mb << 20, "open_files": self.open_files, "processes": self.processes}


class Child:
    """A running sandboxed program: its judge socket, output files and exit status."""

    def __init__(self, sandbox: Sandbox, pid: int, workdir: str, channel: socket.socket, out_path: str, err_path: str):
        self.sandbox, self.pid, self.workdir, self.channel = sandbox, pid, workdir, channel
        self.out_path, self.err_path = out_path, err_path
        self.status: int | None = None

    def wait(self, deadline: float) -> int | None:
        """The raw wait status, or None if still running at the deadline."""
        self.status = self.sandbox.wait_exit(self.pid, deadline)
        return self.status

    def kill(self, wait: bool = True) -> None:
        """SIGKILL the whole process group (descendants cannot leave it); ``wait`` for the exit status."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if wait and self.status is None:
            self.status = self.sandbox.wait_exit(self.pid, time.monotonic() + 5)
        elif self.status is None:
            self.sandbox.forget(self.pid)

    def read_output(self, which: str = "out", limit: int | None = OUTPUT_CAP) -> bytes:
        path = self.out_path if which == "out" else self.err_path
        try:
            with open(path, "rb") as f:
                return f.read() if limit is None else f.read(limit)
        except OSError:
            return b""

    def close(self) -> None:
        self.kill(wait=False)
        self.channel.close()
        shutil.rmtree(self.workdir, ignore_errors=True)


class Sandbox:
    """Client of this process's zygote. Thread-safe; one program at a time per lock holder."""

    def __init__(self):
        self._proc: subprocess.Popen | None = None
        self._control: socket.socket | None = None
        self._owner = -1
        self._exits: dict[int, int] = {}
        self._ignored: set[int] = set()
        self._lock = threading.RLock()
        self.network_isolated = False

    def _start(self) -> None:
        if not sys.platform.startswith("linux"):
            raise RuntimeError("the code sandbox needs Linux (process groups, rlimits, Landlock, seccomp); "
                               f"this is {sys.platform}")
        parent, child = socket.socketpair()
        self._proc = subprocess.Popen(
            [sys.executable, "-I", str(ZYGOTE), str(child.fileno()), str(os.getpid())],  # it dies with this pid
            pass_fds=[child.fileno()],
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}, stdin=subprocess.DEVNULL, start_new_session=True)
        child.close()
        self._control = parent
        self._owner = os.getpid()
        self._exits = {}
        hello = zygote.recv_message(parent, time.monotonic() + 60)
        self.network_isolated = bool(hello.get("network_isolated"))

    @property
    def zygote_pid(self) -> int | None:
        """The pid of this process's zygote, if one was started here."""
        return self._proc.pid if self._proc is not None and self._owner == os.getpid() else None

    def _ensure(self) -> None:
        if self._proc is None or self._owner != os.getpid() or self._proc.poll() is not None:
            self._start()

    def _read_until(self, key: str, pid: int | None, deadline: float):
        """Read zygote messages until one with ``key`` (and ``pid``) arrives; exits are recorded."""
        while True:
            msg = zygote.recv_message(self._control, deadline)
            if "exit" in msg:
                if key == "exit" and msg["exit"] == pid:
                    return msg["status"]
                if msg["exit"] in self._ignored:
                    self._ignored.discard(msg["exit"])
                else:
                    self._exits[msg["exit"]] = msg["status"]
            elif key in msg:
                return msg[key]

    def spawn(self, program, *, mode: str, stdin: bytes = b"", limits: Limits = Limits()) -> Child:
        """Start ``program`` (source, or a code object compiled here) locked down in ``mode`` rpc|stdio."""
        if isinstance(program, str):
            program = compile(program, "<program>", "exec", dont_inherit=True)
        with self._lock:
            self._ensure()
            workdir = tempfile.mkdtemp(prefix="rlvr-sandbox-")
            os.chmod(workdir, 0o755)
            in_path, out_path, err_path = (os.path.join(workdir, n) for n in ("stdin", "stdout", "stderr"))
            Path(in_path).write_bytes(stdin)
            fds = [os.open(in_path, os.O_RDONLY), os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
                   os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)]
            ours, theirs = socket.socketpair()
            fds.append(theirs.fileno())
            request = json.dumps({"mode": mode, "cwd": workdir, "limits": limits.to_child()}).encode()
            try:
                self._control.sendall(struct.pack("!I", len(request)))
                socket.send_fds(self._control, [request], fds)
                pid = self._read_until("pid", None, time.monotonic() + 30)
            finally:
                for fd in fds[:3]:
                    os.close(fd)
                theirs.close()
            child = Child(self, pid, workdir, ours, out_path, err_path)
            zygote.send_message(ours, {"code": marshal.dumps(program).hex()})
            return child

    def forget(self, pid: int) -> None:
        """The caller will not wait for ``pid``: drop its exit report whenever it arrives."""
        with self._lock:
            if self._exits.pop(pid, None) is None:
                self._ignored.add(pid)

    def wait_exit(self, pid: int, deadline: float) -> int | None:
        with self._lock:
            if pid in self._exits:
                return self._exits.pop(pid)
            try:
                return self._read_until("exit", pid, deadline)
            except TimeoutError:
                return None
            except (EOFError, OSError):
                return -1


_SANDBOX = Sandbox()


def sandbox() -> Sandbox:
    return _SANDBOX
