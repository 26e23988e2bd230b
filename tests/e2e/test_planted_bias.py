"""Known answer for the whole pipeline: a planted bias is found, no bias is not invented.

The single-split design (``split --folds 0``, ``train --no-cv``): a synthetic corpus is
generated with the emotion cues of female speakers pulled all the way to neutral (``--bias
sex=Female:1``); an SVM trained on it must then recognise women's emotions worse, and the
audit must say so with an actor-level CI that excludes 0. The same pipeline without a planted
bias must not claim a sex gap. Everything runs through the CLI, as a user would run it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from serbias.cli import app

runner = CliRunner()
NON_NEUTRAL = ("Anger", "Disgust", "Fear", "Happy", "Sad")


def _run(*args: str) -> None:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, f"serbias {' '.join(args)}\n{result.output}"


def audit_sex_gaps(root: Path, *, seed: int, bias: tuple[str, ...] = ()) -> pd.DataFrame:
    """synth -> split -> extract -> train svm -> predict -> audit; the Female-vs-Male gaps."""
    corpus, split, features = root / "corpus", root / "split.json", root / "features"
    predictions, audit = root / "test.csv", root / "audit"
    bias_args = [a for spec in bias for a in ("--bias", spec)] or ["--no-bias"]
    _run("synth", str(corpus), "--actors", "24", "--sentences", "3", "--seed", str(seed),
         "--jobs", "1", *bias_args)  # fmt: skip
    _run("split", "--data", str(corpus), "--out", str(split), "--seed", str(seed),
         "--train", "0.5", "--val", "0.1", "--test", "0.4", "--folds", "0")  # fmt: skip
    _run("extract", "--data", str(corpus), "--out", str(features), "--kind", "svm",
         "--jobs", "1")  # fmt: skip
    _run("train", "--model", "svm", "--labels", "intended", "--features", str(features),
         "--data", str(corpus), "--split", str(split), "--seed", str(seed), "--no-cv",
         "--no-register-final", "--out", str(root / "train"))  # fmt: skip
    _run("predict", "--model", "models:/serbias-svm-intended@latest", "--features",
         str(features), "--split", str(split), "--out", str(predictions),
         "--split-name", "test")  # fmt: skip
    _run("audit", str(predictions), "--data", str(corpus), "--split", str(split),
         "--out", str(audit), "--reference", "sex=Male", "--seed", str(seed),
         "--target", "intended")  # fmt: skip
    gaps = pd.read_csv(audit / "gaps.csv")
    summary = json.loads((root / "train" / "svm-intended.json").read_text())
    assert (
        summary["registered_model"] == "serbias-svm-intended" and 0 <= summary["val_macro_f1"] <= 1
    )
    female = (
        (gaps["system"] == "test")
        & (gaps["kind"] == "vs_reference")
        & (gaps["axis"] == "sex")
        & (gaps["group"] == "Female")
    )  # the model's, not the listeners'

    return gaps[female]


def test_planted_bias_against_women_is_found(tmp_path: Path, tracking_store: Path) -> None:
    gaps = audit_sex_gaps(tmp_path, seed=0, bias=("sex=Female:1.0",)).set_index("metric")
    assert gaps.loc["macro_f1", "gap"] < 0
    assert gaps.loc["macro_f1", "ci_high"] < 0, gaps.loc["macro_f1"]
    recall = gaps.loc[[f"recall_{e}" for e in NON_NEUTRAL]]
    assert (recall["ci_high"] < 0).sum() >= 3, recall[["gap", "ci_low", "ci_high", "p_value"]]


def test_no_planted_bias_claims_no_sex_gap(tmp_path: Path, tracking_store: Path) -> None:
    gaps = audit_sex_gaps(tmp_path, seed=0).set_index("metric")
    macro = gaps.loc["macro_f1"]
    assert macro["ci_low"] <= 0 <= macro["ci_high"], macro


@pytest.mark.slow
def test_without_bias_most_seeds_show_no_sex_gap(tmp_path: Path, tracking_store: Path) -> None:
    seeds = (1, 2, 3, 4, 5)
    macro = [
        audit_sex_gaps(tmp_path / str(seed), seed=seed).set_index("metric").loc["macro_f1"]
        for seed in seeds
    ]
    includes_zero = [row["ci_low"] <= 0 <= row["ci_high"] for row in macro]
    assert sum(includes_zero) >= 4, [(r["gap"], r["ci_low"], r["ci_high"]) for r in macro]
