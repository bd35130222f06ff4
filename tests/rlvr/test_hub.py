"""Model and data set sources are checked before anything loads, without the network: the Hub endpoint
is a closed port on this machine, and the Hugging Face cache a temporary folder. Each case runs in a fresh
interpreter, because huggingface_hub reads HF_ENDPOINT, HF_HOME and HF_HUB_OFFLINE when it is imported."""

import json
import os
import socket
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROBE = """
import json, sys, time
from rlvr.hub import check_dataset_source, check_model_source
out = {}
for kind, name in json.loads(sys.argv[1]):
    start = time.monotonic()
    try:
        (check_model_source if kind == "model" else check_dataset_source)(name)
        out[name] = ["ok", time.monotonic() - start]
    except Exception as exc:
        out[name] = [f"{type(exc).__name__}: {exc}", time.monotonic() - start]
print(json.dumps(out))
"""


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once the socket is closed


def probe(tmp_path, names: list[tuple[str, str]], **env) -> dict:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_"))}
    env = {**inherited, "PYTHONPATH": ROOT, "HF_HOME": str(tmp_path / "hf"), **env}
    proc = subprocess.run([sys.executable, "-c", PROBE, json.dumps(names)], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.splitlines()[-1])


def fake_cached_model(tmp_path, name: str) -> None:
    repo = tmp_path / "hf" / "hub" / f"models--{name.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0" * 40)
    (repo / "snapshots" / ("0" * 40)).mkdir(parents=True)
    (repo / "snapshots" / ("0" * 40) / "config.json").write_text("{}")


def test_unreachable_hub_fails_in_seconds_with_the_offline_fixes(tmp_path):
    fake_cached_model(tmp_path, "org/cached-model")
    (tmp_path / "local-model").mkdir()
    endpoint = f"http://127.0.0.1:{closed_port()}"
    out = probe(tmp_path, [("model", "org/some-model"), ("dataset", "org/some-data"), ("model", "org/cached-model"),
                           ("model", str(tmp_path / "local-model")), ("model", "toy"), ("model", "smollm2"),
                           ("model", "./models/missing")], HF_ENDPOINT=endpoint)
    message, seconds = out["org/some-model"]
    assert message == (f"ConfigError: model 'org/some-model' is neither local nor in the Hugging Face cache, and the "
                       f"Hub ({endpoint}) is unreachable ([Errno 111] Connection refused): use a local folder as "
                       "model_name_or_path, or an offline model: 'toy' or 'smollm2'; or load it once while online "
                       "(it stays in the Hugging Face cache), then set HF_HUB_OFFLINE=1")
    assert seconds < 5  # one request, no retries (transformers spends ~30-60 s retrying)
    assert out["org/some-data"][0].startswith("ConfigError: dataset 'org/some-data' is neither local")
    assert "a local .jsonl, .json or .parquet file as dataset" in out["org/some-data"][0]
    for name in ["org/cached-model", str(tmp_path / "local-model"), "toy", "smollm2"]:
        assert out[name][0] == "ok", (name, out[name])
    assert out["./models/missing"][0] == "ConfigError: model folder './models/missing' does not exist"


def test_offline_mode_needs_the_cache(tmp_path):
    fake_cached_model(tmp_path, "org/cached-model")
    out = probe(tmp_path, [("model", "org/cached-model"), ("model", "org/other")], HF_HUB_OFFLINE="1",
                HF_ENDPOINT=f"http://127.0.0.1:{closed_port()}")
    assert out["org/cached-model"][0] == "ok"
    assert out["org/other"][0].startswith(f"ConfigError: model 'org/other' is not in the Hugging Face cache "
                                          f"({tmp_path / 'hf' / 'hub'}) and HF_HUB_OFFLINE=1 forbids downloading it")
