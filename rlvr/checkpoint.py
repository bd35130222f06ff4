"""Checkpoints: ``checkpoint-<step>/`` holds the model and tokenizer (``save_pretrained``, loadable on
their own), ``state/`` (accelerate: optimizer, scheduler, every process's RNG, the prompt sampler)
and ``trainer_state.json`` (step and run history).

The policy's weights are stored once: ``state/`` gets an empty placeholder for them and resuming
reads the ``save_pretrained`` files (float32 master weights, so the resume is exact). Under
DeepSpeed the engine's own (sharded) checkpoint keeps them too: ZeRO cannot resume without it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable

import torch

STATE_DIR = "state"
TRAINER_STATE = "trainer_state.json"


def checkpoint_path(output_dir: str, step: int) -> str:
    return os.path.join(output_dir, f"checkpoint-{step}")


def complete_checkpoints(output_dir: str) -> list[str]:
    """The complete checkpoint folders, oldest step first (a checkpoint is complete once its
    trainer_state.json exists: it is written last)."""
    if not os.path.isdir(output_dir):
        return []
    found = sorted((int(m.group(1)), name) for name in os.listdir(output_dir)
                   if (m := re.fullmatch(r"checkpoint-(\d+)", name))
                   and os.path.exists(os.path.join(output_dir, name, TRAINER_STATE)))
    return [os.path.join(output_dir, name) for _, name in found]


def latest_checkpoint(output_dir: str) -> str | None:
    """The complete checkpoint with the highest step."""
    found = complete_checkpoints(output_dir)
    return found[-1] if found else None


def resolve_checkpoint(resume_from: str, output_dir: str) -> str:
    from rlvr.config import ConfigError  # a config mistake: one line from rlvr.train, no traceback

    path = latest_checkpoint(output_dir) if resume_from == "latest" else resume_from
    if path is None:
        raise ConfigError(f"resume_from_checkpoint=latest but {output_dir!r} holds no complete checkpoint "
                          "(is output_dir the run's? checkpoints are written every save_steps)")
    if not os.path.exists(os.path.join(path, TRAINER_STATE)):
        raise ConfigError(f"{path!r} is not a complete checkpoint (no {TRAINER_STATE}): it may have been "
                          "interrupted while saving; use the one before it")
    return path


def save_model(accelerator, model, path: str) -> None:
    """``save_pretrained`` of a prepared model, called on every process: under ZeRO-3 the sharded
    weights are gathered first (saving the unwrapped module would write empty tensors)."""
    state_dict = accelerator.get_state_dict(model)
    if accelerator.is_main_process:
        accelerator.unwrap_model(model).save_pretrained(path, state_dict=state_dict)


def register_checkpoint_hooks(accelerator, policy: Callable[[], torch.nn.Module]) -> None:
    """Keep the policy (accelerate's model 0) out of ``state/`` and restore it from the checkpoint's
    ``save_pretrained`` files instead. Placeholders keep every other model at its index."""
    from accelerate import DistributedType

    if accelerator.distributed_type == DistributedType.DEEPSPEED:
        return

    def on_save(models, weights, output_dir):
        if weights:
            weights[0] = {}

    def on_load(models, input_dir):
        load_pretrained_weights(accelerator.unwrap_model(policy()), os.path.dirname(os.path.normpath(input_dir)))
        models[0] = torch.nn.Module()  # loads the empty placeholder strictly

    accelerator.register_save_state_pre_hook(on_save)
    accelerator.register_load_state_pre_hook(on_load)


def load_pretrained_weights(model, folder: str) -> None:
    """Load what ``model.save_pretrained(folder)`` wrote back into ``model`` in place: LoRA adapters
    for a peft model, otherwise the (possibly sharded) safetensors. A key may be absent only when
    its tensor is tied to a loaded one (save_pretrained writes tied embeddings once)."""
    from safetensors.torch import load_file

    if os.path.exists(os.path.join(folder, "adapter_model.safetensors")):
        from peft import set_peft_model_state_dict

        set_peft_model_state_dict(model, load_file(os.path.join(folder, "adapter_model.safetensors")))
        return
    index = os.path.join(folder, "model.safetensors.index.json")
    files = ["model.safetensors"]
    if os.path.exists(index):  # sharded
        with open(index) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    state = {}
    for name in files:
        state |= load_file(os.path.join(folder, name))
    missing, unexpected = model.load_state_dict(state, strict=False)
    params = model.state_dict()
    loaded = {params[k].data_ptr() for k in state if k in params}
    untied = [k for k in missing if params[k].data_ptr() not in loaded]
    if untied or unexpected:
        raise RuntimeError(f"checkpoint {folder!r} does not match the model: missing {untied[:5]}, "
                           f"unexpected {unexpected[:5]}")


def prune_checkpoints(output_dir: str, keep: int) -> None:
    """Delete all but the ``keep`` newest complete checkpoints (``save_total_limit``)."""
    for path in complete_checkpoints(output_dir)[:-keep] if keep > 0 else []:
        shutil.rmtree(path, ignore_errors=True)


def save_checkpoint(accelerator, output_dir: str, step: int, model, tokenizer, trainer_state: dict,
                    save_total_limit: int | None = None) -> str:
    path = checkpoint_path(output_dir, step)
    accelerator.save_state(os.path.join(path, STATE_DIR))
    save_model(accelerator, model, path)
    if accelerator.is_main_process:
        tokenizer.save_pretrained(path)
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        with open(os.path.join(path, TRAINER_STATE), "w") as f:
            json.dump(trainer_state, f, indent=2)
        if save_total_limit:
            prune_checkpoints(output_dir, save_total_limit)
    accelerator.wait_for_everyone()
    return path


def load_checkpoint(accelerator, path: str) -> dict:
    """Restore optimizer, scheduler, RNG and registered objects in place; returns the trainer state."""
    accelerator.load_state(os.path.join(path, STATE_DIR))
    with open(os.path.join(path, TRAINER_STATE)) as f:
        return json.load(f)
