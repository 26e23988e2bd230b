"""Reading prediction CSVs: formats a user brings, and every bad input named precisely."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from serbias.audit import parse_column_map, read_predictions
from serbias.audit._predictions import check_against_corpus
from serbias.errors import CorpusWarning, SerbiasError


def _csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_reference_format_with_multitask_columns(tmp_path: Path) -> None:
    path = _csv(
        tmp_path / "p.csv",
        "Filename,Anger,Disgust,Fear,Happy,Neutral,Sad,Female,Non-Caucasian\n"
        "1001_DFA_ANG_XX.wav,0.9,0.1,0.0,0.2,0.3,0.1,0.8,0.1\n",
    )
    predictions = read_predictions(path)
    assert predictions.name == "p"
    assert list(predictions.filenames) == ["1001_DFA_ANG_XX"]
    assert predictions.emotions == ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD")
    assert list(predictions.extra.columns) == ["Female", "Non-Caucasian"]


def test_case_insensitive_columns_codes_and_column_map(tmp_path: Path) -> None:
    path = _csv(tmp_path / "vendor.csv", "FILE,angry,HAPPY,neu,Sad\n1001_DFA_ANG_XX,1,0,0,0\n")
    predictions = read_predictions(path, column_map=["file=Filename", "angry=Anger"])
    assert predictions.emotions == ("ANG", "HAP", "NEU", "SAD")
    np.testing.assert_array_equal(predictions.decide(), [[True, False, False, False]])


def test_unmapped_columns_are_ignored_with_a_warning(tmp_path: Path) -> None:
    path = _csv(tmp_path / "p.csv", "Filename,angry,Happy,Sad\n1001_DFA_ANG_XX,0.9,0.1,0.1\n")
    with pytest.warns(UserWarning, match="ignored column.*angry.*--column-map"):
        predictions = read_predictions(path)
    assert predictions.emotions == ("HAP", "SAD")


def test_threshold_rule_is_inclusive_and_multi_label_and_argmax_picks_one(tmp_path: Path) -> None:
    path = _csv(
        tmp_path / "p.csv",
        "Filename,Anger,Happy,Sad\n"
        "a,0.5,0.5,0.1\n"  # threshold: Anger and Happy; argmax: Anger (first of the tie)
        "b,0.49,0.2,0.3\n"  # threshold: nothing; argmax: Anger
        "c,0,0,0\n",
    )  # 0/1 system that abstained: nothing either way
    predictions = read_predictions(path)
    np.testing.assert_array_equal(
        predictions.decide("threshold"), [[1, 1, 0], [0, 0, 0], [0, 0, 0]]
    )
    np.testing.assert_array_equal(predictions.decide("argmax"), [[1, 0, 0], [1, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(
        predictions.decide("threshold", threshold=0.3), [[1, 1, 0], [1, 0, 1], [0, 0, 0]]
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Clip,Anger,Sad\na,0.1,0.2\n", r"no Filename column \(found: Clip, Anger, Sad\)"),
        (
            "Filename,Anger,Sad\na,0.1,0.2\nb,0.1,0.1\na.wav,0.3,0.3\n",
            r"1 clip\(s\) predicted more than once in column Filename \(e\.g\. a\)",
        ),
        (
            "Filename,Anger,Sad\na,0.1,0.2\nb,1.5,0.1\n",
            r"column Anger row 3 \(b\) has '1.5'; expected a probability in \[0, 1\]",
        ),
        ("Filename,Anger,Sad\na,0.1,\n", r"column Sad row 2 \(a\) has an empty value"),
        ("Filename,Anger,Sad\na,0.1,NaN\n", r"column Sad row 2 \(a\) has 'NaN'"),
        ("Filename,Anger,Sad\na,-0.1,0.2\n", r"column Anger row 2 \(a\) has '-0.1'"),
        ("Filename,Anger,Sad\na,high,0.2\n", r"column Anger row 2 \(a\) has 'high'"),
        (
            "Filename,angry,sadness\na,0.1,0.2\n",
            r"no emotion column recognised among angry, sadness; "
            r"expected some of Anger, Disgust, Fear, "
            r"Happy, Neutral, Sad",
        ),
        ("Filename,Anger,Sad\n", r"no prediction rows"),
        ("Filename,Anger,Sad\n,0.1,0.2\n", r"column Filename is empty on row 2"),
        ("Filename,Anger,anger\na,0.1,0.2\n", r"columns 'Anger' and 'anger' both mean Anger"),
    ],
)
def test_bad_prediction_files_name_file_column_and_value(
    tmp_path: Path, text: str, message: str
) -> None:
    path = _csv(tmp_path / "bad.csv", text)
    with pytest.raises(SerbiasError, match=message) as error:
        read_predictions(path)
    assert str(path) in str(error.value)


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(SerbiasError, match="predictions file not found"):
        read_predictions(tmp_path / "absent.csv")
    garbage = tmp_path / "garbage.csv"
    garbage.write_bytes(b"\xff\xfe\x00\x81\x00binary")
    with pytest.raises(SerbiasError, match="unreadable CSV"):
        read_predictions(garbage)


def test_column_map_must_name_a_known_column() -> None:
    assert parse_column_map(["Angry = Anger", "joy=HAP"]) == {"angry": "Anger", "joy": "Happy"}
    with pytest.raises(SerbiasError, match="'Rage' is not one of Filename, Anger"):
        parse_column_map(["angry=Rage"])
    with pytest.raises(SerbiasError, match="expected SRC=DST"):
        parse_column_map(["angry"])


def test_clips_not_in_corpus_warn_with_count_and_names_or_fail_when_strict(tmp_path: Path) -> None:
    rows = "".join(f"9{i:03d}_DFA_ANG_XX,0.1,0.9\n" for i in range(5))
    path = _csv(tmp_path / "p.csv", "Filename,Anger,Sad\n1001_DFA_ANG_XX,0.9,0.1\n" + rows)
    predictions = read_predictions(path)
    corpus = {"1001_DFA_ANG_XX"}
    with pytest.warns(
        CorpusWarning,
        match=r"5 of 6 predicted clip\(s\) are not in the corpus \(e\.g\. "
        r"9000_DFA_ANG_XX, 9001_DFA_ANG_XX, 9002_DFA_ANG_XX, \.\.\. \(5 in all\)\)",
    ):
        kept = check_against_corpus(predictions, corpus)
    assert list(kept.filenames) == ["1001_DFA_ANG_XX"]
    with pytest.raises(SerbiasError, match="5 of 6 predicted clip"):
        check_against_corpus(predictions, corpus, strict=True)


def test_scores_keep_their_values(tmp_path: Path) -> None:
    path = _csv(tmp_path / "p.csv", "Filename,Anger,Sad\n a ,0.25,1\n")
    predictions = read_predictions(path)
    assert list(predictions.filenames) == ["a"]
    pd.testing.assert_frame_equal(
        predictions.scores,
        pd.DataFrame({"ANG": [0.25], "SAD": [1.0]}, index=pd.Index(["a"], name="filename")),
    )
