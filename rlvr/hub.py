"""Can a model or data set be had, before anything is downloaded or loaded?

A local folder, an offline model ('toy', 'smollm2') or a repository already in the Hugging Face cache
needs no network. Anything else needs the Hub, and an unreachable Hub costs transformers and datasets
tens of seconds of retries and a hundred lines of tracebacks before they give up. One request with a
short timeout and no retries tells the same in seconds, in one line that says what to do instead.
"""

from __future__ import annotations

import glob
import os
import urllib.error
import urllib.request

from rlvr.config import ConfigError
from rlvr.modeling import OFFLINE_MODELS

PROBE_TIMEOUT_S = 5.0
MODEL_ALTERNATIVES = "a local folder as model_name_or_path, or an offline model: 'toy' or 'smollm2'"
DATASET_ALTERNATIVES = "a local .jsonl, .json or .parquet file as dataset, or the offline task 'toy'"
CACHE_HINT = "load it once while online (it stays in the Hugging Face cache), then set HF_HUB_OFFLINE=1"


def check_model_source(name: str, timeout: float = PROBE_TIMEOUT_S) -> None:
    """Raise ``ConfigError`` unless model ``name`` can be loaded: a local folder, an offline model, a
    Hub repository in the local cache, or one on a reachable Hub."""
    if name in OFFLINE_MODELS or os.path.isdir(name):
        return
    _check_hub(name, "model", MODEL_ALTERNATIVES, timeout)


def check_dataset_source(name: str, timeout: float = PROBE_TIMEOUT_S) -> None:
    """The same for a Hub data set name (local files and 'toy' are the caller's to check)."""
    if os.path.isdir(name):
        return
    _check_hub(name, "dataset", DATASET_ALTERNATIVES, timeout)


def _check_hub(name: str, kind: str, alternatives: str, timeout: float) -> None:
    from huggingface_hub import constants, is_offline_mode

    if name.startswith((".", "/", "~")) or name.count("/") > 1:  # a path, not an 'org/name' repository id
        raise ConfigError(f"{kind} folder {name!r} does not exist")
    if _cached(name, kind):
        return
    if is_offline_mode():
        raise ConfigError(f"{kind} {name!r} is not in the Hugging Face cache ({constants.HF_HUB_CACHE}) and "
                          f"HF_HUB_OFFLINE=1 forbids downloading it: load it once while online, or use {alternatives}")
    url = f"{constants.ENDPOINT.rstrip('/')}/api/{kind}s/{name}"
    reason = unreachable(url, timeout)
    if reason is not None:
        raise ConfigError(f"{kind} {name!r} is neither local nor in the Hugging Face cache, and the Hub "
                          f"({constants.ENDPOINT}) is unreachable ({reason}): use {alternatives}; or {CACHE_HINT}")


def _cached(name: str, kind: str) -> bool:
    """Whether the libraries can load ``name`` from disk: a snapshot in the Hub cache (for a model, its
    config.json), or for a data set the ``datasets`` library's own prepared copy."""
    from huggingface_hub import constants, try_to_load_from_cache

    if kind == "model":
        return isinstance(try_to_load_from_cache(name, "config.json"), str)
    folder = os.path.join(constants.HF_HUB_CACHE, f"datasets--{name.replace('/', '--')}", "snapshots", "*")
    if glob.glob(folder):
        return True
    import datasets

    return os.path.isdir(os.path.join(datasets.config.HF_DATASETS_CACHE, name.replace("/", "___")))


def unreachable(url: str, timeout: float) -> str | None:
    """Why one HEAD request to ``url`` got no HTTP answer (None: it got one, even an error status,
    which the library will report better: a gated, private or misspelt repository)."""
    try:
        urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout).close()
    except urllib.error.HTTPError:
        return None
    except urllib.error.URLError as exc:
        return str(exc.reason)
    except (OSError, ValueError) as exc:  # a timeout, a reset connection, an endpoint that is no URL
        return str(exc) or type(exc).__name__
    return None
