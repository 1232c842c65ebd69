"""The Piper engine in-process: real voice, real onnxruntime session."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from remote_worker.engines import EngineError, EngineUnavailable, PiperEngine, engine_names, get_engine
from remote_worker.engines.piper import default_voice_path
from remote_worker.protocol import TTSConfig


@pytest.fixture(scope="module")
def engine():
    e = get_engine("piper", threads=1)
    e.load()
    return e


def test_default_voice_loads_on_the_pinned_threads(engine):
    assert engine.loaded and engine.name == "piper" and engine.voice == "en_US-joe-medium"
    assert engine.sample_rate == 22050
    assert engine.threads == 1
    assert engine._voice.session.get_session_options().intra_op_num_threads == 1
    assert engine.provider == engine._voice.session.get_providers()[0]
    assert engine.device == ("cuda" if engine.provider == "CUDAExecutionProvider" else "cpu")


def test_synthesize_returns_float32_mono_speech(engine):
    audio = engine.synthesize("The quick brown fox jumps over the lazy dog.", TTSConfig())
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert 1.0 < len(audio) / engine.sample_rate < 6.0
    assert np.max(np.abs(audio)) <= 1.0 and np.sqrt(np.mean(audio.astype(np.float64) ** 2)) > 0.01


def test_nothing_to_pronounce_gives_empty_audio(engine):
    assert engine.synthesize("...", TTSConfig()).shape == (0,)


def test_length_scale_is_applied(engine):
    text = "Slow and steady wins the race."
    normal = engine.synthesize(text, TTSConfig())
    slow = engine.synthesize(text, TTSConfig(length_scale=2.0))
    assert len(slow) > 1.6 * len(normal)


def test_voice_by_path_and_load_is_idempotent():
    e = get_engine("piper", voice=str(default_voice_path()), threads=1)
    e.load()
    session = e._voice.session
    e.load()
    assert e._voice.session is session and e.voice == "en_US-joe-medium"


def test_cpu_only_when_asked():
    e = get_engine("piper", threads=1, use_cuda=False)
    e.load()
    assert e.provider == "CPUExecutionProvider" and e.device == "cpu"


def test_cuda_request_reports_the_provider_that_is_really_live():
    import onnxruntime

    e = get_engine("piper", threads=1, use_cuda=True)
    e.load()
    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        assert e.provider == "CPUExecutionProvider" and e.device == "cpu"
    else:
        assert e.provider in {"CUDAExecutionProvider", "CPUExecutionProvider"}
        assert e.device == ("cuda" if e.provider == "CUDAExecutionProvider" else "cpu")


def test_missing_or_broken_voice_is_a_one_line_error(tmp_path):
    with pytest.raises(EngineUnavailable, match="piper voice not found"):
        get_engine("piper", voice=str(tmp_path / "none.onnx")).load()
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    (tmp_path / "broken.onnx.json").write_text(default_voice_path().with_suffix(".onnx.json").read_text())
    with pytest.raises(EngineError) as info:
        get_engine("piper", voice=str(broken)).load()
    assert "\n" not in str(info.value) and str(info.value).startswith(f"cannot load piper voice {broken}")
    (tmp_path / "broken.onnx.json").write_text("{}")
    with pytest.raises(EngineError, match="lacks the key"):
        get_engine("piper", voice=str(broken)).load()


def test_registry_names_and_errors():
    assert {"piper", "xtts"} <= set(engine_names())
    with pytest.raises(EngineError, match="unknown engine 'tone'"):
        get_engine("tone")
    with pytest.raises(EngineError, match="threads must be at least 1"):
        get_engine("piper", threads=0)
    assert isinstance(get_engine("PIPER"), PiperEngine)


@pytest.mark.skipif(importlib.util.find_spec("TTS") is not None, reason="coqui TTS is installed here")
def test_xtts_without_the_extra_names_the_extra():
    with pytest.raises(EngineUnavailable, match=r"engine xtts needs the \[xtts\] extra"):
        get_engine("xtts")


def test_unloaded_engine_refuses_to_speak():
    with pytest.raises(EngineError, match="not loaded"):
        get_engine("piper").synthesize("Hello.", TTSConfig())
