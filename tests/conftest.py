import ctypes
import os
import pathlib
import sys
import tempfile
import time
from pathlib import Path

import pytest

SHARED_DATA = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "data"
TEST_SFT_STEPS = 400  # the toy warm start the trainer tests share (built once per cache)


@pytest.fixture(scope="session", autouse=True)
def toy_cache(tmp_path_factory):
    """Toy models are built into one cache for the whole session (RLVR_CACHE may point elsewhere)."""
    os.environ.setdefault("RLVR_CACHE", str(tmp_path_factory.mktemp("rlvr_cache")))
    return os.environ["RLVR_CACHE"]


@pytest.fixture(scope="session")
def toy_dir(toy_cache):
    from rlvr.toy import ensure_toy

    return ensure_toy(TEST_SFT_STEPS, seed=0)


def shared_data(name: str) -> pathlib.Path:
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"{path} not found: the shared benchmark data sits next to the project checkout")
    return path


# ---------------------------------------------------------------- process and file leaks
# A test judges only what it started: its own descendants and its own temporary directory, never the
# other jobs on a shared machine.

ZYGOTE = b"rewards/code/zygote.py"


@pytest.fixture(scope="session", autouse=True)
def own_leaks(tmp_path_factory):
    """Make this process a child subreaper and give the session a private temporary directory.

    As subreaper, the orphans of our sandboxes (a double fork, a zygote whose caller died) are re-parented
    to this process instead of init, so they stay among our descendants and a leak check still sees them.
    The private TMPDIR, set before any sandbox starts, is inherited by pool workers and subprocesses, so
    the working-directory check sees only the directories of this session's sandboxes.
    """
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    private = str(tmp_path_factory.mktemp("tmp"))
    os.environ["TMPDIR"] = tempfile.tempdir = private
    return private


def process_table() -> dict[int, tuple[bytes, str, int]]:
    """pid -> (cmdline, state, ppid) for every process visible in /proc."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        table[int(entry.name)] = (cmdline, fields[0], int(fields[1]))
    return table


def descendants(root: int, table: dict | None = None) -> list[int]:
    table = process_table() if table is None else table
    children: dict[int, list[int]] = {}
    for pid, (_, _, ppid) in table.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def stray_processes() -> list[str]:
    """Live sandbox processes among this process's descendants, the zygotes still serving a caller excluded.

    A zygote's parent is its caller. A sandbox process whose parent is a zygote is a program (or an
    orphan it adopted); one whose parent is this process, other than this process's own zygote, is an
    orphan re-parented to us: a zygote that outlived its caller, or a program that outlived its zygote.
    """
    table = process_table()
    module = sys.modules.get("rewards.code.sandbox")
    own_zygote = module.sandbox().zygote_pid if module is not None else None
    found = []
    for pid in descendants(os.getpid(), table):
        cmdline, state, ppid = table[pid]
        if ZYGOTE not in cmdline or state == "Z":
            continue
        parent_is_sandbox = ZYGOTE in table.get(ppid, (b"",))[0]
        if parent_is_sandbox or (ppid == os.getpid() and pid != own_zygote):
            found.append(f"{pid} {state} ppid={ppid} {cmdline[:80]!r}")
    return found


@pytest.fixture
def clean_after():
    """Fail the test if a sandboxed process or working directory it started outlives the run."""
    before = set(Path(tempfile.gettempdir()).glob("rlvr-sandbox-*"))
    yield
    deadline = time.monotonic() + 5
    while stray_processes() and time.monotonic() < deadline:  # SIGKILL delivery is asynchronous
        time.sleep(0.05)
    assert stray_processes() == []
    assert set(Path(tempfile.gettempdir()).glob("rlvr-sandbox-*")) - before == set()
