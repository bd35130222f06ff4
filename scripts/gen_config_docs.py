"""Regenerate docs/configuration.md from the config dataclasses: python scripts/gen_config_docs.py"""

import dataclasses
import pathlib

from rlvr.config import GRPOConfig, PPOConfig, RLConfig

HEADER = """# Configuration

Every recipe is a YAML file of these fields (only what differs from the defaults); any field can be
overridden on the command line as `--field value` (lists: `--field a b`). `algorithm` (grpo or ppo)
picks the trainer. The resolved config is printed at start and saved as `run_config.json` in
`output_dir`. Generated from `rlvr/config.py` by `python scripts/gen_config_docs.py`; the choices of
a variant field (`policy_loss`, `advantage_estimator`, `importance_sampling`, `loss_aggregation`,
`kl_estimator`, `generation_backend`) and their descriptions come from the registries in `rlvr/algorithms.py` and
`rlvr/rollout.py` (see [concepts](concepts.md#choosing-an-objective) for when to pick which).
"""


def _table(fields) -> str:
    rows = ["| field | default | meaning |", "|---|---|---|"]
    for f in fields:
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        rows.append(f"| `{f.name}` | `{default!r}` | {f.metadata.get('help', '').replace('%%', '%')} |")
    return "\n".join(rows) + "\n"


def render() -> str:
    shared = {f.name for f in dataclasses.fields(RLConfig)}
    grpo = [f for f in dataclasses.fields(GRPOConfig) if f.name not in shared or f.name == "algorithm"]
    ppo = [f for f in dataclasses.fields(PPOConfig)
           if f.name not in shared or f.name in {"algorithm", "group_size", "kl_estimator"}]
    return (HEADER + "\n## Shared by all trainers\n\n" + _table(dataclasses.fields(RLConfig))
            + "\n## GRPO (`algorithm: grpo`)\n\n" + _table(grpo)
            + "\n## PPO (`algorithm: ppo`): fields added or with other defaults\n\n" + _table(ppo))


if __name__ == "__main__":
    path = pathlib.Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
    path.write_text(render())
    print(f"wrote {path}")
