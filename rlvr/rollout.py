"""Prompts -> sampled completions: the one place where generation happens.

Generation sits behind the small ``Generator`` protocol (prompt ids in; completion ids and the
sampler's own log-probs of them out) so a faster backend (vLLM, SGLang) can replace ``HFGenerator``
without touching the trainer. The log-probs are the sampler's, not recomputed by the trainer: a
sampler whose numerics differ (another engine, another precision) is what the loss's importance
sampling corrects (``rlvr.algorithms.importance_weights``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import torch
from torch import Tensor
from transformers import GenerationConfig, LogitsProcessor, LogitsProcessorList
from transformers.generation.logits_process import (
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)

from rlvr.registry import Registry
from rlvr.types import Rollout

# cls(model, pad_token_id, eos_token_id, batch_size=None) -> a Generator: config generation_backend
GENERATORS = Registry("generation backend")


@dataclass(frozen=True)
class SamplingParams:
    max_new_tokens: int
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0  # 0 = no top-k filtering
    greedy: bool = False


@dataclass(frozen=True)
class Generation:
    """What a generator returns for B prompts: N = B * G completions, the G samples of a prompt consecutive."""

    completion_ids: Tensor  # (N, T) int, right-padded with pad after the first eos
    # (N, T) float32 log π_sampler(a_t|s_t): each drawn token's log-prob under the distribution it was
    # drawn from (after temperature / top-k / top-p), in the sampler's own numerics; greedy decoding
    # draws from no distribution and reports the model's log-prob at temperature 1. 0 after the first eos.
    sampler_logprobs: Tensor


class Generator(Protocol):
    def generate(self, prompt_ids: Tensor, prompt_mask: Tensor, group_size: int, params: SamplingParams
                 ) -> Generation:
        """B left-padded prompts (B, P) -> B * group_size completions and their sampling log-probs."""
        ...


def sampling_warpers(params: SamplingParams) -> LogitsProcessorList:
    """transformers' own temperature / top-k / top-p warpers, in ``generate``'s order (none for greedy)."""
    warpers = LogitsProcessorList()
    if params.greedy:
        return warpers
    if params.temperature != 1.0:
        warpers.append(TemperatureLogitsWarper(params.temperature))
    if params.top_k > 0:
        warpers.append(TopKLogitsWarper(params.top_k))
    if params.top_p < 1.0:
        warpers.append(TopPLogitsWarper(params.top_p))
    return warpers


def _drawn_logprobs(scores: Tensor, tokens: Tensor) -> Tensor:
    """log softmax(scores)[tokens] without the (N, V) log-softmax: (N, V), (N,) -> (N,)."""
    return scores.gather(-1, tokens.unsqueeze(-1)).squeeze(-1) - torch.logsumexp(scores, dim=-1)


def _zero_after_eos(generation: Generation, eos_token_id: int) -> Generation:
    """Padding rows carry no log-prob (a pad outside top-k would read -inf)."""
    mask, _ = completion_mask(generation.completion_ids, eos_token_id)
    logprobs = torch.where(mask.bool(), generation.sampler_logprobs, torch.zeros_like(generation.sampler_logprobs))
    return Generation(generation.completion_ids, logprobs)


def _cat(chunks: list[Generation], pad_token_id: int) -> Generation:
    width = max(c.completion_ids.shape[1] for c in chunks)
    pad = torch.nn.functional.pad
    return Generation(
        torch.cat([pad(c.completion_ids, (0, width - c.completion_ids.shape[1]), value=pad_token_id) for c in chunks]),
        torch.cat([pad(c.sampler_logprobs, (0, width - c.sampler_logprobs.shape[1])) for c in chunks]))


class _RecordDrawnLogprobs(LogitsProcessor):
    """The last logits processor of ``generate``: sees each step's final scores, and at the next step
    (or in ``finish``) reads the log-prob of the token drawn from them. Holds one step's scores, so
    memory stays (N, V) where ``output_scores`` would keep all T steps."""

    def __init__(self):
        self.previous: Tensor | None = None
        self.logprobs: list[Tensor] = []

    def __call__(self, input_ids: Tensor, scores: Tensor) -> Tensor:
        self._read(input_ids[:, -1])
        self.previous = scores.float()
        return scores

    def _read(self, drawn: Tensor) -> None:
        if self.previous is not None:
            self.logprobs.append(_drawn_logprobs(self.previous, drawn))
            self.previous = None

    def finish(self, completion_ids: Tensor) -> Tensor:
        self._read(completion_ids[:, -1])
        return torch.stack(self.logprobs, dim=1)


@GENERATORS.register("hf")
class HFGenerator:
    """``transformers`` ``generate`` (any model), batched with a KV cache and left padding.

    ``batch_size`` bounds how many sequences are generated at once (memory); ``synced_gpus`` keeps
    every rank in every forward, which DeepSpeed ZeRO-3 needs because parameters are sharded.
    """

    def __init__(self, model, pad_token_id: int, eos_token_id: int, batch_size: int | None = None,
                 synced_gpus: bool = False):
        self.model = model
        self.pad_token_id = pad_token_id
        self.eos_token_id = eos_token_id
        self.batch_size = batch_size
        self.synced_gpus = synced_gpus

    def _config(self, params: SamplingParams) -> GenerationConfig:
        # Every knob set explicitly: a checkpoint's generation_config.json (repetition penalty,
        # top_k=20, ...) must not silently change the sampling distribution the loss assumes. The
        # warpers are passed in as logits processors (``sampling_warpers``), not set here: generate
        # appends its own warpers after the caller's processors, and the log-prob recorder must
        # come last to see the distribution the token is drawn from.
        neutral = {} if params.greedy else {"temperature": 1.0, "top_p": 1.0, "top_k": 0}
        return GenerationConfig(
            do_sample=not params.greedy, max_new_tokens=params.max_new_tokens, repetition_penalty=1.0,
            pad_token_id=self.pad_token_id, eos_token_id=self.eos_token_id, use_cache=True, **neutral,
        )

    @torch.no_grad()
    def generate(self, prompt_ids: Tensor, prompt_mask: Tensor, group_size: int, params: SamplingParams
                 ) -> Generation:
        config = self._config(params)
        was_training = self.model.training
        self.model.eval()
        step = max(1, (self.batch_size or len(prompt_ids) * group_size) // group_size)  # whole groups
        chunks = []
        try:
            for start in range(0, len(prompt_ids), step):
                ids, mask = prompt_ids[start : start + step], prompt_mask[start : start + step]
                cache = self._shared_prefix(ids, mask, group_size)
                recorder = _RecordDrawnLogprobs()
                out = self.model.generate(input_ids=ids.repeat_interleave(group_size, 0),
                                          attention_mask=mask.repeat_interleave(group_size, 0),
                                          past_key_values=cache, generation_config=config,
                                          logits_processor=LogitsProcessorList([*sampling_warpers(params), recorder]),
                                          synced_gpus=self.synced_gpus)
                completion_ids = out[:, ids.shape[1] :]
                chunks.append(Generation(completion_ids, recorder.finish(completion_ids)))
        finally:
            self.model.train(was_training)
        return _zero_after_eos(_cat(chunks, self.pad_token_id), self.eos_token_id)

    def _shared_prefix(self, ids: Tensor, mask: Tensor, group_size: int):
        """The KV cache of all prompt tokens but the last, computed once per prompt and repeated
        for its G samples (``generate`` would run the prompt G times); ``generate`` then feeds the
        last prompt token itself. Sampling is unchanged: only duplicate work is skipped."""
        if group_size == 1 or ids.shape[1] < 2:
            return None
        head = mask[:, :-1]
        out = self.model(input_ids=ids[:, :-1], attention_mask=head, position_ids=(head.cumsum(-1) - 1).clamp(min=0),
                         use_cache=True)
        out.past_key_values.batch_repeat_interleave(group_size)
        return out.past_key_values


@GENERATORS.register("rlvr")
class KVCacheSampler:
    """A lean KV-cache sampling loop: the tokens ``generate`` draws, with less overhead.

    Same distribution as ``HFGenerator``: each prompt is prefilled once, its KV cache repeated for
    the G samples, then one forward per new token.

    Token selection reuses transformers' own temperature / top-k / top-p warpers, so with the same
    seed it draws exactly the tokens ``generate`` draws (tested); it just skips ``generate``'s
    per-token bookkeeping, which dominates for small models and short answers.
    """

    def __init__(self, model, pad_token_id: int, eos_token_id: int, batch_size: int | None = None):
        self.model = model
        self.pad_token_id = pad_token_id
        self.eos_token_id = eos_token_id
        self.batch_size = batch_size

    @torch.no_grad()
    def generate(self, prompt_ids: Tensor, prompt_mask: Tensor, group_size: int, params: SamplingParams
                 ) -> Generation:
        was_training = self.model.training
        self.model.eval()
        step = max(1, (self.batch_size or len(prompt_ids) * group_size) // group_size)
        try:
            chunks = [self._sample(prompt_ids[i : i + step], prompt_mask[i : i + step], group_size, params)
                      for i in range(0, len(prompt_ids), step)]
        finally:
            self.model.train(was_training)
        return _zero_after_eos(_cat(chunks, self.pad_token_id), self.eos_token_id)

    def _sample(self, ids: Tensor, mask: Tensor, group_size: int, params: SamplingParams) -> Generation:
        warpers = sampling_warpers(params)
        out = self.model(input_ids=ids, attention_mask=mask, position_ids=(mask.cumsum(-1) - 1).clamp(min=0),
                         use_cache=True, logits_to_keep=1)
        cache = out.past_key_values
        cache.batch_repeat_interleave(group_size)
        logits = out.logits[:, -1].repeat_interleave(group_size, 0).float()
        attention = mask.repeat_interleave(group_size, 0)
        position = attention.sum(-1, keepdim=True)  # the next token's position id
        done = torch.zeros(len(attention), dtype=torch.bool, device=ids.device)
        tokens, logprobs = [], []
        for t in range(params.max_new_tokens):
            scores = warpers(None, logits)
            if params.greedy:
                token = scores.argmax(-1)
            else:
                token = torch.multinomial(torch.softmax(scores, dim=-1), num_samples=1).squeeze(1)
            logprobs.append(_drawn_logprobs(scores, token))
            token = torch.where(done, torch.full_like(token, self.pad_token_id), token)
            tokens.append(token)
            done |= token == self.eos_token_id
            if t == params.max_new_tokens - 1 or done.all():
                break
            attention = torch.cat([attention, torch.ones_like(attention[:, :1])], dim=1)
            logits = self.model(input_ids=token.unsqueeze(1), attention_mask=attention, position_ids=position + t,
                                past_key_values=cache, use_cache=True).logits[:, -1].float()
        return Generation(torch.stack(tokens, dim=1), torch.stack(logprobs, dim=1))


def encode_prompts(tokenizer, texts: list[str], device: torch.device | str = "cpu",
                   max_prompt_length: int | None = None) -> tuple[Tensor, Tensor]:
    """Tokenize formatted prompts, left-padded (N, P). Templates already hold special tokens.

    Prompts longer than ``max_prompt_length`` keep their last tokens (the question's end and the
    generation prompt matter most).
    """
    tokenizer.padding_side = "left"
    if max_prompt_length is not None:
        tokenizer.truncation_side = "left"
    enc = tokenizer(texts, add_special_tokens=False, padding=True, return_tensors="pt",
                    truncation=max_prompt_length is not None, max_length=max_prompt_length)
    return enc["input_ids"].to(device), enc["attention_mask"].to(device)


def completion_mask(completion_ids: Tensor, eos_token_id: int) -> tuple[Tensor, Tensor]:
    """(N, T) mask of the tokens up to and including the first eos, and (N,) is_truncated."""
    is_eos = completion_ids == eos_token_id
    has_eos = is_eos.any(-1)
    first_eos = torch.where(has_eos, is_eos.int().argmax(-1), torch.full_like(has_eos, completion_ids.shape[1],
                                                                               dtype=torch.long))
    positions = torch.arange(completion_ids.shape[1], device=completion_ids.device)
    mask = (positions.unsqueeze(0) <= first_eos.unsqueeze(1)).long()
    return mask, ~has_eos


def sample_rollout(generator: Generator, tokenizer, prompt_texts: list[str], rows: list[dict[str, Any]],
                   group_size: int, params: SamplingParams, device, max_prompt_length: int | None = None
                   ) -> Rollout:
    """Sample ``group_size`` completions for each prompt; the G copies of a prompt are consecutive."""
    unique_ids, unique_mask = encode_prompts(tokenizer, prompt_texts, device, max_prompt_length)
    generation = generator.generate(unique_ids, unique_mask, group_size, params)
    completion_ids = generation.completion_ids
    mask, truncated = completion_mask(completion_ids, tokenizer.eos_token_id)
    decoded = tokenizer.batch_decode(completion_ids * mask + tokenizer.pad_token_id * (1 - mask),
                                     skip_special_tokens=True)
    return Rollout(
        prompt_ids=unique_ids.repeat_interleave(group_size, 0),
        prompt_mask=unique_mask.repeat_interleave(group_size, 0), completion_ids=completion_ids,
        completion_mask=mask, is_truncated=truncated, sampler_logprobs=generation.sampler_logprobs,
        prompts=[t for t in prompt_texts for _ in range(group_size)], completions=decoded,
        rows=[r for r in rows for _ in range(group_size)],
    )
