"""A tiny randomly initialised XTTS model folder, for checks that must not download weights.

Same classes and file layout as XTTS-v2 (``config.json``, ``model.pth``,
``vocab.json``, optionally ``speakers_xtts.pth``), with small sizes, so the
worker's real loading, cloning and synthesis code runs on any host in seconds.
Random weights speak noise: use it to test plumbing (rates, lengths, replicas,
GPU memory), never quality.

    python -m remote_worker.engines.xtts_tiny DIR [--speakers]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional, Sequence

__all__ = ["TINY_SPEAKER", "build_tiny_xtts", "main"]

#: the one built-in speaker written with ``speakers=True``
TINY_SPEAKER = "Tiny Speaker"

_LANGS = ["en", "es", "fr", "de", "it", "pt", "pl", "tr", "ru", "nl", "cs", "ar", "zh-cn", "hu", "ko", "ja", "hi"]
_CORPUS = [
    "the quick brown fox jumps over the lazy dog while the river runs low and white stones lie bare",
    "every morning the miller walked down to the water to see whether it had risen, and it never had",
    "a lighthouse keeper wound the brass clock, oiled it, and said good night to it as she always did",
    "numbers like one two three four five six seven eight nine ten eleven twelve, and punctuation; yes: no!",
]


def _vocab(path: Path) -> None:
    from tokenizers import Tokenizer
    from tokenizers.models import BPE
    from tokenizers.pre_tokenizers import Whitespace
    from tokenizers.trainers import BpeTrainer

    special = ["[STOP]", "[UNK]", "[SPACE]", "[START]"] + [f"[{lang}]" for lang in _LANGS]
    tokenizer = Tokenizer(BPE(unk_token="[UNK]"))
    tokenizer.pre_tokenizer = Whitespace()
    trainer = BpeTrainer(vocab_size=256, special_tokens=special, show_progress=False)
    tokenizer.train_from_iterator([line.replace(" ", "[SPACE]") for line in _CORPUS] * 4, trainer)
    tokenizer.save(str(path))


def build_tiny_xtts(folder: Path, *, speakers: bool = False, seed: int = 0, max_audio_tokens: int = 100) -> Path:
    """Write a tiny XTTS folder; ``max_audio_tokens`` caps each utterance (~46 ms of audio per token)."""
    import numpy as np
    import torch
    from TTS.tts.configs.xtts_config import XttsConfig
    from TTS.tts.models.xtts import Xtts

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    _vocab(folder / "vocab.json")
    torch.manual_seed(seed)
    config = XttsConfig()
    config.model_args.gpt_layers = 2
    config.model_args.gpt_n_model_channels = 256
    config.model_args.gpt_n_heads = 4
    config.model_args.gpt_max_audio_tokens = max_audio_tokens
    config.model_args.decoder_input_dim = 256
    config.model_args.tokenizer_file = ""
    config.languages = list(_LANGS)
    model = Xtts(config)
    from TTS.tts.layers.xtts.tokenizer import VoiceBpeTokenizer

    model.tokenizer = VoiceBpeTokenizer(vocab_file=str(folder / "vocab.json"))
    model.init_models()
    torch.save({"model": model.state_dict()}, folder / "model.pth")
    config.save_json(str(folder / "config.json"))
    if speakers:
        model.eval()
        rate = 22050
        t = np.arange(int(rate * 2.0)) / rate
        wave = torch.tensor(0.3 * np.sin(2 * np.pi * 180 * t) * (1 + np.sin(2 * np.pi * 3 * t)), dtype=torch.float32)
        audio = wave.unsqueeze(0)
        latent = model.get_gpt_cond_latents(audio, rate)
        embedding = model.get_speaker_embedding(audio, rate)
        torch.save({TINY_SPEAKER: {"gpt_cond_latent": latent, "speaker_embedding": embedding}},
                   folder / "speakers_xtts.pth")
    return folder


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m remote_worker.engines.xtts_tiny", description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--speakers", action="store_true", help=f"also write speakers_xtts.pth with {TINY_SPEAKER!r}")
    parser.add_argument("--max-audio-tokens", type=int, default=100)
    args = parser.parse_args(argv)
    try:
        build_tiny_xtts(args.folder, speakers=args.speakers, max_audio_tokens=args.max_audio_tokens)
    except ImportError as exc:
        print(f"xtts_tiny: error: needs the [xtts] extra ({exc})", file=sys.stderr)
        return 2
    print(args.folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
