import os
import tempfile
from pathlib import Path

import pytest

from rewards.code.sandbox import sandbox


def stray_processes() -> list[str]:
    """Live processes forked from a sandbox zygote, other than the zygote itself."""
    zygote = sandbox()._proc.pid if sandbox()._proc else None
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in (zygote, os.getpid()):
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if b"rewards/code/zygote.py" in cmdline and state != "Z":
            found.append(f"{entry.name} {state} {cmdline[:80]!r}")
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
