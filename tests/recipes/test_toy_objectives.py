"""The toy recipe of each newer objective (GSPO, GSPO-token, CISPO, REINFORCE++, REINFORCE++-baseline)
parses as it is launched and learns what it is rewarded for, in the setting and with the margin of
the GRPO and PPO learning tests (tests/rlvr/trainers/test_grpo.py explains both)."""

import os

import pytest

from rlvr.config import parse_config
from rlvr.trainers import TRAINERS
from tests.rlvr.trainers.test_grpo import LEARNING_ARGS, LEARNING_MARGIN, eight_prompts, reward_gain

TOY = os.path.join(os.path.dirname(__file__), "..", "..", "recipes", "toy")
# recipe -> (what it selects, training steps for the learning test: about 20-40 s each on one CPU thread;
# PPO's first 10 are the critic's warm-up, as in test_ppo)
RECIPES = {
    "gspo_arithmetic.yaml": ({"policy_loss": "gspo", "clip_low": 3e-4, "clip_high": 4e-4}, 100),
    "ppo_gspo_token_arithmetic.yaml": ({"algorithm": "ppo", "policy_loss": "gspo_token"}, 60),
    "cispo_arithmetic.yaml": ({"policy_loss": "cispo", "clip_low": 1.0}, 100),
    "reinforce_pp_arithmetic.yaml": ({"advantage_estimator": "reinforce_pp"}, 100),
    "reinforce_pp_baseline_arithmetic.yaml": ({"advantage_estimator": "reinforce_pp_baseline"}, 100),
}


@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_recipe_starts_with_its_launch_command_and_selects_its_objective(recipe):
    path = os.path.join(TOY, recipe)
    assert open(path).readline() == f"# accelerate launch -m rlvr.train --config recipes/toy/{recipe}\n"
    config = parse_config(None, ["--config", path])
    selected, _ = RECIPES[recipe]
    assert {k: getattr(config, k) for k in selected} == selected


@pytest.mark.slow
@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_recipe_learns_what_it_is_rewarded_for(tmp_path, toy_dir, recipe):
    _, steps = RECIPES[recipe]
    config = parse_config(None, ["--config", os.path.join(TOY, recipe), "--output_dir", str(tmp_path / "run"),
                                 "--max_steps", str(steps), "--dataset", eight_prompts(tmp_path), *LEARNING_ARGS])
    TRAINERS[config.algorithm](config).train()
    assert reward_gain(config.output_dir) >= LEARNING_MARGIN
