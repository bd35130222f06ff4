import json
import os

import pytest

from rlvr.checkpoint import TRAINER_STATE, latest_checkpoint, resolve_checkpoint
from rlvr.config import ConfigError
from rlvr.tracking import JsonlLog, plot_training, read_jsonl


def test_jsonl_log_truncates_to_the_resumed_step_and_writes_null_for_nan(tmp_path):
    path = str(tmp_path / "m.jsonl")
    log = JsonlLog(path)
    for step in range(1, 5):
        log.write({"step": step, "reward/mean": step / 10, "kl": float("nan")})
    JsonlLog(path, resume_step=2).write({"step": 3, "reward/mean": 9.0})
    records = read_jsonl(path)
    assert [r["step"] for r in records] == [1, 2, 3] and records[2]["reward/mean"] == 9.0
    assert records[0]["kl"] is None
    plot_training(path, str(tmp_path / "p.png"))
    assert os.path.getsize(tmp_path / "p.png") > 1000


def test_latest_checkpoint_skips_incomplete_ones(tmp_path):
    for step, complete in [(2, True), (10, True), (12, False)]:
        os.makedirs(tmp_path / f"checkpoint-{step}")
        if complete:
            (tmp_path / f"checkpoint-{step}" / TRAINER_STATE).write_text(json.dumps({"global_step": step}))
    assert latest_checkpoint(str(tmp_path)).endswith("checkpoint-10")
    assert latest_checkpoint(str(tmp_path / "nope")) is None
    with pytest.raises(ConfigError, match="not a complete checkpoint"):
        resolve_checkpoint(str(tmp_path / "checkpoint-12"), str(tmp_path))
    with pytest.raises(ConfigError, match="holds no complete checkpoint"):
        resolve_checkpoint("latest", str(tmp_path / "nope"))
