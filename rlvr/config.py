"""Typed training configs: one dataclass field per knob with its help text, loaded from a YAML
recipe with ``--key value`` overrides by TRL's ``TrlParser`` (a ``HfArgumentParser``)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Literal

from rlvr.algorithms import ADVANTAGE_ESTIMATORS, KL_ESTIMATORS, LOSS_AGGREGATIONS


class ConfigError(ValueError):
    """A config whose values do not fit together; the message says which and why."""


def _f(default, help: str, **kw):
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata={"help": help}, **kw)
    return field(default=default, metadata={"help": help}, **kw)


@dataclass
class RLConfig:
    algorithm: str = _f("grpo", "grpo or ppo: which trainer rlvr.train runs.")
    # --- model ---
    model_name_or_path: str = _f("toy", "Hub name or local folder of the policy; 'toy' builds (or reuses) "
                                        "the offline tiny model of rlvr.toy.")
    toy_sft_steps: int = _f(500, "Supervised warm-start steps for model_name_or_path=toy.")
    toy_size: Literal["tiny", "20m"] = _f("tiny", "Toy model size for model_name_or_path=toy.")
    dtype: Literal["float32", "bfloat16", "float16"] = _f("float32", "Weights dtype when loading.")
    gradient_checkpointing: bool = _f(False, "Recompute activations in the backward pass: less memory, ~30% "
                                             "more update time (turns off the shared-prompt forward).")
    use_peft: bool = _f(False, "Train LoRA adapters instead of all weights; the reference model is then the "
                               "base with adapters disabled (no second copy).")
    lora_r: int = _f(16, "LoRA rank.")
    lora_alpha: int = _f(32, "LoRA scaling numerator (scale = lora_alpha / lora_r).")
    lora_dropout: float = _f(0.0, "Dropout on the LoRA path (0 keeps sampling and training log-probs equal).")
    lora_target_modules: list[str] = _f(["all-linear"], "Modules that get adapters ('all-linear' or names "
                                                        "such as q_proj v_proj).")
    # --- data ---
    dataset: str = _f("toy", "Hub name, local .json/.jsonl/.parquet file (the whole file is the split), "
                             "or 'toy' (the a+b task).")
    dataset_config: str | None = _f(None, "Hub dataset configuration name (e.g. 'main' for gsm8k).")
    train_split: str = _f("train", "Split trained on.")
    eval_dataset: str | None = _f(None, "Dataset for held-out accuracy; defaults to `dataset`.")
    eval_split: str = _f("test", "Split of eval_dataset used for held-out accuracy.")
    prompt_column: str = _f("prompt", "Column holding the prompt: a string or a chat message list.")
    reward_columns: list[str] | None = _f(None, "Columns passed to reward functions as keyword arguments "
                                                "(default: every column but the prompt).")
    system_prompt: str | None = _f(None, "System message prepended to every prompt.")
    use_chat_template: bool = _f(True, "Wrap string prompts as a user turn in the tokenizer's chat template.")
    max_prompt_length: int | None = _f(None, "Keep at most this many prompt tokens (the last ones).")
    num_eval_samples: int = _f(500, "Held-out prompts for greedy accuracy before/after training (0: skip).")
    eval_steps: int = _f(0, "Also measure held-out accuracy every N steps (0: only before and after).")
    # --- rewards ---
    reward_funcs: list[str] = _f(["rewards.math:accuracy_reward"],
                                 "Reward functions as 'module:function' import paths.")
    reward_weights: list[float] | None = _f(None, "One weight per reward function (default: all 1).")
    reward_timeout_s: float = _f(60.0, "Time limit for one reward function on one batch.")
    reward_on_error: Literal["raise", "none"] = _f("raise", "A reward function that raises or times out "
                                                            "stops training ('raise') or scores None ('none').")
    reward_num_workers: int = _f(0, "Process-pool workers for reward functions (0: threads in-process).")
    eval_reward: str | None = _f(None, "Reward function whose full credit counts as correct in held-out "
                                       "accuracy (default: the first of reward_funcs).")
    # --- sampling ---
    prompts_per_step: int = _f(8, "Prompts per optimizer step, summed over all processes.")
    group_size: int = _f(8, "Completions sampled per prompt (G).")
    max_new_tokens: int = _f(256, "Most tokens sampled per completion.")
    temperature: float = _f(1.0, "Sampling temperature (also applied to the training log-probs).")
    top_p: float = _f(1.0, "Nucleus sampling threshold.")
    top_k: int = _f(0, "Top-k sampling (0: off).")
    generation_batch_size: int | None = _f(None, "Most sequences generated at once (default: all).")
    generation_backend: Literal["rlvr", "hf"] = _f(
        "rlvr", "rlvr: lean KV-cache sampling loop (same tokens as generate, less overhead); hf: "
                "transformers generate (any model, synced_gpus for ZeRO-3).")
    dynamic_sampling: bool = _f(False, "Drop groups whose rewards are all equal and sample new prompts "
                                       "to refill (DAPO).")
    max_resample_rounds: int = _f(4, "Extra sampling rounds allowed per step by dynamic_sampling.")
    mask_truncated_completions: bool = _f(False, "Exclude completions without eos from the loss.")
    overlong_buffer: int = _f(0, "DAPO soft overlong punishment: the last N tokens before max_new_tokens "
                                 "ramp a reward penalty from 0 to -overlong_penalty_factor (0: off).")
    overlong_penalty_factor: float = _f(1.0, "Largest overlong penalty (reached at max_new_tokens).")
    # --- optimisation ---
    learning_rate: float = _f(1e-6, "AdamW learning rate.")
    lr_scheduler_type: str = _f("constant", "transformers scheduler name (constant, linear, cosine, ...).")
    warmup_steps: int = _f(0, "Learning-rate warm-up optimizer steps.")
    weight_decay: float = _f(0.0, "AdamW weight decay.")
    max_grad_norm: float | None = _f(1.0, "Gradient clipping norm (None: off).")
    num_mini_batches: int = _f(1, "Optimizer steps per rollout batch (>1 makes later ones off-policy).")
    ppo_epochs: int = _f(1, "Passes over each rollout batch.")
    micro_batch_size: int | None = _f(None, "Completions per forward/backward on one process; gradients "
                                            "accumulate over a mini-batch (default: the whole mini-batch).")
    micro_batch_tokens: int | None = _f(None, "Memory-aware micro-batching: the largest micro-batch (a divisor "
                                              "of the mini-batch) whose padded prompt + completion tokens fit "
                                              "this budget, from max_prompt_length + max_new_tokens.")
    clip_low: float = _f(0.2, "Lower clip range: ratio >= 1 - clip_low.")
    clip_high: float = _f(0.2, "Upper clip range: ratio <= 1 + clip_high (>clip_low = clip-higher).")
    dual_clip: float | None = _f(None, "Dual-clip constant c > 1 for negative advantages (None: off).")
    loss_aggregation: Literal["token_mean", "seq_mean", "constant_norm"] = _f(
        "token_mean", "token_mean (DAPO), seq_mean (GRPO paper) or constant_norm (Dr. GRPO).")
    kl_coef: float = _f(0.0, "KL penalty weight; the reference model is loaded only when > 0.")
    kl_estimator: Literal["k1", "k2", "k3"] = _f("k3", "KL estimator (Schulman 2020).")
    # --- loop, logging, checkpoints ---
    max_steps: int = _f(100, "Training steps (one rollout batch each).")
    seed: int = _f(0, "Seed for data order, sampling and initialisation.")
    output_dir: str = _f("outputs/run", "Where metrics, plots, samples and checkpoints go.")
    report_to: list[str] = _f(["tensorboard"], "accelerate trackers (tensorboard, wandb, ...); 'none' for none.")
    log_completions_steps: int = _f(10, "Write sampled completions to completions.jsonl every N steps.")
    save_steps: int = _f(0, "Checkpoint every N steps (0: only at the end).")
    save_total_limit: int | None = _f(None, "Keep only the N newest checkpoints (None: all).")
    resume_from_checkpoint: str | None = _f(None, "A checkpoint folder, or 'latest' in output_dir.")
    disable_progress_bar: bool = _f(False, "Hide the progress bar.")

    def __post_init__(self):
        positive = ["prompts_per_step", "group_size", "max_new_tokens", "num_mini_batches", "ppo_epochs",
                    "max_steps"]
        for name in positive:
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.save_total_limit is not None and self.save_total_limit < 1:
            raise ConfigError(f"save_total_limit must be >= 1 (or None to keep every checkpoint), "
                              f"got {self.save_total_limit}")
        if self.temperature <= 0:
            raise ConfigError(f"temperature must be > 0 for sampling, got {self.temperature}")
        if self.micro_batch_size is not None and self.micro_batch_size < 1:
            raise ConfigError(f"micro_batch_size must be >= 1, got {self.micro_batch_size}")
        if self.micro_batch_tokens is not None:
            if self.micro_batch_size is not None:
                raise ConfigError("set micro_batch_size or micro_batch_tokens, not both")
            if self.max_prompt_length is None:
                raise ConfigError("micro_batch_tokens needs max_prompt_length (the worst-case prompt length)")
            if self.micro_batch_tokens < self.max_prompt_length + self.max_new_tokens:
                raise ConfigError(f"micro_batch_tokens={self.micro_batch_tokens} cannot hold one sequence of "
                                  f"max_prompt_length + max_new_tokens = {self.max_prompt_length + self.max_new_tokens}")
        if not 0 <= self.overlong_buffer < self.max_new_tokens:
            raise ConfigError(f"overlong_buffer must be in [0, max_new_tokens), got {self.overlong_buffer}")
        if self.reward_weights is not None and len(self.reward_weights) != len(self.reward_funcs):
            raise ConfigError(f"reward_weights has {len(self.reward_weights)} entries for "
                              f"{len(self.reward_funcs)} reward_funcs")
        if self.dual_clip is not None and self.dual_clip <= 1:
            raise ConfigError(f"dual_clip must be > 1, got {self.dual_clip}")
        for name, value, options in [("kl_estimator", self.kl_estimator, KL_ESTIMATORS),
                                     ("loss_aggregation", self.loss_aggregation, LOSS_AGGREGATIONS)]:
            if value not in options:
                raise ConfigError(f"{name} must be one of {sorted(options)}, got {value!r}")
        if self.report_to == ["none"]:
            self.report_to = []

    def sizes(self, num_processes: int) -> BatchSizes:
        """Per-process batch sizes, derived once and checked with a clear error."""
        if self.prompts_per_step % num_processes:
            raise ConfigError(f"prompts_per_step={self.prompts_per_step} must be divisible by the "
                              f"{num_processes} processes (each samples whole groups for its own prompts)")
        prompts = self.prompts_per_step // num_processes
        completions = prompts * self.group_size
        if completions % self.num_mini_batches:
            raise ConfigError(f"{completions} completions per process (prompts_per_step / processes × "
                              f"group_size) must be divisible by num_mini_batches={self.num_mini_batches}")
        mini = completions // self.num_mini_batches
        micro = self.micro_batch_size or mini
        if self.micro_batch_tokens is not None:  # the largest divisor of the mini-batch within the token budget
            per_sequence = self.max_prompt_length + self.max_new_tokens
            micro = max(d for d in range(1, mini + 1) if mini % d == 0 and d * per_sequence <= self.micro_batch_tokens)
        if mini % micro:
            raise ConfigError(f"a mini-batch of {mini} completions per process must be divisible by "
                              f"micro_batch_size={micro}")
        # Micro-batches of whole groups run each prompt once (shared-prefix forward).
        # (not with gradient checkpointing, which drops the KV cache that sharing relies on)
        share = self.group_size if micro % self.group_size == 0 and not self.gradient_checkpointing else 1
        return BatchSizes(prompts, completions, mini, micro, mini // micro, share)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)


@dataclass(frozen=True)
class BatchSizes:
    prompts_per_process: int
    completions_per_process: int
    mini_batch_size: int  # completions per optimizer step, per process
    micro_batch_size: int  # completions per forward/backward
    grad_accum_steps: int  # micro-batches per optimizer step
    prefix_share: int  # rows per shared prompt forward: group_size when micro-batches hold whole groups


@dataclass
class GRPOConfig(RLConfig):
    advantage_estimator: Literal["grpo", "dr_grpo", "rloo"] = _f(
        "grpo", "grpo (std-normalised), dr_grpo (mean-centred) or rloo (leave-one-out baseline).")

    algorithm: Literal["grpo"] = _f("grpo", "grpo or ppo: which trainer rlvr.train runs.")

    def __post_init__(self):
        super().__post_init__()
        if self.group_size < 2:
            raise ConfigError("group_size must be >= 2: group advantages compare completions of a prompt")
        if self.advantage_estimator not in ADVANTAGE_ESTIMATORS:
            raise ConfigError(f"advantage_estimator must be one of {sorted(ADVANTAGE_ESTIMATORS)}, "
                              f"got {self.advantage_estimator!r}")


@dataclass
class PPOConfig(RLConfig):
    algorithm: Literal["ppo"] = _f("ppo", "grpo or ppo: which trainer rlvr.train runs.")
    critic_model_name_or_path: str | None = _f(None, "Critic backbone (Hub name or folder); default: a copy "
                                                     "of the policy. A scalar value head is added on top.")
    critic_share_backbone: bool = _f(False, "Put the value head on the policy's own backbone: no second "
                                            "model in memory, but value and policy losses share (and "
                                            "can disturb) the same weights. Not with DeepSpeed.")
    critic_learning_rate: float = _f(1e-5, "Critic AdamW learning rate (the value head's, when shared).")
    value_loss_coef: float = _f(0.5, "Weight of the value loss (matters most with a shared backbone).")
    critic_warmup_steps: int = _f(0, "First RL steps that update only the critic (the policy waits for "
                                     "useful values).")
    value_clip: float | None = _f(0.2, "Value clipping range around the rollout-time values (None: off).")
    gamma: float = _f(1.0, "Discount factor of GAE.")
    lam: float = _f(0.95, "GAE lambda (bias-variance trade-off of the advantage).")
    whiten_advantages: bool = _f(True, "Normalise advantages over the valid tokens of each batch.")
    kl_in_reward: bool = _f(True, "Put -kl_coef * KL in the per-token reward (classic RLHF PPO) instead of "
                                  "adding kl_coef * KL to the loss.")
    kl_target: float | None = _f(None, "Adapt kl_coef so the per-sequence KL tracks this value "
                                       "(Ziegler et al. 2019); None: fixed kl_coef.")
    kl_horizon: int = _f(10_000, "Sequences over which the adaptive KL controller moves kl_coef by ±20%.")
    group_size: int = _f(1, "Completions sampled per prompt (the critic, not the group, is the baseline).")
    kl_estimator: Literal["k1", "k2", "k3"] = _f("k1", "KL estimator; k1 is the classic per-token penalty.")

    def __post_init__(self):
        super().__post_init__()
        if not 0 <= self.lam <= 1 or not 0 < self.gamma <= 1:
            raise ConfigError(f"need 0 <= lam <= 1 and 0 < gamma <= 1, got lam={self.lam}, gamma={self.gamma}")
        if self.kl_target is not None and (self.kl_target <= 0 or self.kl_coef <= 0):
            raise ConfigError("kl_target (adaptive KL) needs kl_target > 0 and an initial kl_coef > 0")


CONFIGS = {"grpo": GRPOConfig, "ppo": PPOConfig}


def parse_config(config_cls=None, args: list[str] | None = None):
    """``--config recipe.yaml`` plus ``--key value`` overrides -> a config instance. Without a
    class, the recipe's (or command line's) ``algorithm`` picks it."""
    import argparse
    import sys

    import yaml
    from trl import TrlParser

    args = list(sys.argv[1:] if args is None else args)
    if config_cls is None:
        known = argparse.ArgumentParser(add_help=False)
        known.add_argument("--config")
        known.add_argument("--algorithm")
        peek, _ = known.parse_known_args(args)
        algorithm = peek.algorithm
        if algorithm is None and peek.config:
            with open(peek.config) as f:
                algorithm = (yaml.safe_load(f) or {}).get("algorithm")
        algorithm = algorithm or "grpo"
        if algorithm not in CONFIGS:
            raise ConfigError(f"algorithm must be one of {sorted(CONFIGS)}, got {algorithm!r}")
        config_cls = CONFIGS[algorithm]
    (config,) = TrlParser(dataclass_types=[config_cls]).parse_args_and_config(args)
    return config
