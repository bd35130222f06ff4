"""Inference for test-time scaling: batched sampling with sequence log-probabilities, adaptive sampling,
and a reward-model scorer for reranking."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from rlvr.data import format_prompt
from rlvr.modeling import completion_logprobs
from rlvr.rollout import KVCacheSampler, SamplingParams, completion_mask, encode_prompts
from rlvr.testtime import Vote, majority_vote, should_stop


@dataclass
class Sample:
    text: str
    logprob: float        # sum of the completion's token log-probabilities under the model (temperature 1)
    num_tokens: int
    truncated: bool       # hit max_new_tokens without an end-of-sequence token

    @property
    def mean_logprob(self) -> float:
        return self.logprob / max(self.num_tokens, 1)


def _texts(tokenizer, prompts: Sequence, system_prompt: str | None, use_chat_template: bool) -> list[str]:
    return [format_prompt(tokenizer, p, system_prompt, use_chat_template) for p in prompts]


@torch.no_grad()
def sample(model, tokenizer, prompts: Sequence, n: int, *, max_new_tokens: int = 256, temperature: float = 1.0,
           top_p: float = 1.0, top_k: int = 0, batch_size: int = 64, system_prompt: str | None = None,
           use_chat_template: bool = True, generator=None) -> list[list[Sample]]:
    """``n`` samples for each prompt (a string or a chat message list), with sequence log-probabilities.

    Prompts go through ``format_prompt`` (the chat template). Sampling is batched, ``batch_size``
    sequences at a time, with each prompt's KV cache computed once for its ``n`` samples. ``generator``
    defaults to ``KVCacheSampler`` (the distribution of ``model.generate``). ``temperature=0`` is greedy.
    """
    device = next(model.parameters()).device
    texts = _texts(tokenizer, prompts, system_prompt, use_chat_template)
    params = SamplingParams(max_new_tokens=max_new_tokens, temperature=temperature or 1.0, top_p=top_p, top_k=top_k,
                            greedy=temperature == 0)
    generator = generator or KVCacheSampler(model, tokenizer.pad_token_id, tokenizer.eos_token_id)
    per_step = max(1, batch_size // n)
    out: list[list[Sample]] = []
    for start in range(0, len(texts), per_step):
        ids, mask = encode_prompts(tokenizer, texts[start:start + per_step], device)
        completions = generator.generate(ids, mask, n, params).completion_ids
        c_mask, truncated = completion_mask(completions, tokenizer.eos_token_id)
        logprobs = completion_logprobs(model, ids.repeat_interleave(n, 0), mask.repeat_interleave(n, 0), completions,
                                       c_mask, group_size=n)
        seq_logprob = (logprobs * c_mask).sum(-1).tolist()
        decoded = tokenizer.batch_decode(completions * c_mask + tokenizer.pad_token_id * (1 - c_mask),
                                         skip_special_tokens=True)
        lengths = c_mask.sum(-1).tolist()
        rows = [Sample(t, lp, int(length), bool(tr)) for t, lp, length, tr in zip(decoded, seq_logprob, lengths, truncated)]
        out += [rows[i * n:(i + 1) * n] for i in range(len(rows) // n)]
    return out


def adaptive_sample(model, tokenizer, prompt, extract: Callable[[str], object], *, max_samples: int = 16,
                    batch_size: int = 2, threshold: float = 0.95, min_samples: int = 2,
                    equivalent: Callable | None = None, **sample_kwargs) -> tuple[Vote, list[Sample]]:
    """Adaptive-Consistency with a model (Aggarwal et al. 2023): draw ``batch_size`` samples at a time,
    extract their answers, stop once ``should_stop`` holds or ``max_samples`` are drawn. Returns the vote
    and every sample drawn (their number is the cost)."""
    samples: list[Sample] = []
    answers: list = []
    while len(samples) < max_samples:
        k = min(batch_size, max_samples - len(samples))
        new = sample(model, tokenizer, [prompt], k, **sample_kwargs)[0]
        samples += new
        answers += [extract(s.text) for s in new]
        if should_stop(answers, equivalent=equivalent, threshold=threshold, min_samples=min_samples):
            break
    return majority_vote(answers, equivalent=equivalent), samples


class RewardModelScorer:
    """A learned scorer for ``best_of_n``: a transformers sequence-classification reward model (or a
    PRM read at the last token) scoring (prompt, completion) pairs.

    ``RewardModelScorer("Skywork/Skywork-Reward-Llama-3.1-8B")(prompt, completions)`` -> one float each:
    the logit of ``label`` (default 0, the usual single-output reward head). Pairs are formatted with the
    reward model's chat template when it has one (user = prompt, assistant = completion).
    """

    def __init__(self, model_or_path, tokenizer=None, *, label: int = 0, batch_size: int = 8, device=None,
                 max_length: int = 4096):
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        if isinstance(model_or_path, str):
            self.model = AutoModelForSequenceClassification.from_pretrained(model_or_path)
            self.tokenizer = tokenizer or AutoTokenizer.from_pretrained(model_or_path)
        else:
            self.model, self.tokenizer = model_or_path, tokenizer
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        if self.model.config.pad_token_id is None:
            self.model.config.pad_token_id = self.tokenizer.pad_token_id
        self.label, self.batch_size, self.max_length = label, batch_size, max_length
        self.device = device or next(self.model.parameters()).device
        self.model.eval()

    def _format(self, prompt, completion: str) -> str:
        if getattr(self.tokenizer, "chat_template", None):
            messages = prompt if isinstance(prompt, list) else [{"role": "user", "content": prompt}]
            return self.tokenizer.apply_chat_template(
                [*messages, {"role": "assistant", "content": completion}], tokenize=False)
        return f"{prompt if isinstance(prompt, str) else prompt[-1]['content']}{completion}"

    @torch.no_grad()
    def __call__(self, prompt, completions: Sequence[str]) -> list[float]:
        texts = [self._format(prompt, c) for c in completions]
        scores: list[float] = []
        for start in range(0, len(texts), self.batch_size):
            enc = self.tokenizer(texts[start:start + self.batch_size], return_tensors="pt", padding=True,
                                 truncation=True, max_length=self.max_length, add_special_tokens=False).to(self.device)
            logits = self.model(**enc).logits
            scores += logits[:, self.label].float().tolist()
        return scores
