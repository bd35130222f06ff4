"""Programs written to fool the verifier. Every one must fail, and leave no process or file behind.

The task in each case: ``add(a, b)`` returning ``a + b`` (tests below), or for stdin/stdout, printing the
sum of two numbers. Each hostile program gets the answer wrong on purpose (or gives none) and tries to
be scored as passing anyway.
"""

import os
import socket
import tempfile
import threading
from pathlib import Path

import pytest

from rewards.code import run_tests

TESTS = "def check(candidate):\n    assert candidate(2, 3) == 5\n    assert candidate(-1, 3) == 2\n\ncheck(add)\n"
STDIO = [{"input": "2 3\n", "output": "5\n"}, {"input": "10 20\n", "output": "30\n"}]
WRONG = "def add(a, b):\n    return 0\n"

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


@pytest.mark.parametrize("name", sorted(FUNCTION_ATTACKS))
def test_function_attack_fails(name, clean_after, monkeypatch):
    monkeypatch.setenv("SECRET_EXPECTED", "5")  # the sandbox gets an empty environment
    result = run_tests(FUNCTION_ATTACKS[name], TESTS, timeout=3)
    assert not result.passed and result.n_passed == 0, result


@pytest.mark.parametrize("name", sorted(STDIO_ATTACKS))
def test_stdio_attack_fails(name, clean_after):
    result = run_tests(STDIO_ATTACKS[name], STDIO, timeout=3)
    assert not result.passed and result.n_passed == 0, result


def test_network_to_a_loopback_server_fails(clean_after):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(5)
    port = server.getsockname()[1]
    accepted = []
    thread = threading.Thread(target=lambda: accepted.append(_accept(server)))
    thread.start()
    program = (f"import socket\ndef add(a, b):\n    s = socket.create_connection(('127.0.0.1', {port}), timeout=1)\n"
               "    return int(s.recv(10))\n")
    result = run_tests(program, TESTS, timeout=3)
    thread.join()
    server.close()
    assert not result.passed and accepted == [None]


def _accept(server):
    try:
        conn, _ = server.accept()
        conn.sendall(b"5")
        conn.close()
        return "connected"
    except OSError:
        return None


def test_bomb_statuses(clean_after):
    assert run_tests(FUNCTION_ATTACKS["busy_loop"], TESTS, timeout=2).status == "timeout"
    assert run_tests(FUNCTION_ATTACKS["memory_bomb"], TESTS, timeout=3).status == "memory"
    assert run_tests(STDIO_ATTACKS["output_flood_stdio"], STDIO, timeout=5).status == "output_limit"
    assert os.getuid() != 0 or run_tests("import os\nprint(os.getresuid()[0])", [{"input": "", "output": "65534"}]).passed


# ---------------------------------------------------------------- issue 11: others' attack classes
# The catalogue (attacks.py) runs against the kernel's own walls and against a sandbox that believes the
# kernel's Landlock is older: ABI 1 (truncate not governed) and ABI 5 (signals not scoped), where seccomp
# must stand alone. As root, the victims include files and processes of ``nobody``, the program's own user,
# so that only Landlock and seccomp (not file ownership) stand in the way.

ROWS = {}


def _cases():
    from tests.rewards.code import attacks

    cases = [pytest.param(f"{group}:{name}", None, id=f"{group}:{name}") for group, table in (
        ("fooling", attacks.FOOLING), ("tests", attacks.HOSTILE_TESTS), ("cost", attacks.COSTLY_REPLIES),
        ("compatible", attacks.COMPATIBLE)) for name in table]
    for cap in (None, 1, 5):  # the walls also where Landlock is older: truncate (ABI < 3), signals (ABI < 6)
        cases += [pytest.param(f"walls:{name}", cap, id=f"walls:{name}-landlock-{cap or 'kernel'}")
                  for name in ("host_damage", "answer_keys", "one_process")]
    return cases


@pytest.mark.parametrize("case,cap", _cases())
def test_others_attack_classes(case, cap, clean_after, monkeypatch):
    from rewards.code import sandbox as sandbox_module
    from tests.rewards.code import attacks

    capped = None
    if cap is not None:
        capped = sandbox_module.Sandbox(landlock_abi_cap=cap)
        monkeypatch.setattr(sandbox_module, "_SANDBOX", capped)
    try:
        if cap not in ROWS:
            ROWS[cap] = {name: (ok, detail) for name, ok, detail in attacks.run_catalogue(walls_only=cap is not None)}
        ok, detail = ROWS[cap][case]
    finally:
        if capped is not None:
            capped.shutdown()
            monkeypatch.undo()
    assert ok, detail


def test_the_sandbox_runs_as_nobody_in_every_id_when_root(clean_after):
    """Real, effective, saved and filesystem ids, read by the kernel's own account of the process."""
    import time

    from rewards.code.sandbox import Limits, sandbox

    if os.getuid() != 0:
        pytest.skip("as a non-root user the program keeps that user's ids, which own no root file")
    child = sandbox().spawn("import time\ntime.sleep(30)\n", mode="stdio", limits=Limits(timeout=30))
    try:
        deadline = time.monotonic() + 10
        while True:  # until the child has locked itself down
            status = dict(line.split(":\t", 1) for line in Path(f"/proc/{child.pid}/status").read_text().splitlines()
                          if ":\t" in line)
            if status.get("Seccomp", "").strip() == "2" or time.monotonic() > deadline:
                break
            time.sleep(0.01)
    finally:
        child.kill()
        child.close()
    assert status["Uid"].split() == ["65534"] * 4 and status["Gid"].split() == ["65534"] * 4
    assert status["Groups"].strip() == ""
    assert int(status["CapEff"], 16) & ~(1 << 2) == 0  # at most CAP_DAC_READ_SEARCH, for /root/.pyenv
    assert int(status["CapBnd"], 16) & ~(1 << 2) == 0 and int(status["CapAmb"], 16) == 0
    assert status["NoNewPrivs"].strip() == "1" and status["Seccomp"].strip() == "2"


def test_a_kernel_without_landlock_is_refused_unless_asked_for(clean_after, monkeypatch):
    from rewards.code import sandbox as sandbox_module

    capped = sandbox_module.Sandbox(landlock_abi_cap=0)
    monkeypatch.setattr(sandbox_module, "_SANDBOX", capped)
    try:
        monkeypatch.delenv(sandbox_module.WEAK_OPT_OUT, raising=False)
        for _ in range(2):  # every call, not only the first
            with pytest.raises(sandbox_module.SandboxUnavailable, match="RLVR_SANDBOX_ALLOW_WEAK=1"):
                run_tests(WRONG, TESTS)
        monkeypatch.setenv(sandbox_module.WEAK_OPT_OUT, "1")
        assert run_tests("def add(a, b):\n    return a + b\n", TESTS).passed  # weak, but it runs
        assert not run_tests(WRONG, TESTS).passed
    finally:
        capped.shutdown()


def test_the_catalogue_as_a_non_root_user(tmp_path):
    """The same catalogue, run by an unprivileged user with the system's Python, where the program keeps the
    caller's uid: it owns the victim files and may signal the victim processes but for Landlock and seccomp."""
    import json
    import shutil
    import subprocess

    if os.getuid() != 0:
        pytest.skip("the suite itself runs as a non-root user: the catalogue above is that run")
    python, setpriv = "/usr/bin/python3", shutil.which("setpriv")
    if not os.path.exists(python) or setpriv is None:
        pytest.skip("needs the system's /usr/bin/python3 and setpriv to run as nobody")
    root = Path(__file__).resolve().parents[3]
    work = Path(tempfile.mkdtemp(prefix="rlvr-nonroot-", dir="/tmp"))  # not the private TMPDIR (0700)
    try:
        shutil.copytree(root / "rewards", work / "rewards", ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(root / "tests/rewards/code/attacks.py", work / "attacks.py")
        for path in [work, *work.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        proc = subprocess.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", python, "-I", "-c",
                               f"import sys; sys.path[:0] = [{str(work)!r}]; import runpy; "
                               f"runpy.run_path({str(work / 'attacks.py')!r}, run_name='__main__')"],
                              cwd=work, capture_output=True, text=True, timeout=600, env={"PATH": "/usr/bin:/bin"})
        assert proc.returncode == 0, proc.stderr[-2000:]
        rows = json.loads(proc.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    assert len(rows) > 30
    assert [(name, detail) for name, ok, detail in rows if not ok] == []
