"""Real multi-process runs: `accelerate launch --multi_gpu --num_processes 2` starts two CPU
processes with the gloo backend (`--cpu` would silently start one)."""

import json
import os
import subprocess
import sys

import pytest
import torch

from rlvr.tracking import read_jsonl
from tests.conftest import TEST_SFT_STEPS

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
RECIPE = os.path.join(ROOT, "recipes", "toy", "grpo_arithmetic.yaml")


def launch(args: list[str], processes: int, timeout: int = 600) -> subprocess.CompletedProcess:
    # an accelerate config file carries the rest (a DeepSpeed json must not meet --mixed_precision)
    defaults = [] if "--config_file" in args else [
        *(["--multi_gpu"] if processes > 1 else []), "--num_machines", "1", "--mixed_precision", "no",
        "--dynamo_backend", "no"]
    cmd = [sys.executable, "-m", "accelerate.commands.launch", *defaults, "--num_processes", str(processes), *args]
    env = {**os.environ, "PYTHONPATH": ROOT, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return proc


@pytest.mark.slow
@pytest.mark.parametrize("recipe", ["grpo_arithmetic.yaml", "grpo_arithmetic_lora.yaml"])
def test_two_processes_train_with_gloo(tmp_path, toy_dir, recipe):
    out = tmp_path / "run"
    proc = launch(["-m", "rlvr.train", "--config", os.path.join(ROOT, "recipes", "toy", recipe), "--max_steps", "3",
                   "--output_dir", str(out),
                   "--prompts_per_step", "4", "--group_size", "4", "--num_eval_samples", "16", "--report_to",
                   "none", "--toy_sft_steps", str(TEST_SFT_STEPS), "--save_steps", "2"], processes=2)
    assert "prompts_per_process=2" in proc.stdout
    steps = [r for r in read_jsonl(out / "metrics.jsonl") if "reward/mean" in r]
    assert [r["step"] for r in steps] == [1, 2, 3]
    assert os.path.exists(out / "checkpoint-2" / "state" / "random_states_1.pkl")  # both ranks' RNG
    assert os.path.exists(out / "summary.json")


@pytest.mark.slow
def test_one_update_gives_the_same_parameters_with_one_and_two_processes(tmp_path, toy_dir):
    script = os.path.join("tests", "rlvr", "trainers", "dist_update.py")
    launch([script, str(tmp_path / "one.pt")], processes=1)
    launch([script, str(tmp_path / "two.pt")], processes=2)
    one, two = torch.load(tmp_path / "one.pt"), torch.load(tmp_path / "two.pt")
    from rlvr.modeling import load_causal_lm

    initial = load_causal_lm(toy_dir).state_dict()
    moved = max((one[k] - initial[k]).abs().max().item() for k in one)
    assert moved > 1e-4  # the update really changed the weights
    for k in one:
        assert torch.allclose(one[k], two[k], atol=1e-5, rtol=1e-4), k


@pytest.mark.slow
def test_ppo_whitened_advantages_are_the_same_with_one_and_two_processes(tmp_path, toy_dir):
    script = os.path.join("tests", "rlvr", "trainers", "dist_update.py")
    launch([script, str(tmp_path / "one.pt"), "ppo"], processes=1)
    launch([script, str(tmp_path / "two.pt"), "ppo"], processes=2)
    one, two = torch.load(tmp_path / "one.pt"), torch.load(tmp_path / "two.pt")
    assert one.shape == two.shape and one.abs().sum() > 0
    assert torch.allclose(one, two, atol=1e-5)


@pytest.mark.slow
def test_reinforce_pp_advantages_are_the_same_with_one_and_two_processes(tmp_path, toy_dir):
    script = os.path.join("tests", "rlvr", "trainers", "dist_update.py")
    launch([script, str(tmp_path / "one.pt"), "reinforce_pp"], processes=1)
    launch([script, str(tmp_path / "two.pt"), "reinforce_pp"], processes=2)
    one, two = torch.load(tmp_path / "one.pt"), torch.load(tmp_path / "two.pt")
    for estimator in ("reinforce_pp", "reinforce_pp_baseline"):
        assert one[estimator].shape == two[estimator].shape == (32,) and one[estimator].abs().sum() > 0
        assert torch.allclose(one[estimator], two[estimator], atol=1e-5), estimator


@pytest.mark.slow
@pytest.mark.parametrize("recipe", ["grpo_arithmetic.yaml", "ppo_arithmetic.yaml"])
def test_deepspeed_zero2_two_processes(tmp_path, toy_dir, recipe):
    """Real DeepSpeed ZeRO-2 engines (one per trained model) on two CPU processes (gloo)."""
    out = tmp_path / "run"
    launch(["--config_file", os.path.join(ROOT, "recipes", "accelerate", "zero2.yaml"),
            "-m", "rlvr.train", "--config", os.path.join(ROOT, "recipes", "toy", recipe), "--max_steps", "3",
            "--output_dir", str(out), "--prompts_per_step", "8", "--num_eval_samples", "16", "--report_to", "none",
            "--toy_sft_steps", str(TEST_SFT_STEPS), "--save_steps", "2",
            *(["--critic_warmup_steps", "1"] if recipe.startswith("ppo") else [])], processes=2)
    steps = [r for r in read_jsonl(out / "metrics.jsonl") if "reward/mean" in r]
    assert [r["step"] for r in steps] == [1, 2, 3] and steps[-1]["grad_norm"] is not None
    state = out / "checkpoint-2" / "state"
    assert (state / "pytorch_model").is_dir()  # a DeepSpeed (ZeRO) checkpoint, not a DDP one
    if recipe.startswith("ppo"):
        assert (state / "pytorch_model_1").is_dir()  # the critic's engine
        assert steps[-1]["critic/grad_norm"] != steps[-1]["grad_norm"]
    assert os.path.exists(out / "summary.json")


@pytest.mark.slow
@pytest.mark.parametrize("recipe", ["grpo_arithmetic.yaml", "ppo_arithmetic.yaml"])
def test_deepspeed_zero3_truly_sharded_two_processes(tmp_path, toy_dir, recipe):
    """ZeRO-3 with parameter persistence threshold 0, so even the tiny model's weights are
    partitioned; generation gathers them, every rank joins every forward, the saved model is whole."""
    settings = json.load(open(os.path.join(ROOT, "recipes", "accelerate", "zero3.json")))
    settings["zero_optimization"]["stage3_param_persistence_threshold"] = 0
    (tmp_path / "zero3.json").write_text(json.dumps(settings))
    accelerate_config = open(os.path.join(ROOT, "recipes", "accelerate", "zero3.yaml")).read()
    (tmp_path / "zero3.yaml").write_text(accelerate_config.replace("recipes/accelerate/zero3.json",
                                                                   str(tmp_path / "zero3.json")))
    out = tmp_path / "run"
    launch(["--config_file", str(tmp_path / "zero3.yaml"), "-m", "rlvr.train", "--config",
            os.path.join(ROOT, "recipes", "toy", recipe), "--max_steps", "3", "--output_dir", str(out),
            "--prompts_per_step", "8", "--num_eval_samples", "16", "--report_to", "none",
            "--toy_sft_steps", str(TEST_SFT_STEPS), "--save_steps", "2", "--kl_coef", "0.05",  # + a reference
            *(["--critic_warmup_steps", "1"] if recipe.startswith("ppo") else [])], processes=2)
    steps = [r for r in read_jsonl(out / "metrics.jsonl") if "reward/mean" in r]
    assert [r["step"] for r in steps] == [1, 2, 3] and all(r["kl"] is not None for r in steps)
    shards = os.listdir(out / "checkpoint-2" / "state" / "pytorch_model")
    assert {"zero_pp_rank_0_mp_rank_00_model_states.pt", "zero_pp_rank_1_mp_rank_00_model_states.pt"} <= set(shards)
    from rlvr.modeling import load_causal_lm

    saved = load_causal_lm(str(out))  # gathered before saving: no empty tensors
    assert saved.num_parameters() > 1e6 and all(p.numel() > 0 for p in saved.parameters())
    if recipe.startswith("ppo"):
        from rlvr.critic import ValueModel

        assert ValueModel.from_pretrained(str(out / "critic")).value_head.weight.numel() == 128


@pytest.mark.slow
def test_fsdp_without_gpus_stops_with_a_clear_error(tmp_path, toy_dir):
    """accelerate would otherwise run unsynchronised processes (or silently plain DDP)."""
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--config_file",
           os.path.join(ROOT, "recipes", "accelerate", "fsdp.yaml"), "--num_processes", "2", "-m", "rlvr.train",
           "--config", RECIPE, "--max_steps", "1", "--output_dir", str(tmp_path), "--report_to", "none",
           "--toy_sft_steps", str(TEST_SFT_STEPS)]
    env = {**os.environ, "PYTHONPATH": ROOT, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert "accelerate runs FSDP on GPUs only" in proc.stderr + proc.stdout
