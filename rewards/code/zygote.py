"""The untrusted side of the code sandbox: a pre-forked zygote, the lockdown, the program's runtime.

This file runs as its own interpreter (``python -I zygote.py``) and imports only the standard library,
so nothing of the caller (tests, expected values, source) is in its memory. The zygote imports what a
program needs once, then forks one child per program. The child locks itself down *before* any
untrusted byte runs:

1. it is already the leader of a new session and process group (``setsid`` in the zygote child);
2. rlimits: CPU seconds, address space, processes, file size, open files, no core dumps;
3. as root: the zygote lives in its own empty network namespace (set up once), and the child drops to
   ``nobody`` so that the process limit applies and it owns nothing;
4. ``no_new_privs``, then Landlock (Linux >= 5.13): read only the Python installation and system
   libraries, execute only the interpreter, read its own empty working directory, create nothing anywhere (no disk bombs, no reading
   the caller's files or data sets), and (ABI >= 6) signal nothing outside its own domain;
5. seccomp: no sockets, no new sessions or process groups (so every descendant stays in the group the
   harness kills), no ptrace / process_vm_* / namespaces / mounts / BPF / io_uring; the 32-bit and x32
   syscall ABIs kill the process.

Then it runs the program. In ``rpc`` mode it serves calls from the judge over a socket: the judge (in the
harness process) runs the tests and asks for ``lookup`` / ``call`` / ``getattr``; values cross as a
type-exact canonical encoding of plain builtins, anything else as an opaque handle. In ``stdio`` mode
the program just runs on the given stdin.

Lifetime: the zygote dies with its caller (the process that started it), however the caller dies. It
notices at once by a parent-death signal, within a second by polling its parent pid, and on EOF of the
control socket; neither of the first two depends on who else holds a copy of the socket (a fork of the
caller, say). It then SIGKILLs every program's process group and exits. It is a child subreaper, so
a program's orphaned descendants stay its children and are killed too. Should the zygote itself be
SIGKILLed, each program gets SIGKILL as its parent-death signal, but a program's own descendants survive
(bounded by their CPU limit): nothing is left to kill their group.
"""

from __future__ import annotations

import ctypes
import json
import os
import platform
import resource
import select
import signal
import socket
import struct
import sys

NOBODY = 65534
MAX_MESSAGE = 64 * 1024 * 1024

# ---------------------------------------------------------------- canonical, type-exact encoding


def encode(value, handles: dict | None = None, depth: int = 0):
    """Plain builtins only, by exact type; anything else becomes a handle (or fails to encode)."""
    if depth > 100:
        raise ValueError("value nested too deeply")
    t = type(value)
    if value is None:
        return ["n"]
    if t is bool:
        return ["b", value]
    if t is int:
        return ["i", hex(value)]
    if t is float:
        return ["f", value.hex()]
    if t is complex:
        return ["c", value.real.hex(), value.imag.hex()]
    if t is str:
        return ["s", value]
    if t is bytes:
        return ["y", value.hex()]
    if t is list or t is tuple or t is set or t is frozenset:
        tag = {list: "l", tuple: "t", set: "e", frozenset: "z"}[t]
        return [tag, [encode(v, handles, depth + 1) for v in value]]
    if t is dict:
        return ["d", [[encode(k, handles, depth + 1), encode(v, handles, depth + 1)] for k, v in value.items()]]
    if handles is None:
        raise TypeError(f"cannot send a {t.__name__} across the sandbox boundary")
    key = len(handles) + 1
    handles[key] = value
    return ["h", key]


def decode(data, make_handle=None, depth: int = 0):
    """Rebuild genuine builtins from ``encode``'s output (never unpickles, never calls user code)."""
    if depth > 100 or not isinstance(data, list) or not data:
        raise ValueError("malformed value")
    tag = data[0]
    if tag == "n":
        return None
    if tag == "b":
        return bool(data[1])
    if tag == "i":
        return int(data[1], 16)
    if tag == "f":
        return float.fromhex(data[1])
    if tag == "c":
        return complex(float.fromhex(data[1]), float.fromhex(data[2]))
    if tag == "s":
        return str(data[1])
    if tag == "y":
        return bytes.fromhex(data[1])
    if tag in ("l", "t", "e", "z"):
        items = [decode(v, make_handle, depth + 1) for v in data[1]]
        return {"l": list, "t": tuple, "e": set, "z": frozenset}[tag](items)
    if tag == "d":
        return {decode(k, make_handle, depth + 1): decode(v, make_handle, depth + 1) for k, v in data[1]}
    if tag == "h" and make_handle is not None:
        return make_handle(int(data[1]))
    raise ValueError(f"malformed value tag {tag!r}")


def send_message(sock, obj) -> None:
    payload = json.dumps(obj).encode()
    sock.sendall(struct.pack("!I", len(payload)) + payload)


def recv_exact(sock, n: int, deadline_s: float | None = None) -> bytes:
    import time

    chunks, got = [], 0
    while got < n:
        if deadline_s is not None:
            # Past the deadline, still take what has arrived: a reader descheduled between a message's
            # header and its body would otherwise leave the body to be misread as the next header.
            left = max(0.0, deadline_s - time.monotonic())
            if not select.select([sock], [], [], left)[0]:
                raise TimeoutError
        chunk = sock.recv(min(n - got, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def recv_message(sock, deadline_s: float | None = None):
    (size,) = struct.unpack("!I", recv_exact(sock, 4, deadline_s))
    if size > MAX_MESSAGE:
        raise ValueError("message too large")
    return json.loads(recv_exact(sock, size, deadline_s))


# ---------------------------------------------------------------- lockdown

_LIBC = ctypes.CDLL(None, use_errno=True)
_ARCH = platform.machine()
_SYSCALLS = {  # name: (x86_64, aarch64)
    "socket": (41, 198), "socketpair": (53, 199), "connect": (42, 203), "bind": (49, 200), "listen": (50, 201),
    "accept": (43, 202), "accept4": (288, 242), "setsid": (112, 157), "setpgid": (109, 154), "ptrace": (101, 117),
    "process_vm_readv": (310, 270), "process_vm_writev": (311, 271), "unshare": (272, 97), "setns": (308, 268),
    "mount": (165, 40), "umount2": (166, 39), "pivot_root": (155, 41), "chroot": (161, 51), "keyctl": (250, 219),
    "add_key": (248, 217), "request_key": (249, 218), "bpf": (321, 280), "perf_event_open": (298, 241),
    "io_uring_setup": (425, 425), "userfaultfd": (323, 282), "kexec_load": (246, 104), "init_module": (175, 105),
    "finit_module": (313, 273), "personality": (135, 92), "kcmp": (312, 272), "pidfd_getfd": (438, 438),
    "open_by_handle_at": (304, 265), "name_to_handle_at": (303, 264), "setuid": (105, 146), "setgid": (106, 144),
    "setreuid": (113, 145), "setresuid": (117, 147), "setfsuid": (122, 151), "setregid": (114, 143),
    "setresgid": (119, 149), "setfsgid": (123, 152), "setgroups": (116, 159), "capset": (126, 91),
}
_SIGNALS = {"kill": (62, 129), "tkill": (200, 130), "tgkill": (234, 131)}  # only to itself / its own group
_CAPSET = (126, 91)
try:
    with open("/proc/sys/kernel/cap_last_cap") as _f:
        _CAP_LAST = int(_f.read())
except (OSError, ValueError):
    _CAP_LAST = 63
_PR_SET_PDEATHSIG, _PR_SET_CHILD_SUBREAPER = 1, 36
_LANDLOCK_CREATE, _LANDLOCK_ADD_RULE, _LANDLOCK_RESTRICT = 444, 445, 446
_FS_READ = 4 | 8              # READ_FILE | READ_DIR (shared libraries are mapped, not executed)
_PR_SET_NO_NEW_PRIVS, _PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 38, 22, 2


def _syscall(nr: int, *args) -> int:
    return _LIBC.syscall(ctypes.c_long(nr), *args)


def landlock_ruleset(read_paths: list[str]) -> tuple[int, int]:
    """Build, once in the zygote, the Landlock ruleset every child enforces: (fd or -1, ABI).

    Read the Python installation and system libraries, execute only the interpreter itself; read/write
    /dev/null; read /dev/urandom; nothing else at all (not even the child's own working directory: it needs none).
    With ABI >= 6 the domain also may not signal processes or reach abstract sockets outside it.
    """
    abi = _syscall(_LANDLOCK_CREATE, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    if abi < 1:
        return -1, 0
    handled = (1 << 13) - 1 | (1 << 13 if abi >= 2 else 0) | (1 << 14 if abi >= 3 else 0) | (1 << 15 if abi >= 5 else 0)
    scoped = 3 if abi >= 6 else 0
    attr = struct.pack("QQQ", handled, 0, scoped) if abi >= 6 else struct.pack("Q", handled)
    buf = ctypes.create_string_buffer(attr, len(attr))
    ruleset = _syscall(_LANDLOCK_CREATE, buf, ctypes.c_size_t(len(attr)), ctypes.c_uint32(0))
    if ruleset < 0:
        return -1, 0

    def allow(path: str, access: int) -> None:
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            return
        try:
            if not os.path.isdir(path):
                access &= 1 | 2 | 4 | (1 << 14)  # file rights only on a file
            rule = ctypes.create_string_buffer(struct.pack("=Qi", access & handled, fd), 12)
            _syscall(_LANDLOCK_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(1), rule, ctypes.c_uint32(0))
        finally:
            os.close(fd)

    for path in read_paths:
        allow(path, _FS_READ)
    allow(os.path.realpath(sys.executable), 1 | 4)  # the interpreter is the only program it may execute
    allow("/dev/null", 2 | 4)
    allow("/dev/urandom", 4)
    return ruleset, abi


def landlock(ruleset: int) -> None:
    if ruleset >= 0 and _syscall(_LANDLOCK_RESTRICT, ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
        raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")


def seccomp_program() -> list[tuple] | None:
    """The syscall filter, built once in the zygote; ``seccomp`` appends the per-child signal rules."""
    column = {"x86_64": 0, "aarch64": 1}.get(_ARCH)
    if column is None:
        return None
    arch = (0xC000003E, 0xC00000B7)[column]
    ld, jeq, ret = 0x20, 0x15, 0x06
    kill, eperm, enosys = 0x80000000, 0x00050000 | 1, 0x00050000 | 38
    prog = [(ld, 0, 0, 4), (jeq, 1, 0, arch), (ret, 0, 0, kill), (ld, 0, 0, 0)]
    if column == 0:  # x32 syscalls carry bit 30
        prog += [(0x35, 0, 1, 0x40000000), (ret, 0, 0, kill)]  # JGE
    for nums in _SYSCALLS.values():
        prog += [(jeq, 0, 1, nums[column]), (ret, 0, 0, eperm)]
    prog += [(jeq, 0, 1, 435), (ret, 0, 0, enosys)]  # clone3 -> ENOSYS: libc falls back to clone
    return prog


def seccomp(base: list[tuple] | None) -> bool:
    """Install the filter: the zygote's program plus signal rules naming this process."""
    if base is None:
        return False
    column = {"x86_64": 0, "aarch64": 1}[_ARCH]
    ld, jeq, ret = 0x20, 0x15, 0x06
    allow, eperm = 0x7FFF0000, 0x00050000 | 1
    me = os.getpid()
    prog = list(base)
    for nums in _SIGNALS.values():  # arg0 must be this process, 0 (its group) or -pgid (= -pid)
        prog += [(jeq, 0, 6, nums[column]), (ld, 0, 0, 16), (jeq, 3, 0, me), (jeq, 2, 0, 0),
                 (jeq, 1, 0, (-me) & 0xFFFFFFFF), (ret, 0, 0, eperm), (ret, 0, 0, allow)]
    prog += [(ret, 0, 0, allow)]
    raw = b"".join(struct.pack("HBBI", *ins) for ins in prog)
    filt = ctypes.create_string_buffer(raw, len(raw))
    fprog = struct.pack("HxxxxxxQ", len(prog), ctypes.addressof(filt))
    fbuf = ctypes.create_string_buffer(fprog, len(fprog))
    if _LIBC.prctl(ctypes.c_int(_PR_SET_SECCOMP), ctypes.c_ulong(_SECCOMP_MODE_FILTER),
                   ctypes.c_ulong(ctypes.addressof(fbuf)), ctypes.c_ulong(0), ctypes.c_ulong(0)) != 0:
        raise OSError(ctypes.get_errno(), "seccomp filter failed")
    return True


def drop_root() -> None:
    """Give up root without losing read access to a Python installed under /root.

    The real uid becomes ``nobody`` (so RLIMIT_NPROC counts and applies: it never does for real uid 0),
    the effective uid stays 0 for file ownership checks, and every capability is dropped for good
    (bounding set, ambient set, securebits locked, then capset to nothing). seccomp later denies every
    set*id/capset call, so the real uid cannot be switched back. Writes and reads outside the Python
    installation are stopped by Landlock, signals to other processes by seccomp.
    """
    if _LIBC.prctl(28, ctypes.c_ulong(1 | 2 | 4 | 8 | 32), 0, 0, 0) != 0:  # SECBIT_NOROOT|NO_SETUID_FIXUP (+locks), KEEP_CAPS_LOCKED
        raise OSError(ctypes.get_errno(), "securebits failed")
    for cap in range(_CAP_LAST + 1):
        _LIBC.prctl(24, ctypes.c_ulong(cap), 0, 0, 0)  # PR_CAPBSET_DROP (EINVAL past the last cap)
    _LIBC.prctl(47, ctypes.c_ulong(4), 0, 0, 0)  # PR_CAP_AMBIENT_CLEAR_ALL
    os.setgroups([])
    os.setresgid(NOBODY, NOBODY, NOBODY)
    os.setresuid(NOBODY, 0, NOBODY)
    column = {"x86_64": 0, "aarch64": 1}.get(_ARCH, 0)
    header = ctypes.create_string_buffer(struct.pack("Ii", 0x20080522, 0), 8)
    data = ctypes.create_string_buffer(bytes(24), 24)
    if _syscall(_CAPSET[column], header, data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")


def lock_down(limits: dict, cwd: str, ruleset: int, filter_program) -> None:
    os.chdir(cwd)
    cpu = int(limits["cpu_s"])
    for res, value in ((resource.RLIMIT_CPU, (cpu, cpu + 1)), (resource.RLIMIT_AS, limits["memory_bytes"]),
                       (resource.RLIMIT_FSIZE, limits["file_bytes"]), (resource.RLIMIT_NOFILE, limits["open_files"]),
                       (resource.RLIMIT_NPROC, limits["processes"]), (resource.RLIMIT_CORE, 0)):
        pair = value if isinstance(value, tuple) else (value, value)
        resource.setrlimit(res, pair)
    if os.getuid() == 0:
        drop_root()
    else:  # e.g. capabilities held inside the zygote's own user namespace: give them up too
        column = {"x86_64": 0, "aarch64": 1}.get(_ARCH, 0)
        header = ctypes.create_string_buffer(struct.pack("Ii", 0x20080522, 0), 8)
        _syscall(_CAPSET[column], header, ctypes.create_string_buffer(bytes(24), 24))
    if _LIBC.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "no_new_privs failed")
    landlock(ruleset)
    seccomp(filter_program)


def isolate_network() -> bool:
    """Move the zygote (and so every child) into a new, empty network namespace."""
    flags = 0x40000000  # CLONE_NEWNET
    if os.getuid() != 0:
        flags |= 0x10000000  # CLONE_NEWUSER: allowed unprivileged on most kernels
    return _LIBC.unshare(flags) == 0


# ---------------------------------------------------------------- the program's runtime


def serve_rpc(program, channel) -> None:
    namespace = {"__name__": "solution", "__builtins__": __builtins__}
    handles: dict = {}
    try:
        exec(program, namespace)
    except BaseException as exc:  # noqa: BLE001 - report it, the judge decides
        send_message(channel, {"load_error": [type(exc).__name__, str(exc)[:500]]})
        return
    send_message(channel, {"loaded": True})
    while True:
        try:
            request = recv_message(channel)
        except (EOFError, OSError):
            return
        try:
            op = request["op"]
            if op == "lookup":
                result = namespace[request["name"]]
            else:
                target = handles[request["handle"]]
                if op == "getattr":
                    result = getattr(target, request["name"])
                else:
                    args = [decode(a, handles.__getitem__) for a in request["args"]]
                    kwargs = {k: decode(v, handles.__getitem__) for k, v in request["kwargs"].items()}
                    result = target(*args, **kwargs)
            send_message(channel, {"ok": encode(result, handles)})
        except BaseException as exc:  # noqa: BLE001
            send_message(channel, {"error": [type(exc).__name__, str(exc)[:500]]})


def child_main(request: dict, fds: list[int], ruleset: int, filter_program, zygote_pid: int) -> None:
    stdin_fd, stdout_fd, stderr_fd, channel_fd = fds
    for src, dst in ((stdin_fd, 0), (stdout_fd, 1), (stderr_fd, 2)):
        os.dup2(src, dst)
    channel_fd = os.dup2(channel_fd, 3) if channel_fd != 3 else 3
    if ruleset >= 0:  # the zygote parked it at a high number, above every fd used here
        os.closerange(4, ruleset)
        os.closerange(ruleset + 1, 1 << 16)
    else:
        os.closerange(4, 1 << 16)
    channel = socket.socket(fileno=3)
    lock_down(request["limits"], request["cwd"], ruleset, filter_program)
    # After lock_down: a change of credentials clears the parent-death signal.
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != zygote_pid:  # the zygote died before the line above
        os._exit(1)
    if ruleset >= 0:
        os.close(ruleset)
    sys.stdin = open(0, closefd=False)  # noqa: SIM115
    sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
    import marshal

    # The harness compiled the program (its own, private pages): unmarshalling allocates far less here,
    # where every allocation into the zygote's pools costs a copy-on-write page fault.
    program = marshal.loads(bytes.fromhex(recv_message(channel)["code"]))
    if request["mode"] == "rpc":
        serve_rpc(program, channel)
    else:
        channel.close()
        namespace = {"__name__": "__main__", "__builtins__": __builtins__}
        exec(program, namespace)
    sys.stdout.flush()


def zygote_main() -> None:
    # What programs commonly import, loaded once so that each child starts warm.
    import bisect  # noqa: E401,F401
    import sysconfig

    caller = int(sys.argv[2])
    network_isolated = isolate_network()
    # The parent-death signal only wakes the loop, which checks the parent pid: it is also sent when the
    # caller's *thread* that started us exits, while the caller lives on.
    signal.signal(signal.SIGUSR1, lambda *_: None)
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGUSR1, 0, 0, 0)
    _LIBC.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)  # programs' orphans stay ours to kill
    if os.getppid() != caller:  # the caller died before the parent-death signal was armed
        return
    paths = sysconfig.get_paths()
    read_paths = sorted({sys.prefix, sys.base_prefix, paths["stdlib"], paths["platstdlib"], paths["purelib"],
                         paths["platlib"], "/usr/lib", "/usr/lib64", "/lib", "/lib64", "/usr/local/lib",
                         os.path.dirname(os.path.realpath(sys.executable))})
    ruleset, abi = landlock_ruleset(read_paths)
    if ruleset >= 0:  # park it where the children's fd shuffling (0-3) cannot clobber it
        import fcntl

        parked = fcntl.fcntl(ruleset, fcntl.F_DUPFD_CLOEXEC, 512)
        os.close(ruleset)
        ruleset = parked
    filter_program = seccomp_program()
    import gc

    gc.collect()
    gc.freeze()  # the children's collector never walks (and so never copies) the zygote's objects
    control = socket.socket(fileno=int(sys.argv[1]))
    try:
        send_message(control, {"ready": True, "network_isolated": network_isolated, "landlock_abi": abi,
                               "seccomp": filter_program is not None, "root": os.getuid() == 0})
        serve(control, caller, ruleset, filter_program)
    finally:
        kill_children()


def serve(control: socket.socket, caller: int, ruleset: int, filter_program) -> None:
    """Fork a program per request and report the programs' exits, for as long as the caller lives."""
    programs: set[int] = set()  # forked, not yet reaped (adopted orphans are reaped without a report)
    wake_r, wake_w = os.pipe()  # signals wake the loop at once, so exits are reported without polling
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    while os.getppid() == caller:  # else we were re-parented: the caller is dead
        ready, _, _ = select.select([control, wake_r], [], [], 1.0)
        if wake_r in ready:
            try:
                os.read(wake_r, 4096)
            except BlockingIOError:
                pass
        while True:  # reap and report finished programs
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            if pid in programs:
                programs.discard(pid)
                send_message(control, {"exit": pid, "status": status})
        if control not in ready:
            continue
        try:
            header = recv_exact(control, 4)
        except (EOFError, OSError):
            return  # the harness is gone
        (size,) = struct.unpack("!I", header)
        payload, fds, _, _ = socket.recv_fds(control, size, 4)
        request = json.loads(payload)
        pid = os.fork()
        if pid == 0:
            run_child(request, fds, ruleset, filter_program, control, (wake_r, wake_w))
        programs.add(pid)
        for fd in fds:
            os.close(fd)
        send_message(control, {"pid": pid})


def run_child(request: dict, fds: list[int], ruleset: int, filter_program, control, wake: tuple) -> None:
    """In the forked child: become a session, run the program, never return into the zygote's code."""
    code = 0
    try:
        zygote_pid = os.getppid()
        control.close()
        signal.set_wakeup_fd(-1)
        for sig in (signal.SIGCHLD, signal.SIGUSR1):
            signal.signal(sig, signal.SIG_DFL)
        for fd in wake:
            os.close(fd)
        os.setsid()
        child_main(request, fds, ruleset, filter_program, zygote_pid)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException as exc:  # noqa: BLE001 - reported on the captured stderr
        code = 1
        os.write(2, f"sandbox: {type(exc).__name__}: {exc}\n".encode(errors="replace")[:2000])
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def kill_children() -> None:
    """SIGKILL every child's process group (programs, and the orphans adopted as subreaper), then reap."""
    import time

    me, my_group = str(os.getpid()), os.getpgrp()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                _, ppid, pgid = f.read().rsplit(")", 1)[1].split()[:3]
        except (OSError, ValueError):
            continue
        if ppid != me:
            continue
        try:
            if int(pgid) == my_group:  # forked a moment ago, not yet a session of its own
                os.kill(int(entry.name), signal.SIGKILL)
            else:
                os.killpg(int(pgid), signal.SIGKILL)
        except OSError:
            pass
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                time.sleep(0.01)
        except ChildProcessError:
            break


if __name__ == "__main__":
    zygote_main()
