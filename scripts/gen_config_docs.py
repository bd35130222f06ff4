"""Regenerate docs/configuration.md from the config dataclasses: python scripts/gen_config_docs.py"""

import dataclasses
import pathlib

from rlvr.config import GRPOConfig

HEADER = """# Configuration

Every recipe is a YAML file of these fields (only what differs from the defaults); any field can be
overridden on the command line as `--field value` (lists: `--field a b`). The resolved config is
printed at start and saved as `config.json` in `output_dir`. Generated from `rlvr/config.py` by
`python scripts/gen_config_docs.py`.

| field | default | meaning |
|---|---|---|
"""


def render() -> str:
    rows = []
    for f in dataclasses.fields(GRPOConfig):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        rows.append(f"| `{f.name}` | `{default!r}` | {f.metadata.get('help', '')} |")
    return HEADER + "\n".join(rows) + "\n"


if __name__ == "__main__":
    path = pathlib.Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
    path.write_text(render())
    print(f"wrote {path}")
