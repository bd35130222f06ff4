"""Completions -> rewards: several reward functions, weighted, with time limits and error policy.

Each reward function follows the contract in ``rewards`` (``f(prompts=, completions=, **columns)
-> list[float | None]``). Functions run concurrently: in daemon threads (``num_workers=0``: cheap,
for fast rewards) or split across a process pool (``num_workers>0``: for slow, CPU-bound rewards
such as a sandbox or SymPy). ``async def`` rewards and ``rewards.contract.per_row`` ones (judges,
remote checkers: I/O-bound) run on one event loop owned by the scorer, at the same time as the
others, at most ``max_concurrency`` calls or rows in flight, each call or row under ``timeout_s``.
A function that raises, returns malformed scores or exceeds ``timeout_s`` stops training with a
``RewardError`` naming it; with ``on_error="none"`` its scores become ``None`` for that batch (for a
``per_row`` reward: for the failed rows) instead and ``reward_errors/<name>`` counts it (the failed
fraction of rows).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from rewards.contract import RewardError, call_reward, call_reward_async, is_concurrent, reward_name

ON_ERROR = ("raise", "none")


class Scorer:
    def __init__(self, funcs: list[Callable], weights: list[float] | None = None, timeout_s: float = 60.0,
                 on_error: str = "raise", num_workers: int = 0, max_concurrency: int = 64):
        if not funcs:
            raise ValueError("at least one reward function is required")
        if weights is not None and len(weights) != len(funcs):
            raise ValueError(f"{len(weights)} reward weights given for {len(funcs)} reward functions")
        if on_error not in ON_ERROR:
            raise ValueError(f"on_error must be one of {ON_ERROR}, got {on_error!r}")
        self.funcs, self.names = funcs, [reward_name(f) for f in funcs]
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"reward functions need distinct names for their metrics, got {self.names}")
        self.weights = torch.tensor(weights if weights is not None else [1.0] * len(funcs))
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {max_concurrency}")
        self.timeout_s, self.on_error, self.num_workers = timeout_s, on_error, num_workers
        self.max_concurrency = max_concurrency
        self._pool = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- execution ----------------------------------------------------------------------------

    def _new_pool(self):
        # forkserver, not fork: forking a process that runs torch/tokenizer threads can deadlock.
        method = "forkserver" if sys.platform.startswith("linux") else "spawn"
        pool = multiprocessing.get_context(method).Pool(self.num_workers)
        pool.map(abs, range(self.num_workers))  # start-up time must not count against a reward's limit
        return pool

    def _run_threads(self, funcs, prompts, completions, rows) -> list[list[float | None] | BaseException]:
        results: list[Any] = [None] * len(funcs)

        def target(i: int) -> None:
            try:
                results[i] = call_reward(funcs[i], prompts, completions, rows)
            except BaseException as exc:  # noqa: BLE001 - reported to the caller below
                results[i] = exc

        threads = [threading.Thread(target=target, args=(i,), daemon=True) for i in range(len(funcs))]
        deadline = time.monotonic() + self.timeout_s
        for t in threads:
            t.start()
        for i, t in enumerate(threads):
            t.join(max(0.0, deadline - time.monotonic()))
            if t.is_alive():  # a daemon thread cannot be killed; it is abandoned and reported
                results[i] = TimeoutError(f"exceeded its {self.timeout_s:g} s time limit")
        return results

    def _start_async(self, funcs, prompts, completions, rows):
        """Schedule the concurrent rewards on the scorer's event loop (started once, in a daemon thread, so
        clients a reward keeps between batches stay on one loop); returns a future of their results."""
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            threading.Thread(target=self._loop.run_forever, daemon=True, name="rlvr-rewards").start()

        async def gather():
            limit = asyncio.Semaphore(self.max_concurrency)
            return await asyncio.gather(*(call_reward_async(fn, prompts, completions, rows, limit, self.timeout_s)
                                          for fn in funcs), return_exceptions=True)

        return asyncio.run_coroutine_threadsafe(gather(), self._loop)

    def _run_pool(self, funcs, prompts, completions, rows) -> list[list[float | None] | BaseException]:
        if self._pool is None:
            self._pool = self._new_pool()
        n, k = len(completions), self.num_workers
        bounds = [(i * n // k, (i + 1) * n // k) for i in range(k)]
        pending = [[self._pool.apply_async(call_reward, (fn, prompts[a:b], completions[a:b], rows[a:b]))
                    for a, b in bounds if b > a] for fn in funcs]
        deadline = time.monotonic() + self.timeout_s
        results: list[Any] = []
        timed_out = False
        for chunks in pending:
            try:
                results.append([s for c in chunks for s in c.get(max(0.0, deadline - time.monotonic()))])
            except multiprocessing.TimeoutError:
                timed_out = True
                results.append(TimeoutError(f"exceeded its {self.timeout_s:g} s time limit"))
            except BaseException as exc:  # noqa: BLE001
                results.append(exc)
        if timed_out:  # the hung workers are killed; a fresh pool serves the next batch
            self.close()
        return results

    def close(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._loop = None

    def _run(self, prompts, completions, rows) -> tuple[list, list[dict[int, BaseException]]]:
        """Every function's result (scores or the exception that ended it) and, per function, its failed
        rows; the concurrent rewards run while the others do."""
        concurrent = [i for i, f in enumerate(self.funcs) if is_concurrent(f)]
        plain = [i for i, f in enumerate(self.funcs) if not is_concurrent(f)]
        future = self._start_async([self.funcs[i] for i in concurrent], prompts, completions, rows) if concurrent else None
        results: list[Any] = [None] * len(self.funcs)
        failed_rows: list[dict] = [{} for _ in self.funcs]
        if plain:
            run = self._run_pool if self.num_workers > 0 else self._run_threads
            for i, result in zip(plain, run([self.funcs[i] for i in plain], prompts, completions, rows)):
                results[i] = result
        if future is not None:
            # every call and row has its own timeout_s on the loop; this bound only guards the loop itself
            outcomes = future.result(timeout=self.timeout_s * (1 + len(completions)) + 5)
            for i, outcome in zip(concurrent, outcomes):
                if isinstance(outcome, BaseException):
                    results[i] = TimeoutError(f"exceeded its {self.timeout_s:g} s time limit") \
                        if isinstance(outcome, asyncio.TimeoutError) else outcome
                else:
                    results[i], failed_rows[i] = outcome
        return results, failed_rows

    # -- scoring ------------------------------------------------------------------------------

    def __call__(self, prompts: list, completions: list, rows: list[dict]) -> tuple[Tensor, Tensor, dict]:
        """Score N completions -> (rewards (N,), per-function scores (N, F), metrics).

        ``rewards`` is the weighted sum over the functions that scored a completion (NaN where
        none did, which the advantage estimators turn into zero advantage).
        """
        results, failed_rows = self._run(prompts, completions, rows)
        per_func = torch.full((len(completions), len(self.funcs)), float("nan"))
        metrics: dict[str, float] = {}
        for j, (name, result) in enumerate(zip(self.names, results)):
            if isinstance(result, BaseException):
                if self.on_error == "raise":
                    raise RewardError(f"reward function {name!r} failed: {result!r}") from result
                metrics[f"reward_errors/{name}"] = 1.0
                continue
            if failed_rows[j] and self.on_error == "raise":
                row, exc = next(iter(sorted(failed_rows[j].items())))
                exc = TimeoutError(f"exceeded its {self.timeout_s:g} s time limit") \
                    if isinstance(exc, asyncio.TimeoutError) else exc
                raise RewardError(f"reward function {name!r} failed on completion {row} "
                                  f"({len(failed_rows[j])} of {len(completions)} failed): {exc!r}") from exc
            per_func[:, j] = torch.tensor([float("nan") if s is None else s for s in result])
            metrics[f"reward_errors/{name}"] = len(failed_rows[j]) / max(1, len(completions))
        weighted = per_func * self.weights
        scored = ~torch.isnan(per_func)
        rewards = torch.where(scored.any(-1), torch.nansum(weighted, -1), torch.tensor(float("nan")))
        for j, name in enumerate(self.names):
            column = per_func[:, j]
            metrics[f"reward/{name}"] = torch.nanmean(column).item() if scored[:, j].any() else float("nan")
            metrics[f"reward/{name}/none_frac"] = 1.0 - scored[:, j].float().mean().item()
        return rewards, per_func, metrics
