"""Coqui XTTS-v2 on the maintained ``coqui-tts`` package: the GPU engine, voice cloning.

The model comes from a local folder (``--model-dir``: ``config.json``,
``model.pth``, ``vocab.json``, optionally ``speakers_xtts.pth``), the offline
way, or is downloaded by coqui (``--model xtts_v2``) only when the user passed
``--agree-coqui-license``. Reference voices are read with soundfile (not
torchaudio's loader, which needs torchcodec and FFmpeg) and their conditioning
latents are computed once per voice file and shared by every replica of the
same model on the same device.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Optional

import numpy as np

from ..protocol import TTSConfig
from .base import Engine, EngineError, EngineUnavailable, register_engine

__all__ = [
    "XTTS_MAX_CHARS",
    "XTTS_V2",
    "COQUI_TOS_ENV",
    "LatentCache",
    "XttsEngine",
    "make_xtts_engine",
    "normalise_language",
]

_LOG = logging.getLogger(__name__)

XTTS_MAX_CHARS = 250
XTTS_V2 = "xtts_v2"
_XTTS_V2_ID = "tts_models/multilingual/multi-dataset/xtts_v2"
COQUI_TOS_ENV = "COQUI_TOS_AGREED"
_REQUIRED_FILES = ("config.json", "model.pth", "vocab.json")
_EXTRA_HINT = "pip install 'e2a-tui[xtts]'"


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def normalise_language(code: Optional[str], supported: list[str]) -> Optional[str]:
    """The model's own code for ``code`` (``en-US`` -> ``en``, ``zh`` -> ``zh-cn``); None if unsupported."""
    raw = (code or "en").strip().lower().replace("_", "-")
    if raw in supported:
        return raw
    if raw.startswith("zh") and "zh-cn" in supported:
        return "zh-cn"
    base = raw.split("-")[0]
    return base if base in supported else None


class LatentCache:
    """Conditioning latents per (model, device, voice file content); computing them costs a model pass."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._items: OrderedDict[tuple[str, str, str], Any] = OrderedDict()
        self._lock = threading.Lock()
        self.computed = 0
        self.hits = 0

    def get(self, key: tuple[str, str, str], compute: Any) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]
        value = compute()  # outside the lock: replicas may clone different voices at once
        with self._lock:
            if key not in self._items:
                self.computed += 1
                self._items[key] = value
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
            return self._items[key]


#: one per process: replicas of one model on one device share what they computed
SHARED_LATENTS = LatentCache()


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class XttsEngine(Engine):
    """One loaded XTTS model copy on one device."""

    name = "xtts"
    max_chars = XTTS_MAX_CHARS
    clones_voices = True

    def __init__(
        self,
        voice: Optional[str] = None,
        threads: Optional[int] = None,
        use_cuda: Optional[bool] = None,
        model_dir: Optional[str] = None,
        model: Optional[str] = None,
        agree_license: bool = False,
        latents: Optional[LatentCache] = None,
    ) -> None:
        super().__init__()
        if model_dir and model:
            raise EngineError("pass --model-dir DIR or --model xtts_v2, not both")
        if model and model != XTTS_V2:
            raise EngineError(f"unknown XTTS model {model!r}; the only downloadable one is {XTTS_V2!r}")
        if not model_dir and not model:
            model_dir = os.environ.get("E2A_MODEL_DIR") or None
        if not model_dir and not model:
            raise EngineUnavailable("engine xtts needs --model-dir DIR (a local XTTS-v2 folder) or --model xtts_v2")
        self._model_dir = Path(model_dir).expanduser() if model_dir else None
        self._model_name = model
        self._agree_license = agree_license
        self._voice_arg = voice
        self._threads = threads or 0
        self._use_cuda = use_cuda
        self._latents = latents or SHARED_LATENTS
        self._model: Any = None
        self._device = "cpu"
        self._memory_mb: Optional[float] = None
        self._sample_rate = 24000
        self._languages: list[str] = []
        self._speakers: list[str] = []
        self._char_limits: dict[str, int] = {}
        self._gpt_cond_len = 6
        self._gpt_cond_chunk_len = 6
        self._max_ref_len = 30
        self._folder: Optional[Path] = None

    # -- loading -------------------------------------------------------------------------

    def _folder_to_load(self) -> Path:
        if self._model_dir is not None:
            folder = self._model_dir
            if not folder.is_dir():
                raise EngineUnavailable(f"XTTS model folder not found: {folder}")
            missing = [n for n in _REQUIRED_FILES if not (folder / n).is_file()]
            if missing:
                raise EngineUnavailable(f"XTTS model folder {folder} lacks {', '.join(missing)}")
            return folder
        if not self._agree_license and os.environ.get(COQUI_TOS_ENV) != "1":
            raise EngineUnavailable(
                "downloading xtts_v2 means accepting the Coqui Public Model License (non-commercial use only); "
                "pass --agree-coqui-license, or use --model-dir with a folder you already have"
            )
        os.environ[COQUI_TOS_ENV] = "1"  # the user agreed on the command line; coqui asks with input() otherwise
        from TTS.utils.manage import ModelManager

        try:
            path, _, _ = ModelManager(progress_bar=False).download_model(_XTTS_V2_ID)
        except Exception as exc:  # network errors come from several libraries
            raise EngineUnavailable(f"cannot download xtts_v2: {_one_line(exc)}") from exc
        return Path(path)

    def _pick_device(self, torch: Any) -> str:
        cuda = bool(torch.cuda.is_available())
        if self._use_cuda is False:
            return "cpu"
        if cuda:
            return "cuda"
        if self._use_cuda:
            raise EngineUnavailable("--device cuda asked for, but torch sees no CUDA GPU here")
        _LOG.warning("no CUDA GPU visible to torch: XTTS runs on the CPU, far slower than real time")
        return "cpu"

    def _load(self) -> None:
        if importlib.util.find_spec("TTS") is None:
            raise EngineUnavailable(f"engine xtts needs the [xtts] extra ({_EXTRA_HINT})")
        try:
            import torch
            from TTS.tts.configs.xtts_config import XttsConfig
            from TTS.tts.models.xtts import Xtts
        except ImportError as exc:
            raise EngineUnavailable(f"engine xtts cannot import coqui-tts: {_one_line(exc)} ({_EXTRA_HINT})") from exc
        except OSError as exc:  # a torchaudio built for another torch fails with a library error
            raise EngineUnavailable(f"engine xtts: torch/torchaudio do not match: {_one_line(exc)}") from exc

        folder = self._folder_to_load()
        if self._threads:
            torch.set_num_threads(self._threads)
        device = self._pick_device(torch)
        try:
            config = XttsConfig()
            config.load_json(str(folder / "config.json"))
        except Exception as exc:  # coqpit raises assorted errors for a bad file
            raise EngineError(f"cannot read {folder / 'config.json'}: {_one_line(exc)}") from exc
        before = torch.cuda.memory_allocated() if device == "cuda" else 0
        try:
            model = Xtts(config)
            model.load_checkpoint(config, checkpoint_dir=str(folder), eval=True)
            model.to(device)
        except PermissionError as exc:
            raise EngineError(
                f"XTTS model folder {folder} must be writable: coqui-tts rewrites an original model.pth "
                f"on its first load ({_one_line(exc)})"
            ) from exc
        except Exception as exc:  # torch/coqui raise many kinds for a broken checkpoint
            raise EngineError(f"cannot load XTTS model from {folder}: {_one_line(exc)}") from exc
        if device == "cuda":
            torch.cuda.synchronize()
            self._memory_mb = (torch.cuda.memory_allocated() - before) / (1024 * 1024)
        self._model = model
        self._device = device
        self._folder = folder
        self._sample_rate = int(getattr(config.audio, "output_sample_rate", 24000) or 24000)
        self._languages = list(config.languages or [])
        manager = getattr(model, "speaker_manager", None)
        self._speakers = list(manager.speakers) if manager is not None else []
        self._char_limits = dict(getattr(model.tokenizer, "char_limits", {}) or {})
        self._gpt_cond_len = int(config.gpt_cond_len)
        self._gpt_cond_chunk_len = int(config.gpt_cond_chunk_len)
        self._max_ref_len = int(config.max_ref_len)
        _LOG.info("XTTS loaded from %s on %s: %d Hz, %d languages, %d built-in speakers",
                  folder, device, self._sample_rate, len(self._languages), len(self._speakers))

    # -- voices --------------------------------------------------------------------------

    def check_config(self, config: TTSConfig) -> Optional[str]:
        if self._languages and normalise_language(config.language, self._languages) is None:
            return f"language {config.language!r} is not supported by XTTS; use one of: {', '.join(self._languages)}"
        speaker = config.speaker
        if speaker and not config.speaker_wav:
            if not self._speakers:
                return (f"speaker {speaker!r} asked for, but this model has no built-in speakers "
                        "(speakers_xtts.pth is not in its folder); send speaker_wav instead")
            if speaker not in self._speakers:
                return f"no built-in speaker {speaker!r}; this model has {len(self._speakers)}, e.g. {self._speakers[0]!r}"
        if not config.speaker_wav and not speaker and not self._voice_arg and not self._speakers:
            return "XTTS needs a voice: tts_config.speaker_wav (an uploaded voice's sha256) or tts_config.speaker"
        return None

    def _latents_for_file(self, path: Path) -> Any:
        import soundfile
        import torch

        def compute() -> Any:
            try:
                data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
            except (RuntimeError, soundfile.LibsndfileError) as exc:
                raise EngineError(f"cannot read reference voice {path.name}: {_one_line(exc)}") from exc
            mono = data.mean(axis=1)[: rate * self._max_ref_len]
            audio = torch.from_numpy(np.ascontiguousarray(mono)).unsqueeze(0).to(self._device)
            model = self._model
            embedding = model.get_speaker_embedding(audio, rate)
            latent = model.get_gpt_cond_latents(
                audio, rate, length=self._gpt_cond_len, chunk_length=self._gpt_cond_chunk_len
            )
            return latent, embedding

        key = (str(self._folder), self._device, _file_digest(path))
        return self._latents.get(key, compute)

    def _voice_latents(self, config: TTSConfig) -> Any:
        if config.speaker_wav:
            return self._latents_for_file(Path(config.speaker_wav))
        name = config.speaker or (self._voice_arg if self._voice_arg in self._speakers else None)
        if name is None and self._voice_arg:
            return self._latents_for_file(Path(self._voice_arg).expanduser())
        if name is None and self._speakers:
            name = self._speakers[0]
        if name is None:
            raise EngineError("no voice: send tts_config.speaker_wav or tts_config.speaker")
        entry = self._model.speaker_manager.speakers[name]
        return entry["gpt_cond_latent"], entry["speaker_embedding"]

    # -- speaking ------------------------------------------------------------------------

    def piece_limit(self, config: TTSConfig) -> int:
        language = normalise_language(config.language, self._languages) if self._languages else None
        base = (language or "en").split("-")[0]
        return min(self.max_chars, self._char_limits.get(base, self.max_chars))

    def synthesize(self, sentence: str, config: TTSConfig) -> np.ndarray:
        if self._model is None:
            raise EngineError("engine xtts is not loaded")
        language = normalise_language(config.language, self._languages) if self._languages else "en"
        if language is None:
            raise EngineError(f"language {config.language!r} is not supported")
        latent, embedding = self._voice_latents(config)
        speed = 1.0 / config.length_scale if config.length_scale else 1.0
        try:
            out = self._model.inference(sentence, language, latent, embedding, speed=speed)
        except Exception as exc:  # torch/transformers errors are untyped
            raise EngineError(f"xtts failed: {_one_line(exc)}") from exc
        wav = np.asarray(out["wav"], dtype=np.float32).reshape(-1)
        return np.clip(wav, -1.0, 1.0)

    # -- description ---------------------------------------------------------------------

    @property
    def sample_rate(self) -> int:
        return self._sample_rate

    @property
    def voice(self) -> str:
        if self._voice_arg:
            return Path(self._voice_arg).stem if self._voice_arg not in self._speakers else self._voice_arg
        return "cloned" if not self._speakers else self._speakers[0]

    @property
    def model(self) -> str:
        if self._model_name:
            return self._model_name
        return str(self._folder or self._model_dir or "")

    @property
    def device(self) -> str:
        return self._device

    @property
    def provider(self) -> str:
        return "torch-" + self._device

    @property
    def threads(self) -> int:
        return self._threads

    @property
    def memory_mb(self) -> Optional[float]:
        return self._memory_mb

    @property
    def languages(self) -> list[str]:
        return list(self._languages)

    @property
    def speakers(self) -> list[str]:
        return list(self._speakers)

    @property
    def latent_cache(self) -> LatentCache:
        return self._latents


def make_xtts_engine(
    voice: Optional[str] = None,
    threads: Optional[int] = None,
    use_cuda: Optional[bool] = None,
    **options: Any,
) -> Engine:
    """Build an :class:`XttsEngine`; without the extra, say which extra in one line."""
    if importlib.util.find_spec("TTS") is None:
        raise EngineUnavailable(f"engine xtts needs the [xtts] extra ({_EXTRA_HINT})")
    return XttsEngine(voice=voice, threads=threads, use_cuda=use_cuda, **options)


register_engine("xtts", make_xtts_engine)
