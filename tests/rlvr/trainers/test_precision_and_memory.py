"""What a real model needs from the loop and no toy metric shows: activations really recomputed
under gradient checkpointing (also with LoRA, and after a rollout), and bf16 training that keeps
float32 master weights so a 1e-6 update is not lost to bf16 rounding."""

import pytest
import torch

from rlvr.modeling import load_causal_lm
from rlvr.trainers import GRPOTrainer
from tests.rlvr.trainers.test_grpo import small_config


def count_mlp_calls(model) -> list[int]:
    """Counts every decoder layer's MLP calls, recomputations included. Checkpointing re-runs
    each layer's ``forward``, which calls its MLP module again, so a pre-hook on the MLP sees the
    recomputation. (Hooks on the layer, or patching the layer class, would not: transformers
    checkpoints the layer's original ``forward`` below ``__call__``. A post-hook would not either:
    torch stops the recomputation as soon as the last saved tensor, inside the MLP, is rebuilt.)"""
    calls = [0]
    for module in model.modules():
        if type(module).__name__.endswith("MLP"):
            module.register_forward_pre_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
    return calls


def layer_calls_per_update(trainer, calls, steps: int = 2) -> list[int]:
    """Layer forwards inside each step's update (rollout and log-prob passes excluded)."""
    per_update, update = [], trainer.update

    def counted_update(batch):
        before = calls[0]
        out = update(batch)
        per_update.append(calls[0] - before)
        return out

    trainer.update = counted_update
    for _ in range(steps):
        trainer.global_step += 1
        trainer.step()
    return per_update


@pytest.mark.parametrize("use_peft", [False, True], ids=["full", "lora"])
def test_gradient_checkpointing_recomputes_every_layer_after_each_rollout(tmp_path, toy_dir, use_peft):
    def run(name, checkpointing):
        # micro-batches of 2 < group_size: no shared-prompt forward, one plain forward per micro-batch
        config = small_config(tmp_path / name, gradient_checkpointing=checkpointing, use_peft=use_peft,
                              micro_batch_size=2, num_eval_samples=0, prompts_per_step=2)
        trainer = GRPOTrainer(config)
        return layer_calls_per_update(trainer, count_mlp_calls(trainer.model))

    plain, recomputed = run("plain", False), run("ckpt", True)
    layers, micro_batches = 4, 4  # the toy's layers; 2 prompts x 4 completions / 2
    assert plain == [layers * micro_batches] * 2
    # forward + recomputation in backward, in the update after the first rollout and the second
    assert recomputed == [2 * layers * micro_batches] * 2


def completion_length(completions, **_):
    """A reward that differs within almost every group, so every step has a gradient."""
    return [float(len(c)) for c in completions]


def test_bf16_training_keeps_float32_master_weights_so_small_updates_land(tmp_path, toy_dir):
    config = small_config(tmp_path, dtype="bfloat16", learning_rate=1e-6, max_steps=1, num_eval_samples=0,
                          max_new_tokens=4, temperature=2.0)
    trainer = GRPOTrainer(config, reward_funcs=[completion_length])
    model = trainer.accelerator.unwrap_model(trainer.model)
    assert {p.dtype for p in model.parameters()} == {torch.float32}
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    trainer.train()
    moved = {k: (v != initial[k]) for k, v in model.state_dict().items()}
    fraction = sum(m.sum().item() for m in moved.values()) / sum(m.numel() for m in moved.values())
    # Adam's first step moves every weight with a gradient by ~lr; in bf16 weights (resolution
    # ~0.4% of the value) a 1e-6 step rounds away and nothing moves
    assert fraction > 0.5, fraction
    norms = [k for k in moved if "norm" in k]
    assert norms and all(moved[k].any() for k in norms)
    saved = load_causal_lm(config.output_dir)
    assert all(torch.equal(saved.state_dict()[k], v) for k, v in model.state_dict().items() if k in saved.state_dict())
