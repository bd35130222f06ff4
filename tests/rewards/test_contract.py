import pytest

from rewards import completion_text


def test_completion_text_forms():
    assert completion_text("abc") == "abc"
    assert completion_text([{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]) == "a"
    assert completion_text({"role": "assistant", "content": "x"}) == "x"


def test_completion_text_rejects_other_types():
    with pytest.raises(TypeError, match="string or a chat message list"):
        completion_text(42)


def test_rewards_package_never_imports_torch():
    import subprocess
    import sys

    code = "import sys, rewards, rewards.math; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
