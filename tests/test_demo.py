"""`serbias demo`: one recording classified in the terminal and through the local web app.

Tiny multitask and SVM models are extracted, trained and registered once per module in a
temporary MLflow store (see tests/demo_helpers.py); the web app runs under a real uvicorn
server on a free loopback port and is spoken to over plain HTTP.
"""

from __future__ import annotations

import http.client
import json
import re
import select
import socket
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import numpy as np
import pytest
from typer.testing import CliRunner

from serbias import vocab
from serbias.cli import app
from tests.demo_helpers import MULTITASK, SVM, running_server, wav_bytes
from tests.feature_factory import fake_wav, write_wav

runner = CliRunner()
#: A small cap for the server under test, so "too large" needs only a few hundred KB.
UPLOAD_CAP = 200_000


def _demo(*args: str):
    return runner.invoke(app, ["demo", *args])


# ----------------------------------------------------------------------------- terminal


def test_terminal_table_lists_emotions_sorted_speaker_guesses_and_the_version(demo_store):
    answer = json.loads(_demo(str(demo_store.clip), "--json").output)
    result = _demo(str(demo_store.clip))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    rows = [next(i for i, line in enumerate(lines) if f" {name} " in line)
            for name in vocab.EMOTION_NAMES]  # fmt: skip
    by_row = [name for _, name in sorted(zip(rows, vocab.EMOTION_NAMES, strict=True))]
    assert by_row == sorted(answer["emotions"], key=lambda name: -answer["emotions"][name])
    for name, p in answer["emotions"].items():
        assert f"{p:.3f}" in lines[rows[vocab.EMOTION_NAMES.index(name)]]
    assert "guesses about the speaker" in result.output
    assert "Female (vs Male)" in result.output
    assert "Non-Caucasian (vs Caucasian)" in result.output
    assert "serbias-multitask-intended version 1 (latest, champion)" in result.output


def test_json_gives_probabilities_speaker_guesses_and_model_identity(demo_store):
    result = _demo(str(demo_store.clip), "--json")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert list(answer["emotions"]) == list(vocab.EMOTION_NAMES)
    assert all(0.0 <= p <= 1.0 for p in answer["emotions"].values())
    assert answer["top_emotion"] == max(answer["emotions"], key=answer["emotions"].get)
    assert answer["detected"] == [n for n, p in answer["emotions"].items() if p >= 0.5]
    assert list(answer["speaker"]) == ["Female", "Non-Caucasian"]
    model = answer["model"]
    assert (model["registered_name"], model["version"]) == ("serbias-multitask-intended", "1")
    assert model["resolved_uri"] == "models:/serbias-multitask-intended/1"
    assert model["aliases"] == ["latest", "champion"] and len(model["run_id"]) == 32
    assert (model["family"], model["labels"]) == ("multitask", "intended")
    assert model["description"] == (
        f"serbias-multitask-intended version 1 (latest, champion), run {model['run_id']}"
    )
    assert answer["audio"] == {"seconds": 1.0, "heard_seconds": 1.0}


def test_a_corpus_clip_gets_exactly_the_predictions_of_its_extracted_features(demo_store):
    """The demo computes features as `serbias extract` did, so it agrees with `predict`."""
    from serbias.predictions import predict

    for uri in (MULTITASK, SVM):
        table = predict(
            uri, demo_store.features, split_file=demo_store.split_file, split_name="test"
        ).table
        for row in table.head(3).itertuples(index=False):
            clip = demo_store.corpus / "AudioWAV" / f"{row.Filename}.wav"
            answer = json.loads(_demo(str(clip), "--model", uri, "--json").output)
            expected = {name: getattr(row, name) for name in vocab.EMOTION_NAMES}
            np.testing.assert_allclose(list(answer["emotions"].values()),
                                       list(expected.values()), atol=1e-5)  # fmt: skip
            if uri == MULTITASK:
                table_row = table.set_index("Filename").loc[row.Filename]
                np.testing.assert_allclose(
                    list(answer["speaker"].values()),
                    [table_row["Female"], table_row["Non-Caucasian"]],
                    atol=1e-5,
                )


def test_an_svm_model_has_no_speaker_guesses(demo_store):
    answer = json.loads(_demo(str(demo_store.clip), "--model", SVM, "--json").output)
    assert answer["speaker"] == {} and answer["model"]["registered_name"] == "serbias-svm-intended"
    result = _demo(str(demo_store.clip), "--model", SVM)
    assert result.exit_code == 0, result.output
    assert "speaker" not in result.output and "serbias-svm-intended version 1" in result.output


def test_only_the_first_seconds_the_model_was_trained_on_are_heard(demo_store):
    answer = json.loads(_demo(str(demo_store.long_clip), "--json").output)
    assert answer["audio"] == {"seconds": 3.0, "heard_seconds": 1.25}
    assert "heard the first 1.25 s of 3 s" in _demo(str(demo_store.long_clip)).output


def _one_line_error(result) -> str:
    assert result.exit_code == 1, result.output
    assert result.output.startswith("error: ") and result.output.count("\n") == 1, result.output
    return result.output


def test_bad_audio_is_a_one_line_error_naming_the_file(demo_store, tmp_path, monkeypatch):
    # the audio is checked before any model is looked up: no tracking store is needed
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    text = fake_wav(tmp_path / "notes.wav")
    assert re.search(r"notes\.wav: not a readable WAV", _one_line_error(_demo(str(text))))
    empty = write_wav(tmp_path / "empty.wav", np.zeros(0), 16_000)
    assert "empty.wav: holds no audio" in _one_line_error(_demo(str(empty)))
    long = _demo(str(demo_store.long_clip), "--max-seconds", "2")
    assert "long.wav: is 3.0 s long; at most 2 s is accepted" in _one_line_error(long)
    missing = _demo(str(tmp_path / "nowhere.wav"))
    assert "nowhere.wav: audio file not found" in _one_line_error(missing)


def test_no_registered_model_is_a_one_line_error(demo_store, tmp_path, monkeypatch):
    unknown = _demo(str(demo_store.clip), "--model", "models:/serbias-cnn_lstm-intended@champion")
    assert "no such model" in _one_line_error(unknown)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    no_store = _one_line_error(_demo(str(demo_store.clip)))
    assert "no MLflow store at" in no_store and "serbias train" in no_store
    assert not (tmp_path / "mlflow.db").exists()  # nothing created as a side effect


def test_usage_mistakes_are_one_line_errors():
    assert "give a WAV file" in _one_line_error(_demo())
    assert "--serve takes no AUDIO" in _one_line_error(_demo("clip.wav", "--serve"))
    assert "apply only with --serve" in _one_line_error(_demo("clip.wav", "--port", "9000"))


# ----------------------------------------------------------------------------- web app


@pytest.fixture(scope="module")
def server(demo_store):
    """The demo app (multitask champion, small upload cap) on a free loopback port."""
    from serbias.demo.app import create_app

    with running_server(create_app(MULTITASK, max_upload_bytes=UPLOAD_CAP, max_seconds=2.0)) as url:
        yield url


def _request(url: str, method: str, path: str, body=None, headers=None):
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.getheader("content-type"), response.read()
    finally:
        connection.close()


def _multipart(data: bytes, *, field: str = "audio", filename: str = "clip.wav"):
    boundary = "serbias-test-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
            f'filename="{filename}"\r\nContent-Type: audio/wav\r\n\r\n'
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def _post(url: str, data: bytes, **form) -> tuple[int, dict]:
    body, headers = _multipart(data, **form)
    status, content_type, payload = _request(url, "POST", "/predict", body, headers)
    assert content_type == "application/json", payload[:200]
    return status, json.loads(payload)


def test_page_is_one_self_contained_html_document(server):
    status, content_type, payload = _request(server, "GET", "/")
    page = payload.decode()
    assert status == 200 and content_type.startswith("text/html")
    assert "<script>" in page and 'type="file"' in page and "MediaRecorder" in page
    assert not re.search(r"(src|href)=\"(https?:)?//", page), "the page must fetch nothing remote"
    assert f"const MAX_BYTES = {UPLOAD_CAP};" in page


def test_model_endpoint_says_which_version_answers(server):
    status, _, payload = _request(server, "GET", "/model")
    identity = json.loads(payload)
    assert status == 200 and identity["version"] == "1" and identity["family"] == "multitask"
    assert identity["description"].startswith("serbias-multitask-intended version 1")


def test_a_good_upload_gets_six_probabilities_and_the_model(server, demo_store):
    status, answer = _post(server, demo_store.clip.read_bytes(), filename="hello.wav")
    assert status == 200, answer
    expected = json.loads(_demo(str(demo_store.clip), "--json").output)
    assert list(answer["emotions"]) == list(vocab.EMOTION_NAMES)
    np.testing.assert_allclose(list(answer["emotions"].values()),
                               list(expected["emotions"].values()), atol=1e-6)  # fmt: skip
    assert list(answer["speaker"]) == ["Female", "Non-Caucasian"]
    assert answer["model"]["version"] == "1"
    assert answer["model"]["aliases"] == ["latest", "champion"]


def test_a_non_audio_upload_is_a_400_naming_the_problem(server):
    status, answer = _post(server, b"this is a transcript, not audio\n" * 40, filename="notes.wav")
    assert status == 400 and answer["error"].startswith("notes.wav: not a readable WAV file")


def test_an_empty_upload_is_a_400(server):
    status, answer = _post(server, b"", filename="nothing.wav")
    assert (status, answer) == (400, {"error": "nothing.wav: is empty (0 bytes)"})
    status, answer = _post(server, wav_bytes(seconds=0.0), filename="silent.wav")
    assert (status, answer) == (400, {"error": "silent.wav: holds no audio (0 samples)"})


def test_a_too_long_recording_is_a_400(server):
    status, answer = _post(server, wav_bytes(seconds=2.5), filename="speech.wav")
    expected = "speech.wav: is 2.5 s long; at most 2 s is accepted"
    assert (status, answer) == (400, {"error": expected})


def test_an_upload_without_the_audio_field_is_a_422_explaining_the_form(server):
    status, answer = _post(server, wav_bytes(), field="file")
    assert status == 422 and "multipart file field 'audio'" in answer["error"]


TOO_LARGE = {"error": f"upload larger than the {UPLOAD_CAP / 1e6:g} MB limit"}


def test_an_oversize_upload_is_a_413_whether_declared_or_streamed(server):
    # the file alone is over the cap, the whole body under cap + multipart slack
    status, answer = _post(server, b"\0" * (UPLOAD_CAP + 1))
    assert (status, answer) == (413, TOO_LARGE)
    # a declared length over the cap is refused before any of the body is read
    parts = urlsplit(server)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    connection.putrequest("POST", "/predict")
    connection.putheader("Content-Type", "multipart/form-data; boundary=x")
    connection.putheader("Content-Length", str(50 * UPLOAD_CAP))
    connection.endheaders()
    response = connection.getresponse()
    assert (response.status, json.loads(response.read())) == (413, TOO_LARGE)
    connection.close()
    # a chunked body without a length is cut off once what was read passes the cap
    assert _stream_until_answered(server, total=10 * UPLOAD_CAP) == (413, TOO_LARGE)


def _stream_until_answered(url: str, *, total: int, chunk: int = 16_384) -> tuple[int, dict]:
    """Send a chunked multipart body of ``total`` bytes, stopping once the server answers."""
    parts = urlsplit(url)
    head, headers = _multipart(b"")
    head = head[: head.index(b"\r\n\r\n") + 4]
    request = (
        "POST /predict HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n"
        f"Content-Type: {headers['Content-Type']}\r\n\r\n"
    ).encode()
    with socket.create_connection((parts.hostname, parts.port), timeout=60) as sock:
        sock.sendall(request)
        sent = 0
        for piece in (head, *(b"\0" * chunk for _ in range(total // chunk))):
            if select.select([sock], [], [], 0)[0]:
                break  # the server answered before the end of the body
            sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            sent += len(piece)
        assert sent < total, "the server read the whole oversize body"
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, json.loads(response.read())


def test_twenty_concurrent_requests_are_all_answered(server, demo_store):
    clip = demo_store.clip.read_bytes()
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda _: _post(server, clip), range(20)))
    assert [status for status, _ in answers] == [200] * 20
    first = answers[0][1]["emotions"]
    assert all(answer["emotions"] == first for _, answer in answers)


def test_the_server_keeps_answering_after_bad_requests(server, demo_store):
    bad = [
        _post(server, b"not audio", filename="a.wav")[0],
        _post(server, b"")[0],
        _post(server, b"\0" * (UPLOAD_CAP + 1))[0],
        _post(server, wav_bytes(), field="other")[0],
        _request(server, "POST", "/predict", b"garbage", {"Content-Type": "text/plain"})[0],
        _request(server, "GET", "/nowhere")[0],
    ]
    assert bad == [400, 400, 413, 422, 422, 404]
    status, answer = _post(server, demo_store.clip.read_bytes())
    assert status == 200 and len(answer["emotions"]) == 6


def test_an_internal_failure_is_a_json_500_without_a_traceback(server, demo_store, monkeypatch):
    import serbias.demo.app

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(serbias.demo.app, "classify", broken)
    status, answer = _post(server, demo_store.clip.read_bytes())
    assert status == 500 and "secret" not in json.dumps(answer) and "error" in answer
    monkeypatch.undo()
    assert _post(server, demo_store.clip.read_bytes())[0] == 200


# ----------------------------------------------------------------------------- serving


def test_serve_on_a_busy_port_is_a_one_line_error_before_any_model_loads(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = _demo("--serve", "--port", str(port))
    assert f"cannot listen on 127.0.0.1:{port}" in _one_line_error(result)


def test_demo_settings_are_validated_naming_the_key():
    from serbias.config import DemoParams
    from serbias.errors import SerbiasError

    bad = {"port": 0, "max_upload_mb": 0.0, "max_seconds": -1.0, "model": " ", "host": ""}
    for key, value in bad.items():
        with pytest.raises(SerbiasError, match=f"demo.{key}"):
            DemoParams(**{key: value})


def test_the_command_line_stays_light_to_import():
    """`serbias --help` must stay fast: the web stack and TensorFlow load only in the command."""
    import subprocess
    import sys

    heavy = ("fastapi", "uvicorn", "starlette", "tensorflow", "keras", "mlflow", "librosa")
    code = f"import sys, serbias.cli; print([m for m in {heavy!r} if m in sys.modules])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.slow
def test_serbias_demo_serve_answers_until_stopped(demo_store):
    """The real command in a fresh process, as a user starts it."""
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        str(Path(sys.executable).with_name("serbias")),
        "demo",
        "--serve",
        "--port",
        str(port),
    ]
    env = {**os.environ, "MLFLOW_TRACKING_URI": demo_store.tracking_uri}
    server = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                status, _, _ = _request(url, "GET", "/model")
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        assert status == 200
        status, answer = _post(url, demo_store.clip.read_bytes())
        assert status == 200 and answer["model"]["version"] == "1"
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=60)
    assert f"Serving the demo at http://127.0.0.1:{port}/" in stderr
    assert "Model: serbias-multitask-intended version 1" in stderr
