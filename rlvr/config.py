"""Typed training configs: one dataclass field per knob with its help text, loaded from a YAML
recipe with ``--key value`` overrides by TRL's ``TrlParser`` (a ``HfArgumentParser``)."""

from __future__ import annotations

import dataclasses
import difflib
import functools
import json
import math
import types
import typing
from dataclasses import dataclass, field
from typing import Literal

from rlvr.algorithms import (
    ADVANTAGE_ESTIMATORS,
    IMPORTANCE_SAMPLING,
    KL_ESTIMATORS,
    LOSS_AGGREGATIONS,
    POLICY_LOSSES,
)
from rlvr.rollout import GENERATORS

# Each variant field's choices are its registry's names: a variant registered in rlvr.algorithms
# (or rlvr.rollout) is a valid value, documented by its docstring's first line, with no edit here.
AdvantageEstimator = ADVANTAGE_ESTIMATORS.literal()
PolicyLoss = POLICY_LOSSES.literal()
KLEstimator = KL_ESTIMATORS.literal()
LossAggregation = LOSS_AGGREGATIONS.literal()
ImportanceSampling = IMPORTANCE_SAMPLING.literal()
GenerationBackend = GENERATORS.literal()


class ConfigError(ValueError):
    """A config whose values do not fit together; the message says which and why."""


def _f(default, help: str, **kw):
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata={"help": _argparse_safe(help)}, **kw)
    return field(default=default, metadata={"help": _argparse_safe(help)}, **kw)


def _argparse_safe(help: str) -> str:
    """argparse %-formats help strings: "~30%" would make ``--help`` crash."""
    return help.replace("%", "%%")


@dataclass
class RLConfig:
    algorithm: str = _f("grpo", "grpo or ppo: which trainer rlvr.train runs.")
    # --- model ---
    model_name_or_path: str = _f("toy", "Hub name or local folder of the policy. 'toy' (rlvr.toy) and 'smollm2' "
                                        "(rlvr.smollm2) need no network: built once into $RLVR_CACHE "
                                        "(default ~/.cache/rlvr).")
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
                             "or a task generated offline: 'toy' (a+b=? for the toy model) or 'small_sums' "
                             "(\"What is 12 + 7?\", a, b in 0..20, for an instruct model).")
    dataset_config: str | None = _f(None, "Hub dataset configuration name (e.g. 'main' for gsm8k).")
    train_split: str = _f("train", "Split trained on.")
    eval_dataset: str | None = _f(None, "Dataset for held-out accuracy; defaults to `dataset` (whose eval_split, "
                                        "for a local file, is the training file itself: a warning says so).")
    eval_split: str = _f("test", "Split of eval_dataset used for held-out accuracy.")
    prompt_column: str = _f("prompt", "Column holding the prompt: a string or a chat message list.")
    reward_columns: list[str] | None = _f(None, "Columns passed to reward functions as keyword arguments, "
                                                "besides the prompt column, which is always passed (default: "
                                                "every column).")
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
    reward_max_concurrency: int = _f(64, "Most calls (batch-level `async def` rewards) or rows (`rewards.contract."
                                         "per_row` rewards: judges, remote checkers) in flight at once; each has "
                                         "reward_timeout_s.")
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
    generation_backend: GenerationBackend = _f(
        "rlvr", GENERATORS.help("How completions are sampled (under ZeRO-3 on weights gathered for the whole "
                                "rollout, so ranks finish independently)."))
    generation_dtype: Literal["float32", "bfloat16", "float16"] | None = _f(
        None, "Compute precision of the sampler (autocast) when it should differ from dtype (None: dtype), e.g. a "
              "bfloat16 sampler for a float32 trainer, as a bf16 inference engine would be: off-policy by rounding, "
              "see importance_sampling. Only with dtype float32.")
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
    sort_micro_batches: bool = _f(True, "Put completions of similar length in the same micro-batch (whole groups move "
                                        "together) so each is padded to its own longest row: the same gradient, less "
                                        "padding, when micro_batch_size splits a mini-batch. Every micro-batch also "
                                        "drops the columns that are padding in all its rows.")
    policy_loss: PolicyLoss = _f(
        "ppo_clip", POLICY_LOSSES.help("The policy objective, each with clip_low / clip_high as its clip range "
                                       "(gspo's paper uses 3e-4 / 4e-4: see clip_low)."))
    clip_low: float = _f(0.2, "Lower clip range: ratio >= 1 - clip_low. gspo clips a per-token geometric mean, far "
                              "closer to 1 than one token's ratio: its paper uses 3e-4 (clip_high 4e-4, loss_aggregation "
                              "seq_mean); these defaults suit per-token ratios and are not changed for you. cispo's "
                              "paper sets no lower bound (clip_low 1).")
    clip_high: float = _f(0.2, "Upper clip range: ratio <= 1 + clip_high (>clip_low = clip-higher; gspo paper: 4e-4).")
    dual_clip: float | None = _f(None, "Dual-clip constant c > 1 for negative advantages (None: off; not with cispo).")
    loss_aggregation: LossAggregation = _f(
        "token_mean", LOSS_AGGREGATIONS.help("How per-token losses become one number."))
    importance_sampling: ImportanceSampling = _f(
        "none", IMPORTANCE_SAMPLING.help("Correct the policy loss for a sampler whose log-probs differ from the "
                                         "trainer's (ρ = π_old / π_sampler, detached; see docs/concepts.md)."))
    importance_sampling_level: Literal["token", "sequence"] = _f(
        "token", "The ratio ρ of importance_sampling: each token's own, or the product over the sequence's tokens "
                 "(its likelihood ratio) on each of them.")
    importance_sampling_cap: float = _f(2.0, "The cap C of importance_sampling: tis truncates ρ at C, mis masks ρ "
                                             "outside [1/C, C] (2 as in the TIS post and TRL's first default).")
    kl_coef: float = _f(0.0, "KL penalty weight; the reference model is loaded only when > 0.")
    kl_estimator: KLEstimator = _f("k3", KL_ESTIMATORS.help("KL estimator (Schulman 2020)."))
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
        _coerce_lists(self)
        _check_choices(self)
        _check_ranges(self)
        for spec in self.reward_funcs:
            if isinstance(spec, str) and ":" not in spec:
                raise ConfigError(f"reward function {spec!r} must be written 'module:function' "
                                  "(e.g. rewards.math:accuracy_reward)")
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
        if self.reward_weights is not None:
            if len(self.reward_weights) != len(self.reward_funcs):
                raise ConfigError(f"reward_weights has {len(self.reward_weights)} entries for "
                                  f"{len(self.reward_funcs)} reward_funcs")
            if not all(_is_number(w) and math.isfinite(w) for w in self.reward_weights):
                raise ConfigError(f"reward_weights must be finite numbers, got {self.reward_weights}")
        if self.dual_clip is not None and self.dual_clip <= 1:
            raise ConfigError(f"dual_clip must be > 1, got {self.dual_clip}")
        if self.dual_clip is not None and self.policy_loss == "cispo":
            raise ConfigError("dual_clip bounds a clipped surrogate's loss; cispo has none (its importance weight "
                              "is already capped at 1 + clip_high): unset dual_clip")
        if self.kl_coef > 0 and self.kl_estimator == "k1" and self.kl_in_loss:
            # d/dθ E_π[log π - log π_ref] = E_π[∇log π] = 0: as a loss term k1 adds only noise.
            fix = ", or kl_in_reward: true to make it a reward penalty" if hasattr(self, "kl_in_reward") else ""
            raise ConfigError("kl_coef > 0 with kl_estimator k1 in the loss has zero expected gradient "
                              "(d/dθ E_π[log π - log π_ref] = 0), so it does not hold the policy near the "
                              f"reference: use kl_estimator k3 (or k2){fix}")
        if self.generation_dtype not in (None, self.dtype) and self.dtype != "float32":
            # the trainer's bf16/fp16 autocast wraps the model's forward itself, generation included
            raise ConfigError(f"generation_dtype {self.generation_dtype} differs from dtype {self.dtype}: only a "
                              "float32 trainer can sample in another precision; unset generation_dtype")
        if self.report_to == ["none"]:
            self.report_to = []

    @property
    def kl_in_loss(self) -> bool:
        """Whether ``kl_coef`` × KL is a term of the loss (always, except PPO with ``kl_in_reward``)."""
        return True

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
    advantage_estimator: AdvantageEstimator = _f(
        "grpo", ADVANTAGE_ESTIMATORS.help("Each completion's advantage from the rewards (the reinforce_pp ones "
                                          "normalise over the global batch, every process's completions)."))

    algorithm: Literal["grpo"] = _f("grpo", "grpo or ppo: which trainer rlvr.train runs.")

    def __post_init__(self):
        super().__post_init__()
        if self.group_size < 2 and self.advantage_estimator != "reinforce_pp":  # the one estimator without a group
            raise ConfigError("group_size must be >= 2: group advantages compare completions of a prompt")


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
    kl_estimator: KLEstimator = _f("k1", KL_ESTIMATORS.help("KL estimator; k1 is the classic per-token penalty."))

    def __post_init__(self):
        super().__post_init__()
        if self.policy_loss == "gspo":
            raise ConfigError("policy_loss gspo weighs a whole sequence by one advantage, but PPO's GAE advantages "
                              "are per token: use gspo_token (GSPO's sequence ratio with per-token advantages)")
        if self.kl_target is not None:
            if not self.kl_in_reward:
                raise ConfigError("kl_target adapts only the KL penalty in the reward (kl_in_reward: true); with "
                                  "kl_in_reward: false the loss keeps the fixed kl_coef: unset kl_target or set "
                                  "kl_in_reward: true")
            if self.kl_coef <= 0:
                raise ConfigError("kl_target (adaptive KL) needs an initial kl_coef > 0 to adapt")

    @property
    def kl_in_loss(self) -> bool:
        return not self.kl_in_reward


CONFIGS = {"grpo": GRPOConfig, "ppo": PPOConfig}


# The range each number must lie in (None, where a field allows it, always passes). Every rule is
# checked when a config is built, so a bad value fails before anything is loaded.
RANGES = {
    **dict.fromkeys(["prompts_per_step", "group_size", "max_new_tokens", "num_mini_batches", "ppo_epochs",
                     "max_steps", "lora_r", "max_prompt_length", "generation_batch_size", "micro_batch_size",
                     "micro_batch_tokens", "save_total_limit", "kl_horizon", "reward_max_concurrency"], ">= 1"),
    **dict.fromkeys(["toy_sft_steps", "num_eval_samples", "eval_steps", "reward_num_workers", "top_k",
                     "max_resample_rounds", "overlong_penalty_factor", "warmup_steps", "weight_decay",
                     "clip_high", "kl_coef", "log_completions_steps", "save_steps", "critic_warmup_steps"], ">= 0"),
    **dict.fromkeys(["learning_rate", "critic_learning_rate", "temperature", "reward_timeout_s", "lora_alpha",
                     "max_grad_norm", "value_loss_coef", "value_clip", "kl_target"], "> 0"),
    "top_p": "in (0, 1]",
    "gamma": "in (0, 1]",
    "lam": "in [0, 1]",
    "importance_sampling_cap": "> 1",  # mis keeps [1/C, C]: empty below 1
    "clip_low": "in [0, 1]",  # the ratio's lower bound 1 - clip_low must not be negative
    "lora_dropout": "in [0, 1)",
    "seed": "in [0, 2**32)",  # numpy's seed range
}
RULES = {
    ">= 1": lambda v: v >= 1,
    ">= 0": lambda v: v >= 0,
    "> 1": lambda v: v > 1,
    "> 0": lambda v: v > 0,
    "in (0, 1]": lambda v: 0 < v <= 1,
    "in [0, 1]": lambda v: 0 <= v <= 1,
    "in [0, 1)": lambda v: 0 <= v < 1,
    "in [0, 2**32)": lambda v: 0 <= v < 2**32,
}


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@functools.cache
def _field_types(cls) -> dict[str, object]:
    """Each field's annotation with ``| None`` removed (``from __future__`` keeps them as strings)."""
    out = {}
    for name, hint in typing.get_type_hints(cls).items():
        if typing.get_origin(hint) in (typing.Union, types.UnionType):
            hint = next(a for a in typing.get_args(hint) if a is not type(None))
        out[name] = hint
    return out


def _coerce_lists(config) -> None:
    """``reward_funcs: rewards.math:accuracy_reward`` in YAML means a list of one."""
    for name, hint in _field_types(type(config)).items():
        value = getattr(config, name)
        if typing.get_origin(hint) is list and value is not None and not isinstance(value, list):
            setattr(config, name, list(value) if isinstance(value, tuple) else [value])


def _check_choices(config) -> None:
    for name, hint in _field_types(type(config)).items():
        value = getattr(config, name)  # None: an optional choice left unset (generation_dtype)
        if typing.get_origin(hint) is Literal and value is not None and value not in typing.get_args(hint):
            raise ConfigError(f"{name} must be one of {list(typing.get_args(hint))}, got {getattr(config, name)!r}")


def _check_ranges(config) -> None:
    hints = _field_types(type(config))
    for name, rule in RANGES.items():
        value = getattr(config, name, None)
        if value is None:
            continue
        if not _is_number(value) or (hints[name] is int and not isinstance(value, int)):
            kind = "an integer" if hints[name] is int else "a number"
            raise ConfigError(f"{name} must be {kind}, got {value!r}")
        if not (math.isfinite(value) and RULES[rule](value)):
            raise ConfigError(f"{name} must be {rule}, got {value!r}")


def parse_config(config_cls=None, args: list[str] | None = None):
    """``--config recipe.yaml`` plus ``--key value`` overrides -> a config instance. Without a
    class, the recipe's (or command line's) ``algorithm`` picks it.

    Every mistake is a one-line ``ConfigError``: an unknown key (with the nearest known one), a value
    argparse cannot read, a number out of range. ``--key -1e-4`` is read as a number (argparse alone
    takes ``-1e-4`` for an option)."""
    import argparse
    import sys

    args = _join_negative_numbers(list(sys.argv[1:] if args is None else args))
    path, recipe, overrides = _read_recipe(args)
    if config_cls is None:
        peek = argparse.ArgumentParser(add_help=False, exit_on_error=False)
        peek.add_argument("--algorithm")
        try:
            algorithm = peek.parse_known_args(overrides)[0].algorithm or recipe.get("algorithm") or "grpo"
        except argparse.ArgumentError as exc:
            raise ConfigError(str(exc)) from exc
        if algorithm not in CONFIGS:
            raise ConfigError(f"algorithm must be one of {sorted(CONFIGS)}, got {algorithm!r}")
        config_cls = CONFIGS[algorithm]
    for key in recipe:
        if key != "env":
            _check_known(config_cls, key, f"in {path}", "")
    parser = _parser(config_cls)
    # parse_known_args builds no config, so a misspelt key is reported before any value check
    _, rest = argparse.ArgumentParser.parse_known_args(parser, overrides)
    for token in rest:
        if not token.startswith("--"):
            hint = f"; did you mean --config {token}?" if token.endswith((".yaml", ".yml")) else ""
            raise ConfigError(f"unexpected argument {token!r} on the command line (options are --key value){hint}")
        _check_known(config_cls, token[2:].split("=")[0].replace("-", "_"), "on the command line", "--")
    (config,) = parser.parse_args_and_config(args)
    return config


def _join_negative_numbers(args: list[str]) -> list[str]:
    """``--learning_rate -1e-4`` -> ``--learning_rate=-1e-4``: argparse reads a token that starts with
    '-' as an option unless it looks like a plain negative number (so ``-1e-4`` fails, ``-0.5`` does not)."""
    out: list[str] = []
    for token in args:
        previous = out[-1] if out else ""
        if previous.startswith("--") and "=" not in previous and token.startswith("-") and _parses_as_float(token):
            out[-1] = f"{previous}={token}"
        else:
            out.append(token)
    return out


def _parses_as_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_recipe(args: list[str]) -> tuple[str | None, dict, list[str]]:
    """The ``--config`` file's path, its mapping and the other arguments (``--config=path`` is split
    into two tokens in place, as TrlParser expects)."""
    import yaml

    for i, token in enumerate(args):
        if token.startswith("--config="):
            args[i : i + 1] = ["--config", token.split("=", 1)[1]]
    if "--config" not in args:
        return None, {}, args
    i = args.index("--config")
    if i + 1 == len(args):
        raise ConfigError("--config needs a recipe file: --config recipes/toy/grpo_arithmetic.yaml")
    path = args[i + 1]
    try:
        with open(path) as f:
            recipe = yaml.safe_load(f)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path!r}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}" if where else ""
        raise ConfigError(f"config file {path} is not valid YAML{line}: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(recipe, dict):
        raise ConfigError(f"config file {path} must hold 'key: value' lines, got {type(recipe).__name__}")
    return path, recipe, args[:i] + args[i + 2 :]


def _check_known(config_cls, key: str, where: str, prefix: str) -> None:
    names = [f.name for f in dataclasses.fields(config_cls)]
    if key in names:
        return
    owner = next((a for a, cls in CONFIGS.items() if key in {f.name for f in dataclasses.fields(cls)}), None)
    if owner:
        current = next(a for a, cls in CONFIGS.items() if cls is config_cls)
        raise ConfigError(f"option '{prefix}{key}' {where} is a {owner} option, but the algorithm is {current} "
                          f"(set algorithm: {owner}, or remove it)")
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
    hint = f"did you mean '{prefix}{close[0]}'?" if close else "python -m rlvr.train --help lists every option"
    raise ConfigError(f"unknown option '{prefix}{key}' {where}; {hint}")


def _parser(config_cls):
    """TrlParser (YAML defaults + ``--key value``) whose errors are one-line ConfigErrors instead of
    argparse's usage screen, and which takes no abbreviations (``--max_step`` is a typo, not max_steps)."""
    from trl import TrlParser

    class Parser(TrlParser):
        def error(self, message):
            raise ConfigError(message)

    return Parser(dataclass_types=[config_cls], allow_abbrev=False)
