"""The RL loop shared by every trainer: rollout -> score -> advantages -> update, on accelerate.

Subclasses change only ``compute_advantages`` (and, for PPO, add a critic). Each process samples
whole groups for its own prompts, so group statistics need no communication; statistics of the
global batch (REINFORCE++, PPO's whitening) and the loss normaliser are summed over processes
(``all_reduce_sum``), so 1 and N processes take the same optimizer step.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections import defaultdict
from contextlib import contextmanager, nullcontext

import torch
from accelerate import Accelerator, DistributedType
from accelerate.state import AcceleratorState
from accelerate.utils import InitProcessGroupKwargs, is_npu_available, is_xpu_available, set_seed
from tqdm.auto import tqdm
from transformers import get_scheduler

from rlvr import algorithms as A
from rlvr.checkpoint import (
    load_checkpoint,
    register_checkpoint_hooks,
    resolve_checkpoint,
    save_checkpoint,
    save_model,
)
from rlvr.config import ConfigError, RLConfig
from rlvr.data import (
    PromptSampler,
    check_reward_columns,
    eval_overlap_warning,
    format_prompt,
    import_reward,
    load_rows,
    validate_rows,
)
from rlvr.evaluation import count_correct, greedy_accuracy
from rlvr.hub import check_model_source
from rlvr.modeling import (
    add_lora,
    completion_logprobs,
    disable_dropout,
    enable_activation_checkpointing,
    load_causal_lm,
    load_tokenizer,
    resolve_model_path,
)
from rlvr.rollout import GENERATORS, SamplingParams, sample_rollout
from rlvr.scoring import Scorer, reward_name
from rlvr.tracking import JsonlLog, plot_training
from rlvr.types import Rollout, cat_rollouts, pad_columns

RUN_CONFIG = "run_config.json"  # not config.json: the saved model's own config.json goes to the same folder


# Trained weights stay float32 ("master weights") whatever ``dtype`` says: ``dtype`` is the compute
# precision, bf16/fp16 by autocast. AdamW on bf16 weights loses every update below bf16's
# resolution (~0.4% of a weight): with lr 1e-6 almost nothing moves. Under DeepSpeed the engine
# keeps the fp32 copy itself (its bf16/fp16 section is filled from this setting).
MIXED_PRECISION = {"float32": "no", "bfloat16": "bf16", "float16": "fp16"}


def _make_accelerator(c: RLConfig) -> Accelerator:
    # Without an accelerator device, accelerate only goes multi-process when told cpu=True (gloo),
    # and under DeepSpeed only when told the backend: otherwise every process believes it is alone.
    no_device = not (torch.cuda.is_available() or is_xpu_available() or is_npu_available())
    if no_device and os.environ.get("ACCELERATE_USE_FSDP", "false").lower() == "true":
        # accelerate would quietly run unsynchronised processes (cpu=False) or plain DDP (cpu=True)
        raise ConfigError("accelerate runs FSDP on GPUs only; on a CPU use recipes/accelerate/ddp.yaml, "
                          "zero2.yaml or zero3.yaml")
    deepspeed = os.environ.get("ACCELERATE_USE_DEEPSPEED", "false").lower() == "true"
    handlers = [InitProcessGroupKwargs(backend="gloo")] if no_device and deepspeed else []
    if no_device and c.dtype == "float16":
        raise ConfigError("dtype float16 needs a GPU (fp16 autocast with loss scaling); use bfloat16 or float32")
    state = AcceleratorState._shared_state
    if state and state.get("_mixed_precision") != MIXED_PRECISION[c.dtype]:
        # accelerate's state is one per process and refuses a new precision; a second trainer in the
        # same process (a notebook, a test session) may train in another dtype. The process group
        # (PartialState) is kept.
        AcceleratorState._reset_state()
    accelerator = Accelerator(cpu=no_device and not deepspeed, log_with=c.report_to or None,
                              mixed_precision=MIXED_PRECISION[c.dtype], project_dir=c.output_dir,
                              step_scheduler_with_optimizer=False, kwargs_handlers=handlers)
    if accelerator.distributed_type == DistributedType.NO and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise ConfigError(f"{os.environ['WORLD_SIZE']} processes were launched but accelerate set up none of them "
                          "as distributed: they would train unsynchronised copies")
    return accelerator


def reduce_stat(key: str, values: torch.Tensor) -> torch.Tensor:
    """Combine one metric's values over micro-batches or processes: a ``*_max`` by its max, a
    ``*_min`` by its min, anything else by its mean."""
    if key.endswith("_max"):
        return values.max()
    if key.endswith("_min"):
        return values.min()
    return values.mean()


@contextmanager
def _gathered_for_generation(engine):
    """ZeRO-3: every parameter gathered on every rank for the whole rollout, with DeepSpeed's
    per-module fetch hooks removed meanwhile (they would re-partition mid-generation)."""
    import deepspeed
    from trl.models.utils import add_hooks, remove_hooks

    with deepspeed.zero.GatheredParameters(list(engine.parameters())):
        remove_hooks(engine)
        try:
            yield
        finally:
            add_hooks(engine)


class Timer:
    """Accumulates wall time per phase within one step."""

    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)

    @contextmanager
    def __call__(self, phase: str):
        start = time.perf_counter()
        yield
        self.seconds[phase] += time.perf_counter() - start


class RLTrainer:
    """Set-up and loop. ``step()`` is the whole algorithm; everything else is plumbing."""

    def __init__(self, config: RLConfig, model=None, tokenizer=None, reward_funcs=None,
                 train_dataset=None, eval_dataset=None):
        self.config = c = config
        self.accelerator = _make_accelerator(c)
        self.sizes = c.sizes(self.accelerator.num_processes)
        self.accelerator.gradient_accumulation_steps = self.sizes.grad_accum_steps
        set_seed(c.seed, device_specific=True)  # each process samples different completions

        # Everything that can be wrong in the config, the rewards or the data fails here, before a
        # model is downloaded or loaded.
        reward_specs = reward_funcs or c.reward_funcs
        self.reward_funcs = [import_reward(f) for f in reward_specs]
        names = [reward_name(f) for f in self.reward_funcs]
        if c.eval_reward is not None and c.eval_reward not in names:
            raise ConfigError(f"eval_reward {c.eval_reward!r} is not one of the reward functions {names}")
        self.eval_reward = self.reward_funcs[names.index(c.eval_reward)] if c.eval_reward else self.reward_funcs[0]
        self._load_data(train_dataset, eval_dataset, reward_specs)
        if model is None or tokenizer is None:
            check_model_source(c.model_name_or_path)  # seconds, not a minute of retries, when offline
        path = None if model is not None and tokenizer is not None else resolve_model_path(
            c.model_name_or_path, c.toy_sft_steps, c.seed, c.toy_size)
        self.tokenizer = tokenizer or load_tokenizer(path)
        model = model or load_causal_lm(path, "float32")  # master weights (see MIXED_PRECISION)
        if any(p.dtype in (torch.bfloat16, torch.float16) for p in model.parameters()):
            model = model.float()  # a half-precision model passed in gets master weights too
        disable_dropout(model)
        self.ref_model = None
        if c.gradient_checkpointing:
            enable_activation_checkpointing(model)
            if c.use_peft:
                model.enable_input_require_grads()  # frozen embeddings would cut the recomputed graph
        if c.use_peft:
            model = add_lora(model, c.lora_r, c.lora_alpha, c.lora_dropout, c.lora_target_modules)
        elif c.kl_coef > 0:  # a frozen copy of the initial policy, only when the KL term is used
            # the policy's exact starting point: float32 weights under the same autocast, so the KL is 0
            # before the first update (bf16-stored weights would already differ by ~1e-3 per token)
            self.ref_model = load_causal_lm(path or model.name_or_path, "float32").eval().requires_grad_(False)

        self.scorer = Scorer(self.reward_funcs, c.reward_weights, c.reward_timeout_s, c.reward_on_error,
                             c.reward_num_workers, c.reward_max_concurrency)

        optimizer, scheduler = self.make_optimizer(model, c.learning_rate)
        plugin = self.accelerator.state.deepspeed_plugin
        if plugin is not None:  # no dataloader tells DeepSpeed the batch sizes: set them here
            plugin.deepspeed_config.update({
                "train_micro_batch_size_per_gpu": self.sizes.micro_batch_size,
                "gradient_accumulation_steps": self.sizes.grad_accum_steps,
                "train_batch_size": self.sizes.micro_batch_size * self.sizes.grad_accum_steps
                * self.accelerator.num_processes,
                "gradient_clipping": c.max_grad_norm or 0.0})
        self.model, self.optimizer, self.scheduler = self.accelerator.prepare(model, optimizer, scheduler)
        # Train mode for every training forward: Hugging Face models checkpoint activations only when
        # ``model.training`` (from_pretrained returns eval mode); generation switches to eval itself.
        self.model.train()
        register_checkpoint_hooks(self.accelerator, lambda: self.model)
        if self.ref_model is not None:
            self.ref_model = self._place_reference(self.ref_model)
        self.accelerator.register_for_checkpointing(self.sampler)
        self.generator = GENERATORS[c.generation_backend](
            self.accelerator.unwrap_model(self.model), self.tokenizer.pad_token_id, self.tokenizer.eos_token_id,
            batch_size=c.generation_batch_size)
        self.sampling = SamplingParams(c.max_new_tokens, c.temperature, c.top_p, c.top_k)
        self.kl_fn = A.KL_ESTIMATORS[c.kl_estimator]
        self.policy_loss_fn = A.POLICY_LOSSES[c.policy_loss]
        self.global_step = 0
        self.history: dict = {}

    def _place_reference(self, ref_model):
        """The frozen reference is never registered with accelerate (nothing of it is trained or
        checkpointed): under DeepSpeed it gets an inference engine (sharded with ZeRO-3, via TRL's
        helper), elsewhere it is simply moved to the device."""
        if self.accelerator.distributed_type == DistributedType.DEEPSPEED:
            from trl.models.utils import prepare_deepspeed

            return prepare_deepspeed(ref_model, self.accelerator)
        return ref_model.to(self.accelerator.device)

    def make_optimizer(self, model, learning_rate: float):
        """AdamW and its schedule over the whole run's optimizer steps. fused: one kernel for all
        parameters (CPU and GPU); the per-tensor loop costs milliseconds per step."""
        c = self.config
        optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=c.weight_decay,
                                      fused=all(p.dtype in (torch.float32, torch.float16, torch.bfloat16)
                                                for p in model.parameters()))
        total_updates = c.max_steps * c.num_mini_batches * c.ppo_epochs
        return optimizer, get_scheduler(c.lr_scheduler_type, optimizer, c.warmup_steps, total_updates)

    def trained(self) -> list[tuple[str, torch.nn.Module, torch.optim.Optimizer, object]]:
        """(name, model, optimizer, scheduler) of every model updated this step."""
        return [("policy", self.model, self.optimizer, self.scheduler)]

    # -- data ---------------------------------------------------------------------------------

    def _load_data(self, train_dataset, eval_dataset, reward_specs) -> None:
        c = self.config
        train = train_dataset if train_dataset is not None else load_rows(
            c.dataset, c.train_split, c.dataset_config, c.seed)
        self.reward_columns = c.reward_columns or [k for k in train.column_names if k != c.prompt_column]
        name = "train_dataset" if train_dataset is not None else f"dataset {c.dataset}"
        validate_rows(train, c.prompt_column, self.reward_columns, name)
        check_reward_columns(train, reward_specs, c.prompt_column, c.reward_columns, name)
        self.train_rows = train
        self.sampler = PromptSampler(len(train), c.seed)
        self.eval_rows = []
        if c.num_eval_samples > 0:
            name = "eval_dataset" if eval_dataset is not None else f"eval dataset {c.eval_dataset or c.dataset}"
            if eval_dataset is None:
                eval_dataset = load_rows(c.eval_dataset or c.dataset, c.eval_split, c.dataset_config, c.seed)
            eval_dataset = eval_dataset.select(range(min(c.num_eval_samples, len(eval_dataset))))
            # an eval set may name its reference differently (MATH's solution vs MATH-500's answer)
            eval_columns = c.reward_columns or [k for k in eval_dataset.column_names if k != c.prompt_column]
            validate_rows(eval_dataset, c.prompt_column, eval_columns, name)
            check_reward_columns(eval_dataset, [self.eval_reward], c.prompt_column, None, name)  # gets every column
            self.eval_rows = eval_dataset.to_list()
            warning = eval_overlap_warning(train, self.eval_rows, c.prompt_column)
            if warning and self.accelerator.is_main_process:
                print(f"[rlvr] warning: {warning}", flush=True)

    def _row(self, i: int) -> dict:
        row = self.train_rows[i]
        return {k: row[k] for k in [self.config.prompt_column, *self.reward_columns]}

    def _prompt_text(self, row: dict) -> str:
        c = self.config
        return format_prompt(self.tokenizer, row[c.prompt_column], c.system_prompt, c.use_chat_template)

    # -- one step -----------------------------------------------------------------------------

    def step(self) -> dict[str, float]:
        """One RL step: sample and score groups, add log-probs, advantages, then update."""
        timer = Timer()
        start = time.perf_counter()
        batch, metrics = self.sample_batch(timer)  # rollout + score (+ dynamic sampling refills)
        sampled_tokens = batch.completion_mask.sum().float()
        batch.completion_mask = self.loss_mask(batch)
        with timer("rollout"):
            self.add_logprobs(batch)  # old (when updates go off-policy or are corrected) and reference log-probs
        metrics |= self.add_importance_weights(batch)  # sampler ≠ π_old: importance_sampling
        batch.advantages = self.compute_advantages(batch)
        self.last_batch = batch
        with timer("update"):
            metrics |= self.update(batch)
        step_s = time.perf_counter() - start
        tokens = self.accelerator.reduce(sampled_tokens, "sum").item()
        metrics |= {f"time/{k}_s": v for k, v in timer.seconds.items()}
        metrics |= {"time/step_s": step_s, "tokens/s": tokens / step_s}
        return metrics

    def sample_batch(self, timer: Timer) -> tuple[Rollout, dict[str, float]]:
        """This process's groups for one step. With dynamic sampling, groups whose rewards are all
        equal (zero advantage) are dropped and more prompts are sampled, every process in lockstep
        so the prompt stream stays identical on all of them."""
        c, s, acc = self.config, self.sizes, self.accelerator
        kept, dropped, metrics = [], [], {}
        for round_ in range(1 + (c.max_resample_rounds if c.dynamic_sampling else 0)):
            index = self.sampler.take(c.prompts_per_step)
            mine = index[acc.process_index * s.prompts_per_process : (acc.process_index + 1) * s.prompts_per_process]
            rows = [self._row(i) for i in mine]
            with timer("rollout"):
                rollout = self.sample(rows)
            with timer("score"):
                verifier_rewards, rollout.reward_per_func, score_metrics = self.scorer(
                    rollout.prompts, rollout.completions, rollout.rows)
                rollout.rewards = verifier_rewards
                if c.overlong_buffer:
                    lengths = torch.where(rollout.is_truncated, c.max_new_tokens, rollout.completion_mask.sum(-1))
                    penalty = A.overlong_penalty(lengths, c.max_new_tokens, c.overlong_buffer, c.overlong_penalty_factor)
                    rollout.rewards = rollout.rewards + penalty.to(rollout.rewards.dtype)
                    score_metrics["reward/overlong_penalty"] = penalty.mean().item()
            if round_ == 0:  # reward curves describe the policy's own sample, before any filtering
                metrics = score_metrics | self._rollout_metrics(rollout)
            if not c.dynamic_sampling:
                return rollout, metrics
            # on the verifiers' rewards: all-wrong completions of different lengths differ only by
            # the overlong penalty, and such a group teaches length, not correctness
            spread = A.has_reward_spread(verifier_rewards.view(-1, c.group_size))
            for g, informative in enumerate(spread.tolist()):
                group = rollout.select(range(g * c.group_size, (g + 1) * c.group_size))
                (kept if informative else dropped).append(group)
            missing = torch.tensor(max(0, s.prompts_per_process - len(kept)), device=acc.device)
            if acc.reduce(missing, "max").item() == 0:
                break
        groups = (kept + dropped)[: s.prompts_per_process]  # short after the last round: pad with dropped
        metrics |= {"dynamic_sampling/rounds": round_ + 1,
                    "dynamic_sampling/kept_frac": min(len(kept), s.prompts_per_process) / s.prompts_per_process}
        return cat_rollouts(groups, self.tokenizer.pad_token_id), metrics

    @contextmanager
    def generation_model(self):
        """The policy as the generator sees it: unwrapped, in eval mode (no activation
        checkpointing, whose recomputation generation does not need), and under ZeRO-3 with its
        sharded weights gathered once for the whole rollout (every rank then generates on its own,
        so no rank waits on another's forward). Gradient checkpointing is left as configured (TRL's
        ``unwrap_model_for_generation`` re-enables it with default arguments after each rollout).
        ``generation_dtype`` runs it under that autocast (the config allows it with float32 training
        only: a bf16/fp16 trainer's forward enters its own autocast, which would win)."""
        c = self.config
        unwrapped = self.accelerator.unwrap_model(self.model)
        was_training = unwrapped.training
        gather = nullcontext()
        if self.accelerator.distributed_type == DistributedType.DEEPSPEED and \
                self.accelerator.state.deepspeed_plugin.zero_stage == 3:
            gather = _gathered_for_generation(self.model)
        precision = nullcontext()
        if c.generation_dtype not in (None, c.dtype):
            precision = torch.autocast(self.accelerator.device.type, dtype=getattr(torch, c.generation_dtype))
        unwrapped.eval()
        try:
            with gather, precision:
                self.generator.model = unwrapped
                yield unwrapped
        finally:
            unwrapped.train(was_training)

    def sample(self, rows: list[dict]) -> Rollout:
        with self.generation_model():
            return sample_rollout(self.generator, self.tokenizer, [self._prompt_text(r) for r in rows], rows,
                                  self.config.group_size, self.sampling, self.accelerator.device,
                                  self.config.max_prompt_length)

    def loss_mask(self, batch: Rollout) -> torch.Tensor:
        """The completion tokens the loss sees: all sampled ones, less truncated completions with
        ``mask_truncated_completions`` (DAPO's overlong filtering)."""
        if self.config.mask_truncated_completions:
            return batch.completion_mask * (~batch.is_truncated).unsqueeze(-1)
        return batch.completion_mask

    def _rollout_metrics(self, rollout: Rollout) -> dict[str, float]:
        lengths = rollout.completion_mask.sum(-1).float()  # as sampled: the loss mask is applied later
        rewards = rollout.rewards
        return {"reward/mean": torch.nanmean(rewards).item(),
                "reward/std": rewards[~torch.isnan(rewards)].std().item() if (~torch.isnan(rewards)).sum() > 1 else 0.0,
                "completions/mean_length": lengths.mean().item(),
                "completions/truncated_frac": rollout.is_truncated.float().mean().item()}

    @torch.no_grad()
    def add_logprobs(self, batch: Rollout) -> None:
        """Reference log-probs for the KL term; old log-probs only when some update is off-policy
        (otherwise the current log-probs, detached, are exactly the sampling policy's)."""
        c, s = self.config, self.sizes
        wanted = {"old_logprobs": self.needs_old_logprobs(), "ref_logprobs": self.has_reference()}
        for name in (n for n, want in wanted.items() if want):
            with self.reference() if name == "ref_logprobs" else nullcontext(self.model) as model, \
                    self.accelerator.autocast():
                setattr(batch, name, self.per_micro_batch(batch, lambda micro: completion_logprobs(
                    model, *self._inputs(micro), c.temperature, s.prefix_share)))

    def per_micro_batch(self, batch: Rollout, fn) -> torch.Tensor:
        """``fn`` (a micro-batch -> (n, T') per-token tensor) over the batch's micro-batches, each without
        its all-padding columns (``Rollout.trimmed``), joined back at the batch's width (N, T)."""
        size, width = self.sizes.micro_batch_size, batch.completion_mask.shape[1]
        return torch.cat([pad_columns(fn(batch.select(range(i, i + size)).trimmed()), width)
                          for i in range(0, len(batch), size)])

    def has_reference(self) -> bool:
        return self.config.kl_coef > 0

    @contextmanager
    def reference(self):
        """The frozen reference policy: a separate model, or with LoRA the same model with its
        adapters switched off (no second copy in memory)."""
        if self.ref_model is not None:
            yield self.ref_model
        else:
            with self.accelerator.unwrap_model(self.model).disable_adapter():
                yield self.model

    def needs_old_logprobs(self) -> bool:
        # importance sampling compares the sampler with π_old as the trainer's own forward computes it
        c = self.config
        return c.num_mini_batches > 1 or c.ppo_epochs > 1 or c.importance_sampling != "none"

    def add_importance_weights(self, batch: Rollout) -> dict[str, float]:
        """Each token's policy-loss weight for the sampler / trainer mismatch (``importance_sampling``),
        and the mismatch metrics. Needs π_old, so only when old log-probs were computed (with
        ``importance_sampling: none`` and off-policy updates: the metrics alone, weights 1)."""
        c = self.config
        if batch.old_logprobs is None or batch.sampler_logprobs is None:
            return {}
        weights, stats = A.importance_weights(batch.old_logprobs, batch.sampler_logprobs.to(batch.old_logprobs),
                                              batch.completion_mask, c.importance_sampling,
                                              c.importance_sampling_level, c.importance_sampling_cap)
        batch.importance_weights = weights
        return {f"rollout/{k}": v.item() for k, v in stats.items()}

    @staticmethod
    def _inputs(batch: Rollout):
        return batch.prompt_ids, batch.prompt_mask, batch.completion_ids, batch.completion_mask

    def compute_advantages(self, batch: Rollout) -> torch.Tensor:
        """(N,) per completion or (N, T) per token: what distinguishes one algorithm from another."""
        raise NotImplementedError

    def all_reduce_sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """``tensor`` summed over processes, for statistics of the global batch (REINFORCE++, PPO's
        whitening): every process must call it, equally often and in the same order."""
        return self.accelerator.reduce(tensor.to(self.accelerator.device), "sum")

    def update(self, batch: Rollout) -> dict[str, float]:
        """ppo_epochs passes; each splits the batch into num_mini_batches optimizer steps made of
        micro-batches whose gradients accumulate (accelerate syncs them on the last one)."""
        c, s, acc = self.config, self.sizes, self.accelerator
        stats: dict[str, list[torch.Tensor]] = defaultdict(list)
        for epoch in range(c.ppo_epochs):
            order = self._shuffle(len(batch), epoch)
            for start in range(0, len(batch), s.mini_batch_size):
                mini = batch.select(order[start : start + s.mini_batch_size])
                if c.sort_micro_batches and s.micro_batch_size < len(mini):
                    mini = mini.select(self._by_length(mini))
                local = A.loss_normalizer(mini.completion_mask, c.loss_aggregation, c.max_new_tokens)
                normalizer = acc.reduce(local.to(acc.device), "sum")
                trained = self.trained()
                for m in range(0, len(mini), s.micro_batch_size):
                    with acc.accumulate(*[model for _, model, _, _ in trained]):
                        micro = mini.select(range(m, m + s.micro_batch_size)).trimmed()
                        losses, micro_stats = self.loss(micro, normalizer)
                        grid = len(micro) * (micro.prompt_ids.shape[1] + micro.completion_ids.shape[1])
                        stats["update/padded_fraction"].append(1 - micro.lengths().sum() / grid)
                        self._backward(losses, trained, s.grad_accum_steps * acc.num_processes)
                        for name, model, optimizer, _ in trained:
                            if acc.sync_gradients and c.max_grad_norm is not None:
                                if acc.distributed_type == DistributedType.DEEPSPEED:  # clipped in engine.step
                                    norm = model.get_global_grad_norm()
                                else:
                                    norm = acc.clip_grad_norm_(model.parameters(), c.max_grad_norm)
                                if norm is not None:
                                    stats["grad_norm" if name == "policy" else f"{name}/grad_norm"].append(norm)
                            optimizer.step()
                            optimizer.zero_grad(set_to_none=True)
                    for k, v in micro_stats.items():
                        stats[k].append(v)
                for name, _, _, scheduler in trained:
                    stats["lr" if name == "policy" else f"{name}/lr"].append(torch.tensor(scheduler.get_last_lr()[0]))
                    scheduler.step()
        return {k: reduce_stat(k, torch.stack([torch.as_tensor(v).detach().float().cpu() for v in vs])).item()
                for k, vs in stats.items()}

    def _backward(self, losses: dict[str, torch.Tensor], trained, scale: int) -> None:
        """accelerate divides by the accumulation steps and DDP / DeepSpeed average over
        processes; the loss normaliser already covers both, so ``scale`` undoes them. DeepSpeed
        runs one engine per model, so each model's loss goes through its own engine."""
        acc = self.accelerator
        if acc.distributed_type == DistributedType.DEEPSPEED:
            for name, engine, _, _ in trained:
                engine.backward(losses[name] * scale)
                engine.step()  # a no-op until the accumulation boundary
        else:
            acc.backward(sum(losses[name] for name, *_ in trained) * scale)

    def _shuffle(self, n: int, epoch: int) -> torch.Tensor:
        """Row order for one epoch's mini-batches: seeded by (seed, step, epoch) so a resumed run
        replays it; whole groups move together so micro-batches keep their shared prompts."""
        s = self.sizes
        if n <= s.mini_batch_size:
            return torch.arange(n)
        g = torch.Generator().manual_seed(self.config.seed * 1_000_003 + self.global_step * 101 + epoch)
        share = s.prefix_share
        groups = torch.randperm(n // share, generator=g)
        return (groups.unsqueeze(1) * share + torch.arange(share)).reshape(-1)

    def _by_length(self, mini: Rollout) -> torch.Tensor:
        """Row order that puts rows of similar length in the same micro-batch, longest first, so each
        micro-batch is padded to its own longest row. Whole shared-prompt groups move together. The
        gradient is the same: the mini-batch's micro-batch gradients are summed before the step."""
        share = self.sizes.prefix_share
        longest = mini.lengths().view(-1, share).amax(1)
        groups = torch.argsort(longest, descending=True, stable=True)
        return (groups.unsqueeze(1) * share + torch.arange(share)).reshape(-1)

    def loss(self, micro: Rollout, normalizer: torch.Tensor) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """The loss of each trained model on one micro-batch (here: the configured ``policy_loss``
        + KL to the reference), and metrics."""
        loss, stats = self.policy_loss(micro, normalizer)
        return {"policy": loss}, stats

    def policy_loss(self, micro: Rollout, normalizer: torch.Tensor, logprobs: torch.Tensor | None = None
                    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        c, mask = self.config, micro.completion_mask
        stats = {}
        if logprobs is None:
            logprobs, entropy = completion_logprobs(self.model, *self._inputs(micro), c.temperature,
                                                    self.sizes.prefix_share, return_entropy=True)
            stats["policy/entropy"] = A.masked_mean(entropy, mask)
        old = micro.old_logprobs if micro.old_logprobs is not None else logprobs.detach()
        per_token, clipped = self.policy_loss_fn(logprobs, old, micro.advantages, mask, c.clip_low, c.clip_high,
                                                 c.dual_clip)
        if micro.importance_weights is not None:  # the tokens came from the sampler, not from π_old
            per_token = per_token * micro.importance_weights
        stats |= {"loss/policy": A.masked_mean(per_token.detach(), mask),
                  "policy/clip_frac": A.masked_mean(clipped.float(), mask)}
        stats |= {f"policy/{k}": v for k, v in A.ratio_stats(logprobs, old, micro.advantages, mask, clipped).items()}
        if self.has_reference() and c.kl_in_loss:  # PPO may put it in the reward
            kl = self.kl_fn(logprobs, micro.ref_logprobs)
            per_token = per_token + c.kl_coef * kl
            stats["kl"] = A.masked_mean(kl.detach(), mask)
        return A.aggregate_loss(per_token, mask, c.loss_aggregation, c.max_new_tokens, normalizer), stats

    # -- evaluation ---------------------------------------------------------------------------

    def evaluate(self) -> float:
        """Held-out greedy accuracy, each process scoring its share of the prompts."""
        acc = self.accelerator
        rows = self.eval_rows[acc.process_index :: acc.num_processes]
        texts = [self._prompt_text(r) for r in rows]
        with self.generation_model():
            _, records = greedy_accuracy(self.generator, self.tokenizer, texts, rows, self.eval_reward,
                                         self.config.max_new_tokens, acc.device,
                                         max_prompt_length=self.config.max_prompt_length)
        totals = acc.reduce(torch.tensor([count_correct(records), len(records)], device=acc.device), "sum")
        return (totals[0] / totals[1].clamp(min=1)).item()

    def _evaluate_at_step(self) -> float:
        accuracy = self.evaluate()
        self.history.setdefault("eval/accuracy", {})[str(self.global_step)] = accuracy
        return accuracy

    # -- the loop -----------------------------------------------------------------------------

    def _trainer_state(self) -> dict:
        return {"global_step": self.global_step, "history": self.history,
                "config": dataclasses.asdict(self.config)}

    def _resume(self) -> int | None:
        c = self.config
        if c.resume_from_checkpoint is None:
            return None
        state = load_checkpoint(self.accelerator, resolve_checkpoint(c.resume_from_checkpoint, c.output_dir))
        self._loaded_state = state
        self.global_step, self.history = state["global_step"], state["history"]
        return self.global_step

    def _log(self, metrics: dict) -> None:
        keys = sorted(k for k, v in metrics.items() if isinstance(v, float) and k != "step")
        if self.accelerator.num_processes > 1 and keys:  # over processes: the mean (the max of a max, ...)
            values = self.accelerator.gather(torch.tensor([[metrics[k] for k in keys]], device=self.accelerator.device,
                                                          dtype=torch.float64))
            metrics |= {k: reduce_stat(k, values[:, i]).item() for i, k in enumerate(keys)}
        if self.accelerator.is_main_process:
            self.metrics_log.write(metrics)
            self.accelerator.log({k: v for k, v in metrics.items() if isinstance(v, (int, float))},
                                 step=metrics["step"])

    def _log_completions(self, batch: Rollout) -> None:
        if self.accelerator.is_main_process:
            for i in range(0, len(batch), self.config.group_size):  # one per group keeps the file small
                self.completions_log.write({"step": self.global_step, "prompt": batch.prompts[i],
                                            "completion": batch.completions[i],
                                            "reward": float(batch.rewards[i])})

    def train(self) -> dict:
        c, acc = self.config, self.accelerator
        os.makedirs(c.output_dir, exist_ok=True)
        resume_step = self._resume()
        if acc.is_main_process:
            with open(os.path.join(c.output_dir, RUN_CONFIG), "w") as f:
                f.write(c.to_json())
            print(f"[rlvr] config:\n{c.to_json()}\n[rlvr] batch sizes per process: {self.sizes}", flush=True)
        self.metrics_log = JsonlLog(os.path.join(c.output_dir, "metrics.jsonl"), resume_step)
        self.completions_log = JsonlLog(os.path.join(c.output_dir, "completions.jsonl"), resume_step)
        acc.init_trackers("rlvr", config={k: str(v) if isinstance(v, (list, type(None))) else v
                                          for k, v in dataclasses.asdict(c).items()})
        start = time.perf_counter()
        if self.eval_rows and "eval/accuracy_before" not in self.history:
            self.history["eval/accuracy_before"] = self._evaluate_at_step()
            self._log({"step": 0, "eval/accuracy": self.history["eval/accuracy_before"]})
        bar = tqdm(total=c.max_steps, initial=self.global_step, disable=not acc.is_main_process or c.disable_progress_bar,
                   desc="rlvr")
        while self.global_step < c.max_steps:
            self.global_step += 1
            metrics = {"step": self.global_step, "kl": None, **self.step()}
            if c.log_completions_steps and self.global_step % c.log_completions_steps == 0:
                self._log_completions(self.last_batch)
            if c.eval_steps and self.global_step % c.eval_steps == 0 and self.eval_rows:
                metrics["eval/accuracy"] = self._evaluate_at_step()
            self._log(metrics)
            bar.update(1)
            bar.set_postfix(reward=f"{metrics['reward/mean']:.3f}", step_s=f"{metrics['time/step_s']:.2f}")
            if c.save_steps and self.global_step % c.save_steps == 0 and self.global_step < c.max_steps:
                save_checkpoint(acc, c.output_dir, self.global_step, self.model, self.tokenizer, self._trainer_state(),
                                c.save_total_limit)
        bar.close()
        return self._finish(time.perf_counter() - start)

    def save_final_models(self) -> None:
        """The trained model(s) in ``output_dir``, loadable with ``from_pretrained`` (collective)."""
        save_model(self.accelerator, self.model, self.config.output_dir)

    def _finish(self, seconds: float) -> dict:
        c, acc = self.config, self.accelerator
        summary = {"steps": self.global_step, "train_seconds": seconds}
        if self.eval_rows:
            evaluated = self.history.get("eval/accuracy", {})
            after = evaluated.get(str(self.global_step))
            if after is None:  # not already measured by eval_steps at this step
                after = self._evaluate_at_step()
                self._log({"step": self.global_step, "eval/accuracy": after})
            summary |= {"eval/accuracy_before": self.history["eval/accuracy_before"], "eval/accuracy_after": after}
        save_checkpoint(acc, c.output_dir, self.global_step, self.model, self.tokenizer, self._trainer_state(),
                        c.save_total_limit)
        self.save_final_models()
        if acc.is_main_process:
            self.tokenizer.save_pretrained(c.output_dir)
            plot_training(self.metrics_log.path, os.path.join(c.output_dir, "training.png"))
            with open(os.path.join(c.output_dir, "summary.json"), "w") as f:
                json.dump(summary, f, indent=2)
            if self.eval_rows:
                print(f"[rlvr] held-out greedy accuracy: {summary['eval/accuracy_before']:.1%} -> "
                      f"{summary['eval/accuracy_after']:.1%} after {self.global_step} steps "
                      f"({seconds:.0f} s)", flush=True)
        acc.wait_for_everyone()  # leave the process group together (a gloo rank exiting early can abort)
        acc.end_training()
        self.scorer.close()
        return summary


__all__ = ["RLTrainer", "import_reward"]
