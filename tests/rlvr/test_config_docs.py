import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_configuration_docs_are_generated_from_the_dataclass():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from gen_config_docs import render
    finally:
        sys.path.pop(0)
    assert (ROOT / "docs" / "configuration.md").read_text() == render(), "run python scripts/gen_config_docs.py"
