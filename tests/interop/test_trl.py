"""rlvr's reward functions plug straight into TRL's GRPOTrainer (same contract)."""

import datasets
import pytest
import torch
from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast

from rewards.math import accuracy_reward
from rlvr.toy import arithmetic_splits


@pytest.mark.slow
def test_accuracy_reward_trains_trl_grpo_on_the_toy_model(tmp_path, toy_dir):
    from trl import GRPOConfig, GRPOTrainer

    tokenizer = PreTrainedTokenizerFast.from_pretrained(toy_dir)
    model = AutoModelForCausalLM.from_pretrained(toy_dir)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    train, _ = arithmetic_splits(0)
    config = GRPOConfig(output_dir=str(tmp_path), use_cpu=True, bf16=False, num_generations=4,
                        per_device_train_batch_size=16, max_completion_length=8, learning_rate=1e-4, beta=0.0,
                        max_steps=3, report_to="none", logging_steps=1, save_strategy="no", disable_tqdm=True)
    trainer = GRPOTrainer(model=model, reward_funcs=[accuracy_reward], args=config,
                          train_dataset=datasets.Dataset.from_list(train[:64]), processing_class=tokenizer)
    trainer.train()
    logged = [h for h in trainer.state.log_history if "rewards/accuracy_reward/mean" in h]
    assert len(logged) == 3 and all(0.0 <= h["rewards/accuracy_reward/mean"] <= 1.0 for h in logged)
    assert any(not torch.equal(before[k], v) for k, v in trainer.model.state_dict().items())


@pytest.mark.slow
def test_unit_test_reward_and_accuracy_reward_train_trl_grpo_together(tmp_path, toy_dir):
    """Both verifiers as TRL reward functions in one GRPOTrainer. The toy model writes numbers; as a
    program a completion passes its (trivial) tests exactly when it is valid Python, so the sandboxed
    unit-test reward varies within a group and TRL logs it next to the accuracy reward."""
    from trl import GRPOConfig, GRPOTrainer

    from rewards.code import unit_test_reward

    tokenizer = PreTrainedTokenizerFast.from_pretrained(toy_dir)
    model = AutoModelForCausalLM.from_pretrained(toy_dir)
    train, _ = arithmetic_splits(0)
    rows = [{**r, "tests": "assert True"} for r in train[:32]]
    config = GRPOConfig(output_dir=str(tmp_path), use_cpu=True, bf16=False, num_generations=4,
                        per_device_train_batch_size=8, max_completion_length=8, learning_rate=1e-4, beta=0.0,
                        max_steps=2, report_to="none", logging_steps=1, save_strategy="no", disable_tqdm=True,
                        temperature=1.5)
    trainer = GRPOTrainer(model=model, reward_funcs=[accuracy_reward, unit_test_reward], args=config,
                          train_dataset=datasets.Dataset.from_list(rows), processing_class=tokenizer)
    trainer.train()
    logged = [h for h in trainer.state.log_history if "rewards/unit_test_reward/mean" in h]
    assert len(logged) == 2 and all(0.0 <= h["rewards/unit_test_reward/mean"] <= 1.0 for h in logged)
    assert all("rewards/accuracy_reward/mean" in h for h in logged)
