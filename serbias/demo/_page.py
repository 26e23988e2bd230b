"""The demo's single web page: HTML, CSS and JavaScript inline, nothing fetched elsewhere.

Kept as a Python string (not a package data file) so it ships with the code whatever the
packaging. The browser records with MediaRecorder and re-encodes the recording as a
16-bit mono WAV before upload, since the server accepts WAV only.
"""

from __future__ import annotations

import json

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>serbias demo</title>
<style>
  :root { color-scheme: light dark; --accent: #3367d6; --muted: #777; }
  body { font: 16px/1.45 system-ui, sans-serif; margin: 0; }
  main { max-width: 44rem; margin: 2rem auto; padding: 0 1rem; }
  h1 { font-size: 1.5rem; margin-bottom: .25rem; }
  h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
  .note, #model { color: var(--muted); font-size: .9rem; }
  .inputs { display: flex; gap: .75rem; align-items: center; flex-wrap: wrap; margin: 1rem 0; }
  .button, button { font: inherit; padding: .45rem .9rem; border: 1px solid var(--accent);
    border-radius: .4rem; background: var(--accent); color: white; cursor: pointer; }
  .button input { display: none; }
  button.recording { background: #c62828; border-color: #c62828; }
  #error { color: #c62828; font-weight: 600; }
  .row { display: grid; grid-template-columns: 15rem 1fr 4rem; gap: .5rem; align-items: center;
    margin: .3rem 0; }
  .bar { height: 1.1rem; background: rgba(127, 127, 127, .18); border-radius: .25rem;
    overflow: hidden; }
  .fill { display: block; height: 100%; background: var(--accent); }
  .speaker .fill { background: #8e6bbf; }
  .value { text-align: right; font-variant-numeric: tabular-nums; }
  audio { width: 100%; margin-top: .5rem; }
</style>
</head>
<body>
<main>
  <h1>serbias demo: what does the model hear?</h1>
  <p>Upload a WAV file or record yourself. The model scores each of six emotions on its own,
    from 0 to 1, so the scores need not add up to 1.</p>
  <p id="model">Model: loading&hellip;</p>
  <section class="inputs">
    <label class="button">Choose a WAV file
      <input id="file" type="file" accept=".wav,audio/wav,audio/x-wav,audio/wave"></label>
    <button id="record" type="button">&#9679; Record</button>
    <span id="status" role="status"></span>
  </section>
  <audio id="player" controls hidden></audio>
  <p id="error" role="alert" hidden></p>
  <section id="result" hidden>
    <h2>Emotion probabilities</h2>
    <div id="emotions"></div>
    <p id="detected" class="note"></p>
    <div id="speaker-section" hidden>
      <h2>The model's guesses about the speaker</h2>
      <p class="note">This multitask model also predicts who is speaking. These are guesses
        from the voice, not facts about anyone: they are what the bias audit examines.</p>
      <div id="speaker" class="speaker"></div>
    </div>
    <p id="answered" class="note"></p>
  </section>
</main>
<script>
"use strict";
const MAX_BYTES = __MAX_BYTES__;
const MAX_SECONDS = __MAX_SECONDS__;
const ALTERNATIVE = __ALTERNATIVES__;
const $ = (id) => document.getElementById(id);
const megabytes = (n) => (n / 1e6).toFixed(1);

function setError(message) {
  $("error").textContent = message || "";
  $("error").hidden = !message;
}
function setStatus(message) { $("status").textContent = message || ""; }

function bars(container, entries) {
  container.replaceChildren();
  for (const [key, label, p] of entries) {
    const row = document.createElement("div");
    row.className = "row";
    row.dataset.name = key;
    const name = document.createElement("span");
    name.className = "label";
    name.textContent = label;
    const bar = document.createElement("span");
    bar.className = "bar";
    const fill = document.createElement("span");
    fill.className = "fill";
    fill.style.width = (100 * Math.max(0, Math.min(1, p))).toFixed(1) + "%";
    bar.append(fill);
    const value = document.createElement("span");
    value.className = "value";
    value.textContent = p.toFixed(3);
    row.append(name, bar, value);
    container.append(row);
  }
}

function render(r) {
  const emotions = Object.entries(r.emotions).sort((a, b) => b[1] - a[1]);
  bars($("emotions"), emotions.map(([name, p]) => [name, name, p]));
  $("detected").textContent = r.detected.length
    ? "At the model's decision threshold (" + r.threshold + "): " + r.detected.join(", ") + "."
    : "No emotion reaches the model's decision threshold (" + r.threshold + "); the highest is "
      + r.top_emotion + ".";
  const speaker = Object.entries(r.speaker);
  $("speaker-section").hidden = speaker.length === 0;
  bars($("speaker"), speaker.map(([name, p]) =>
    [name, name + " (vs " + (ALTERNATIVE[name] || "not") + ")", p]));
  let answered = "Answered by " + r.model.description + ".";
  if (r.audio.seconds > r.audio.heard_seconds + 0.005) {
    const seconds = (x) => Number(x.toFixed(2));
    answered += " The model heard the first " + seconds(r.audio.heard_seconds) + " s of "
      + seconds(r.audio.seconds) + " s.";
  }
  $("answered").textContent = answered;
  $("result").hidden = false;
}

async function classify(blob, filename) {
  setError("");
  if (blob.size > MAX_BYTES) {
    $("result").hidden = true;
    setError(filename + " is " + megabytes(blob.size) + " MB; the limit is "
      + megabytes(MAX_BYTES) + " MB.");
    return;
  }
  setStatus("Classifying\\u2026");
  const form = new FormData();
  form.append("audio", blob, filename);
  let response, body;
  try {
    response = await fetch("predict", { method: "POST", body: form });
    body = await response.json();
  } catch (error) {
    setStatus("");
    setError("The server did not answer (" + error.message + ").");
    return;
  }
  setStatus("");
  if (!response.ok) {
    $("result").hidden = true;
    setError(body.error || ("The request failed (HTTP " + response.status + ")."));
    return;
  }
  render(body);
}

$("file").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  event.target.value = "";
  if (!file) return;
  $("player").src = URL.createObjectURL(file);
  $("player").hidden = false;
  await classify(file, file.name);
});

function encodeWav(buffer) {
  const rate = buffer.sampleRate, n = buffer.length, channels = buffer.numberOfChannels;
  const mono = new Float32Array(n);
  for (let c = 0; c < channels; c++) {
    const data = buffer.getChannelData(c);
    for (let i = 0; i < n; i++) mono[i] += data[i] / channels;
  }
  const view = new DataView(new ArrayBuffer(44 + 2 * n));
  const text = (offset, s) => {
    for (let i = 0; i < s.length; i++) view.setUint8(offset + i, s.charCodeAt(i));
  };
  text(0, "RIFF"); view.setUint32(4, 36 + 2 * n, true); text(8, "WAVE");
  text(12, "fmt "); view.setUint32(16, 16, true); view.setUint16(20, 1, true);
  view.setUint16(22, 1, true); view.setUint32(24, rate, true); view.setUint32(28, 2 * rate, true);
  view.setUint16(32, 2, true); view.setUint16(34, 16, true);
  text(36, "data"); view.setUint32(40, 2 * n, true);
  for (let i = 0; i < n; i++) {
    const s = Math.max(-1, Math.min(1, mono[i]));
    view.setInt16(44 + 2 * i, s < 0 ? s * 0x8000 : s * 0x7fff, true);
  }
  return new Blob([view], { type: "audio/wav" });
}

async function toWav(blob) {
  const context = new AudioContext();
  try {
    return encodeWav(await context.decodeAudioData(await blob.arrayBuffer()));
  } finally {
    context.close();
  }
}

let recorder = null;
$("record").addEventListener("click", async () => {
  if (recorder) { recorder.stop(); return; }
  if (!navigator.mediaDevices || !window.MediaRecorder) {
    setError("This browser cannot record on this page (microphones need http://127.0.0.1, "
      + "localhost or https). Upload a WAV file instead.");
    return;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (error) {
    setError("No microphone available (" + error.message + ").");
    return;
  }
  setError("");
  const chunks = [];
  recorder = new MediaRecorder(stream);
  const limit = setTimeout(() => recorder && recorder.stop(), MAX_SECONDS * 1000);
  recorder.ondataavailable = (event) => { if (event.data.size) chunks.push(event.data); };
  recorder.onstop = async () => {
    clearTimeout(limit);
    stream.getTracks().forEach((track) => track.stop());
    recorder = null;
    $("record").textContent = "\\u25CF Record";
    $("record").classList.remove("recording");
    setStatus("");
    let wav;
    try {
      wav = await toWav(new Blob(chunks, { type: chunks.length ? chunks[0].type : "" }));
    } catch (error) {
      setError("Could not read the recording (" + error.message + ").");
      return;
    }
    $("player").src = URL.createObjectURL(wav);
    $("player").hidden = false;
    await classify(wav, "recording.wav");
  };
  recorder.start();
  $("record").textContent = "\\u25A0 Stop";
  $("record").classList.add("recording");
  setStatus("Recording\\u2026 click Stop when done (at most " + MAX_SECONDS + " s).");
});

fetch("model").then((r) => r.json()).then((m) => {
  $("model").textContent = "Model: " + m.description;
}).catch((error) => { $("model").textContent = "Model: unknown (" + error.message + ")"; });
</script>
</body>
</html>
"""


def render_page(*, max_upload_bytes: int, max_seconds: float, alternatives: dict[str, str]) -> str:
    """The page with the server's limits filled in (numbers and a JSON object only)."""
    return (
        PAGE.replace("__MAX_BYTES__", str(int(max_upload_bytes)))
        .replace("__MAX_SECONDS__", json.dumps(float(max_seconds)))
        .replace("__ALTERNATIVES__", json.dumps(alternatives))
    )
