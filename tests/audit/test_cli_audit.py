"""`serbias audit` from the command line: outputs, the summary table, and one-line errors."""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from serbias.cli import app
from serbias.corpus.reader import read_corpus
from tests.audit.clips import noisy_scores, write_predictions

runner = CliRunner()
# --no-track: these tests need no MLflow store (tests/test_audit_tracking.py covers tracking)
FAST = ["--n-boot", "60", "--n-perm", "60", "--n-chance", "3", "--min-actors", "2", "--no-track"]


@pytest.fixture()
def predictions(tiny_corpus: Path, tmp_path: Path) -> Path:
    clips = read_corpus(tiny_corpus)
    return write_predictions(tmp_path / "model.csv", noisy_scores(clips, seed=0), suffix=".wav")


def test_audit_writes_report_metrics_and_prints_headlines(
    tiny_corpus: Path, predictions: Path, tmp_path: Path
) -> None:
    out = tmp_path / "audit"
    result = runner.invoke(
        app,
        [
            "audit",
            str(predictions),
            "--data",
            str(tiny_corpus),
            "--out",
            str(out),
            "--human-baseline",
            "--reference",
            "sex=Male",
            *FAST,
            # 3 vs 3 actors cannot be resolved by the default test: no interval would be given
            "--interval",
            "percentile",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Headline gaps" in result.output and "Report:" in result.output
    assert "Verdicts: macro-F1 gap" in result.output  # the report's verdict table, word for word
    metrics = json.loads((out / "metrics.json").read_text())
    assert all(isinstance(value, int | float) for value in metrics.values())
    assert (
        "intended.sex.Female_vs_Male.macro_f1.gap" in metrics
        and "intended.sex.Female_vs_Male.macro_f1.ci_low" in metrics
        and "human.overall.accuracy" in metrics
    )
    # metrics.json is the headline, sized for `dvc metrics show`: the CSVs hold the rest
    assert not [key for key in metrics if "recall" in key or "age_band" in key]
    assert not [key for key in metrics if key.startswith("intended.sex.Female.")]
    findings = json.loads((out / "audit.json").read_text())["findings"]
    assert findings[0].startswith("Female macro-F1 is")
    report = (out / "report.html").read_text()
    assert html.escape(findings[0]) in report
    assert report.index("Headline findings") < report.index("What was audited")
    for name in ("by_group.csv", "gaps.csv", "report.md", "plots/macro_f1_by_group.csv"):
        assert (out / name).is_file()

    again = runner.invoke(
        app, ["audit", str(predictions), "--data", str(tiny_corpus), "--out", str(out), *FAST]
    )
    assert again.exit_code == 0, again.output  # re-running replaces the previous audit


def test_human_baseline_alone_on_metadata_only_corpus(tiny_corpus: Path, tmp_path: Path) -> None:
    shutil.rmtree(tiny_corpus / "AudioWAV")
    out = tmp_path / "humans"
    result = runner.invoke(
        app, ["audit", "--human-baseline", "--data", str(tiny_corpus), "--out", str(out), *FAST]
    )
    assert result.exit_code == 0, result.output
    assert json.loads((out / "metrics.json").read_text())[
        "human.overall.accuracy"
    ] == pytest.approx(140 / 220)


def test_unknown_clips_are_a_warning_or_with_strict_an_error(
    tiny_corpus: Path, predictions: Path, tmp_path: Path
) -> None:
    with predictions.open("a") as handle:
        handle.write("9999_DFA_ANG_XX.wav,0.1,0.1,0.1,0.1,0.1,0.1\n")
    args = ["audit", str(predictions), "--data", str(tiny_corpus), *FAST]
    warned = runner.invoke(app, [*args, "--out", str(tmp_path / "a")])
    assert warned.exit_code == 0, warned.output
    assert (
        "warning:" in warned.output
        and "1 of 133 predicted clip(s) are not in the corpus" in warned.output
    )
    strict = runner.invoke(app, [*args, "--out", str(tmp_path / "b"), "--strict"])
    assert strict.exit_code == 1
    assert "error:" in strict.output and "9999_DFA_ANG_XX" in strict.output
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--target", "sideways"],
            "params audit.target: 'sideways' is not one of intended, observed, both",
        ),
        (["--decision", "vote"], "is not one of threshold, argmax"),
        (["--reference", "gender=Male"], "unknown axis 'gender'"),
        (["--column-map", "angry"], "must look like NAME=VALUE"),
        (["--n-boot", "0"], "audit.n_boot: 0 must be at least 1"),
        (["--split", "{tmp}/absent.json"], "split file not found"),
    ],
)
def test_bad_options_are_one_line_errors(
    tiny_corpus: Path, predictions: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    out = tmp_path / "out"
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    result = runner.invoke(
        app,
        [
            "audit",
            str(predictions),
            "--data",
            str(tiny_corpus),
            "--out",
            str(out),
            "--no-track",
            *args,
        ],
    )
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output
    assert not out.exists()


def test_bad_predictions_and_empty_split_are_one_line_errors(
    tiny_corpus: Path, tmp_path: Path
) -> None:
    no_filename = tmp_path / "bad.csv"
    no_filename.write_text("Clip,Anger,Sad\n1001_DFA_ANG_XX,0.1,0.2\n")
    result = runner.invoke(
        app,
        [
            "audit",
            str(no_filename),
            "--data",
            str(tiny_corpus),
            "--out",
            str(tmp_path / "o"),
            "--no-track",
        ],
    )
    assert result.exit_code == 1 and "bad.csv: no Filename column" in result.output

    clips = read_corpus(tiny_corpus)
    train_only = write_predictions(
        tmp_path / "p.csv", noisy_scores(clips[clips["actor_id"] != 1006], seed=0)
    )
    split = tmp_path / "split.json"
    test = sorted(clips.loc[clips["actor_id"] == 1006, "filename"])
    split.write_text(json.dumps({"train": [], "val": [], "test": test}))
    result = runner.invoke(
        app,
        [
            "audit",
            str(train_only),
            "--data",
            str(tiny_corpus),
            "--out",
            str(tmp_path / "o"),
            "--split",
            str(split),
            "--no-track",
        ],
    )
    assert result.exit_code == 1 and "is in split 'test'" in result.output


def test_the_stage_audits_the_default_predictions_and_names_them_when_missing(
    tiny_corpus: Path, tmp_path: Path
) -> None:
    import dataclasses

    from serbias.audit import AuditParams, audit_stage
    from serbias.config import PathsParams
    from serbias.errors import SerbiasError

    settings = AuditParams(n_boot=20, n_perm=20, n_chance=0, min_actors=2, track=False)
    paths = PathsParams(data=tiny_corpus, predictions=tmp_path / "absent", audit=tmp_path / "out")
    with pytest.raises(SerbiasError, match=r"no predictions given and .*absent does not exist"):
        audit_stage([], settings, paths)
    assert not paths.audit.exists()

    clips = read_corpus(tiny_corpus)
    write_predictions(tmp_path / "preds" / "model.csv", noisy_scores(clips, seed=0))
    output = audit_stage([], settings, dataclasses.replace(paths, predictions=tmp_path / "preds"))
    assert output.run_id is None  # track=False: no MLflow store needed
    assert [system.name for system in output.result.systems] == ["model"]
    assert (
        output.files["metrics"] == paths.audit / "metrics.json"
        and output.files["metrics"].is_file()
    )
