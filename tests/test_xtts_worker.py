"""The XTTS engine end to end: a tiny random XTTS model, the real engine code, the worker's HTTP API.

The model has XTTS-v2's classes and file layout with small sizes, so loading,
voice cloning, splitting and replicas run for real on the CPU in seconds. Its
random weights speak noise: the tests check decodable audio, rates, lengths
and what the worker reports, never how it sounds. Skipped without the extra.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile

from tests.support.worker_helpers import decode_base64_audio, http_client, metric_value, serve_in_thread, start_worker


def _xtts_missing() -> str:
    if importlib.util.find_spec("TTS") is None:
        return "coqui-tts (the [xtts] extra) is not installed"
    try:
        import TTS.tts.models.xtts  # noqa: F401
    except Exception as exc:  # an unusable torch/torchaudio pairing, say
        return f"coqui-tts does not import here: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
    return ""


_MISSING = _xtts_missing()
pytestmark = pytest.mark.skipif(bool(_MISSING), reason=_MISSING or "xtts available")

LONG = (
    "When the storm had passed and the harbour lay quiet again, the fishermen came down to the water "
    "to count their boats, to mend the nets that the wind had torn, and to look for the small skiff "
    "that old Tobias had taken out before dawn; nobody had seen it since the first gust, and his "
    "daughter stood on the pier with a lantern, although the sun was already up, calling his name "
    "across the grey water, once, twice, and then again, more quietly each time, until at last a "
    "boy on the breakwater shouted that he could see a sail, very small and very far out, tacking "
    "slowly home against what was left of the wind, and the whole village ran down to meet it."
)
SHORT = "The river ran low that summer, and the stones lay bare."


def _reference_wav(seconds: float = 3.0, rate: int = 22050) -> bytes:
    """A voiced-sounding reference: a pitch glide with syllable-like bursts, as 16-bit WAV."""
    t = np.arange(int(seconds * rate)) / rate
    pitch = 140 + 40 * np.sin(2 * np.pi * 0.5 * t)
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    envelope = 0.5 * (1 + np.sin(2 * np.pi * 4 * t)) ** 2
    wave = 0.2 * envelope * (np.sin(phase) + 0.3 * np.sin(2 * phase))
    buffer = io.BytesIO()
    soundfile.write(buffer, wave.astype(np.float32), rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    from remote_worker.engines.xtts_tiny import build_tiny_xtts

    return build_tiny_xtts(tmp_path_factory.mktemp("tiny-xtts"), speakers=True, max_audio_tokens=40)


def _recording_engine_class():
    from remote_worker.engines.xtts import XttsEngine

    class RecordingXtts(XttsEngine):
        """The real engine, noting every piece of text it was given, when, and how much audio came back."""

        log: list[tuple[int, str, float, float, int]] = []
        lock = threading.Lock()

        def __init__(self, replica: int, **kwargs) -> None:
            super().__init__(**kwargs)
            self.replica = replica

        def synthesize(self, sentence, config):
            began = time.monotonic()
            audio = super().synthesize(sentence, config)
            with self.lock:
                self.log.append((self.replica, sentence, began, time.monotonic(), audio.size))
            return audio

    return RecordingXtts


@pytest.fixture(scope="module")
def served(tiny_model):
    from remote_worker.app import create_app

    cls = _recording_engine_class()
    engines = [cls(i, model_dir=str(tiny_model), threads=1, use_cuda=False) for i in range(2)]
    app = create_app(engines, token="t0ken")
    began = time.perf_counter()
    with serve_in_thread(app) as base_url:
        load_seconds = time.perf_counter() - began
        print(f"\ntiny XTTS: 2 replicas loaded and serving in {load_seconds:.2f} s")
        with http_client(base_url, token="t0ken") as client:
            yield client, engines, cls


def _upload(client, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    if client.get(f"/voices/{digest}").status_code == 404:
        assert client.put(f"/voices/{digest}", content=data).status_code == 201
    return digest


def test_health_and_status_report_model_device_and_replicas(served, tiny_model):
    client, engines, _ = served
    health = client.get("/health").json()
    assert health["model_loaded"] and health["engine"] == "xtts"
    assert health["replicas"] == 2 and health["device"] == "cpu" and health["model"] == str(tiny_model)
    assert health["model_memory_mb"] is None  # CPU: no GPU memory held
    status = client.get("/status").json()
    assert status["replicas"] == 2 and len(status["replica_status"]) == 2
    assert "en" in status["languages"] and "zh-cn" in status["languages"]
    assert status["speakers"] == ["Tiny Speaker"]


def test_voice_upload_is_checked_and_kept_by_hash(served):
    client, _, _ = served
    data = _reference_wav(2.5)
    digest = hashlib.sha256(data).hexdigest()
    assert client.get(f"/voices/{digest}").status_code == 404
    wrong = client.put(f"/voices/{'0' * 64}", content=data)
    assert wrong.status_code == 409 and "sha256" in wrong.json()["detail"]
    junk = b"this is not audio at all" * 10
    not_audio = client.put(f"/voices/{hashlib.sha256(junk).hexdigest()}", content=junk)
    assert not_audio.status_code == 415 and "not an audio file" in not_audio.json()["detail"]
    assert client.put("/voices/abc", content=data).status_code == 422
    first = client.put(f"/voices/{digest}", content=data)
    assert first.status_code == 201 and first.json()["created"] is True
    again = client.put(f"/voices/{digest}", content=data)
    assert again.status_code == 200 and again.json()["created"] is False
    info = client.get(f"/voices/{digest}").json()
    assert info["sample_rate"] == 22050 and info["seconds"] == pytest.approx(2.5, abs=0.01)


def test_cloned_voice_speaks_two_sentences_at_24khz(served):
    client, engines, _ = served
    digest = _upload(client, _reference_wav(3.0))
    cache = engines[0].latent_cache
    computed_before = cache.computed
    body = {
        "chapter_id": "clone-1",
        "sentences": [SHORT, "Every morning the miller walked down to the water."],
        "tts_config": {"language": "en", "speaker_wav": digest},
        "audio_format": "wav",
    }
    began = time.perf_counter()
    response = client.post("/process_chapter", json=body)
    elapsed = time.perf_counter() - began
    assert response.status_code == 200, response.text
    result = response.json()
    samples, rate = decode_base64_audio(result["audio_base64"])
    print(f"\ntiny XTTS: 2 sentences in {elapsed:.2f} s for {result['duration']:.2f} s of audio")
    assert rate == 24000 == result["sample_rate"]
    assert samples.ndim == 1 and samples.size == result["num_samples"] > 0
    assert np.isfinite(samples).all() and np.abs(samples).max() > 0
    timings = result["sentence_timings"]
    assert len(timings) == 2
    for timing in timings:
        assert timing["end"] > timing["start"] and timing["pieces"] == 1
    assert timings[0]["end"] <= timings[1]["start"] and timings[1]["end"] <= result["duration"] + 1e-6
    assert result["duration"] == pytest.approx(samples.size / 24000, abs=1e-3)
    assert cache.computed == computed_before + 1  # latents computed once for this voice...
    hits = cache.hits
    assert client.post("/process_chapter", json={**body, "chapter_id": "clone-2", "sentences": [SHORT]}).status_code == 200
    assert cache.computed == computed_before + 1 and cache.hits > hits  # ...and reused


def test_built_in_speaker_and_refusals(served):
    client, _, _ = served
    ok = client.post("/process_chapter", json={"chapter_id": "spk", "sentences": [SHORT],
                                               "tts_config": {"language": "en", "speaker": "Tiny Speaker"}})
    assert ok.status_code == 200, ok.text
    cases = [
        ({"language": "xx"}, "use one of: en, es"),
        ({"language": "en", "speaker": "Nobody"}, "no built-in speaker 'Nobody'"),
        ({"language": "en", "speaker_wav": "f" * 64}, "upload it with PUT /voices/"),
        ({"language": "en", "speaker_wav": "/nonexistent/voice.wav"}, "neither an uploaded voice nor a file"),
    ]
    for config, needle in cases:
        r = client.post("/process_chapter", json={"chapter_id": "bad", "sentences": [SHORT], "tts_config": config})
        assert r.status_code == 422, (config, r.text)
        assert needle in r.json()["detail"] and "\n" not in r.json()["detail"]


def test_seed_request_works_on_xtts(served):
    client, _, _ = served
    from tests.support.worker_helpers import SEED_REQUEST

    r = client.post("/process_chapter", json=SEED_REQUEST)
    assert r.status_code == 200, r.text
    assert r.json()["num_sentences"] == 2 and r.json()["audio_base64"]


def test_over_long_sentence_is_split_and_every_piece_spoken(served):
    client, engines, cls = served
    from remote_worker.speaking import PIECE_GAP_MS

    assert len(LONG) > 600
    mark = len(cls.log)
    r = client.post("/process_chapter", json={
        "chapter_id": "long", "sentences": [LONG, SHORT],
        "tts_config": {"language": "en", "speaker": "Tiny Speaker"}, "audio_format": "wav",
    })
    assert r.status_code == 200, r.text
    result = r.json()
    samples, rate = decode_base64_audio(result["audio_base64"])
    assert rate == 24000 and samples.size == result["num_samples"]
    long_timing, short_timing = result["sentence_timings"]
    pieces = long_timing["pieces"]
    assert pieces >= 3 and short_timing["pieces"] == 1
    calls = cls.log[mark:]
    takes = 2 if long_timing["resynthesised"] else 1
    long_calls = calls[: pieces * takes]
    spoken = [text for _, text, _, _, _ in long_calls[-pieces:]]
    assert all(len(text) <= 250 for text in spoken)
    assert " ".join(spoken).split() == LONG.split()  # every word, in order: nothing cut off
    # the sentence's audio is all its pieces (of the kept take) with a short pause between them
    gap = int(24000 * PIECE_GAP_MS / 1000)
    kept = long_calls[-pieces:] if not long_timing["resynthesised"] else None
    span = round((long_timing["end"] - long_timing["start"]) * 24000)
    if kept is not None:
        assert span == pytest.approx(sum(n for *_, n in kept) + gap * (pieces - 1), abs=2)
    short_span = short_timing["end"] - short_timing["start"]
    assert long_timing["end"] - long_timing["start"] > (pieces - 0.5) * short_span * 0.5
    assert long_timing["end"] - long_timing["start"] > short_span


def test_two_replicas_serve_two_units_at_once(served):
    client, engines, cls = served
    import httpx

    mark = len(cls.log)
    results: list[int] = []

    def post(unit: str) -> None:
        with httpx.Client(base_url=str(client.base_url), headers=dict(client.headers), trust_env=False,
                          timeout=300) as c:
            results.append(c.post("/process_chapter", json={
                "chapter_id": unit, "sentences": [SHORT, SHORT],
                "tts_config": {"language": "en", "speaker": "Tiny Speaker"}}).status_code)

    threads = [threading.Thread(target=post, args=(f"par-{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200, 200]
    status = client.get("/status").json()
    assert status["peak_running"] == 2
    calls = cls.log[mark:]
    by_replica = {0: [], 1: []}
    for replica, _, began, ended, _ in calls:
        by_replica[replica].append((began, ended))
    assert by_replica[0] and by_replica[1], calls
    overlap = any(a0 < b1 and a1 < b0 for a0, b0 in by_replica[0] for a1, b1 in by_replica[1])
    assert overlap, "the two replicas never synthesised at the same time"
    metrics = client.get("/metrics").text
    for replica in ("0", "1"):
        assert metric_value(metrics, "e2a_worker_replica_busy_seconds_total", {"replica": replica}) > 0


def test_worker_process_loads_replicas_and_refuses_a_download_without_the_licence(tiny_model):
    import subprocess
    import sys

    from tests.support.worker_helpers import REPO_ROOT

    with start_worker("--engine", "xtts", "--model-dir", str(tiny_model), "--replicas", "2",
                      "--device", "cpu", "--threads", "1") as worker:
        with http_client(worker.base_url) as client:
            health = client.get("/health").json()
            assert health["replicas"] == 2 and health["model_loaded"] and health["engine"] == "xtts"
    result = subprocess.run([sys.executable, "-m", "remote_worker", "--engine", "xtts", "--model", "xtts_v2",
                             "--port", "0"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
                            env={k: v for k, v in __import__("os").environ.items() if k != "COQUI_TOS_AGREED"})
    assert result.returncode == 2
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("e2a-worker: error: ")]
    assert lines and "--agree-coqui-license" in lines[0] and "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def verified(tiny_model):
    """One tiny XTTS replica with Whisper tiny.en beside it, as ``e2a-worker --engine xtts`` starts it."""
    from remote_worker.app import create_app
    from remote_worker.engines.xtts import XttsEngine
    from remote_worker.verifying import build_verification
    from tests.support.verify_models import unavailable

    if unavailable() is not None:
        pytest.skip(f"no offline recogniser: {unavailable()}")
    engine = XttsEngine(model_dir=str(tiny_model), threads=1, use_cuda=False)
    app = create_app(engine, verification=build_verification(True, None, device="cpu", threads=1))
    with serve_in_thread(app) as base_url:
        yield base_url


VERIFY_SENTENCES = ["The keeper wound the clock at seven.", "Yes.", "Gulls circled the rocks while the tide went out."]


def test_verify_flags_every_sentence_of_unintelligible_speech_within_the_take_limit(verified):
    """Random weights speak noise: no sentence may pass, each gets exactly the takes asked for, and the
    unit still comes back complete with its audio and a check per sentence."""
    with http_client(verified) as client:
        assert client.get("/health").json()["verify"]["available"] is True
        answer = client.post("/process_chapter", json={
            "chapter_id": "noise", "sentences": VERIFY_SENTENCES,
            "tts_config": {"speaker": "Tiny Speaker", "language": "en", "verify": True, "verify_takes": 2}},
            timeout=600)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        audio, _rate = decode_base64_audio(body["audio_base64"])
        assert audio.size > 0 and body["num_sentences"] == len(VERIFY_SENTENCES)
        checks = body["checks"]
        assert [c["index"] for c in checks] == [0, 1, 2]
        assert all(c["status"] == "flagged" for c in checks), checks
        assert all(c["takes"] == 2 for c in checks), checks
        status = client.get("/status").json()
        assert status["retakes"] == len(VERIFY_SENTENCES) and status["verify_seconds"] > 0


async def test_a_verified_xtts_run_completes_with_every_sentence_reported(verified, tmp_path):
    """Through the real core: the book is complete (exit 0), and every sentence is in the flagged report."""
    import csv

    from tui.core.checks import flagged_report_path
    from tui.core.options import RunOptions
    from tui.core.session import RunSession
    from tui.core.static import StaticCluster

    book = tmp_path / "noise.txt"
    book.write_text("CHAPTER ONE\n\n" + " ".join(VERIFY_SENTENCES[:2]) + "\n\nCHAPTER TWO\n\n" + VERIFY_SENTENCES[2] + "\n")
    output = tmp_path / "noise.m4b"
    session = RunSession(RunOptions(input=book, output=output, engine="xtts", speaker="Tiny Speaker", verify=True,
                                    verify_takes=2),
                         StaticCluster(verified.removeprefix("http://"), warn=None))
    result = await session.run()
    assert result.ok, result.error
    assert result.sentences_passed == 0 and result.sentences_unverified == 0
    rows = list(csv.DictReader(flagged_report_path(output).open(), delimiter="\t"))
    assert len(rows) == result.sentences_flagged  # the chapter headings are spoken and flagged too
    spoken = [(r["chapter"], r["expected"]) for r in rows]
    assert [s for s in spoken if s[1] in VERIFY_SENTENCES] == [("1", VERIFY_SENTENCES[0]), ("1", VERIFY_SENTENCES[1]),
                                                               ("2", VERIFY_SENTENCES[2])]
    assert {r["takes"] for r in rows} == {"2"}
    times = [r["book_time"] for r in rows]
    assert times == sorted(times)
