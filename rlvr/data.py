"""Datasets: loading (Hub name, local json/jsonl/parquet, or the offline toy task), validation with
errors that name the row and column, prompt formatting, and a resumable prompt sampler."""

from __future__ import annotations

import os
from typing import Any

import torch

LOCAL_FORMATS = {".json": "json", ".jsonl": "json", ".parquet": "parquet"}


class DataError(ValueError):
    """A dataset that cannot be trained on; the message names the row and column."""


def load_rows(dataset: str, split: str, config_name: str | None = None, seed: int = 0):
    """A ``datasets.Dataset`` from ``toy``, a local file (whose split is the whole file), or the Hub."""
    import datasets

    if dataset == "toy":
        from rlvr.toy import arithmetic_splits

        train, test = arithmetic_splits(seed)
        rows = {"train": train, "test": test}.get(split)
        if rows is None:
            raise DataError(f"the toy dataset has splits 'train' and 'test', not {split!r}")
        return datasets.Dataset.from_list(rows)
    ext = os.path.splitext(dataset)[1].lower()
    if ext in LOCAL_FORMATS:
        if not os.path.exists(dataset):
            raise DataError(f"dataset file {dataset!r} does not exist")
        with open(dataset, "rb") as f:
            if not f.read(4096).strip():  # the json loader fails obscurely on an empty file
                raise DataError(f"dataset file {dataset!r} is empty")
        return datasets.load_dataset(LOCAL_FORMATS[ext], data_files=dataset, split="train")
    return datasets.load_dataset(dataset, config_name, split=split)


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, (str, list, dict)) and len(value) == 0)


def validate_rows(rows, prompt_column: str, reward_columns: list[str], name: str = "dataset") -> None:
    """Stop with an error naming the first bad row and column: a missing column, an empty
    dataset, an empty prompt, a malformed chat prompt, or a missing reward column value."""
    if len(rows) == 0:
        raise DataError(f"{name} is empty")
    missing = [c for c in [prompt_column, *reward_columns] if c not in rows.column_names]
    if missing:
        raise DataError(f"{name} has no column {missing[0]!r}; its columns are {rows.column_names}")
    for i, prompt in enumerate(rows[prompt_column]):
        if _is_empty(prompt):
            raise DataError(f"{name} row {i}, column {prompt_column!r}: the prompt is empty")
        if isinstance(prompt, list) and not all(isinstance(m, dict) and "role" in m and "content" in m
                                                for m in prompt):
            raise DataError(f"{name} row {i}, column {prompt_column!r}: a chat prompt must be a list of "
                            f"{{'role', 'content'}} messages, got {str(prompt)[:200]}")
        if not isinstance(prompt, (str, list)):
            raise DataError(f"{name} row {i}, column {prompt_column!r}: expected a string or a message "
                            f"list, got {type(prompt).__name__}")
    for column in reward_columns:
        for i, value in enumerate(rows[column]):
            if value is None:
                raise DataError(f"{name} row {i}, column {column!r}: the value is missing")


def format_prompt(tokenizer, prompt: str | list[dict], system_prompt: str | None = None,
                  use_chat_template: bool = True) -> str:
    """The text the model is conditioned on.

    A message list always goes through the tokenizer's chat template; a plain string does too
    (as one user turn, after ``system_prompt``) when ``use_chat_template`` and the tokenizer has a
    template, and is used verbatim otherwise.
    """
    if isinstance(prompt, str):
        if not (use_chat_template and tokenizer.chat_template):
            return prompt
        prompt = [{"role": "user", "content": prompt}]
    if system_prompt and prompt[0]["role"] != "system":
        prompt = [{"role": "system", "content": system_prompt}, *prompt]
    return tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)


class PromptSampler:
    """Yields dataset indices in a fresh seeded permutation each epoch; its state is two integers,
    so a checkpoint resumes at exactly the next prompt."""

    def __init__(self, num_rows: int, seed: int):
        self.num_rows, self.seed = num_rows, seed
        self.epoch, self.position = 0, 0
        self._order = self._permutation()

    def _permutation(self) -> list[int]:
        g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        return torch.randperm(self.num_rows, generator=g).tolist()

    def take(self, count: int) -> list[int]:
        out = []
        while len(out) < count:
            if self.position == self.num_rows:
                self.epoch, self.position = self.epoch + 1, 0
                self._order = self._permutation()
            n = min(count - len(out), self.num_rows - self.position)
            out += self._order[self.position : self.position + n]
            self.position += n
        return out

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "position": self.position, "num_rows": self.num_rows, "seed": self.seed}

    def load_state_dict(self, state: dict[str, int]) -> None:
        if state["num_rows"] != self.num_rows:
            raise DataError(f"the checkpoint was taken on a dataset of {state['num_rows']} rows, "
                            f"this one has {self.num_rows}")
        self.seed, self.epoch, self.position = state["seed"], state["epoch"], state["position"]
        self._order = self._permutation()
