import pytest

from promptlab import ConfigError, GenerationConfig


def test_defaults_are_greedy() -> None:
    config = GenerationConfig()
    assert config.sampling is False
    assert config.n == 1 and config.stop == ()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("temperature", -0.1),
        ("top_p", 0.0),
        ("top_p", 1.5),
        ("n", 0),
        ("max_new_tokens", 0),
        ("top_k", 0),
        ("num_beams", 0),
        ("repetition_penalty", 0.0),
        ("seed", -1),
    ],
)
def test_invalid_values_name_the_field(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=field):
        GenerationConfig(**{field: value})


def test_empty_stop_string_is_rejected() -> None:
    with pytest.raises(ConfigError, match="stop"):
        GenerationConfig(stop=["\n", ""])


def test_unknown_knob_is_rejected() -> None:
    with pytest.raises(ConfigError, match="temprature"):
        GenerationConfig(temprature=0.5)


def test_stop_accepts_a_single_string() -> None:
    assert GenerationConfig(stop="\n").stop == ("\n",)


def test_greedy_n_samples_are_refused_with_a_fix() -> None:
    with pytest.raises(ConfigError, match="temperature > 0"):
        GenerationConfig(n=3)
    assert GenerationConfig(n=3, temperature=0.7).sampling
    assert GenerationConfig(n=3, num_beams=3).n == 3


def test_beams_and_sampling_conflict() -> None:
    with pytest.raises(ConfigError, match="beam"):
        GenerationConfig(num_beams=2, temperature=0.5)


def test_do_sample_without_temperature() -> None:
    with pytest.raises(ConfigError, match="do_sample"):
        GenerationConfig(do_sample=True)
    assert GenerationConfig(do_sample=False, temperature=0.7).sampling is False


def test_overrides_are_validated_and_none_resets() -> None:
    base = GenerationConfig(max_new_tokens=10, seed=3, top_k=5)
    assert base.with_overrides() is base
    assert base.with_overrides(seed=None, top_k=None).seed is None
    assert base.with_overrides(seed=None).top_k == 5
    assert base.with_overrides(temperature=0.5).temperature == 0.5
    with pytest.raises(ConfigError, match="max_new_tokens"):
        base.with_overrides(max_new_tokens=None)
    with pytest.raises(ConfigError, match="top_p"):
        base.with_overrides(top_p=2)


def test_non_default_knobs() -> None:
    assert GenerationConfig(seed=3, stop=["x"]).non_default_knobs() == {"seed", "stop"}


def test_config_is_immutable() -> None:
    config = GenerationConfig()
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen error
        config.temperature = 1.0  # type: ignore[misc]
