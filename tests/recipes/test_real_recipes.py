"""Every real-model recipe builds its whole training setup and takes one step: a dry run.

Only the weights are swapped (the offline toy model stands in for the Hub checkpoint, which cannot be
downloaded here) and the sizes shrunk; everything else comes from the recipe: algorithm, reward
functions and columns, DAPO settings, PPO critic, memory-aware micro-batching. Data come from
../shared/data in the Hub data sets' own layout, so a renamed column or a broken reward fails here.
"""

import json
import os
import re

import pytest

from rlvr.config import parse_config
from rlvr.train import main
from tests.conftest import SHARED_DATA, TEST_SFT_STEPS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RECIPES = {
    "gsm8k/grpo_qwen2.5-0.5b.yaml": "Qwen/Qwen2.5-0.5B-Instruct",
    "gsm8k/ppo_qwen2.5-1.5b.yaml": "Qwen/Qwen2.5-1.5B-Instruct",
    "math/grpo_dapo_qwen2.5-1.5b.yaml": "Qwen/Qwen2.5-1.5B-Instruct",
    "code/grpo_qwen2.5-coder-1.5b.yaml": "Qwen/Qwen2.5-Coder-1.5B-Instruct",
}


def _write(path, rows) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def local_data(recipe: str, tmp_path) -> tuple[str, str]:
    """Local files with the same columns as the recipe's data sets: ../shared/data when present,
    otherwise a few rows written here in the same layout (a fresh clone has no ../shared)."""
    if recipe.startswith("gsm8k/"):
        if SHARED_DATA.exists():
            return str(SHARED_DATA / "gsm8k_train.jsonl"), str(SHARED_DATA / "gsm8k_test.jsonl")
        rows = [{"question": f"Tom has {a} apples and buys {b} more. How many?", "answer": f"{a}+{b}={a + b}\n#### {a + b}"}
                for a, b in [(2, 3), (5, 7), (1, 9), (4, 4)]]
        path = _write(tmp_path / "gsm8k.jsonl", rows)
        return path, path
    if recipe.startswith("code/"):
        if SHARED_DATA.exists():
            path = str(SHARED_DATA / "leetcode_test.jsonl")
            return path, path
        tests = "def check(candidate):\n    assert candidate(nums=[1, 2]) == 3\n\ncheck(Solution().total)"
        path = _write(tmp_path / "leetcode.jsonl", [{"problem": "Return the sum of nums.", "tests": {"functional": tests}}] * 4)
        return path, path
    if SHARED_DATA.exists():
        rows = [json.loads(line) for line in open(SHARED_DATA / "math500_test.jsonl")][:64]
        test = str(SHARED_DATA / "math500_test.jsonl")
    else:
        rows = [{"problem": f"Compute ${a}+{a}$.", "answer": str(2 * a)} for a in range(4)]
        test = _write(tmp_path / "math500.jsonl", rows)
    # MATH-lighteval's layout: the reference is a worked solution ending in \boxed{}
    train = _write(tmp_path / "math_train.jsonl",
                   [{"problem": r["problem"], "solution": f"So the answer is $\\boxed{{{r['answer']}}}$."} for r in rows])
    return train, test


@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_recipe_header_names_launch_hardware_and_sourced_expectations(recipe):
    text = open(os.path.join(ROOT, "recipes", recipe)).read()
    header = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    assert header.startswith("# accelerate launch --config_file recipes/accelerate/")
    accelerate_config = re.search(r"--config_file (\S+)", header).group(1)
    assert os.path.exists(os.path.join(ROOT, accelerate_config))
    assert f"--config recipes/{recipe}" in header
    for word in ("Hardware", "Time", "Expected"):
        assert word in header
    assert re.search(r"(github\.com|qwenlm\.github\.io|arXiv:)", header)  # expected results cite a source
    config = parse_config(None, ["--config", os.path.join(ROOT, "recipes", recipe)])
    assert config.model_name_or_path == RECIPES[recipe]


@pytest.mark.slow
@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_recipe_dry_run_takes_one_step(recipe, tmp_path, toy_dir):
    train, test = local_data(recipe, tmp_path)
    path = os.path.join(ROOT, "recipes", recipe)
    config = parse_config(None, ["--config", path])
    args = ["--config", path, "--model_name_or_path", "toy", "--toy_sft_steps", str(TEST_SFT_STEPS),
            "--dtype", "float32", "--gradient_checkpointing", "false", "--dataset", train, "--eval_dataset", test,
            "--max_steps", "1", "--prompts_per_step", "2", "--max_new_tokens", "8", "--max_prompt_length", "48",
            "--num_eval_samples", "2", "--eval_steps", "0", "--save_steps", "0", "--num_mini_batches", "1",
            "--reward_num_workers", "0", "--report_to", "none", "--output_dir", str(tmp_path / "out"),
            "--disable_progress_bar", "true"]
    if config.algorithm == "grpo":
        args += ["--group_size", "2"]
    if config.micro_batch_tokens:
        args += ["--micro_batch_tokens", str(2 * (48 + 8))]
    if config.overlong_buffer:
        args += ["--overlong_buffer", "4"]
    summary = main(args)
    steps = [json.loads(line) for line in open(tmp_path / "out" / "metrics.jsonl") if "reward/mean" in line]
    assert len(steps) == 1 and "eval/accuracy_after" in summary
    if config.overlong_buffer:
        assert "reward/overlong_penalty" in steps[0]
    if config.dynamic_sampling:
        assert "dynamic_sampling/rounds" in steps[0]
