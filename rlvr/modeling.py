"""Loading models and tokenizers, and the one forward pass every log-probability goes through."""

from __future__ import annotations

import os

import torch
from torch import Tensor

from rlvr.logprobs import selective_log_softmax

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


OFFLINE_MODELS = ("toy", "smollm2")  # model names that need no network (rlvr.toy, rlvr.smollm2)


def resolve_model_path(name: str, toy_sft_steps: int = 500, seed: int = 0, toy_size: str = "tiny") -> str:
    """A folder or Hub name ``from_pretrained`` can load: the offline models are built or
    converted once into the cache ($RLVR_CACHE) by one process while the others wait."""
    if name not in OFFLINE_MODELS:
        return name
    from accelerate import PartialState

    with PartialState().main_process_first():
        if name == "toy":
            from rlvr.toy import ensure_toy

            return ensure_toy(toy_sft_steps, seed, toy_size)
        from rlvr.smollm2 import ensure_smollm2

        return ensure_smollm2()


def load_causal_lm(path: str, dtype: str = "float32"):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, dtype))


def enable_activation_checkpointing(model) -> None:
    """Recompute each layer's activations in the backward pass (non-reentrant: works with frozen
    inputs and LoRA). transformers 5 renamed ``gradient_checkpointing_enable``; the old name warns."""
    kwargs = {"use_reentrant": False}
    if hasattr(model, "activation_checkpointing_enable"):
        model.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs)
    else:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)


def disable_dropout(model) -> None:
    """Dropout off everywhere. Training runs in train mode (Hugging Face models only checkpoint
    activations when ``model.training``), and dropout there would make the training log-probs
    of a token differ from the sampling ones. Attention dropout is a float read in ``forward``,
    not a module, so both kinds are zeroed (a LoRA dropout added later keeps its own setting)."""
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
        if isinstance(getattr(module, "attention_dropout", None), float):
            module.attention_dropout = 0.0


def add_lora(model, r: int, alpha: int, dropout: float, target_modules: list[str]):
    """Wrap ``model`` with trainable LoRA adapters (peft); the base weights are frozen."""
    from peft import LoraConfig, get_peft_model

    targets = target_modules[0] if target_modules == ["all-linear"] else target_modules
    config = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=targets, task_type="CAUSAL_LM")
    return get_peft_model(model, config)


def completion_logprobs(model, prompt_ids: Tensor, prompt_mask: Tensor, completion_ids: Tensor,
                        completion_mask: Tensor, temperature: float = 1.0, group_size: int = 1,
                        return_hidden: bool = False, return_entropy: bool = False):
    """log π(a_t | s_t) of each completion token at ``temperature`` -> (N, T).

    Position ids are counted from the first real token, as ``generate`` does for left-padded
    prompts, so these log-probabilities match the sampling distribution. With ``group_size`` G > 1
    the rows come in groups of G that share one prompt: the prompt is run once per group and its
    KV cache repeated, which gives the same values and gradients with G times less prompt work.
    With ``return_hidden`` it returns ``(logprobs, hidden)``, hidden (N, T, H) the last layer's
    states s_t the log-probs were read from (a value head on a shared backbone uses them). With
    ``return_entropy`` it appends the policy's entropy at each position (N, T), read from the same
    logits (no second forward) and without gradient.
    """
    if group_size > 1:
        logits, hidden = _grouped_forward(model, prompt_ids, prompt_mask, completion_ids, completion_mask,
                                          group_size, return_hidden)
    else:
        input_ids = torch.cat([prompt_ids, completion_ids], dim=1)
        attention_mask = torch.cat([prompt_mask, completion_mask], dim=1)
        position_ids = (attention_mask.cumsum(-1) - 1).clamp(min=0)
        width = completion_ids.shape[1]
        out = model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                    logits_to_keep=width + 1, use_cache=False, output_hidden_states=return_hidden)
        logits = out.logits[:, :-1]
        hidden = out.hidden_states[-1][:, -width - 1 : -1] if return_hidden else None
    # temperature, log-softmax, gather and entropy in one pass (no (N, T, V) copies: rlvr.logprobs)
    logprobs, entropy = selective_log_softmax(logits, completion_ids, temperature, return_entropy=True) \
        if return_entropy else (selective_log_softmax(logits, completion_ids, temperature), None)
    outputs = (logprobs,)
    outputs += (hidden,) if return_hidden else ()
    outputs += (entropy,) if return_entropy else ()
    return outputs if len(outputs) > 1 else outputs[0]


def _grouped_forward(model, prompt_ids, prompt_mask, completion_ids, completion_mask, group_size, return_hidden):
    """Logits predicting each completion token (N, T, V), and optionally the hidden states, with
    each group's prompt run once."""
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
    return torch.cat(logits, dim=1), torch.cat(hidden, dim=1) if return_hidden else None
