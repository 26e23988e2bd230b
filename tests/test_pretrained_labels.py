"""Label names of public emotion models -> CREMA-D's six emotions."""

from __future__ import annotations

import pytest

from serbias.errors import SerbiasError
from serbias.predictions.labels import map_labels, parse_label_map

#: id2label of superb/wav2vec2-base-superb-er (IEMOCAP, 4 classes).
SUPERB_ER = ("neu", "hap", "ang", "sad")
#: ehcalabres/wav2vec2-lg-xlsr-en-speech-emotion-recognition (RAVDESS, 8 classes).
RAVDESS = ("angry", "calm", "disgust", "fearful", "happy", "neutral", "sad", "surprised")
#: emotion2vec (FunASR), bilingual labels.
EMOTION2VEC = (
    "生气/angry", "厌恶/disgusted", "恐惧/fearful", "开心/happy", "中立/neutral",
    "其他/other", "难过/sad", "吃惊/surprised", "<unk>",
)  # fmt: skip


def test_iemocap_four_classes_cover_four_emotions() -> None:
    mapping = map_labels(SUPERB_ER)
    assert mapping.emotions == ("NEU", "HAP", "ANG", "SAD")
    assert mapping.covered_names == ("Anger", "Happy", "Neutral", "Sad")
    assert mapping.dropped == ()


def test_ravdess_drops_calm_and_surprised() -> None:
    mapping = map_labels(RAVDESS)
    assert mapping.covered_names == ("Anger", "Disgust", "Fear", "Happy", "Neutral", "Sad")
    assert mapping.dropped == ("calm", "surprised")


def test_emotion2vec_bilingual_labels_map_by_either_part() -> None:
    mapping = map_labels(EMOTION2VEC)
    assert mapping.emotions[:5] == ("ANG", "DIS", "FEA", "HAP", "NEU")
    assert mapping.emotions[6] == "SAD"
    assert mapping.dropped == ("其他/other", "吃惊/surprised", "<unk>")


def test_matching_ignores_case_and_spaces() -> None:
    mapping = map_labels([" Anger", "HAPPINESS", "Joy ", "Sadness", "Frustrated"])
    assert mapping.emotions == ("ANG", "HAP", "HAP", "SAD", None)
    assert mapping.merged() == ("HAP",)


def test_label_map_overrides_extends_and_drops() -> None:
    overrides = parse_label_map(["calm=Neutral", "Neutral=-", "surprised=fear", "sad=SAD"])
    assert overrides == {"calm": "NEU", "neutral": None, "surprised": "FEA", "sad": "SAD"}
    mapping = map_labels(RAVDESS, overrides)
    assert mapping.as_dict()["calm"] == "Neutral"
    assert mapping.as_dict()["neutral"] is None
    assert mapping.as_dict()["surprised"] == "Fear"
    assert mapping.merged() == ("FEA",)
    assert mapping.dropped == ("neutral",)


@pytest.mark.parametrize(
    "pair", ["calm", "calm=", "=Neutral", "calm=Calm", "calm=Surprise", "calm==Neutral"]
)
def test_bad_label_map_pair_is_one_line(pair: str) -> None:
    with pytest.raises(SerbiasError, match=r"^--label-map .*expected SRC=DST") as error:
        parse_label_map([pair])
    assert "\n" not in str(error.value)


def test_label_map_naming_no_model_label_is_refused() -> None:
    with pytest.raises(SerbiasError, match=r"--label-map names 'exc', which is not one of"):
        map_labels(SUPERB_ER, parse_label_map(["exc=Happy"]))


def test_model_without_any_crema_d_emotion_is_refused() -> None:
    with pytest.raises(
        SerbiasError, match=r"m.onnx: none of the model's labels \(LABEL_0, LABEL_1"
    ):
        map_labels(["LABEL_0", "LABEL_1"], source="m.onnx")


def test_duplicate_label_names_are_refused() -> None:
    with pytest.raises(SerbiasError, match=r"label 'sad' names more than one model output"):
        map_labels(["sad", "hap", "sad"])
