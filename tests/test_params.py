"""params.yaml: typed sections, defaults, profiles, overrides and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from serbias.config import load_params, override
from serbias.errors import SerbiasError

REPO_PARAMS = Path(__file__).resolve().parents[1] / "params.yaml"


def test_repo_params_file_is_valid() -> None:
    params = load_params(REPO_PARAMS)
    assert params.split.mode == "speaker"
    assert params.split.seed == params.base.seed


def test_defaults_apply_without_a_params_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SERBIAS_PARAMS", raising=False)
    params = load_params()
    assert params.source is None
    assert (params.split.train, params.split.val, params.split.test) == (0.8, 0.1, 0.1)


def test_params_file_in_working_directory_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "params.yaml").write_text("base:\n  seed: 7\nsplit:\n  mode: clip\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SERBIAS_PARAMS", raising=False)
    params = load_params()
    assert params.split.mode == "clip"
    assert params.split.seed == 7 and params.synth.seed == 7


def test_unknown_keys_and_sections_are_named(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("split:\n  modes: clip\n")
    with pytest.raises(
        SerbiasError, match=r"params split.modes: unknown key \(expected one of: folds, mode, "
    ):
        load_params(path)
    path.write_text("splitt:\n  mode: clip\n")
    with pytest.raises(SerbiasError, match="unknown section 'splitt'"):
        load_params(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("split:\n  mode: speakers\n", "params split.mode: 'speakers' is not one of speaker, clip"),
        ("split:\n  train: lots\n", "params split.train: expected a number, got 'lots'"),
        ("split:\n  train: 0.8\n  val: 0.2\n  test: 0.1\n", "expected a sum <= 1"),
        ("synth:\n  actors: 200\n", "synth.actors: 200 is not in 2..91"),
        ("synth:\n  full: yes please\n", "synth.full: expected true or false"),
        ("[1, 2]\n", "expected a mapping of sections"),
        ("split: [\n", "cannot read params"),
    ],
)
def test_bad_values_give_one_line_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(text)
    with pytest.raises(SerbiasError, match=message) as info:
        load_params(path)
    assert "\n" not in str(info.value)


def test_profile_overrides_sections(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "split:\n  mode: speaker\n  seed: 1\nprofiles:\n  paper:\n    split:\n      mode: clip\n"
    )
    params = load_params(path, profile="paper")
    assert (params.split.mode, params.split.seed, params.base.profile) == ("clip", 1, "paper")
    with pytest.raises(SerbiasError, match="base.profile: 'gpu' is not a profile .*default, paper"):
        load_params(path, profile="gpu")


def test_base_profile_in_params_chooses_the_profile_and_the_env_var_only_sets_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "base:\n  profile: paper\nsplit:\n  mode: speaker\n"
        "profiles:\n  paper:\n    split:\n      mode: clip\n"
    )
    monkeypatch.delenv("SERBIAS_PROFILE", raising=False)
    assert load_params(path).split.mode == "clip"
    monkeypatch.setenv("SERBIAS_PROFILE", "default")
    params = load_params(path)
    assert (params.split.mode, params.base.profile) == ("speaker", "default")


def test_profile_merges_nested_hyperparameters_key_by_key(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "train:\n  models:\n    cnn_lstm: {channels: [8, 8], pools: [[2, 2], [2, 2]]}\n"
        "    svm: {C: 2.0}\n"
        "profiles:\n  paper:\n    train:\n      models:\n        cnn_lstm: {channels: [64, 64]}\n"
    )
    models = load_params(path, profile="paper").train.models
    assert models["cnn_lstm"].channels == (64, 64)
    assert models["cnn_lstm"].pools == ((2, 2), (2, 2))  # kept from the base section
    assert models["svm"].C == 2.0


def test_the_paper_profile_restores_the_reference_study_settings() -> None:
    paper = load_params(REPO_PARAMS, profile="paper")
    assert (paper.train.epochs, paper.train.patience, paper.train.cv) == (100, 0, False)
    assert paper.train.study_replicas == dict.fromkeys(paper.train.models, 100)
    assert paper.split.folds == 0
    assert (paper.extract.of("logmel").n_mels, paper.split.mode, paper.synth.full) == (
        128, "clip", True,
    )  # fmt: skip
    for family in (paper.train.models["cnn_lstm"], paper.train.models["multitask"]):
        assert family.channels == (64, 64, 128, 128)


def test_cli_values_override_and_are_validated() -> None:
    split = load_params(REPO_PARAMS).split
    assert override(split, mode="clip", seed=None).mode == "clip"
    with pytest.raises(SerbiasError, match="expected a sum <= 1"):
        override(split, train=0.95)
