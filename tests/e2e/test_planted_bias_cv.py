"""Known answer through the cross-validated pipeline: every actor audited out of fold.

A 20-actor corpus whose female speakers' emotion cues are weakened (``sex=Female:0.8``) goes
through ``split --folds 5``, ``train --cv`` (SVM), ``predict`` (pooled out-of-fold) and
``audit`` of every actor; the Female-vs-Male macro-F1 gap must be a headline (interval
excluding 0 and Benjamini-Hochberg adjusted p < 0.05). Without a planted bias the same
pipeline must not claim one in at least 9 of 10 seeds.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from serbias.cli import app

runner = CliRunner()


def _run(*args: str) -> None:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, f"serbias {' '.join(args)}\n{result.output}"


def female_vs_male(root: Path, *, seed: int, bias: tuple[str, ...] = ()) -> pd.Series:
    """The cross-validated SVM's Female-vs-Male macro-F1 gap row of gaps.csv."""
    corpus, split, features = root / "corpus", root / "split.json", root / "features"
    bias_args = [a for spec in bias for a in ("--bias", spec)] or ["--no-bias"]
    _run("synth", str(corpus), "--actors", "20", "--sentences", "2", "--seed", str(seed),
         "--jobs", "1", *bias_args)  # fmt: skip
    _run("split", "--data", str(corpus), "--out", str(split), "--seed", str(seed),
         "--folds", "5")  # fmt: skip
    _run("extract", "--data", str(corpus), "--out", str(features), "--kind", "svm",
         "--jobs", "1")  # fmt: skip
    _run("train", "--model", "svm", "--labels", "intended", "--features", str(features),
         "--data", str(corpus), "--split", str(split), "--seed", str(seed), "--cv",
         "--no-register-final", "--out", str(root / "train"))  # fmt: skip
    _run("predict", "--model", str(root / "train" / "svm-intended.json"), "--features",
         str(features), "--split", str(split), "--out", str(root / "svm.csv"))  # fmt: skip
    _run("audit", str(root / "svm.csv"), "--data", str(corpus), "--out", str(root / "audit"),
         "--seed", str(seed), "--target", "intended", "--no-track")  # fmt: skip
    gaps = pd.read_csv(root / "audit" / "gaps.csv")
    row = gaps[(gaps["system"] == "svm") & (gaps["kind"] == "vs_reference")
               & (gaps["axis"] == "sex") & (gaps["group"] == "Female")
               & (gaps["metric"] == "macro_f1")]  # fmt: skip
    assert len(row) == 1 and row.iloc[0]["n_actors"] + row.iloc[0]["n_actors_reference"] == 20
    return row.iloc[0]


def headline(row: pd.Series) -> bool:
    """The audit's headline rule: the interval excludes 0 and the adjusted p is below 0.05."""
    return bool((row["ci_high"] < 0 or row["ci_low"] > 0) and row["p_adjusted"] < 0.05)


def test_a_planted_female_bias_is_a_headline_over_every_actor(tmp_path, tracking_store):
    row = female_vs_male(tmp_path, seed=0, bias=("sex=Female:0.8",))
    assert row["gap"] < 0 and headline(row), row[["gap", "ci_low", "ci_high", "p_adjusted"]]


@pytest.mark.slow
def test_without_a_planted_bias_nine_of_ten_seeds_claim_no_gap(tmp_path, tracking_store):
    rows = [female_vs_male(tmp_path / str(seed), seed=seed) for seed in range(10)]
    claimed = [headline(row) for row in rows]
    assert sum(claimed) <= 1, [(r["gap"], r["ci_low"], r["ci_high"], r["p_adjusted"]) for r in rows]
