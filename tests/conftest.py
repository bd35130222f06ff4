import os
import pathlib
import tempfile
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



def stray_processes() -> list[str]:
    """Live sandboxed programs (forked by a zygote, or their orphans), zygotes themselves excluded."""
    def info(pid: str):
        try:
            cmdline = (Path("/proc") / pid / "cmdline").read_bytes()
            fields = (Path("/proc") / pid / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return cmdline, fields[0], fields[1]  # cmdline, state, ppid

    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        me = info(entry.name)
        if me is None or b"rewards/code/zygote.py" not in me[0] or me[1] == "Z":
            continue
        parent = info(me[2])
        if me[2] == "1" or (parent is not None and b"rewards/code/zygote.py" in parent[0]):
            found.append(f"{entry.name} {me[1]} {me[0][:80]!r}")
    return found


@pytest.fixture
def clean_after():
    """Fail the test if a sandboxed process or working directory outlives the run."""
    before = set(Path(tempfile.gettempdir()).glob("rlvr-sandbox-*"))
    yield
    import time

    deadline = time.monotonic() + 5
    while stray_processes() and time.monotonic() < deadline:  # SIGKILL delivery is asynchronous
        time.sleep(0.05)
    assert stray_processes() == []
    assert set(Path(tempfile.gettempdir()).glob("rlvr-sandbox-*")) - before == set()
