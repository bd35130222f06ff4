"""The documentation cannot rot: the "Your data and rewards" example runs in both its forms, every metric a
run writes is in the glossary, and no user-facing default points at a path users do not have."""

import importlib.util
import json
import os
import pathlib
import re
import subprocess
import sys

import pytest

from rlvr.tracking import read_jsonl
from tests.conftest import TEST_SFT_STEPS

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"
QUICK = dict(max_steps=2, toy_sft_steps=TEST_SFT_STEPS, num_eval_samples=8, report_to=["none"],
             disable_progress_bar=True)


def documented_keys() -> set[str]:
    return set(re.findall(r"`([a-z_]+(?:/[a-z_<>0-9]+)*)`", (ROOT / "docs" / "metrics.md").read_text()))


def assert_documented(metrics_file, reward_names: list[str]) -> None:
    """Every key in metrics.jsonl is in docs/metrics.md, a reward function's name read as ``<fn>``."""
    keys = {k for row in read_jsonl(metrics_file) for k in row}
    generic = {re.sub(rf"(?<=/)({'|'.join(reward_names)})(?=/|$)", "<fn>", k) for k in keys}
    assert generic - documented_keys() == set(), "document these keys in docs/metrics.md"


def test_the_python_form_trains(tmp_path, toy_dir, monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))  # as `python docs/examples/train.py` has it
    spec = importlib.util.spec_from_file_location("docs_example_train", EXAMPLES / "train.py")
    example = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(example)
        summary = example.main(**QUICK, output_dir=str(tmp_path / "run"))
    finally:
        sys.modules.pop("my_rewards", None)  # later tests must not find it already imported
    assert {"eval/accuracy_before", "eval/accuracy_after"} <= set(summary)
    steps = [r for r in read_jsonl(tmp_path / "run" / "metrics.jsonl") if "reward/mean" in r]
    assert [r["step"] for r in steps] == [1, 2] and {"reward/format_reward", "reward/accuracy_reward"} <= set(steps[0])
    assert_documented(tmp_path / "run" / "metrics.jsonl", ["format_reward", "accuracy_reward"])


def test_the_yaml_form_trains_from_its_folder(tmp_path, toy_dir):
    args = ["--config", "my_recipe.yaml", "--output_dir", str(tmp_path / "run")]
    for key, value in QUICK.items():
        args += [f"--{key}", *(value if isinstance(value, list) else [str(value)])]
    proc = subprocess.run([sys.executable, "-m", "rlvr.train", *args], cwd=EXAMPLES, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "[rlvr] warning" not in proc.stdout  # eval.jsonl is held out
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["steps"] == 2
    assert "reward/format_reward" in read_jsonl(tmp_path / "run" / "metrics.jsonl")[1]


def test_the_example_rewards_follow_the_contract():
    spec = importlib.util.spec_from_file_location("docs_example_rewards", EXAMPLES / "my_rewards.py")
    rewards = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rewards)
    assert rewards.format_reward([" 19", "19 apples", [{"role": "assistant", "content": "7"}]]) == [1.0, 0.0, 1.0]


def test_no_user_facing_default_points_at_the_projects_shared_folder():
    """../shared/data sits next to the project's own checkout; a user's clone has no such folder."""
    files = [ROOT / "README.md", *(ROOT / "docs").rglob("*.md"), *(ROOT / "docs").rglob("*.py"),
             *(ROOT / "docs").rglob("*.yaml"), *(ROOT / "rlvr").rglob("*.py"), *(ROOT / "recipes").rglob("*.yaml")]
    offenders = [str(f.relative_to(ROOT)) for f in files
                 if f.name != "benchmarks.md" and re.search(r"shared/data|\.\./shared", f.read_text())]
    assert offenders == []


def test_the_site_builds_in_strict_mode(tmp_path):
    """Broken links, missing snippet files and bad API references fail the build."""
    pytest.importorskip("mkdocs")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
                          cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    page = (tmp_path / "site" / "your-data" / "index.html").read_text()
    assert "NUMBER" in page and "SETTINGS" in page and "--8&lt;--" not in page  # my_rewards.py, train.py included
