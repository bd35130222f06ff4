"""Config parsing and validation: every mistake is one ConfigError that says what to fix."""

import dataclasses
import typing

import pytest

from rlvr.algorithms import ADVANTAGE_ESTIMATORS, KL_ESTIMATORS, LOSS_AGGREGATIONS, POLICY_LOSSES
from rlvr.config import RANGES, ConfigError, GRPOConfig, PPOConfig, RLConfig, _field_types, parse_config
from rlvr.rollout import GENERATORS


def recipe(tmp_path, text: str) -> str:
    path = tmp_path / "recipe.yaml"
    path.write_text(text)
    return str(path)


def test_unknown_yaml_key_names_the_file_and_the_nearest_option(tmp_path):
    path = recipe(tmp_path, "max_steps: 3\nlearnig_rate: 1.0e-4\n")
    with pytest.raises(ConfigError) as info:
        parse_config(None, ["--config", path])
    assert str(info.value) == f"unknown option 'learnig_rate' in {path}; did you mean 'learning_rate'?"


@pytest.mark.parametrize("args, message", [
    (["--learnig_rate", "1e-4"], "unknown option '--learnig_rate' on the command line; did you mean '--learning_rate'?"),
    (["--max_step", "3"], "did you mean '--max_steps'?"),  # no silent abbreviation
    (["--zzz", "1"], "python -m rlvr.train --help lists every option"),
    (["recipe.yaml"], "did you mean --config recipe.yaml?"),
])
def test_unknown_command_line_options(args, message):
    with pytest.raises(ConfigError, match=message.replace("?", r"\?").replace(".", r"\.")):
        parse_config(None, args)


def test_an_option_of_the_other_algorithm_says_so(tmp_path):
    with pytest.raises(ConfigError, match="'kl_in_reward' in .* is a ppo option, but the algorithm is grpo"):
        parse_config(None, ["--config", recipe(tmp_path, "kl_in_reward: true\n")])
    with pytest.raises(ConfigError, match="'--advantage_estimator' on the command line is a grpo option"):
        parse_config(None, ["--algorithm", "ppo", "--advantage_estimator", "rloo"])


def test_a_negative_number_is_read_as_a_value_and_then_validated():
    # argparse alone takes "-1e-4" for an option and prints its whole usage screen
    with pytest.raises(ConfigError, match=r"^learning_rate must be > 0, got -0\.0001$"):
        parse_config(None, ["--learning_rate", "-1e-4", "--max_steps", "3"])
    assert parse_config(None, ["--clip_low", "2e-1"]).clip_low == 0.2


@pytest.mark.parametrize("args, message", [
    (["--learning_rate", "0"], "learning_rate must be > 0, got 0.0"),  # trained silently before
    (["--learning_rate", "abc"], "argument --learning_rate/--learning-rate: invalid float value: 'abc'"),
    (["--kl_estimator", "k4"], "invalid choice: 'k4'"),
    (["--config"], "--config needs a recipe file"),
    (["--config", "/no/such/recipe.yaml"], "cannot read config file '/no/such/recipe.yaml': No such file"),
])
def test_bad_values_are_one_line(args, message):
    with pytest.raises(ConfigError) as info:
        parse_config(None, args)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_recipe_file_that_is_not_a_mapping_or_not_yaml(tmp_path):
    with pytest.raises(ConfigError, match="must hold 'key: value' lines"):
        parse_config(None, ["--config", recipe(tmp_path, "- a\n- b\n")])
    with pytest.raises(ConfigError, match=r"is not valid YAML at line \d+: "):
        parse_config(None, ["--config", recipe(tmp_path, "max_steps: 3\nlr: [1\n")])


def _config_class(name: str):
    return RLConfig if name in {f.name for f in dataclasses.fields(RLConfig)} else PPOConfig


BAD = {">= 1": 0, ">= 0": -1, "> 0": 0, "> 1": 1, "in (0, 1]": 0, "in [0, 1]": 1.5, "in [0, 1)": 1, "in [0, 2**32)": -1}


@pytest.mark.parametrize("name", sorted(RANGES))
def test_every_ranged_number_is_checked(name):
    cls = PPOConfig if _config_class(name) is PPOConfig else GRPOConfig
    value = BAD[RANGES[name]]
    with pytest.raises(ConfigError, match=f"^{name} must be "):
        cls(**{name: value})


def test_every_numeric_field_has_a_range():
    """A new int or float field must say which values it accepts (or be checked by a rule of its own)."""
    own_rules = {"overlong_buffer", "dual_clip"}  # bounded by another field / > 1, checked in __post_init__
    for cls in (GRPOConfig, PPOConfig):
        numeric = {n for n, t in _field_types(cls).items() if t in (int, float)}
        assert numeric - own_rules <= set(RANGES), numeric - own_rules - set(RANGES)


def test_types_are_checked_when_configs_are_built_in_python():
    with pytest.raises(ConfigError, match="max_steps must be an integer, got 2.5"):
        GRPOConfig(max_steps=2.5)
    with pytest.raises(ConfigError, match="learning_rate must be a number, got '1e-4'"):
        GRPOConfig(learning_rate="1e-4")
    with pytest.raises(ConfigError, match=r"dtype must be one of \['float32', 'bfloat16', 'float16'\], got 'fp16'"):
        GRPOConfig(dtype="fp16")
    with pytest.raises(ConfigError, match="reward_weights must be finite numbers"):
        GRPOConfig(reward_weights=[float("nan")])
    with pytest.raises(ConfigError, match="must be written 'module:function'"):
        GRPOConfig(reward_funcs=["rewards.math.accuracy_reward"])


def test_a_yaml_scalar_for_a_list_field_is_a_list_of_one(tmp_path):
    config = parse_config(None, ["--config", recipe(tmp_path, "reward_funcs: rewards.math:accuracy_reward\n")])
    assert config.reward_funcs == ["rewards.math:accuracy_reward"]


def test_k1_kl_as_a_loss_term_is_refused_with_the_reason_and_the_fixes():
    # E_π[∇ log π] = 0, so k1 in the loss has zero expected gradient
    with pytest.raises(ConfigError, match=r"zero expected gradient .* use kl_estimator k3 \(or k2\)$"):
        GRPOConfig(kl_coef=0.1, kl_estimator="k1")
    with pytest.raises(ConfigError, match="or kl_in_reward: true"):
        PPOConfig(kl_coef=0.1, kl_estimator="k1", kl_in_reward=False)
    assert PPOConfig(kl_coef=0.1).kl_estimator == "k1"  # the default: k1 as a reward penalty is fine
    assert PPOConfig(kl_coef=0.1, kl_estimator="k3", kl_in_reward=False).kl_in_loss
    GRPOConfig(kl_coef=0.0, kl_estimator="k1")  # no KL term at all


def test_kl_target_needs_the_kl_in_the_reward():
    with pytest.raises(ConfigError, match="kl_target adapts only the KL penalty in the reward"):
        PPOConfig(kl_coef=0.1, kl_estimator="k3", kl_in_reward=False, kl_target=0.01)
    assert PPOConfig(kl_coef=0.1, kl_target=0.01).kl_target == 0.01


def test_literal_fields_are_all_checked():
    literal = {n for n, t in _field_types(GRPOConfig).items() if typing.get_origin(t) is typing.Literal}
    assert {"dtype", "toy_size", "kl_estimator", "loss_aggregation", "advantage_estimator", "policy_loss",
            "generation_backend"} <= literal


# Each variant field and the registry its choices come from.
VARIANT_FIELDS = {"advantage_estimator": ADVANTAGE_ESTIMATORS, "policy_loss": POLICY_LOSSES,
                  "kl_estimator": KL_ESTIMATORS, "loss_aggregation": LOSS_AGGREGATIONS,
                  "generation_backend": GENERATORS}


@pytest.mark.parametrize("cls", [GRPOConfig, PPOConfig])
def test_variant_choices_and_their_descriptions_come_from_the_registries(cls):
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for name, registry in VARIANT_FIELDS.items():
        if name not in fields:
            continue
        assert typing.get_args(_field_types(cls)[name]) == tuple(registry), name
        for choice in registry:
            assert f"`{choice}`: {registry.describe(choice)}" in fields[name].metadata["help"], (name, choice)


def test_new_objectives_are_config_choices_and_their_misuse_is_refused():
    assert GRPOConfig(policy_loss="cispo", advantage_estimator="reinforce_pp_baseline").policy_loss == "cispo"
    assert GRPOConfig().policy_loss == "ppo_clip"
    with pytest.raises(ConfigError, match=r"policy_loss must be one of \['ppo_clip', 'gspo', 'gspo_token', 'cispo'\]"):
        GRPOConfig(policy_loss="ppo")
    with pytest.raises(ConfigError, match="use gspo_token"):  # GAE's advantages are per token
        PPOConfig(policy_loss="gspo")
    assert PPOConfig(policy_loss="gspo_token").policy_loss == "gspo_token"
    with pytest.raises(ConfigError, match="cispo has none"):
        GRPOConfig(policy_loss="cispo", dual_clip=3.0)
    config = GRPOConfig(policy_loss="gspo")  # GSPO's own clip range is the user's to set, never swapped in
    assert (config.clip_low, config.clip_high) == (0.2, 0.2)
    # REINFORCE++ has no group baseline, so one completion per prompt is enough; the others need a group
    assert GRPOConfig(advantage_estimator="reinforce_pp", group_size=1).group_size == 1
    with pytest.raises(ConfigError, match="group_size must be >= 2"):
        GRPOConfig(advantage_estimator="reinforce_pp_baseline", group_size=1)


def test_help_lists_every_field():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "rlvr.train", "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-500:]
    assert "~30% more update time" in out.stdout and "--importance_sampling" in out.stdout
