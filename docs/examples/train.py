"""The Python form of my_recipe.yaml (docs/your-data.md): python docs/examples/train.py

Reward functions are passed as callables, data sets as ``datasets.Dataset`` objects; everything else
is a GRPOConfig field. ``main(**overrides)`` changes any field (the docs test runs two steps).
"""

import os

import datasets
from my_rewards import format_reward  # next to this file: a script's folder is on the import path

from rewards.math import accuracy_reward
from rlvr import GRPOConfig, GRPOTrainer

HERE = os.path.dirname(os.path.abspath(__file__))
SETTINGS = dict(model_name_or_path="toy", max_new_tokens=8, prompts_per_step=8, group_size=8,
                learning_rate=1e-4, max_steps=20, num_eval_samples=32, output_dir="outputs/my_rewards_python")


def main(**overrides) -> dict:
    config = GRPOConfig(**{**SETTINGS, **overrides})
    train_rows = datasets.load_dataset("json", data_files=os.path.join(HERE, "train.jsonl"), split="train")
    eval_rows = datasets.load_dataset("json", data_files=os.path.join(HERE, "eval.jsonl"), split="train")
    trainer = GRPOTrainer(config, reward_funcs=[accuracy_reward, format_reward], train_dataset=train_rows,
                          eval_dataset=eval_rows)
    return trainer.train()


if __name__ == "__main__":
    print(main())
