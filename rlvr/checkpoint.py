"""Checkpoints: ``checkpoint-<step>/`` holds the model and tokenizer (``save_pretrained``, loadable on
their own), ``state/`` (accelerate: optimizer, scheduler, every process's RNG, the prompt sampler)
and ``trainer_state.json`` (step and run history)."""

from __future__ import annotations

import json
import os
import re

STATE_DIR = "state"
TRAINER_STATE = "trainer_state.json"


def checkpoint_path(output_dir: str, step: int) -> str:
    return os.path.join(output_dir, f"checkpoint-{step}")


def latest_checkpoint(output_dir: str) -> str | None:
    """The complete checkpoint with the highest step (a checkpoint is complete once its
    trainer_state.json exists: it is written last)."""
    if not os.path.isdir(output_dir):
        return None
    found = [(int(m.group(1)), name) for name in os.listdir(output_dir)
             if (m := re.fullmatch(r"checkpoint-(\d+)", name))
             and os.path.exists(os.path.join(output_dir, name, TRAINER_STATE))]
    return os.path.join(output_dir, max(found)[1]) if found else None


def resolve_checkpoint(resume_from: str, output_dir: str) -> str:
    path = latest_checkpoint(output_dir) if resume_from == "latest" else resume_from
    if path is None:
        raise FileNotFoundError(f"resume_from_checkpoint=latest but {output_dir!r} holds no complete checkpoint")
    if not os.path.exists(os.path.join(path, TRAINER_STATE)):
        raise FileNotFoundError(f"{path!r} is not a complete checkpoint (no {TRAINER_STATE})")
    return path


def save_model(accelerator, model, path: str) -> None:
    """``save_pretrained`` of a prepared model, called on every process: under ZeRO-3 the sharded
    weights are gathered first (saving the unwrapped module would write empty tensors)."""
    state_dict = accelerator.get_state_dict(model)
    if accelerator.is_main_process:
        accelerator.unwrap_model(model).save_pretrained(path, state_dict=state_dict)


def save_checkpoint(accelerator, output_dir: str, step: int, model, tokenizer, trainer_state: dict) -> str:
    path = checkpoint_path(output_dir, step)
    accelerator.save_state(os.path.join(path, STATE_DIR))
    save_model(accelerator, model, path)
    if accelerator.is_main_process:
        tokenizer.save_pretrained(path)
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        with open(os.path.join(path, TRAINER_STATE), "w") as f:
            json.dump(trainer_state, f, indent=2)
    accelerator.wait_for_everyone()
    return path


def load_checkpoint(accelerator, path: str) -> dict:
    """Restore optimizer, scheduler, RNG and registered objects in place; returns the trainer state."""
    accelerator.load_state(os.path.join(path, STATE_DIR))
    with open(os.path.join(path, TRAINER_STATE)) as f:
        return json.load(f)
