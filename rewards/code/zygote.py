"""The untrusted side of the code sandbox: a pre-forked zygote, the lockdown, the program's runtime.

This file runs as its own interpreter (``python -I zygote.py``) and imports only the standard library
(and, by path, ``wire.py`` and ``judge.py``), so nothing of the caller (tests, expected values, source) is
in its memory. The zygote imports what a program needs once, then forks one child per program (and one
per judge, which runs the test code). The child locks itself down *before* any untrusted byte runs:

1. it is already the leader of a new session and process group (``setsid`` in the zygote child);
2. rlimits: CPU seconds, address space, threads, file size, open files, no core dumps;
3. as root: the zygote lives in its own empty network namespace (set up once), and the child becomes
   ``nobody`` in every uid and gid, so it owns no file (no chmod/utime/setxattr on root's files) and the
   thread limit applies; its only capability, kept only where the interpreter is not readable by others
   (``/root/.pyenv``), is CAP_DAC_READ_SEARCH, confined by Landlock; not dumpable;
4. ``no_new_privs``, then Landlock (Linux >= 5.13): read only the standard library (not its
   ``site-packages``), the allowed third-party packages and the files the interpreter has mapped; write
   only ``/dev/null``; create, remove, truncate (ABI >= 3) and execute nothing; and (ABI >= 6) signal
   nothing outside its own domain;
5. seccomp, which stands where Landlock is older or absent: no sockets, no new sessions or process
   groups (every descendant stays in the group the harness kills), no signals except to itself and its
   group by any route (kill, tgkill, sigqueue, pidfd), no file metadata changes (chmod, chown, utime,
   xattrs, truncate), no new processes or programs (fork, vfork, non-thread clone, execve: one process, so
   the memory limit holds for the program as a whole), no ptrace / process_vm_* / namespaces / mounts /
   BPF / io_uring; the 32-bit and x32 syscall ABIs kill the process.

Then it runs the program. In ``rpc`` mode it serves calls from the judge over a socket: the judge asks for
``lookup`` / ``call`` / ``getattr`` / ``setattr`` (never a dunder); values cross as a type-exact
canonical encoding (``wire.py``), anything else as an opaque handle. In ``stdio`` mode the program just
runs on the given stdin. In ``judge`` mode the child runs ``judge.serve``.

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
import stat
import struct
import sys

if __name__ == "__main__":  # the zygote itself: its two sibling modules by path, never the installed package
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import judge
    import wire

    del sys.path[0]  # programs may not import the harness's modules (Landlock would refuse them anyway)
else:
    from rewards.code import wire

NOBODY = 65534
send_message, recv_message, recv_exact = wire.send_message, wire.recv_message, wire.recv_exact
# Third-party packages a program may import (and so read); everything else outside the standard library is
# invisible to it: answer keys shipped inside packages included. ``RLVR_SANDBOX_PACKAGES`` overrides.
DEFAULT_PACKAGES = ("numpy", "sortedcontainers")

# ---------------------------------------------------------------- lockdown

_LIBC = ctypes.CDLL(None, use_errno=True)
_ARCH = platform.machine()
_COLUMN = {"x86_64": 0, "aarch64": 1}.get(_ARCH)
# Denied with EPERM: name -> (x86_64, aarch64); None where the architecture has no such call.
_SYSCALLS = {
    # sockets, sessions and groups (every descendant stays in the group the harness kills), other processes
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
    # signals by other routes than kill/tkill/tgkill (Landlock scopes them only from ABI 6)
    "rt_sigqueueinfo": (129, 138), "rt_tgsigqueueinfo": (297, 240), "pidfd_send_signal": (424, 424),
    "pidfd_open": (434, 434),
    # file metadata: Landlock does not govern it (and truncate only from ABI 3)
    "chmod": (90, None), "fchmod": (91, 52), "fchmodat": (268, 53), "fchmodat2": (452, 452), "chown": (92, None),
    "fchown": (93, 55), "lchown": (94, None), "fchownat": (260, 54), "utime": (132, None), "utimes": (235, None),
    "futimesat": (261, None), "utimensat": (280, 88), "setxattr": (188, 5), "lsetxattr": (189, 6),
    "fsetxattr": (190, 7), "removexattr": (197, 14), "lremovexattr": (198, 15), "fremovexattr": (199, 16),
    "setxattrat": (463, 463), "removexattrat": (466, 466), "truncate": (76, 45),
    # new processes and programs: one process (threads allowed), so the memory limit is the program's
    "fork": (57, None), "vfork": (58, None), "execve": (59, 221), "execveat": (322, 281),
}
_CLONE = (56, 220)            # allowed only with CLONE_THREAD
_CLONE_THREAD = 0x00010000
_SIGNALS = {"kill": (62, 129), "tkill": (200, 130), "tgkill": (234, 131)}  # only to itself / its own group
_CAPSET = (126, 91)
try:
    with open("/proc/sys/kernel/cap_last_cap") as _f:
        _CAP_LAST = int(_f.read())
except (OSError, ValueError):
    _CAP_LAST = 63
_CAP_DAC_READ_SEARCH = 2
_PR_SET_PDEATHSIG, _PR_SET_CHILD_SUBREAPER, _PR_SET_DUMPABLE = 1, 36, 4
_LANDLOCK_CREATE, _LANDLOCK_ADD_RULE, _LANDLOCK_RESTRICT = 444, 445, 446
_FS_READ = 4 | 8              # READ_FILE | READ_DIR (shared libraries are mapped, not executed)
_PR_SET_NO_NEW_PRIVS, _PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 38, 22, 2


def _syscall(nr: int, *args) -> int:
    return _LIBC.syscall(ctypes.c_long(nr), *args)


def landlock_abi(cap: int | None = None) -> int:
    """The kernel's Landlock ABI version (0: none), at most ``cap`` (tests simulate older kernels)."""
    abi = max(0, _syscall(_LANDLOCK_CREATE, None, ctypes.c_size_t(0), ctypes.c_uint32(1)))
    return abi if cap is None or cap < 0 else min(abi, cap)


def landlock_ruleset(rules: list[tuple[str, int]], abi: int) -> int:
    """Build, once in the zygote, the Landlock ruleset every child enforces (its fd, or -1 without Landlock).

    ``rules`` are (path, access) pairs; every other file is out of reach for reading, writing, creating,
    removing, truncating (ABI >= 3) or executing. With ABI >= 6 the domain also may not signal processes
    or reach abstract sockets outside it.
    """
    if abi < 1:
        return -1
    handled = (1 << 13) - 1 | (1 << 13 if abi >= 2 else 0) | (1 << 14 if abi >= 3 else 0) | (1 << 15 if abi >= 5 else 0)
    attr = struct.pack("QQQ", handled, 0, 3) if abi >= 6 else struct.pack("Q", handled)
    buf = ctypes.create_string_buffer(attr, len(attr))
    ruleset = _syscall(_LANDLOCK_CREATE, buf, ctypes.c_size_t(len(attr)), ctypes.c_uint32(0))
    if ruleset < 0:
        return -1
    for path, access in rules:
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            if not os.path.isdir(path):
                access &= 1 | 2 | 4 | (1 << 14)  # file rights only on a file
            rule = ctypes.create_string_buffer(struct.pack("=Qi", access & handled, fd), 12)
            _syscall(_LANDLOCK_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(1), rule, ctypes.c_uint32(0))
        finally:
            os.close(fd)
    return ruleset


def readable_paths(packages, mapped: list[str]) -> list[str]:
    """What running the interpreter and the allowed modules needs to read, and nothing else.

    The standard library entry by entry, leaving out ``site-packages``/``dist-packages`` (a system Python
    keeps its third-party packages inside the standard library directory); the allowed ``packages`` (and
    their bundled ``.libs``); every file this process has mapped (the interpreter, its shared libraries)
    and that the standard extension modules and the allowed packages map (``mapped``); time zone data and
    the dynamic loader's cache.
    """
    import importlib.util
    import sysconfig

    paths, roots = set(), {sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"]}
    roots.update(p for p in sys.path if os.path.basename(p) == "lib-dynload")
    for root in roots:
        try:
            paths.update(e.path for e in os.scandir(root) if e.name not in ("site-packages", "dist-packages"))
        except OSError:
            pass
    for name in packages:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is None:
            continue
        for location in spec.submodule_search_locations or [spec.origin]:
            paths.add(location)
            paths.add(os.path.join(os.path.dirname(location), f"{name}.libs"))  # auditwheel's bundled libraries
    with open("/proc/self/maps") as maps:
        paths.update(line.split(None, 5)[5].strip() for line in maps if len(line.split(None, 5)) == 6
                     and line.split(None, 5)[5].startswith("/"))
    paths.update(mapped)
    paths.update({"/usr/share/zoneinfo", "/etc/localtime", "/etc/ld.so.cache", os.path.realpath(sys.executable)})
    return sorted(p for p in paths if os.path.exists(p))


def others_can_read(paths: list[str]) -> bool:
    """Whether a user that owns nothing can read all of ``paths`` (every ancestor searchable by others)."""
    seen = set()
    for path in paths:
        parts = os.path.realpath(path).split(os.sep)
        for k in range(2, len(parts) + 1):
            prefix = os.sep.join(parts[:k]) or os.sep
            if prefix in seen:
                continue
            seen.add(prefix)
            try:
                mode = os.stat(prefix).st_mode
            except OSError:
                continue
            need = (stat.S_IXOTH | (stat.S_IROTH if k == len(parts) else 0)) if stat.S_ISDIR(mode) else stat.S_IROTH
            if mode & need != need:
                return False
    return True


def landlock(ruleset: int) -> None:
    if ruleset >= 0 and _syscall(_LANDLOCK_RESTRICT, ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
        raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")


def seccomp_program() -> bytes | None:
    """The syscall filter, built and packed once in the zygote; ``seccomp`` appends the per-child signal rules."""
    if _COLUMN is None:
        return None
    arch = (0xC000003E, 0xC00000B7)[_COLUMN]
    ld, jeq, jset, ret = 0x20, 0x15, 0x45, 0x06
    kill, eperm, enosys = 0x80000000, 0x00050000 | 1, 0x00050000 | 38
    prog = [(ld, 0, 0, 4), (jeq, 1, 0, arch), (ret, 0, 0, kill), (ld, 0, 0, 0)]
    if _COLUMN == 0:  # x32 syscalls carry bit 30
        prog += [(0x35, 0, 1, 0x40000000), (ret, 0, 0, kill)]  # JGE
    # One compare per denied call, all jumping to one shared return: every child JIT-compiles its filter,
    # so its length is paid per program.
    denied = sorted({nums[_COLUMN] for nums in _SYSCALLS.values() if nums[_COLUMN] is not None})
    prog += [(jeq, len(denied) - k, 0, nr) for k, nr in enumerate(denied)]
    prog += [(0x05, 0, 0, 1), (ret, 0, 0, eperm)]  # JA over the shared return
    prog += [(jeq, 0, 1, 435), (ret, 0, 0, enosys)]  # clone3 -> ENOSYS: libc falls back to clone
    # clone: a thread (CLONE_THREAD in the low word of arg0) or nothing; A is reloaded for the rules after.
    prog += [(jeq, 0, 4, _CLONE[_COLUMN]), (ld, 0, 0, 16), (jset, 1, 0, _CLONE_THREAD), (ret, 0, 0, eperm),
             (ld, 0, 0, 0)]
    return b"".join(struct.pack("HBBI", *ins) for ins in prog)


def seccomp(base: bytes | None) -> bool:
    """Install the filter: the zygote's packed program plus signal rules naming this process."""
    if base is None:
        return False
    ld, jeq, ret = 0x20, 0x15, 0x06
    allow, eperm = 0x7FFF0000, 0x00050000 | 1
    me = os.getpid()
    prog = []
    for nums in _SIGNALS.values():  # arg0 must be this process, 0 (its group) or -pgid (= -pid)
        prog += [(jeq, 0, 6, nums[_COLUMN]), (ld, 0, 0, 16), (jeq, 3, 0, me), (jeq, 2, 0, 0),
                 (jeq, 1, 0, (-me) & 0xFFFFFFFF), (ret, 0, 0, eperm), (ret, 0, 0, allow)]
    prog += [(ret, 0, 0, allow)]
    raw = base + b"".join(struct.pack("HBBI", *ins) for ins in prog)
    filt = ctypes.create_string_buffer(raw, len(raw))
    fprog = struct.pack("HxxxxxxQ", len(raw) // 8, ctypes.addressof(filt))
    fbuf = ctypes.create_string_buffer(fprog, len(fprog))
    if _LIBC.prctl(ctypes.c_int(_PR_SET_SECCOMP), ctypes.c_ulong(_SECCOMP_MODE_FILTER),
                   ctypes.c_ulong(ctypes.addressof(fbuf)), ctypes.c_ulong(0), ctypes.c_ulong(0)) != 0:
        raise OSError(ctypes.get_errno(), "seccomp filter failed")
    return True


def _capset(effective: int) -> None:
    header = ctypes.create_string_buffer(struct.pack("Ii", 0x20080522, 0), 8)
    data = ctypes.create_string_buffer(struct.pack("IIIIII", effective, effective, 0, 0, 0, 0), 24)
    if _syscall(_CAPSET[_COLUMN or 0], header, data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")


def drop_root(keep_read_search: bool) -> None:
    """Become ``nobody`` for good: every uid and gid, no supplementary groups, no capabilities.

    Owning nothing is what stops chmod/utime/setxattr on root's files (Landlock does not govern them;
    seccomp denies them too). The one exception: ``keep_read_search`` keeps CAP_DAC_READ_SEARCH when the
    interpreter lies where others may not read it (``/root/.pyenv``); it only bypasses read permission, and
    Landlock (required for it) still confines reading to the interpreter's own files.
    """
    if _LIBC.prctl(28, ctypes.c_ulong(1 | 2 | 4 | 8 | 32), 0, 0, 0) != 0:  # SECBIT_NOROOT|NO_SETUID_FIXUP (+locks), KEEP_CAPS_LOCKED
        raise OSError(ctypes.get_errno(), "securebits failed")
    kept = 1 << _CAP_DAC_READ_SEARCH if keep_read_search else 0
    _LIBC.prctl(47, ctypes.c_ulong(4), 0, 0, 0)  # PR_CAP_AMBIENT_CLEAR_ALL (the bounding set went in the zygote)
    os.setgroups([])
    os.setresgid(NOBODY, NOBODY, NOBODY)
    os.setresuid(NOBODY, NOBODY, NOBODY)  # NO_SETUID_FIXUP: the capabilities survive until capset below
    _capset(kept)


def drop_bounding_set(keep: int) -> None:
    """Empty the capability bounding set but ``keep`` (a mask), once, in the zygote: it only limits what an
    execve could grant (children can neither exec nor gain privileges), and costs 40 calls per child."""
    for cap in range(_CAP_LAST + 1):
        if not keep >> cap & 1:
            _LIBC.prctl(24, ctypes.c_ulong(cap), 0, 0, 0)  # PR_CAPBSET_DROP


def lock_down(limits: dict, ruleset: int, filter_program, keep_read_search: bool) -> None:
    os.chdir("/")  # no working directory of its own: it could neither list nor write one
    cpu = int(limits["cpu_s"])
    for res, value in ((resource.RLIMIT_CPU, (cpu, cpu + 1)), (resource.RLIMIT_AS, limits["memory_bytes"]),
                       (resource.RLIMIT_FSIZE, limits["file_bytes"]), (resource.RLIMIT_NOFILE, limits["open_files"]),
                       (resource.RLIMIT_NPROC, limits["processes"]), (resource.RLIMIT_CORE, 0)):
        pair = value if isinstance(value, tuple) else (value, value)
        resource.setrlimit(res, pair)
    if os.getuid() == 0:
        drop_root(keep_read_search and ruleset >= 0)
    else:  # e.g. capabilities held inside the zygote's own user namespace: give them up too
        try:
            _capset(0)
        except OSError:
            pass
    _LIBC.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)  # /proc/<pid>/mem and friends belong to root, not to the program
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
    """Run the program, then answer the judge's lookup / getattr / setattr / call requests."""
    namespace = {"__name__": "solution", "__builtins__": __builtins__}
    handles: dict = {}

    def foreign(value):  # not a plain value: it stays here, the judge gets a key
        key = len(handles) + 1
        handles[key] = value
        return ["h", key]

    try:
        exec(program, namespace)
    except BaseException as exc:  # noqa: BLE001 - report it, the judge decides
        send_message(channel, {"load_error": [type(exc).__name__, str(exc)[:500]]})
        return
    send_message(channel, {"loaded": True})
    while True:
        try:
            request = recv_message(channel)
        except (EOFError, OSError, ValueError):
            return
        try:
            op = request["op"]
            if op == "lookup":
                result = namespace[request["name"]]
            else:
                target = handles[request["handle"]]
                name = request.get("name", "")
                if name.startswith("__") and name.endswith("__"):
                    raise AttributeError(name)
                if op == "getattr":
                    result = getattr(target, name)
                elif op == "setattr":
                    result = setattr(target, name, wire.decode(request["value"], handles.__getitem__))
                else:
                    args = [wire.decode(a, handles.__getitem__) for a in request["args"]]
                    kwargs = {k: wire.decode(v, handles.__getitem__) for k, v in request["kwargs"].items()}
                    result = target(*args, **kwargs)
            send_message(channel, {"ok": wire.encode(result, foreign)})
        except BaseException as exc:  # noqa: BLE001
            send_message(channel, {"error": [type(exc).__name__, str(exc)[:500]]})


class Walls:
    """What every child is locked down with, prepared once in the zygote."""

    def __init__(self, ruleset: int, filter_program, keep_read_search: bool):
        self.ruleset, self.filter_program, self.keep_read_search = ruleset, filter_program, keep_read_search


def child_main(request: dict, fds: list[int], walls: Walls, zygote_pid: int) -> None:
    """stdin, stdout, stderr become 0-2 and the channels 3 (and 4 for the judge); nothing else stays open."""
    staged = [os.dup(fd) for fd in fds]  # out of the way first: a target number may be one of the sources
    for k, fd in enumerate(staged):
        os.dup2(fd, k)
    top = len(fds)
    if walls.ruleset >= 0:  # the zygote parked it at a high number, above every fd used here
        os.closerange(top, walls.ruleset)
        os.closerange(walls.ruleset + 1, 1 << 16)
    else:
        os.closerange(top, 1 << 16)
    channel = socket.socket(fileno=3)
    lock_down(request["limits"], walls.ruleset, walls.filter_program, walls.keep_read_search)
    # After lock_down: a change of credentials clears the parent-death signal.
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != zygote_pid:  # the zygote died before the line above
        os._exit(1)
    if walls.ruleset >= 0:
        os.close(walls.ruleset)
    sys.stdin = open(0, closefd=False)  # noqa: SIM115
    sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
    if request["mode"] == "judge":
        judge.serve(channel, socket.socket(fileno=4))
        return
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


_NOT_PRELOADED = {"readline", "_curses", "_curses_panel", "_tkinter"}  # touch the terminal or a display


_WARM = ("bisect", "collections", "functools", "heapq", "itertools", "math", "re", "string", "typing")


def preload() -> None:
    """Import what programs commonly use, once, so that each child starts warm. Only that: every mapped
    library makes each fork slower (the standard extension modules all together: 0.55 -> 1.9 ms)."""
    import importlib
    import importlib.machinery

    for name in _WARM:
        importlib.import_module(name)
    importlib.machinery.PathFinder.find_spec("rlvr-fill-every-path-cache")  # listed now: children may not list


def extension_modules() -> list[str]:
    """The standard library's extension modules (``_decimal``, ``_sqlite3``...), by name."""
    names = []
    for path in sys.path:
        if os.path.basename(path) == "lib-dynload":
            names += [e.split(".")[0] for e in sorted(os.listdir(path))]
    return [n for n in names if n not in _NOT_PRELOADED and not n.startswith(("_test", "xx", "_xx", "_ctypes_test"))]


_MAPPED = ("import importlib, json, sys\nfor n in sys.argv[1:]:\n    try:\n        importlib.import_module(n)\n"
           "    except Exception:\n        pass\nfields = [line.split(None, 5) for line in open('/proc/self/maps')]\n"
           "print(json.dumps(sorted({f[5].strip() for f in fields if len(f) == 6 and f[5].startswith('/')})))\n")


def mapped_by(modules) -> list[str]:
    """The files ``modules`` map when imported (their shared libraries: ``libsqlite3``, numpy's
    ``libstdc++``), found by a throwaway interpreter, so that the zygote itself stays small."""
    import subprocess

    try:
        out = subprocess.run([sys.executable, "-I", "-c", _MAPPED, *modules], capture_output=True, timeout=120,
                             stdin=subprocess.DEVNULL)
        return json.loads(out.stdout)
    except (OSError, ValueError, subprocess.SubprocessError):
        return []


def zygote_main() -> None:
    caller = int(sys.argv[2])
    options = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
    network_isolated = isolate_network()
    # The parent-death signal only wakes the loop, which checks the parent pid: it is also sent when the
    # caller's *thread* that started us exits, while the caller lives on.
    signal.signal(signal.SIGUSR1, lambda *_: None)
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGUSR1, 0, 0, 0)
    _LIBC.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)  # programs' orphans stay ours to kill
    if os.getppid() != caller:  # the caller died before the parent-death signal was armed
        return
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"  # one core per program: no BLAS thread pools
    packages = options.get("packages", DEFAULT_PACKAGES)
    preload()
    paths = readable_paths(packages, mapped_by(extension_modules() + list(packages)))
    abi = landlock_abi(options.get("landlock_abi_cap"))
    rules = [(p, _FS_READ) for p in paths] + [("/dev/null", 2 | 4), ("/dev/urandom", 4)]
    ruleset = landlock_ruleset(rules, abi)
    if ruleset >= 0:  # park it where the children's fd shuffling (0-4) cannot clobber it
        import fcntl

        parked = fcntl.fcntl(ruleset, fcntl.F_DUPFD_CLOEXEC, 512)
        os.close(ruleset)
        ruleset = parked
    filter_program = seccomp_program()
    walls = Walls(ruleset, filter_program, keep_read_search=not others_can_read(paths))
    if os.getuid() == 0:
        drop_bounding_set(1 << _CAP_DAC_READ_SEARCH if walls.keep_read_search else 0)
    import gc

    gc.collect()
    gc.freeze()  # the children's collector never walks (and so never copies) the zygote's objects
    control = socket.socket(fileno=int(sys.argv[1]))
    try:
        send_message(control, {"ready": True, "network_isolated": network_isolated,
                               "landlock_abi": abi if ruleset >= 0 else 0, "seccomp": filter_program is not None,
                               "root": os.getuid() == 0, "read_search": walls.keep_read_search})
        serve(control, caller, walls)
    finally:
        kill_children()


def serve(control: socket.socket, caller: int, walls: Walls) -> None:
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
        payload, fds, _, _ = socket.recv_fds(control, size, 8)
        request = json.loads(payload)
        if request["mode"] == "judged":  # a program and its judge, joined by a socket of their own
            link_program, link_judge = socket.socketpair()
            devnull = os.open(os.devnull, os.O_RDWR)
            jobs = [({**request, "mode": "rpc"}, fds[:3] + [link_program.fileno()]),
                    ({**request, "mode": "judge"}, [devnull, devnull, devnull, fds[3], link_judge.fileno()])]
            extra = [link_program, link_judge]
        else:
            jobs, extra, devnull = [(request, fds)], [], -1
        pids = []
        for job, job_fds in jobs:
            pid = os.fork()
            if pid == 0:
                run_child(job, job_fds, walls, control, (wake_r, wake_w))
            programs.add(pid)
            pids.append(pid)
        for fd in fds + ([devnull] if devnull >= 0 else []):
            os.close(fd)
        for sock in extra:
            sock.close()
        send_message(control, {"pids": pids})


def run_child(request: dict, fds: list[int], walls: Walls, control, wake: tuple) -> None:
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
        child_main(request, fds, walls, zygote_pid)
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
