"""Loading models and tokenizers, and the one forward pass every log-probability goes through."""

from __future__ import annotations

import os

import torch
from torch import Tensor

from rlvr.algorithms import selective_logprobs

TOY_MARKER = "rlvr_toy.json"  # written by rlvr.toy next to the weights


def load_tokenizer(path: str):
    """The tokenizer of a model folder or Hub name, with a pad token.

    The toy tokenizer is loaded as ``PreTrainedTokenizerFast``: ``AutoTokenizer`` would swap in
    Qwen2's pre-tokenizer for a ``qwen2`` config (transformers 5) and split digits differently.
    """
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    if os.path.exists(os.path.join(path, TOY_MARKER)):
        tokenizer = PreTrainedTokenizerFast.from_pretrained(path)
    else:
        tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    return tokenizer


def load_causal_lm(path: str, dtype: str = "float32"):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, dtype))


def add_lora(model, r: int, alpha: int, dropout: float, target_modules: list[str]):
    """Wrap ``model`` with trainable LoRA adapters (peft); the base weights are frozen."""
    from peft import LoraConfig, get_peft_model

    targets = target_modules[0] if target_modules == ["all-linear"] else target_modules
    config = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=targets, task_type="CAUSAL_LM")
    return get_peft_model(model, config)


def completion_logprobs(model, prompt_ids: Tensor, prompt_mask: Tensor, completion_ids: Tensor,
                        completion_mask: Tensor, temperature: float = 1.0, group_size: int = 1,
                        return_hidden: bool = False):
    """log π(a_t | s_t) of each completion token at ``temperature`` -> (N, T).

    Position ids are counted from the first real token, as ``generate`` does for left-padded
    prompts, so these log-probabilities match the sampling distribution. With ``group_size`` G > 1
    the rows come in groups of G that share one prompt: the prompt is run once per group and its
    KV cache repeated, which gives the same values and gradients with G times less prompt work.
    With ``return_hidden`` it returns ``(logprobs, hidden)``, hidden (N, T, H) the last layer's
    states s_t the log-probs were read from (a value head on a shared backbone uses them).
    """
    if group_size > 1:
        return _grouped_completion_logprobs(model, prompt_ids, prompt_mask, completion_ids, completion_mask,
                                            temperature, group_size, return_hidden)
    input_ids = torch.cat([prompt_ids, completion_ids], dim=1)
    attention_mask = torch.cat([prompt_mask, completion_mask], dim=1)
    position_ids = (attention_mask.cumsum(-1) - 1).clamp(min=0)
    width = completion_ids.shape[1]
    out = model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                logits_to_keep=width + 1, use_cache=False, output_hidden_states=return_hidden)
    logprobs = selective_logprobs(out.logits[:, :-1] / temperature, completion_ids)
    return (logprobs, out.hidden_states[-1][:, -width - 1 : -1]) if return_hidden else logprobs


def _grouped_completion_logprobs(model, prompt_ids, prompt_mask, completion_ids, completion_mask, temperature,
                                 group_size, return_hidden):
    p_ids, p_mask = prompt_ids[::group_size], prompt_mask[::group_size]
    prompt_out = model(input_ids=p_ids, attention_mask=p_mask, position_ids=(p_mask.cumsum(-1) - 1).clamp(min=0),
                       use_cache=True, logits_to_keep=1, output_hidden_states=return_hidden)
    cache = prompt_out.past_key_values
    cache.batch_repeat_interleave(group_size)  # differentiable: gradients of all G rows reach the prompt
    logits = [prompt_out.logits[:, -1:].repeat_interleave(group_size, 0)]  # predicts completion token 0
    hidden = [prompt_out.hidden_states[-1][:, -1:].repeat_interleave(group_size, 0)] if return_hidden else []
    if completion_ids.shape[1] > 1:
        attention_mask = torch.cat([prompt_mask, completion_mask], dim=1)[:, :-1]
        positions = prompt_mask.sum(-1, keepdim=True) + torch.arange(completion_ids.shape[1], device=prompt_ids.device)
        rest = model(input_ids=completion_ids[:, :-1], attention_mask=attention_mask, position_ids=positions[:, :-1],
                     past_key_values=cache, use_cache=True, output_hidden_states=return_hidden)
        logits.append(rest.logits)
        hidden += [rest.hidden_states[-1]] if return_hidden else []
    logprobs = selective_logprobs(torch.cat(logits, dim=1) / temperature, completion_ids)
    return (logprobs, torch.cat(hidden, dim=1)) if return_hidden else logprobs
