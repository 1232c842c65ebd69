"""The worker's small parts: gap layout, encoding, download store, GPU probe, token handling."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.worker_helpers import decode_audio
from remote_worker.audio import assemble, encode, silence_samples
from remote_worker.downloads import DownloadStore
from remote_worker.engines import get_engine
from remote_worker.gpu import GpuProbe, visible_device
from remote_worker.protocol import TTSConfig
from remote_worker.security import TokenError, is_loopback_host, read_token

RATE = 22050


@pytest.fixture(scope="module")
def speech():
    engine = get_engine("piper", threads=1)
    engine.load()
    return [engine.synthesize(s, TTSConfig()) for s in ("One sentence.", "Another, longer sentence.", "A third.")]


def test_gaps_paragraphs_and_trailing_silence(speech):
    a, b, c = speech
    out = assemble(
        [a, b, c], RATE, sentence_gap_ms=250, paragraph_gap_ms=700, paragraph_starts=[2], trailing_gap_ms=100
    )
    g, p, t = silence_samples(250, RATE), silence_samples(700, RATE), silence_samples(100, RATE)
    b_start = len(a) + g
    c_start = b_start + len(b) + p
    assert out.spans == [(0, len(a)), (b_start, b_start + len(b)), (c_start, c_start + len(c))]
    assert out.num_samples == out.spans[-1][1] + t
    assert np.array_equal(out.samples[out.spans[1][0] : out.spans[1][1]], b)
    assert not out.samples[len(a) : len(a) + g].any()
    assert out.duration == pytest.approx(out.num_samples / RATE)


def test_paragraph_start_on_an_empty_sentence_moves_to_the_next_voiced_one(speech):
    a, b, _ = speech
    empty = np.zeros(0, dtype=np.float32)
    out = assemble([a, empty, b], RATE, sentence_gap_ms=100, paragraph_gap_ms=500, paragraph_starts=[1])
    assert out.spans[1] == (len(a), len(a))
    assert out.spans[2][0] - len(a) == silence_samples(500, RATE)


def test_leading_empty_sentences_and_no_trailing_gap_without_speech(speech):
    a = speech[0]
    empty = np.zeros(0, dtype=np.float32)
    out = assemble([empty, a], RATE, sentence_gap_ms=300, paragraph_gap_ms=600, trailing_gap_ms=200)
    assert out.spans == [(0, 0), (0, len(a))]
    assert assemble([empty], RATE, sentence_gap_ms=300, paragraph_gap_ms=600, trailing_gap_ms=200).num_samples == 0


@pytest.mark.parametrize("fmt", ["flac", "wav", "mp3"])
def test_encode_round_trips_length_and_content(speech, fmt):
    pcm = speech[1]
    samples, rate = decode_audio(encode(pcm, RATE, fmt))
    assert rate == RATE
    assert len(samples) == pytest.approx(len(pcm), rel=0.01)
    if fmt != "mp3":  # lossless: equal to 16-bit precision
        assert np.max(np.abs(samples - pcm)) < 2 / 32768


def test_encode_rejects_unknown_format(speech):
    with pytest.raises(ValueError, match="unsupported audio format"):
        encode(speech[0], RATE, "ogg")


def test_download_store_issues_random_names_and_expires_them(tmp_path):
    now = [100.0]
    store = DownloadStore(tmp_path, ttl_seconds=60, clock=lambda: now[0])
    first, second = store.put(b"abc", "flac"), store.put(b"abc", "flac")
    assert first.name != second.name and first.name.endswith(".flac") and len(first.name) >= 24
    assert store.get(first.name).path.read_bytes() == b"abc"
    assert store.get("../" + first.name) is None and store.get(first.path.as_posix()) is None
    now[0] += 59
    assert store.get(first.name) is not None
    now[0] += 2
    assert store.get(first.name) is None
    assert not first.path.exists() and not second.path.exists() and len(store) == 0


@pytest.mark.parametrize(
    "value, expected",
    [(None, "0"), ("", None), ("-1", None), ("2,3", "2"), ("GPU-1234abcd", "GPU-1234abcd"), ("MIG-5/1/0", "MIG-5/1/0")],
)
def test_visible_device_follows_cuda_visible_devices(value, expected):
    env = {} if value is None else {"CUDA_VISIBLE_DEVICES": value}
    assert visible_device(env) == expected


def test_gpu_probe_never_fails_on_this_host(monkeypatch):
    probe = GpuProbe()
    probe.open()
    snap = probe.snapshot()
    if probe.available:
        assert snap.memory_total_mb and snap.memory_total_mb > 0 and probe.name
    else:
        assert snap.name is None and snap.memory_used_mb is None
    probe.close()
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    hidden = GpuProbe()
    hidden.open()
    assert not hidden.available and hidden.snapshot().memory_free_mb is None


@pytest.mark.parametrize(
    "host, loopback",
    [("127.0.0.1", True), ("127.0.0.53", True), ("::1", True), ("[::1]", True), ("localhost", True),
     ("0.0.0.0", False), ("::", False), ("10.0.0.5", False), ("example.org", False), ("", False)],
)
def test_loopback_detection(host, loopback):
    assert is_loopback_host(host) is loopback


def test_token_from_file_then_env(tmp_path):
    path = tmp_path / "t"
    path.write_text("  abc123  \nsecond line ignored\n")
    assert read_token(str(path), environ={"E2A_WORKER_TOKEN": "env"}) == "abc123"
    assert read_token(None, environ={"E2A_WORKER_TOKEN": " env "}) == "env"
    assert read_token(None, environ={}) is None
    with pytest.raises(TokenError, match="cannot read token file"):
        read_token(str(tmp_path / "missing"), environ={})


def test_sweep_removes_only_unlocked_old_worker_folders(tmp_path):
    import os

    from remote_worker.workdir import TEMP_PREFIX, WorkDir, sweep_stale

    live = WorkDir(str(tmp_path))
    dead = tmp_path / f"{TEMP_PREFIX}dead"
    young = tmp_path / f"{TEMP_PREFIX}young"
    other = tmp_path / "someone-else"
    for folder in (dead, young, other):
        folder.mkdir()
        (folder / "unit.flac").write_bytes(b"x")
    old = os.stat(tmp_path).st_mtime - 3600
    for folder in (live.path, dead, other):
        os.utime(folder, (old, old))
    assert sweep_stale(str(tmp_path)) == 1
    assert not dead.exists() and young.exists() and other.exists() and live.path.exists()
    live.close()
    assert not live.path.exists()
