"""``onnx:FILE`` on a tiny corpus: a hand-made ONNX model whose answers are computed by hand."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from serbias.corpus.reader import read_corpus
from serbias.errors import SerbiasError
from serbias.features.audio import AudioError, load_clip
from serbias.predictions.pretrained import (
    PretrainedSettings,
    cache_key,
    load_pretrained,
    run_pretrained,
)
from serbias.predictions.waveforms import window_bounds, zero_mean_unit_var
from tests.factory import clip_names, write_corpus

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

LABELS = "ang,hap,neu,sad,fru"
#: Weights of the tiny model: features (mean, mean |x|) -> 5 logits.
W = np.array([[2.0, -1.0, 0.5, 0.0, 1.0], [1.0, 3.0, -2.0, 0.5, 0.0]], np.float32)
B = np.array([0.1, 0.0, -0.1, 0.2, 0.0], np.float32)


def build_onnx(
    path: Path,
    *,
    labels: str | None = LABELS,
    head: str = "Softmax",
    shape: Sequence[int | str] = ("batch", "samples"),
    n_out: int | str = 5,
    metadata: dict[str, str] | None = None,
    divide_by_level: bool = False,
    extra_input: bool = False,
    input_type: int = TensorProto.FLOAT,
) -> Path:
    """Waveform -> (mean, mean |x|) -> Gemm -> ``head`` (Softmax, Sigmoid or Identity).

    ``divide_by_level`` divides the features by mean |x|, so a silent clip gives NaN.
    """
    rank = len(shape)
    axis = rank - 1
    nodes = [
        helper.make_node("Cast", ["waveform"], ["wave"], to=TensorProto.FLOAT),
        helper.make_node("ReduceMean", ["wave"], ["mean"], axes=[axis], keepdims=1),
        helper.make_node("Abs", ["wave"], ["abs"]),
        helper.make_node("ReduceMean", ["abs"], ["level"], axes=[axis], keepdims=1),
        helper.make_node("Concat", ["mean", "level"], ["pair"], axis=axis),
    ]
    if rank == 1:
        nodes.append(helper.make_node("Unsqueeze", ["pair", "zero"], ["features0"]))
    elif rank == 3:
        nodes.append(helper.make_node("Flatten", ["pair"], ["features0"], axis=1))
    else:
        nodes.append(helper.make_node("Identity", ["pair"], ["features0"]))
    if divide_by_level:
        nodes.append(helper.make_node("Div", ["features0", "level"], ["features"]))
    else:
        nodes.append(helper.make_node("Identity", ["features0"], ["features"]))
    nodes.append(helper.make_node("Gemm", ["features", "W", "b"], ["logits"]))
    if isinstance(n_out, str):  # a shape known only at run time hides the size from the loader
        nodes += [
            helper.make_node("Shape", ["logits"], ["logits_shape"], start=0, end=1),
            helper.make_node("Concat", ["logits_shape", "minus_one"], ["dynamic"], axis=0),
            helper.make_node("Reshape", ["logits", "dynamic"], ["logits_any"]),
        ]
    else:
        nodes.append(helper.make_node("Identity", ["logits"], ["logits_any"]))
    if head == "Identity":
        nodes.append(helper.make_node("Identity", ["logits_any"], ["scores"]))
    else:
        nodes.append(helper.make_node(head, ["logits_any"], ["scored"], **_axis(head)))
        if rank == 1:
            nodes.append(helper.make_node("Squeeze", ["scored", "zero"], ["scores"]))
        else:
            nodes.append(helper.make_node("Identity", ["scored"], ["scores"]))
    inputs = [helper.make_tensor_value_info("waveform", input_type, list(shape))]
    if extra_input:
        inputs.append(helper.make_tensor_value_info("mask", TensorProto.INT64, ["batch", "n"]))
    out_shape = [n_out] if rank == 1 else ["batch", n_out]
    initializers = [
        numpy_helper.from_array(W, "W"),
        numpy_helper.from_array(B, "b"),
        numpy_helper.from_array(np.array([0], np.int64), "zero"),
        numpy_helper.from_array(np.array([-1], np.int64), "minus_one"),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny-ser",
        inputs,
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, out_shape)],
        initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    props = dict(metadata or {})
    if labels is not None:
        props["labels"] = labels
    helper.set_model_props(model, props)
    onnx.save(model, path)
    return path


def _axis(head: str) -> dict[str, int]:
    return {"axis": -1} if head == "Softmax" else {}


def expected_scores(samples: np.ndarray, head: str = "softmax") -> np.ndarray:
    """The tiny model's output for one window, computed by hand (float64)."""
    x = samples.astype(np.float64)
    logits = np.array([x.mean(), np.abs(x).mean()]) @ W.astype(np.float64) + B
    if head == "sigmoid":
        return 1 / (1 + np.exp(-logits))
    exp = np.exp(logits - logits.max())
    return exp / exp.sum()


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    """Two actors' DFA clips (12) at 16 kHz with different tones, levels and offsets."""
    root = write_corpus(tmp_path / "corpus", clip_names([1001, 1002], ["DFA"]))
    rng = np.random.default_rng(0)
    for k, wav in enumerate(sorted((root / "AudioWAV").glob("*.wav"))):
        n = 4000 + 800 * k  # 0.25 s to 0.8 s: unequal lengths, so batches need padding
        t = np.arange(n) / 16_000
        samples = 0.05 * k - 0.2 + 0.3 * np.sin(2 * np.pi * (150 + 20 * k) * t)
        samples += 0.01 * rng.standard_normal(n)
        sf.write(wav, samples, 16_000, subtype="FLOAT")
    return root


@pytest.fixture()
def clips(corpus: Path) -> pd.DataFrame:
    return read_corpus(corpus)


@pytest.fixture()
def model_path(tmp_path: Path) -> Path:
    return build_onnx(tmp_path / "tiny.onnx")


def run(path: Path, clips: pd.DataFrame, **settings) -> object:
    """Clip by clip unless the test asks for batches (padding would move the known answers)."""
    settings.setdefault("batch_size", 1)
    return run_pretrained(f"onnx:{path}", clips, PretrainedSettings(**settings))


def by_hand(clips: pd.DataFrame, rate: int = 16_000, head: str = "softmax") -> np.ndarray:
    return np.array([expected_scores(load_clip(Path(p), rate), head) for p in clips["path"]])


def test_table_has_filename_and_covered_emotions_in_vocabulary_order(
    model_path: Path, clips: pd.DataFrame
) -> None:
    result = run(model_path, clips, batch_size=1)
    assert list(result.table.columns) == ["Filename", "Anger", "Happy", "Neutral", "Sad"]
    assert list(result.table["Filename"]) == list(clips["filename"])
    expected = by_hand(clips)  # columns ang, hap, neu, sad, fru
    np.testing.assert_allclose(
        result.table[["Anger", "Happy", "Neutral", "Sad"]].to_numpy(), expected[:, :4], rtol=1e-5
    )
    assert result.dropped == ("fru",)
    assert any("dropped label(s) fru" in w and "not renormalised" in w for w in result.warnings)
    assert any("covers 4 of 6 CREMA-D emotions" in w for w in result.warnings)


def test_kept_scores_are_not_renormalised(model_path: Path, clips: pd.DataFrame) -> None:
    result = run(model_path, clips)
    kept = result.table[["Anger", "Happy", "Neutral", "Sad"]].sum(axis=1).to_numpy()
    fru = by_hand(clips)[:, 4]
    np.testing.assert_allclose(kept, 1 - fru, rtol=1e-5)
    assert result.provenance["renormalised"] is False
    assert result.provenance["dropped_probability_mean"] == pytest.approx(fru.mean(), rel=1e-5)


def test_provenance_records_model_labels_rate_chunking_and_versions(
    model_path: Path, clips: pd.DataFrame
) -> None:
    result = run(model_path, clips, batch_size=4)
    provenance = result.provenance
    json.dumps(provenance)  # the sidecar is JSON
    assert provenance["model_source"] == f"onnx:{model_path}"
    assert provenance["model_sha256"] == hashlib.sha256(model_path.read_bytes()).hexdigest()
    assert provenance["labels"] == LABELS.split(",")
    assert provenance["label_source"] == "ONNX metadata 'labels'"
    assert provenance["label_map"] == {
        "ang": "Anger", "hap": "Happy", "neu": "Neutral", "sad": "Sad", "fru": None
    }  # fmt: skip
    assert provenance["dropped_labels"] == ["fru"]
    assert provenance["scores"] == "probabilities"
    assert "Softmax" in provenance["scores_source"]
    assert provenance["sample_rate"] == 16_000
    assert provenance["chunking"]["chunk_seconds"] == 30.0
    assert provenance["batching"]["batch_size"] == 4
    assert provenance["batching"]["batches"] == 3
    assert provenance["libraries"]["onnxruntime"] == pytest.importorskip("onnxruntime").__version__
    assert provenance["contamination_warning"] is None
    assert provenance["cache_key"] == result.cache_key


def test_batches_hold_clips_of_similar_length_and_padding_is_counted(
    model_path: Path, clips: pd.DataFrame
) -> None:
    lengths = [load_clip(Path(p), 16_000).size for p in clips["path"]]
    assert run(model_path, clips, batch_size=1).provenance["batching"]["padded_samples"] == 0
    batching = run(model_path, clips, batch_size=4).provenance["batching"]
    ordered = sorted(lengths)
    expected = sum(max(ordered[i : i + 4]) * 4 - sum(ordered[i : i + 4]) for i in (0, 4, 8))
    assert batching["padded_samples"] == expected == 3 * (2400 + 1600 + 800)
    assert batching["padding_fraction"] == pytest.approx(expected / sum(lengths), abs=1e-6)


def test_padding_changes_a_mean_pooling_model_as_recorded(
    model_path: Path, clips: pd.DataFrame
) -> None:
    single = run(model_path, clips, batch_size=1).table
    batched = run(model_path, clips, batch_size=4).table
    longest = [clips["path"].index[k] for k in (3, 7, 11)]  # the longest clip of each batch
    cols = ["Anger", "Happy", "Neutral", "Sad"]
    np.testing.assert_allclose(batched.loc[longest, cols], single.loc[longest, cols], rtol=1e-5)
    assert not np.allclose(batched[cols], single[cols], rtol=1e-4)


def test_long_clips_are_split_into_equal_windows_whose_scores_are_averaged(
    model_path: Path, clips: pd.DataFrame
) -> None:
    path = Path(clips["path"].iloc[0])
    samples = np.concatenate([np.full(16_000, 0.5), np.full(16_000, -0.2)])
    sf.write(path, samples, 16_000, subtype="FLOAT")
    result = run(model_path, clips.iloc[:1], chunk_seconds=1.0)
    halves = (expected_scores(samples[:16_000]) + expected_scores(samples[16_000:])) / 2
    np.testing.assert_allclose(result.table.iloc[0, 1:].to_numpy(float), halves[:4], rtol=1e-5)
    assert result.provenance["chunking"]["clips_chunked"] == 1
    assert result.provenance["chunking"]["windows"] == 2
    whole = run(model_path, clips.iloc[:1], chunk_seconds=None).table.iloc[0, 1:]
    np.testing.assert_allclose(whole.to_numpy(float), expected_scores(samples)[:4], atol=2e-5)


def test_window_bounds_are_equal_with_no_short_tail() -> None:
    assert window_bounds(25, 10) == [(0, 8), (8, 17), (17, 25)]
    assert window_bounds(10, 10) == [(0, 10)]
    assert window_bounds(25, None) == [(0, 25)]
    assert window_bounds(9, None, fixed_samples=4) == [(0, 4), (4, 8), (8, 12)]


def test_clips_are_resampled_to_the_models_rate(tmp_path: Path, clips: pd.DataFrame) -> None:
    path = build_onnx(tmp_path / "m8k.onnx", metadata={"sample_rate": "8000"})
    result = run(path, clips)
    assert result.provenance["sample_rate"] == 8000
    assert result.provenance["sample_rate_source"] == "ONNX metadata 'sample_rate'"
    np.testing.assert_allclose(result.table.iloc[:, 1:], by_hand(clips, 8000)[:, :4], rtol=1e-5)
    flag = run(path, clips, sample_rate=22_050)  # --sample-rate wins over the metadata
    assert flag.provenance["sample_rate"] == 22_050
    np.testing.assert_allclose(flag.table.iloc[:, 1:], by_hand(clips, 22_050)[:, :4], rtol=1e-5)


def test_zero_mean_unit_var_normalises_each_clip(model_path: Path, clips: pd.DataFrame) -> None:
    result = run(model_path, clips, normalize="zero-mean-unit-var")
    expected = [expected_scores(zero_mean_unit_var(load_clip(Path(p), 16_000))) for p in clips.path]
    np.testing.assert_allclose(result.table.iloc[:, 1:], np.array(expected)[:, :4], rtol=1e-4)
    assert result.provenance["normalisation"] == "zero-mean-unit-var per clip (--normalize)"


def test_logits_get_a_softmax_and_sigmoid_is_elementwise(
    tmp_path: Path, clips: pd.DataFrame
) -> None:
    logits_model = build_onnx(tmp_path / "logits.onnx", head="Identity")
    auto = run(logits_model, clips)
    assert auto.provenance["scores"] == "logits"
    np.testing.assert_allclose(auto.table.iloc[:, 1:], by_hand(clips)[:, :4], rtol=1e-5)
    sigmoid = run(logits_model, clips, scores="sigmoid")
    expected = by_hand(clips, head="sigmoid")[:, :4]
    np.testing.assert_allclose(sigmoid.table.iloc[:, 1:], expected, rtol=1e-5)
    sigmoid_model = build_onnx(tmp_path / "sigmoid.onnx", head="Sigmoid")
    passthrough = run(sigmoid_model, clips)
    assert passthrough.provenance["scores"] == "probabilities"
    assert passthrough.provenance["dropped_probability_mean"] is None  # multi-label
    np.testing.assert_allclose(passthrough.table.iloc[:, 1:], expected, rtol=1e-5)


def test_logits_declared_probabilities_are_refused_naming_the_clip(
    tmp_path: Path, clips: pd.DataFrame
) -> None:
    path = build_onnx(tmp_path / "logits.onnx", head="Identity")
    with pytest.raises(SerbiasError, match=r"scores of clip \d{4}_DFA_\w+ are not probabilities"):
        run(path, clips, scores="probabilities")


def test_label_names_from_sidecar_json_or_yaml_or_option(
    tmp_path: Path, clips: pd.DataFrame
) -> None:
    path = build_onnx(tmp_path / "bare.onnx", labels=None)
    (tmp_path / "bare.yaml").write_text("labels: [ang, hap, neu, sad, fru]\nsample_rate: 8000\n")
    from_yaml = run(path, clips)
    assert from_yaml.provenance["label_source"] == str(tmp_path / "bare.yaml")
    assert from_yaml.provenance["sample_rate"] == 8000
    (tmp_path / "bare.yaml").unlink()
    (tmp_path / "bare.json").write_text(json.dumps({"labels": {"0": "anger", "1": "joy",
        "2": "neutral", "3": "sadness", "4": "frustration"}}))  # fmt: skip
    from_json = run(path, clips)
    assert list(from_json.table.columns) == ["Filename", "Anger", "Happy", "Neutral", "Sad"]
    assert from_json.dropped == ("frustration",)
    option = run(path, clips, label_names="sad,neu,hap,ang,dis")
    assert option.provenance["label_source"] == "--label-names"
    expected = by_hand(clips)
    np.testing.assert_allclose(option.table["Sad"], expected[:, 0], rtol=1e-5)
    np.testing.assert_allclose(option.table["Disgust"], expected[:, 4], rtol=1e-5)


def test_label_map_merges_by_summing_and_drops(model_path: Path, clips: pd.DataFrame) -> None:
    result = run(model_path, clips, label_map=("fru=Anger", "hap=-"))
    expected = by_hand(clips)
    assert list(result.table.columns) == ["Filename", "Anger", "Neutral", "Sad"]
    np.testing.assert_allclose(result.table["Anger"], expected[:, 0] + expected[:, 4], rtol=1e-5)
    assert result.dropped == ("hap",)


def test_summing_multi_label_scores_is_refused(tmp_path: Path, clips: pd.DataFrame) -> None:
    path = build_onnx(tmp_path / "sigmoid.onnx", head="Sigmoid")
    with pytest.raises(SerbiasError, match=r"ang, fru all map to Anger, but .* multi-label"):
        run(path, clips, label_map=("fru=Anger",))


def test_rank_one_input_runs_one_clip_at_a_time(tmp_path: Path, clips: pd.DataFrame) -> None:
    path = build_onnx(tmp_path / "rank1.onnx", shape=("samples",))
    result = run(path, clips, batch_size=8)
    assert result.provenance["batching"]["effective_batch_size"] == 1
    assert result.provenance["batching"]["padded_samples"] == 0
    np.testing.assert_allclose(result.table.iloc[:, 1:], by_hand(clips)[:, :4], rtol=1e-5)


def test_fixed_input_length_gets_fixed_windows(tmp_path: Path, clips: pd.DataFrame) -> None:
    path = build_onnx(tmp_path / "fixed.onnx", shape=(1, 4000))
    result = run(path, clips.iloc[:2])
    samples = load_clip(Path(clips["path"].iloc[1]), 16_000)  # 4800 samples: 2 windows
    second = np.zeros(4000)
    second[:800] = samples[4000:]
    expected = (expected_scores(samples[:4000]) + expected_scores(second)) / 2
    np.testing.assert_allclose(result.table.iloc[1, 1:].to_numpy(float), expected[:4], rtol=1e-5)
    assert result.provenance["chunking"]["windows"] == 3
    assert "exactly 4000 samples" in result.provenance["chunking"]["policy"]


def test_cache_key_changes_with_model_clips_and_settings(
    model_path: Path, clips: pd.DataFrame
) -> None:
    source = f"onnx:{model_path}"
    settings = PretrainedSettings(batch_size=4)
    key = cache_key(source, clips, settings)
    assert run(model_path, clips, batch_size=4).cache_key == key
    assert cache_key(source, list(clips["filename"]), settings) == key
    assert cache_key(source, clips.iloc[1:], settings) != key
    assert cache_key(source, clips, PretrainedSettings(batch_size=8)) != key
    assert cache_key(source, clips, PretrainedSettings(batch_size=4, chunk_seconds=2)) != key
    assert cache_key(source, clips, settings, corpus_fingerprint="abc") != key
    model_path.with_suffix(".json").write_text('["ang", "hap", "neu", "sad", "fru"]')
    assert cache_key(source, clips, settings) != key  # a label sidecar is part of the model
    model_path.with_suffix(".json").unlink()
    assert cache_key(source, clips, settings) == key
    build_onnx(model_path, metadata={"sample_rate": "8000"})
    assert cache_key(source, clips, settings) != key


def test_classify_waveform_matches_the_corpus_run(model_path: Path, clips: pd.DataFrame) -> None:
    path = Path(clips["path"].iloc[2])
    table = run(model_path, clips.iloc[2:3]).table
    samples, rate = sf.read(path, dtype="float32")
    scores = load_pretrained(f"onnx:{model_path}").classify(samples, rate)
    assert list(scores) == ["Anger", "Happy", "Neutral", "Sad"]
    np.testing.assert_allclose(list(scores.values()), table.iloc[0, 1:].to_numpy(float), rtol=1e-6)
    model = load_pretrained(f"onnx:{model_path}", PretrainedSettings(sample_rate=8000))
    at_8k = model.classify(samples, rate)
    np.testing.assert_allclose(
        list(at_8k.values()), expected_scores(load_clip(path, 8000))[:4], rtol=1e-5
    )


def test_a_model_card_mentioning_crema_d_warns_of_contamination(
    tmp_path: Path, clips: pd.DataFrame
) -> None:
    path = build_onnx(tmp_path / "m.onnx", metadata={"trained_on": "IEMOCAP + CREMA-D"})
    result = run(path, clips)
    assert (
        "may have been trained on the audited corpus" in result.provenance["contamination_warning"]
    )
    assert any("metadata trained_on" in w for w in result.warnings)
    (tmp_path / "card").mkdir()
    carded = build_onnx(tmp_path / "card" / "m.onnx")
    (tmp_path / "card" / "README.md").write_text("Fine-tuned on crema_d.\n")
    assert "README.md" in run(carded, clips).provenance["contamination_warning"]


def test_predictions_read_back_by_the_audit_as_a_subset(
    model_path: Path, clips: pd.DataFrame, tmp_path: Path
) -> None:
    from serbias.audit._predictions import read_predictions
    from serbias.predictions import write_predictions

    write_predictions(run(model_path, clips).table, tmp_path / "test.csv")
    predictions = read_predictions(tmp_path / "test.csv")
    assert predictions.emotions == ("ANG", "HAP", "NEU", "SAD")
    assert list(predictions.filenames) == list(clips["filename"])


# -- bad input: one line each --------------------------------------------------------------


def _one_line(error: pytest.ExceptionInfo) -> str:
    assert "\n" not in str(error.value)
    return str(error.value)


def test_missing_file_and_directory(tmp_path: Path, clips: pd.DataFrame) -> None:
    with pytest.raises(SerbiasError, match=r"nope.onnx: ONNX model file not found$") as error:
        run(tmp_path / "nope.onnx", clips)
    _one_line(error)
    with pytest.raises(SerbiasError, match=r"is a directory; onnx: expects an .onnx model file"):
        run(tmp_path, clips)
    with pytest.raises(SerbiasError, match=r"ONNX model file not found"):
        cache_key(f"onnx:{tmp_path / 'nope.onnx'}", clips)


@pytest.mark.parametrize("content", [b"not a model at all\n", b"\x08\x07", b""])
def test_a_file_that_is_not_onnx(tmp_path: Path, clips: pd.DataFrame, content: bytes) -> None:
    path = tmp_path / "fake.onnx"
    path.write_bytes(content)
    with pytest.raises(SerbiasError, match=r"fake.onnx: not (an|a valid) ONNX model") as error:
        run(path, clips)
    _one_line(error)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"shape": ("batch", 1, "samples")}, r"has shape \[batch, 1, samples\] \(rank 3\); expected"
         r" a waveform: \[samples\] or \[batch, samples\]"),
        ({"extra_input": True}, r"model has 2 inputs \(waveform \[batch, samples\], mask"),
        ({"input_type": TensorProto.INT16}, r"input 'waveform' is tensor\(int16\); expected float"),
        ({"labels": None}, r"no label names \(no 'labels' in the ONNX metadata, no m.json/.yaml"),
        ({"labels": "ang,hap,neu"}, r"output 'scores' has 5 scores per clip but 3 label names"),
        ({"labels": "ang,hap,neu", "n_out": "n"}, r"model output has 5 score\(s\) per window, but"
         r" 3 label name\(s\) were given"),
        ({"labels": "calm,surprised,other,unknown,fru"}, r"none of the model's labels"),
        ({"metadata": {"sample_rate": "fast"}}, r"metadata sample_rate 'fast' is not a positive"),
    ],
)  # fmt: skip
def test_bad_model(tmp_path: Path, clips: pd.DataFrame, kwargs: dict, message: str) -> None:
    path = build_onnx(tmp_path / "m.onnx", **kwargs)
    with pytest.raises(SerbiasError, match=message) as error:
        run(path, clips)
    _one_line(error)


def test_nan_scores_name_the_clip(tmp_path: Path, clips: pd.DataFrame) -> None:
    path = build_onnx(tmp_path / "m.onnx", divide_by_level=True)
    silent = clips["path"].iloc[5]
    sf.write(silent, np.zeros(6000), 16_000)
    name = clips["filename"].iloc[5]
    with pytest.raises(SerbiasError, match=rf"NaN or infinite scores for clip {name}$") as error:
        run(path, clips, batch_size=4)
    _one_line(error)


def test_a_model_failing_at_run_time_names_the_clip(tmp_path: Path, clips: pd.DataFrame) -> None:
    """A model that only takes whole seconds of 1,000 samples fails on the 4,800-sample clip."""
    nodes = [
        helper.make_node("Reshape", ["waveform", "blocks"], ["blocked"]),
        helper.make_node("ReduceMean", ["blocked"], ["level"], axes=[1, 2], keepdims=0),
        helper.make_node("Unsqueeze", ["level", "one"], ["logit"]),
        helper.make_node("Sigmoid", ["logit"], ["scores"]),
    ]
    graph = helper.make_graph(
        nodes,
        "picky",
        [helper.make_tensor_value_info("waveform", TensorProto.FLOAT, [1, "samples"])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, 1])],
        initializer=[
            numpy_helper.from_array(np.array([1, -1, 1000], np.int64), "blocks"),
            numpy_helper.from_array(np.array([1], np.int64), "one"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    helper.set_model_props(model, {"labels": "angry"})
    onnx.save(model, tmp_path / "picky.onnx")
    assert run(tmp_path / "picky.onnx", clips.iloc[:1]).table.shape == (1, 2)
    second = clips["filename"].iloc[1]
    with pytest.raises(SerbiasError, match=rf"the model failed on clip {second}: ") as error:
        run(tmp_path / "picky.onnx", clips.iloc[:2])
    _one_line(error)


def test_unreadable_or_missing_audio_is_named(model_path: Path, clips: pd.DataFrame) -> None:
    bad = Path(clips["path"].iloc[3])
    bad.write_bytes(b"RIFF garbage")
    with pytest.raises(AudioError, match=rf"{bad.name}: not a readable WAV file"):
        run(model_path, clips)
    bad.unlink()
    with pytest.raises(AudioError, match=rf"{bad.name}: audio file not found"):
        run(model_path, clips)


def test_clip_table_without_audio_is_refused(model_path: Path, clips: pd.DataFrame) -> None:
    with pytest.raises(SerbiasError, match=r"clip 1001_DFA_ANG_XX has no audio file"):
        run(model_path, clips.assign(path=None))


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"label_map": ("calm",)}, r"^--label-map 'calm': expected SRC=DST"),
        ({"batch_size": 0}, r"^--batch-size 0: must be at least 1"),
        ({"chunk_seconds": 0}, r"^--chunk-seconds 0: must be a positive number"),
        ({"scores": "softmax"}, r"^--scores 'softmax': expected one of auto, logits"),
        ({"normalize": "peak"}, r"^--normalize 'peak': expected one of none, zero-mean-unit-var"),
        ({"sample_rate": -1}, r"^--sample-rate -1: must be a positive"),
        ({"label_names": ""}, r"^--label-names: label names must be non-empty"),
    ],
)
def test_bad_settings_fail_before_any_model_loads(settings: dict, message: str) -> None:
    with pytest.raises(SerbiasError, match=message):
        PretrainedSettings(**settings)


def test_unknown_source_scheme() -> None:
    with pytest.raises(SerbiasError, match=r"model source 'tf:x': expected onnx:FILE or hf:DIR"):
        load_pretrained("tf:x")
