"""The PPO critic: a transformer backbone with a scalar value head, V(s_t) for every position."""

from __future__ import annotations

import os

import torch
from torch import Tensor, nn

VALUE_HEAD = "value_head.pt"


def _zero_head(hidden_size: int) -> nn.Linear:
    # Zero init: every value starts at 0, so the first advantages are the plain returns instead
    # of noise from a random head.
    head = nn.Linear(hidden_size, 1)
    nn.init.zeros_(head.weight)
    nn.init.zeros_(head.bias)
    return head


class ValueHead(nn.Module):
    """The value head alone, reading the policy's own hidden states (``critic_share_backbone``)."""

    def __init__(self, hidden_size: int):
        super().__init__()
        self.value_head = _zero_head(hidden_size)

    def forward(self, hidden: Tensor) -> Tensor:
        return self.value_head(hidden).squeeze(-1).float()

    def save_pretrained(self, path: str, state_dict: dict | None = None) -> None:
        os.makedirs(path, exist_ok=True)
        head = {k.removeprefix("value_head."): v for k, v in (state_dict or self.state_dict()).items()}
        torch.save(head, os.path.join(path, VALUE_HEAD))


class ValueModel(nn.Module):
    def __init__(self, backbone: nn.Module, hidden_size: int):
        super().__init__()
        self.backbone = backbone
        self.value_head = _zero_head(hidden_size)

    @classmethod
    def from_pretrained(cls, path: str, dtype: str = "float32") -> ValueModel:
        """The backbone of a causal LM folder or Hub name (its LM head dropped), plus a value head
        (restored when the folder was written by ``save_pretrained``)."""
        from transformers import AutoModelForCausalLM

        lm = AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, dtype))
        model = cls(lm.base_model, lm.config.hidden_size)
        head = os.path.join(path, VALUE_HEAD)
        if os.path.exists(head):
            model.value_head.load_state_dict(torch.load(head, map_location="cpu", weights_only=True))
        return model.to(getattr(torch, dtype))

    def forward(self, input_ids: Tensor, attention_mask: Tensor, position_ids: Tensor) -> Tensor:
        hidden = self.backbone(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                               use_cache=False).last_hidden_state
        return self.value_head(hidden).squeeze(-1).float()

    def save_pretrained(self, path: str, state_dict: dict | None = None) -> None:
        """The backbone as a transformers folder plus ``value_head.pt``; ``state_dict`` (gathered
        under ZeRO-3) replaces the module's own tensors."""
        os.makedirs(path, exist_ok=True)
        state_dict = state_dict or self.state_dict()
        self.backbone.save_pretrained(path, state_dict={k.removeprefix("backbone."): v for k, v in state_dict.items()
                                                        if k.startswith("backbone.")})
        torch.save({k.removeprefix("value_head."): v for k, v in state_dict.items() if k.startswith("value_head.")},
                   os.path.join(path, VALUE_HEAD))


def completion_values(critic, prompt_ids: Tensor, prompt_mask: Tensor, completion_ids: Tensor,
                      completion_mask: Tensor) -> Tensor:
    """V(s_t) for each completion token t: the value of the state *before* emitting it, i.e. the
    critic's output at the previous position (aligned with the log-probs). -> (N, T)."""
    input_ids = torch.cat([prompt_ids, completion_ids], dim=1)
    attention_mask = torch.cat([prompt_mask, completion_mask], dim=1)
    position_ids = (attention_mask.cumsum(-1) - 1).clamp(min=0)
    values = critic(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids)
    width = completion_ids.shape[1]
    return values[:, -width - 1 : -1]
