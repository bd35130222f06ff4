"""One GRPO update on a fixed batch, or the advantages of one normalised over the global batch
(PPO's whitened GAE, REINFORCE++); run under `accelerate launch` with 1 or 2 processes.

    accelerate launch [--multi_gpu] --num_processes N tests/rlvr/trainers/dist_update.py OUT.pt \
        [ppo | reinforce_pp]

Every process samples the same full batch (same seed), keeps its own prompts' groups, and takes
one optimizer step (with gradient accumulation); the main process saves the new parameters.
"""

import sys

import torch

from rlvr.algorithms import ADVANTAGE_ESTIMATORS
from rlvr.config import GRPOConfig, PPOConfig
from rlvr.trainers import GRPOTrainer, PPOTrainer
from tests.conftest import TEST_SFT_STEPS


def my_share(trainer, spread_rewards: bool = False):
    """Every process samples and scores the same full batch (same seed) and keeps its own prompts'
    share; ``spread_rewards`` adds 0..1 across the rows so the shares' statistics differ."""
    acc = trainer.accelerator
    rows = [trainer._row(i) for i in range(trainer.config.prompts_per_step)]
    torch.manual_seed(1234)
    batch = trainer.sample(rows)  # identical on every process
    batch.rewards, batch.reward_per_func, _ = trainer.scorer(batch.prompts, batch.completions, batch.rows)
    if spread_rewards:
        batch.rewards = batch.rewards + torch.linspace(0, 1, len(batch))
    per_process = len(batch) // acc.num_processes
    return batch.select(range(acc.process_index * per_process, (acc.process_index + 1) * per_process))


def main(out_path: str) -> None:
    config = GRPOConfig(model_name_or_path="toy", toy_sft_steps=TEST_SFT_STEPS, max_new_tokens=8,
                        prompts_per_step=8, group_size=4, micro_batch_size=8, learning_rate=1e-3,
                        num_eval_samples=0, report_to=["none"], output_dir="/tmp/unused", max_grad_norm=1.0)
    trainer = GRPOTrainer(config)
    acc = trainer.accelerator
    mine = my_share(trainer)
    mine.advantages = trainer.compute_advantages(mine)
    trainer.update(mine)
    if acc.is_main_process:
        torch.save({k: v.detach().clone() for k, v in acc.unwrap_model(trainer.model).state_dict().items()}, out_path)
    acc.wait_for_everyone()


def ppo_advantages(out_path: str) -> None:
    """Every process samples the same batch, keeps its share, and whitens its GAE advantages; the
    gathered result must not depend on the number of processes."""
    config = PPOConfig(model_name_or_path="toy", toy_sft_steps=TEST_SFT_STEPS, max_new_tokens=8,
                       prompts_per_step=8, num_eval_samples=0, report_to=["none"], output_dir="/tmp/unused")
    trainer = PPOTrainer(config)
    acc = trainer.accelerator
    mine = my_share(trainer, spread_rewards=True)  # distinct returns per row
    trainer.add_logprobs(mine)
    advantages = acc.gather(trainer.compute_advantages(mine).contiguous())
    if acc.is_main_process:
        torch.save(advantages, out_path)
    acc.wait_for_everyone()


def reinforce_pp_advantages(out_path: str) -> None:
    """Every process samples the same batch and keeps its own prompts' groups; the gathered
    advantages of both REINFORCE++ estimators must not depend on the number of processes (one launch
    computes both: each launch costs more than the estimators)."""
    config = GRPOConfig(model_name_or_path="toy", toy_sft_steps=TEST_SFT_STEPS, max_new_tokens=8,
                        prompts_per_step=8, group_size=4, num_eval_samples=0, report_to=["none"],
                        output_dir="/tmp/unused", advantage_estimator="reinforce_pp")
    trainer = GRPOTrainer(config)
    acc = trainer.accelerator
    mine = my_share(trainer, spread_rewards=True)  # the halves' statistics differ
    out = {}
    for estimator in ("reinforce_pp", "reinforce_pp_baseline"):
        trainer.advantage_fn = ADVANTAGE_ESTIMATORS[estimator]
        out[estimator] = acc.gather(trainer.compute_advantages(mine).contiguous())
    if acc.is_main_process:
        torch.save(out, out_path)
    acc.wait_for_everyone()


if __name__ == "__main__":
    if sys.argv[2:] == ["ppo"]:
        ppo_advantages(sys.argv[1])
    elif sys.argv[2:] == ["reinforce_pp"]:
        reinforce_pp_advantages(sys.argv[1])
    else:
        main(sys.argv[1])
