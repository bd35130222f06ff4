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
