"""Datasets: loading (Hub name, local json/jsonl/parquet, or an offline generated task), validation with
errors that name the row and column and say what to set, the columns each reward function needs,
prompt formatting, and a resumable prompt sampler."""

from __future__ import annotations

import difflib
import importlib
import inspect
import json
import os
from collections.abc import Callable, Sequence
from typing import Any

import torch

from rlvr.config import ConfigError

LOCAL_FORMATS = {".json": "json", ".jsonl": "json", ".parquet": "parquet"}


class DataError(ValueError):
    """A dataset that cannot be trained on; the message names the row and column."""


def _small_sums(seed: int):
    from rlvr.toy import arithmetic_splits

    return arithmetic_splits(seed, max_operand=20, template="What is {a} + {b}?", num_held_out=141)


def _toy(seed: int):
    from rlvr.toy import arithmetic_splits

    return arithmetic_splits(seed)


# Datasets built offline from a seed, by name: (train, test) row lists. The split depends only on the
# seed, and no problem of ``test`` is in ``train``.
GENERATED_DATASETS = {
    "toy": _toy,  # "12+7=?", a, b in 0..99, 500 held out: the toy model's own format
    "small_sums": _small_sums,  # "What is 12 + 7?", a, b in 0..20, 141 of 441 held out: for an instruct model
}


def load_rows(dataset: str, split: str, config_name: str | None = None, seed: int = 0):
    """A ``datasets.Dataset`` from a generated dataset (``toy``, ``small_sums``), a local file (whose split is the whole file), or the Hub."""
    import datasets

    if dataset in GENERATED_DATASETS:
        train, test = GENERATED_DATASETS[dataset](seed)
        rows = {"train": train, "test": test}.get(split)
        if rows is None:
            raise DataError(f"the {dataset} dataset has splits 'train' and 'test', not {split!r}")
        return datasets.Dataset.from_list(rows)
    ext = os.path.splitext(dataset)[1].lower()
    if ext in LOCAL_FORMATS:
        if not os.path.exists(dataset):
            raise DataError(f"dataset file {dataset!r} does not exist")
        with open(dataset, "rb") as f:
            if not f.read(4096).strip():  # the json loader fails obscurely on an empty file
                raise DataError(f"dataset file {dataset!r} is empty")
        return _quietly(datasets.load_dataset, LOCAL_FORMATS[ext], data_files=dataset, split="train")
    if os.path.isfile(dataset):
        raise DataError(f"dataset file {dataset!r}: local files must be {', '.join(LOCAL_FORMATS)}")
    from rlvr.hub import check_dataset_source

    check_dataset_source(dataset)  # seconds, not a minute of retries, when the Hub is out of reach
    return datasets.load_dataset(dataset, config_name, split=split)


def _quietly(load, *args, **kwargs):
    """A local file converts in seconds: its progress bars would only push an error off the screen."""
    import datasets

    was_disabled = datasets.are_progress_bars_disabled()
    datasets.disable_progress_bars()
    try:
        return load(*args, **kwargs)
    finally:
        if not was_disabled:
            datasets.enable_progress_bars()


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, (str, list, dict)) and len(value) == 0)


def validate_rows(rows, prompt_column: str, reward_columns: list[str], name: str = "dataset") -> None:
    """Stop with an error naming the first bad row and column: a missing column, an empty
    dataset, an empty prompt, a malformed chat prompt, or a missing reward column value."""
    if len(rows) == 0:
        raise DataError(f"{name} is empty")
    if prompt_column not in rows.column_names:
        raise DataError(f"{name} has no column {prompt_column!r}; its columns are {rows.column_names}: set "
                        "prompt_column to the one that holds the prompts")
    missing = [c for c in reward_columns if c not in rows.column_names]
    if missing:
        raise DataError(f"{name} has no column {missing[0]!r}; its columns are {rows.column_names}: fix "
                        "reward_columns")
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


# -- what reward functions need from the data ----------------------------------------------------

# Rewards whose signature cannot say what they need: accuracy_reward takes ``answer`` or, failing
# that, ``solution``, so both default to None. Keyed by where the function is defined.
EITHER_COLUMNS = {"rewards.math.reward:accuracy_reward": (("answer", "solution"),)}
CALL_ARGUMENTS = ("completions", "prompts")  # passed by the trainer, not read from the data
ROW_ARGUMENTS = ("completion", "prompt")  # what the trainer passes a rewards.contract.per_row reward


def reward_label(spec: str | Callable) -> str:
    """``module:function`` as written in a recipe, or where a callable is defined."""
    if isinstance(spec, str):
        return spec
    fn = getattr(spec, "func", spec)  # functools.partial
    return f"{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', type(fn).__name__)}"


def import_reward(spec: str | Callable) -> Callable:
    """A reward function from a ``module:function`` path (a callable is returned as is). The module is
    imported with importlib, so it must be on ``sys.path``: the current directory under
    ``python -m rlvr.train``, or a folder on PYTHONPATH. Failures are ``ConfigError``s that say so."""
    if callable(spec):
        return spec
    module_name, _, attr = spec.partition(":")
    if not attr:
        raise ConfigError(f"reward function {spec!r} must be written 'module:function'")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is None or not module_name.startswith(exc.name):  # the module imports something missing
            raise ConfigError(f"cannot import reward function {spec!r}: importing {module_name} failed: {exc}") from exc
        raise ConfigError(f"cannot import reward function {spec!r}: no module named {exc.name!r} on the import "
                          f"path: python -m rlvr.train imports from the current directory ({os.getcwd()}) and "
                          f"PYTHONPATH; run it from the folder that holds {module_name.replace('.', '/')}.py, or "
                          "add that folder to PYTHONPATH") from exc
    except Exception as exc:  # a syntax error or a failing import inside the user's module
        raise ConfigError(f"cannot import reward function {spec!r}: importing {module_name} raised "
                          f"{type(exc).__name__}: {exc}") from exc
    fn = getattr(module, attr, None)
    if not callable(fn):
        names = [n for n in dir(module) if not n.startswith("_") and callable(getattr(module, n))]
        close = difflib.get_close_matches(attr, names, n=1)
        hint = f"did you mean '{module_name}:{close[0]}'?" if close else f"it defines {names[:20]}"
        raise ConfigError(f"cannot import reward function {spec!r}: {module_name} "
                          f"({getattr(module, '__file__', '?')}) has no function {attr!r}; {hint}")
    return fn


def required_reward_columns(reward_funcs: Sequence[str | Callable]) -> dict[str, list[tuple[str, ...]]]:
    """The dataset columns each reward function needs, keyed by its label: a list of requirements,
    each a tuple of interchangeable columns (any one will do).

    Read from, first to last: a ``required_columns`` attribute on the function (names, or tuples of
    alternatives: ``f.required_columns = ("answer",)``); ``EITHER_COLUMNS``; the signature, where every
    keyword parameter without a default, other than ``completions`` and ``prompts``, is a column.

    >>> def my_reward(completions, answer, difficulty=1, **kwargs): ...
    >>> required_reward_columns([my_reward])
    {'rlvr.data:my_reward': [('answer',)]}
    """
    out = {}
    for spec in reward_funcs:
        fn, label = import_reward(spec), reward_label(spec)
        declared = getattr(fn, "required_columns", None)
        if declared is None:
            declared = EITHER_COLUMNS.get(reward_label(fn))
        if declared is None:
            declared = _signature_columns(fn)
        out[label] = [(c,) if isinstance(c, str) else tuple(c) for c in declared]
    return out


def _signature_columns(fn: Callable) -> list[str]:
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # a builtin or C callable: nothing to read
        return []
    keyword = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    passed = ROW_ARGUMENTS if getattr(fn, "rlvr_per_row", False) else CALL_ARGUMENTS
    return [p.name for p in parameters
            if p.kind in keyword and p.default is inspect.Parameter.empty and p.name not in passed]


def check_reward_columns(rows, reward_funcs: Sequence[str | Callable], prompt_column: str,
                         reward_columns: Sequence[str] | None, name: str = "dataset") -> None:
    """Stop with a ``DataError`` naming the column, the reward that needs it and the fix when a reward
    function would not get a column it needs. Rewards get the prompt column and ``reward_columns``
    (default: every column)."""
    columns = list(rows.column_names)
    passed = set(columns) if reward_columns is None else {prompt_column, *reward_columns}
    for label, needs in required_reward_columns(reward_funcs).items():
        for alternatives in needs:
            if passed.intersection(alternatives):
                continue
            wanted = " or ".join(repr(c) for c in alternatives)
            present = [c for c in alternatives if c in columns]
            if present:
                raise DataError(f"reward_columns {list(reward_columns)} leaves out {present[0]!r}, which {label} "
                                f"needs: add it to reward_columns")
            raise DataError(f"{name} has no column {wanted} that {label} needs; its columns are {columns}: "
                            f"rename the column that holds it to {alternatives[0]!r} (or use a reward that reads your columns)")


def _prompt_key(prompt) -> str:
    return prompt.strip() if isinstance(prompt, str) else json.dumps(prompt, sort_keys=True)


def eval_overlap(train_rows, eval_rows, prompt_column: str) -> int:
    """How many evaluation rows have a prompt that is also a training prompt (text compared after
    stripping; chat prompts message by message)."""
    seen = {_prompt_key(p) for p in train_rows[prompt_column]}
    return sum(_prompt_key(row[prompt_column]) in seen for row in eval_rows)


def eval_overlap_warning(train_rows, eval_rows, prompt_column: str) -> str | None:
    """The warning to print when evaluation prompts are training prompts (None when none is)."""
    overlap = eval_overlap(train_rows, eval_rows, prompt_column) if len(eval_rows) else 0
    if overlap == 0:
        return None
    return (f"{overlap} of {len(eval_rows)} evaluation prompts are also training prompts: held-out accuracy is "
            "not held out; set eval_dataset to data the model does not train on")


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
