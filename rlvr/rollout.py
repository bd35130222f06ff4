"""Prompts -> sampled completions: the one place where generation happens.

Generation sits behind the small ``Generator`` protocol (token ids in, token ids out) so a faster
backend (vLLM, SGLang) can replace ``HFGenerator`` without touching the trainer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import torch
from torch import Tensor
from transformers import GenerationConfig, LogitsProcessorList
from transformers.generation.logits_process import (
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)

from rlvr.types import Rollout


@dataclass(frozen=True)
class SamplingParams:
    max_new_tokens: int
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0  # 0 = no top-k filtering
    greedy: bool = False


class Generator(Protocol):
    def generate(self, prompt_ids: Tensor, prompt_mask: Tensor, group_size: int, params: SamplingParams) -> Tensor:
        """B left-padded prompts (B, P) -> B * group_size completions (B * G, T), the G samples of
        a prompt consecutive, right-padded with pad after eos."""
        ...


class HFGenerator:
    """Batched sampling with ``transformers`` ``generate`` (KV cache, left padding).

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
        # top_k=20, ...) must not silently change the sampling distribution the loss assumes.
        sampling = {} if params.greedy else {
            "temperature": params.temperature, "top_p": params.top_p, "top_k": params.top_k}
        return GenerationConfig(
            do_sample=not params.greedy, max_new_tokens=params.max_new_tokens, repetition_penalty=1.0,
            pad_token_id=self.pad_token_id, eos_token_id=self.eos_token_id, use_cache=True, **sampling,
        )

    @torch.no_grad()
    def generate(self, prompt_ids: Tensor, prompt_mask: Tensor, group_size: int, params: SamplingParams) -> Tensor:
        config = self._config(params)
        was_training = self.model.training
        self.model.eval()
        step = max(1, (self.batch_size or len(prompt_ids) * group_size) // group_size)  # whole groups
        chunks = []
        try:
            for start in range(0, len(prompt_ids), step):
                ids, mask = prompt_ids[start : start + step], prompt_mask[start : start + step]
                cache = self._shared_prefix(ids, mask, group_size)
                out = self.model.generate(input_ids=ids.repeat_interleave(group_size, 0),
                                          attention_mask=mask.repeat_interleave(group_size, 0),
                                          past_key_values=cache, generation_config=config,
                                          synced_gpus=self.synced_gpus)
                chunks.append(out[:, ids.shape[1] :])
        finally:
            self.model.train(was_training)
        width = max(c.shape[1] for c in chunks)
        return torch.cat([torch.nn.functional.pad(c, (0, width - c.shape[1]), value=self.pad_token_id)
                          for c in chunks])

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


class KVCacheSampler:
    """A lean sampling loop with the same distribution as ``HFGenerator``: each prompt is
    prefilled once, its KV cache repeated for the G samples, then one forward per new token.

    Token selection reuses transformers' own temperature / top-k / top-p warpers, so with the same
    seed it draws exactly the tokens ``generate`` draws (tested); it just skips ``generate``'s
    per-token bookkeeping, which dominates for small models and short answers.
    """

    def __init__(self, model, pad_token_id: int, eos_token_id: int, batch_size: int | None = None):
        self.model = model
        self.pad_token_id = pad_token_id
        self.eos_token_id = eos_token_id
        self.batch_size = batch_size

    @staticmethod
    def _warpers(params: SamplingParams) -> LogitsProcessorList:
        warpers = LogitsProcessorList()
        if params.temperature != 1.0:
            warpers.append(TemperatureLogitsWarper(params.temperature))
        if params.top_k > 0:
            warpers.append(TopKLogitsWarper(params.top_k))
        if params.top_p < 1.0:
            warpers.append(TopPLogitsWarper(params.top_p))
        return warpers

    @torch.no_grad()
    def generate(self, prompt_ids: Tensor, prompt_mask: Tensor, group_size: int, params: SamplingParams) -> Tensor:
        was_training = self.model.training
        self.model.eval()
        step = max(1, (self.batch_size or len(prompt_ids) * group_size) // group_size)
        try:
            chunks = [self._sample(prompt_ids[i : i + step], prompt_mask[i : i + step], group_size, params)
                      for i in range(0, len(prompt_ids), step)]
        finally:
            self.model.train(was_training)
        width = max(c.shape[1] for c in chunks)
        return torch.cat([torch.nn.functional.pad(c, (0, width - c.shape[1]), value=self.pad_token_id)
                          for c in chunks])

    def _sample(self, ids: Tensor, mask: Tensor, group_size: int, params: SamplingParams) -> Tensor:
        warpers = self._warpers(params)
        out = self.model(input_ids=ids, attention_mask=mask, position_ids=(mask.cumsum(-1) - 1).clamp(min=0),
                         use_cache=True, logits_to_keep=1)
        cache = out.past_key_values
        cache.batch_repeat_interleave(group_size)
        logits = out.logits[:, -1].repeat_interleave(group_size, 0).float()
        attention = mask.repeat_interleave(group_size, 0)
        position = attention.sum(-1, keepdim=True)  # the next token's position id
        done = torch.zeros(len(attention), dtype=torch.bool, device=ids.device)
        tokens = []
        for t in range(params.max_new_tokens):
            if params.greedy:
                token = logits.argmax(-1)
            else:
                scores = warpers(None, logits)
                token = torch.multinomial(torch.softmax(scores, dim=-1), num_samples=1).squeeze(1)
            token = torch.where(done, torch.full_like(token, self.pad_token_id), token)
            tokens.append(token)
            done |= token == self.eos_token_id
            if t == params.max_new_tokens - 1 or done.all():
                break
            attention = torch.cat([attention, torch.ones_like(attention[:, :1])], dim=1)
            logits = self.model(input_ids=token.unsqueeze(1), attention_mask=attention, position_ids=position + t,
                                past_key_values=cache, use_cache=True).logits[:, -1].float()
        return torch.stack(tokens, dim=1)


GENERATORS = {"rlvr": KVCacheSampler, "hf": HFGenerator}


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
    completion_ids = generator.generate(unique_ids, unique_mask, group_size, params)
    mask, truncated = completion_mask(completion_ids, tokenizer.eos_token_id)
    decoded = tokenizer.batch_decode(completion_ids * mask + tokenizer.pad_token_id * (1 - mask),
                                     skip_special_tokens=True)
    return Rollout(
        prompt_ids=unique_ids.repeat_interleave(group_size, 0),
        prompt_mask=unique_mask.repeat_interleave(group_size, 0), completion_ids=completion_ids,
        completion_mask=mask, is_truncated=truncated,
        prompts=[t for t in prompt_texts for _ in range(group_size)], completions=decoded,
        rows=[r for r in rows for _ in range(group_size)],
    )
