"""``hf:DIR`` on a tiny corpus: a randomly initialised wav2vec2 classifier saved offline."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from serbias.corpus.reader import read_corpus
from serbias.errors import SerbiasError
from serbias.features.audio import load_clip
from serbias.predictions.pretrained import (
    PretrainedSettings,
    cache_key,
    load_pretrained,
    run_pretrained,
)
from serbias.predictions.source import directory_sha256
from tests.factory import clip_names, write_corpus

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

ID2LABEL = {0: "neu", 1: "hap", 2: "ang", 3: "sad", 4: "calm"}
COLUMNS = ["Anger", "Happy", "Neutral", "Sad"]
#: Model label index of each covered column.
COLUMN_LABEL = [2, 1, 0, 3]


def save_tiny_wav2vec2(directory: Path, *, sampling_rate: int = 16_000) -> Path:
    """A 1-layer wav2vec2 audio classifier (random weights, fixed seed) and its extractor."""
    torch.manual_seed(0)
    config = transformers.Wav2Vec2Config(
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        conv_dim=(8, 8),
        conv_kernel=(10, 3),
        conv_stride=(5, 2),
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
        classifier_proj_size=8,
        id2label=ID2LABEL,
        label2id={name: i for i, name in ID2LABEL.items()},
        initializer_range=0.5,  # spread the scores, so a wrong column would show
        mask_time_prob=0.0,
    )
    transformers.Wav2Vec2ForSequenceClassification(config).save_pretrained(directory)
    extractor = transformers.Wav2Vec2FeatureExtractor(
        sampling_rate=sampling_rate, do_normalize=True, return_attention_mask=False
    )
    extractor.save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_wav2vec2(tmp_path_factory.mktemp("hf") / "tiny-wav2vec2")


@pytest.fixture()
def model_dir(saved_model: Path, tmp_path: Path) -> Path:
    """A private copy the test may edit."""
    return Path(shutil.copytree(saved_model, tmp_path / "model"))


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """Ten 0.25 s tones (equal lengths) and two longer clips."""
    root = write_corpus(tmp_path_factory.mktemp("corpus"), clip_names([1001, 1002], ["DFA"]))
    table = read_corpus(root)
    for k, seconds in ((10, 0.6), (11, 0.9)):
        t = np.arange(int(16_000 * seconds)) / 16_000
        sf.write(table["path"].iloc[k], 0.2 * np.sin(2 * np.pi * 200 * t), 16_000)
    return table


def plain_transformers(directory: Path, clips: pd.DataFrame, *, sigmoid: bool = False):
    """What a user's own script gives: each clip alone through extractor and model."""
    extractor = transformers.AutoFeatureExtractor.from_pretrained(directory)
    model = transformers.AutoModelForAudioClassification.from_pretrained(directory).eval()
    rows = []
    for path in clips["path"]:
        samples = load_clip(Path(path), extractor.sampling_rate)
        inputs = extractor(samples, sampling_rate=extractor.sampling_rate, return_tensors="pt")
        with torch.inference_mode():
            logits = model(**inputs).logits[0].double()
        rows.append((torch.sigmoid(logits) if sigmoid else torch.softmax(logits, -1)).numpy())
    return np.array(rows)


def run(directory: Path, clips: pd.DataFrame, **settings):
    settings.setdefault("batch_size", 1)
    return run_pretrained(f"hf:{directory}", clips, PretrainedSettings(**settings))


def test_scores_equal_plain_transformers_in_covered_columns(
    saved_model: Path, clips: pd.DataFrame
) -> None:
    result = run(saved_model, clips)
    assert list(result.table.columns) == ["Filename", *COLUMNS]
    assert list(result.table["Filename"]) == list(clips["filename"])
    expected = plain_transformers(saved_model, clips)
    np.testing.assert_allclose(result.table[COLUMNS], expected[:, COLUMN_LABEL], atol=1e-6)
    assert result.dropped == ("calm",)
    assert result.table[COLUMNS].sum(axis=1).lt(1 - 1e-3).all()  # calm's share is not re-spread


def test_equal_length_clips_batched_give_the_same_scores(
    saved_model: Path, clips: pd.DataFrame
) -> None:
    alone = run(saved_model, clips.iloc[:10]).table
    batched = run(saved_model, clips.iloc[:10], batch_size=5)
    assert batched.provenance["batching"]["padded_samples"] == 0
    assert batched.provenance["batching"]["batches"] == 2
    np.testing.assert_allclose(batched.table[COLUMNS], alone[COLUMNS], atol=1e-5)


def test_provenance(saved_model: Path, clips: pd.DataFrame) -> None:
    result = run(saved_model, clips, batch_size=4)
    provenance = result.provenance
    json.dumps(provenance)
    assert provenance["model_kind"] == "hf"
    assert provenance["model_sha256"] == directory_sha256(saved_model)
    assert provenance["label_source"] == "config.json id2label"
    assert provenance["labels"] == list(ID2LABEL.values())
    assert provenance["label_map"]["calm"] is None
    assert provenance["sample_rate"] == 16_000
    assert provenance["normalisation"] == (
        "feature extractor Wav2Vec2FeatureExtractor (do_normalize=True)"
    )
    assert provenance["scores"] == "logits"
    assert provenance["model_details"]["attention_mask_passed"] is False
    assert provenance["batching"]["padded_samples"] > 0  # two longer clips share a batch
    assert provenance["libraries"]["torch"] == torch.__version__
    assert provenance["libraries"]["transformers"] == transformers.__version__


def test_multi_label_problem_type_gives_sigmoid_scores(
    model_dir: Path, clips: pd.DataFrame
) -> None:
    config = json.loads((model_dir / "config.json").read_text())
    config["problem_type"] = "multi_label_classification"
    (model_dir / "config.json").write_text(json.dumps(config))
    result = run(model_dir, clips)
    assert result.provenance["scores"] == "sigmoid"
    expected = plain_transformers(model_dir, clips, sigmoid=True)
    np.testing.assert_allclose(result.table[COLUMNS], expected[:, COLUMN_LABEL], atol=1e-6)


def test_clips_are_resampled_to_the_feature_extractors_rate(
    tmp_path: Path, clips: pd.DataFrame
) -> None:
    directory = save_tiny_wav2vec2(tmp_path / "m8k", sampling_rate=8000)
    result = run(directory, clips)
    assert result.provenance["sample_rate"] == 8000
    expected = plain_transformers(directory, clips)  # decodes with load_clip(path, 8000)
    np.testing.assert_allclose(result.table[COLUMNS], expected[:, COLUMN_LABEL], atol=1e-6)


def test_long_clips_are_averaged_over_windows(saved_model: Path, clips: pd.DataFrame) -> None:
    long_clip = clips.iloc[11:12]  # 0.9 s -> two windows of 0.45 s at chunk 0.5 s
    result = run(saved_model, long_clip, chunk_seconds=0.5)
    samples = load_clip(Path(long_clip["path"].iloc[0]), 16_000)
    half = samples.size // 2
    extractor = transformers.AutoFeatureExtractor.from_pretrained(saved_model)
    model = transformers.AutoModelForAudioClassification.from_pretrained(saved_model).eval()
    windows = []
    for window in (samples[:half], samples[half:]):
        inputs = extractor(window, sampling_rate=16_000, return_tensors="pt")
        with torch.inference_mode():
            windows.append(torch.softmax(model(**inputs).logits[0].double(), -1).numpy())
    expected = np.mean(windows, axis=0)[COLUMN_LABEL]
    np.testing.assert_allclose(result.table[COLUMNS].iloc[0], expected, atol=1e-6)
    assert result.provenance["chunking"]["windows"] == 2


def test_a_clip_shorter_than_the_receptive_field_is_padded_to_it(
    saved_model: Path, tmp_path: Path
) -> None:
    from serbias.predictions.hf_source import _receptive_field

    config = transformers.AutoConfig.from_pretrained(saved_model)
    assert _receptive_field(config) == 1 + 9 + 2 * 5  # kernels (10, 3), strides (5, 2)
    assert _receptive_field(transformers.Wav2Vec2Config()) == 400  # wav2vec2-base: 25 ms
    root = write_corpus(tmp_path / "short", clip_names([1001], ["DFA"])[:1], seconds=10 / 16_000)
    result = run(saved_model, read_corpus(root))  # 10 samples: too short for a single frame
    assert result.provenance["batching"]["padded_samples"] == 20 - 10
    assert result.table[COLUMNS].notna().all().all()


def test_a_float16_snapshot_runs_in_float32(
    saved_model: Path, tmp_path: Path, clips: pd.DataFrame
) -> None:
    half = tmp_path / "half"
    model = transformers.AutoModelForAudioClassification.from_pretrained(saved_model)
    model.half().save_pretrained(half)
    transformers.AutoFeatureExtractor.from_pretrained(saved_model).save_pretrained(half)
    result = run(half, clips.iloc[:3])
    full = run(saved_model, clips.iloc[:3])
    np.testing.assert_allclose(result.table[COLUMNS], full.table[COLUMNS], atol=1e-2)


def test_label_names_option_replaces_id2label(saved_model: Path, clips: pd.DataFrame) -> None:
    result = run(saved_model, clips.iloc[:2], label_names="sad,neu,hap,ang,dis")
    assert list(result.table.columns) == ["Filename", "Anger", "Disgust", "Happy", "Neutral", "Sad"]
    with pytest.raises(SerbiasError, match=r"gives 5 scores per clip but 2 label names"):
        run(saved_model, clips, label_names="ang,hap")


def test_cache_key_and_contamination_warning(model_dir: Path, clips: pd.DataFrame) -> None:
    source = f"hf:{model_dir}"
    result = run(model_dir, clips)
    assert result.cache_key == cache_key(source, clips, PretrainedSettings(batch_size=1))
    assert result.provenance["contamination_warning"] is None
    (model_dir / "README.md").write_text("Fine-tuned on CREMA-D and RAVDESS.\n")
    assert cache_key(source, clips, PretrainedSettings(batch_size=1)) != result.cache_key
    warned = run(model_dir, clips.iloc[:1])
    assert "the model's README.md mention(s) CREMA-D" in warned.provenance["contamination_warning"]
    assert any("may have been trained on the audited corpus" in w for w in warned.warnings)


def test_classify_waveform(saved_model: Path, clips: pd.DataFrame) -> None:
    samples, rate = sf.read(clips["path"].iloc[10], dtype="float32")
    scores = load_pretrained(f"hf:{saved_model}").classify(samples, rate)
    table = run(saved_model, clips.iloc[10:11]).table
    assert list(scores) == COLUMNS
    np.testing.assert_allclose(list(scores.values()), table[COLUMNS].iloc[0], atol=1e-6)


# -- bad input: one line each --------------------------------------------------------------


@pytest.mark.parametrize(
    ("remove", "message"),
    [
        ("config.json", r"no config.json \(expected a save_pretrained directory\)$"),
        ("model.safetensors", r"no model weights \(expected model.safetensors or pytorch_model"),
        ("preprocessor_config.json", r"no preprocessor_config.json \(the feature extractor"),
    ],
)
def test_incomplete_directory(model_dir: Path, clips, remove: str, message: str) -> None:
    (model_dir / remove).unlink()
    with pytest.raises(SerbiasError, match=message) as error:
        run(model_dir, clips)
    assert "\n" not in str(error.value)


def test_missing_directory_or_a_file(tmp_path: Path, model_dir: Path, clips) -> None:
    with pytest.raises(SerbiasError, match=r"nowhere: Hugging Face model directory not found$"):
        run(tmp_path / "nowhere", clips)
    with pytest.raises(SerbiasError, match=r"config.json: is a file; hf: expects a directory"):
        run(model_dir / "config.json", clips)


def test_onnx_only_options_are_refused(saved_model: Path, clips: pd.DataFrame) -> None:
    with pytest.raises(SerbiasError, match=r"--sample-rate 8000 does not apply to hf: models"):
        run(saved_model, clips, sample_rate=8000)
    with pytest.raises(SerbiasError, match=r"--normalize does not apply to hf: models"):
        run(saved_model, clips, normalize="zero-mean-unit-var")


def test_generic_label_names_map_to_nothing(model_dir: Path, clips: pd.DataFrame) -> None:
    config = json.loads((model_dir / "config.json").read_text())
    config["id2label"] = {str(i): f"LABEL_{i}" for i in range(5)}
    config["label2id"] = {f"LABEL_{i}": i for i in range(5)}
    (model_dir / "config.json").write_text(json.dumps(config))
    with pytest.raises(
        SerbiasError, match=r"none of the model's labels \(LABEL_0, .*--label-names"
    ):
        run(model_dir, clips)


def test_without_transformers_the_error_names_the_extra(
    saved_model: Path, clips: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "transformers", None)  # import raises ImportError
    with pytest.raises(
        SerbiasError, match=r'^hf: models need transformers and torch, .*"\.\[hf\]"'
    ):
        run(saved_model, clips)
