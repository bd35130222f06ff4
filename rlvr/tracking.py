"""What a run leaves on disk: ``metrics.jsonl`` (one JSON object per step), ``completions.jsonl``
(sampled completions), and ``training.png`` (reward and held-out accuracy over steps)."""

from __future__ import annotations

import json
import math
import os


def _clean(value):
    """JSON has no NaN: a metric that could not be computed is written as null."""
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value


class JsonlLog:
    """Append-only JSON-lines file keyed by ``step``. On resume, lines after the checkpoint's step
    are dropped first, so a resumed run's file equals an uninterrupted run's."""

    def __init__(self, path: str, resume_step: int | None = None):
        self.path = path
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        if resume_step is None:
            open(path, "w").close()
        elif os.path.exists(path):
            with open(path) as f:
                kept = [line for line in f if line.strip() and json.loads(line).get("step", 0) <= resume_step]
            with open(path, "w") as f:
                f.writelines(kept)

    def write(self, record: dict) -> None:
        with open(self.path, "a") as f:
            f.write(json.dumps({k: _clean(v) for k, v in record.items()}) + "\n")


def read_jsonl(path: str) -> list[dict]:
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def plot_training(metrics_path: str, out_path: str) -> None:
    """Reward per step (with a moving average) and held-out greedy accuracy, one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = read_jsonl(metrics_path)
    steps = [r["step"] for r in records if r.get("reward/mean") is not None]
    rewards = [r["reward/mean"] for r in records if r.get("reward/mean") is not None]
    acc = [(r["step"], r["eval/accuracy"]) for r in records if r.get("eval/accuracy") is not None]
    fig, (ax_r, ax_a) = plt.subplots(1, 2, figsize=(10, 3.6))
    ax_r.plot(steps, rewards, alpha=0.35, label="reward/mean")
    window = max(1, len(rewards) // 20)
    if len(rewards) >= window > 1:
        smooth = [sum(rewards[i - window + 1 : i + 1]) / window for i in range(window - 1, len(rewards))]
        ax_r.plot(steps[window - 1 :], smooth, label=f"moving average ({window})")
    ax_r.set(xlabel="step", ylabel="reward", title="training reward")
    ax_r.legend(loc="lower right")
    if acc:
        ax_a.plot([s for s, _ in acc], [a for _, a in acc], marker="o")
    ax_a.set(xlabel="step", ylabel="accuracy", title="held-out greedy accuracy", ylim=(0, 1))
    fig.tight_layout()
    fig.savefig(out_path, dpi=110)
    plt.close(fig)
