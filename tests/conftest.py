import os
import pathlib

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
