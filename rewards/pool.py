"""One process pool per calling process, shared by the batch verifiers.

forkserver workers are safe to start from a process that already runs threads (a trainer), and each
keeps its own state (the math verifier's SymPy worker, the code sandbox's zygote) for the pool's life.
A worker exits when the calling process dies, however it dies, and its helpers with it.
"""

from __future__ import annotations

import atexit
import multiprocessing
import multiprocessing.connection
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor

_POOL: ProcessPoolExecutor | None = None
_WORKERS = 0
_LOCK = threading.Lock()


def _pool(workers: int) -> ProcessPoolExecutor:
    global _POOL, _WORKERS
    with _LOCK:
        if _POOL is None or _WORKERS != workers:
            if _POOL is not None:
                _POOL.shutdown(cancel_futures=True)
            _POOL = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("forkserver"),
                                        initializer=exit_with_parent)
            _WORKERS = workers
        return _POOL


def exit_with_parent() -> None:
    """Worker initializer: exit when the process that started this worker dies.

    A pool worker blocked on its task queue never sees the caller die (it holds the queue's write end
    itself), so without this a SIGKILLed caller leaves its workers, their forkserver and their zygotes
    running for good. The parent's sentinel is a pipe only the parent holds open.
    """
    sentinel = multiprocessing.parent_process().sentinel

    def watch() -> None:
        multiprocessing.connection.wait([sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def default_workers() -> int:
    """Every core, shared among the processes ``accelerate``/``torchrun`` started on this machine."""
    return max(1, (os.cpu_count() or 1) // int(os.environ.get("LOCAL_WORLD_SIZE", "1") or 1))


@atexit.register
def _shutdown() -> None:  # join the workers before the interpreter (and torch's threads) tear down
    if _POOL is not None:
        _POOL.shutdown(wait=True, cancel_futures=True)


def parallel_map(fn: Callable, items: Sequence, *, num_workers: int | None = None, min_items: int = 2,
                 chunksize: int | None = None) -> list:
    """``[fn(x) for x in items]`` across ``num_workers`` processes (default: ``default_workers()``); in-process when
    there is one worker, fewer than ``min_items`` items, or when called from a daemonic worker (which may
    not have children)."""
    workers = min(num_workers if num_workers is not None else default_workers(), len(items))
    if workers <= 1 or len(items) < min_items or multiprocessing.current_process().daemon:
        return [fn(x) for x in items]
    return list(_pool(workers).map(fn, items, chunksize=chunksize or max(1, len(items) // (workers * 4))))
