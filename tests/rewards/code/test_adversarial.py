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
from tests.rewards.code.attacks import FUNCTION_ATTACKS, STDIO, STDIO_ATTACKS, TESTS, WRONG


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
    """The catalogue and our own 48, run by an unprivileged user with the system's Python, where the program
    keeps the caller's uid: it owns the victim files and may signal the victim processes but for Landlock
    and seccomp."""
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
    assert len(rows) > 80 and sum(name.startswith("own:") for name, _, _ in rows) == len(FUNCTION_ATTACKS) + len(STDIO_ATTACKS)
    assert [(name, detail) for name, ok, detail in rows if not ok] == []
