"""The trusted side of the sandbox: start the zygote, spawn locked-down children, collect and kill them.

One zygote per harness process, started lazily (``python -I zygote.py``: isolated mode, no environment,
no user site). A program gets stdin, stdout and stderr as memory files (stdout and stderr capped by the
file-size limit) and a socket: to the harness (``spawn``), or to its judge (``spawn_judged``, which forks
the program and the judge that runs its tests together). Everything a child does is bounded: when the
harness is done (or the deadline passes) the child's whole process group is SIGKILLed (it cannot start
processes, and ``setsid``/``setpgid`` are denied). The zygote and its children die with the harness
process, however it dies (see zygote.py).
"""

from __future__ import annotations

import json
import marshal
import os
import queue
import signal
import socket
import struct
import subprocess
import sys
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
    processes: int = 32            # RLIMIT_NPROC: threads (new processes are denied); per user, and root drops to nobody
    open_files: int = 64

    def to_child(self) -> dict:
        return {"cpu_s": max(1, int(self.timeout + 0.999)), "memory_bytes": self.memory_mb << 20,
                "file_bytes": self.file_mb << 20, "open_files": self.open_files, "processes": self.processes}


class Child:
    """A running sandboxed process: its channel (if the harness holds one), its output and exit status."""

    def __init__(self, sandbox: Sandbox, pid: int, channel: socket.socket | None, out_fd: int = -1, err_fd: int = -1):
        self.sandbox, self.pid, self.channel = sandbox, pid, channel
        self.out_fd, self.err_fd = out_fd, err_fd  # memory files: no directory to create or clean up
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
            self.status = -1

    def read_output(self, which: str = "out", limit: int | None = OUTPUT_CAP) -> bytes:
        fd = self.out_fd if which == "out" else self.err_fd
        if fd < 0:
            return b""
        try:
            return os.pread(fd, limit if limit is not None else os.fstat(fd).st_size, 0)
        except OSError:
            return b""

    def close(self) -> None:
        if self.status is None:
            self.kill(wait=False)
        if self.channel is not None:
            self.channel.close()
        for fd in (self.out_fd, self.err_fd):
            if fd >= 0:
                os.close(fd)
        self.out_fd = self.err_fd = -1


def _memfd(name: str, content: bytes = b"") -> int:
    fd = os.memfd_create(f"rlvr-{name}", os.MFD_CLOEXEC)
    if content:
        os.write(fd, content)
        os.lseek(fd, 0, os.SEEK_SET)  # the child shares this offset
    return fd


class SandboxUnavailable(RuntimeError):
    """The kernel cannot give the sandbox's guarantees (and the weak mode was not asked for)."""


WEAK_OPT_OUT = "RLVR_SANDBOX_ALLOW_WEAK"


class Sandbox:
    """Client of this process's zygote; thread-safe (threads may run programs side by side).

    A reader thread takes the zygote's messages: spawn replies and exit reports. ``landlock_abi_cap``
    makes the zygote act as if the kernel's Landlock were that old (tests of the seccomp walls);
    ``packages`` are the third-party packages programs may import (default ``zygote.DEFAULT_PACKAGES``,
    or ``RLVR_SANDBOX_PACKAGES``, comma-separated).
    """

    def __init__(self, *, landlock_abi_cap: int | None = None, packages: tuple[str, ...] | None = None):
        self.landlock_abi_cap, self.packages = landlock_abi_cap, packages
        self._proc: subprocess.Popen | None = None
        self._control: socket.socket | None = None
        self._owner = -1
        self._alive = False
        self._exits: dict[int, int] = {}
        self._ignored: set[int] = set()
        self._replies: queue.Queue = queue.Queue()
        self._cond = threading.Condition()
        self._spawn_lock = threading.Lock()
        self.info: dict = {}

    @property
    def network_isolated(self) -> bool:
        return bool(self.info.get("network_isolated"))

    def _options(self) -> str:
        packages = self.packages
        if packages is None:
            env = os.environ.get("RLVR_SANDBOX_PACKAGES")
            packages = tuple(p.strip() for p in env.split(",") if p.strip()) if env is not None else zygote.DEFAULT_PACKAGES
        return json.dumps({"landlock_abi_cap": self.landlock_abi_cap, "packages": list(packages)})

    def _start(self) -> None:
        if not sys.platform.startswith("linux"):
            raise SandboxUnavailable("the code sandbox needs Linux (process groups, rlimits, Landlock, seccomp); "
                                     f"this is {sys.platform}")
        parent, child = socket.socketpair()
        self._proc = subprocess.Popen(
            [sys.executable, "-I", str(ZYGOTE), str(child.fileno()), str(os.getpid()), self._options()],
            pass_fds=[child.fileno()],  # it dies with this pid
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}, stdin=subprocess.DEVNULL, start_new_session=True)
        child.close()
        self._control, self._owner = parent, os.getpid()
        self._exits, self._ignored, self._replies = {}, set(), queue.Queue()
        self.info = zygote.recv_message(parent, time.monotonic() + 60)
        self._alive = True
        threading.Thread(target=self._read, args=(parent, self._replies), name="rlvr-sandbox-reader", daemon=True).start()

    def _check_walls(self) -> None:
        missing = [what for what, ok in (("Landlock (Linux >= 5.13)", self.info.get("landlock_abi", 0) >= 1),
                                         ("seccomp (x86_64 or aarch64)", self.info.get("seccomp"))) if not ok]
        if missing and os.environ.get(WEAK_OPT_OUT) != "1":
            raise SandboxUnavailable(
                f"the code sandbox cannot hold here: no {' and no '.join(missing)}. Without them a program can read "
                "any file its user can (answer keys included) and use every system call. Run on a kernel that has "
                f"them, or set {WEAK_OPT_OUT}=1 to run with what this kernel offers (see docs/rewards.md).")

    def _read(self, control: socket.socket, replies: queue.Queue) -> None:
        """The reader thread: route one zygote's messages until it goes away (its own reply queue: a
        replaced zygote's reader must not answer for the new one)."""
        try:
            while True:
                msg = zygote.recv_message(control)
                if "exit" in msg:
                    with self._cond:
                        if self._control is not control:
                            continue
                        if msg["exit"] in self._ignored:
                            self._ignored.discard(msg["exit"])
                        else:
                            self._exits[msg["exit"]] = msg["status"]
                        self._cond.notify_all()
                elif "pids" in msg:
                    replies.put(msg["pids"])
        except (EOFError, OSError, ValueError):
            pass
        with self._cond:
            if self._control is control:
                self._alive = False
            self._cond.notify_all()
        replies.put(None)

    @property
    def zygote_pid(self) -> int | None:
        """The pid of this process's zygote, if one was started here."""
        return self._proc.pid if self._proc is not None and self._owner == os.getpid() else None

    def _ensure(self) -> None:
        if self._proc is None or self._owner != os.getpid() or not self._alive or self._proc.poll() is not None:
            if self._proc is not None and self._owner == os.getpid():
                self._proc.kill()  # a broken conversation: start afresh rather than stay broken
                self._proc.wait()
                self._control.close()
            self._start()
        self._check_walls()  # on every call: a refusal is not forgotten after the first one

    def _request(self, request: dict, fds: list[int]) -> list[int]:
        """Ask the zygote to fork for ``request`` with ``fds``; the pids it forked."""
        payload = json.dumps(request).encode()
        with self._spawn_lock:
            for _ in range(2):  # a zygote that died under us is replaced once, then it is an error
                self._ensure()
                try:
                    self._control.sendall(struct.pack("!I", len(payload)))
                    socket.send_fds(self._control, [payload], fds)
                    pids = self._replies.get(timeout=30)
                except (OSError, queue.Empty):
                    pids = None
                if pids is not None:
                    return pids
                self._alive = False
            raise RuntimeError("the sandbox zygote did not answer")

    def spawn(self, program, *, mode: str, stdin: bytes = b"", limits: Limits = Limits()) -> Child:
        """Start ``program`` (source, or a code object compiled here) locked down in ``mode`` rpc|stdio;
        the harness keeps the other end of its channel."""
        if isinstance(program, str):
            program = compile(program, "<program>", "exec", dont_inherit=True)
        ours, theirs = socket.socketpair()
        fds = [_memfd("stdin", stdin), _memfd("stdout"), _memfd("stderr")]
        try:
            (pid,) = self._request({"mode": mode, "limits": limits.to_child()}, [fds[0], fds[1], fds[2], theirs.fileno()])
        except BaseException:
            ours.close()
            for fd in fds[1:]:
                os.close(fd)
            raise
        finally:
            os.close(fds[0])
            theirs.close()
        child = Child(self, pid, ours, fds[1], fds[2])
        zygote.send_message(ours, {"code": marshal.dumps(program).hex()})
        return child

    def spawn_judged(self, limits: Limits = Limits()) -> tuple[Child, Child]:
        """A program and its judge, forked together and joined by a socket of their own: (program, judge).
        The harness talks to the judge only, which sends the program its code (see judge.serve)."""
        ours, theirs = socket.socketpair()
        fds = [_memfd("stdin"), _memfd("stdout"), _memfd("stderr")]
        try:
            program_pid, judge_pid = self._request({"mode": "judged", "limits": limits.to_child()},
                                                   [fds[0], fds[1], fds[2], theirs.fileno()])
        except BaseException:
            ours.close()
            for fd in fds[1:]:
                os.close(fd)
            raise
        finally:
            os.close(fds[0])
            theirs.close()
        return Child(self, program_pid, None, fds[1], fds[2]), Child(self, judge_pid, ours)

    def ensure_started(self) -> None:
        """Start the zygote now (it starts lazily otherwise); raises SandboxUnavailable where it cannot hold."""
        with self._spawn_lock:
            self._ensure()

    def shutdown(self) -> None:
        """Stop this sandbox's zygote (its programs die with it); a later spawn starts a new one."""
        with self._spawn_lock:
            if self._proc is not None and self._owner == os.getpid():
                self._proc.kill()
                self._proc.wait()
                self._control.close()
            self._proc, self._alive = None, False

    def forget(self, pid: int) -> None:
        """The caller will not wait for ``pid``: drop its exit report whenever it arrives."""
        with self._cond:
            if self._exits.pop(pid, None) is None:
                self._ignored.add(pid)

    def wait_exit(self, pid: int, deadline: float) -> int | None:
        """The raw wait status of ``pid``; None at the deadline; -1 if the zygote went away."""
        with self._cond:
            while pid not in self._exits:
                left = deadline - time.monotonic()
                if not self._alive:
                    return -1
                if left <= 0:
                    return None
                self._cond.wait(left)
            return self._exits.pop(pid)


_SANDBOX = Sandbox()


def sandbox() -> Sandbox:
    return _SANDBOX
