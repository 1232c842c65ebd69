"""Wire models the worker and the orchestrator exchange (and nothing only one side uses).

The seed contract (SEED_API.md) is kept field for field; everything else is an
additive extension with a default, so a client that sends only ``chapter_id``,
``sentences`` and ``tts_config`` and reads only the four seed response fields
keeps working unchanged.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictStr

__all__ = [
    "PROTOCOL_VERSION",
    "MAX_SENTENCES",
    "MAX_SENTENCE_CHARS",
    "MAX_TOTAL_CHARS",
    "SENTENCE_PATTERN",
    "AudioFormat",
    "ResponseMode",
    "TTSConfig",
    "ProcessChapterRequest",
    "SentenceTiming",
    "ProcessChapterResponse",
    "SentenceCheck",
    "VerifyInfo",
    "HealthResponse",
    "ReplicaStatus",
    "VoiceResponse",
    "StatusResponse",
    "ErrorResponse",
    "InvalidRequestResponse",
    "JsonInt",
    "WholeNumber",
]

PROTOCOL_VERSION = 1

#: Request limits; a request beyond them is answered 422 with a clear message.
MAX_SENTENCES = 2000
MAX_SENTENCE_CHARS = 4000
MAX_TOTAL_CHARS = 200_000

#: What a sentence may hold, as a JSON Schema pattern: no C0 control character but tab, newline and
#: carriage return (an engine chokes on NUL, and none of them can be spoken). The worker also refuses
#: lone surrogates, which no JSON Schema pattern can name.
SENTENCE_PATTERN = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f]*$"

def _json_integer(value: Any) -> Any:
    """What JSON Schema calls an integer: 3 or 3.0, never true/false or "3"."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("Input should be a valid integer")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("Input should be a valid integer")
        return int(value)
    return value


#: An integer as JSON Schema defines it, so every request the schema allows is accepted.
JsonInt = Annotated[int, BeforeValidator(_json_integer)]

AudioFormat = Literal["flac", "wav", "mp3"]
ResponseMode = Literal["base64", "url"]


class TTSConfig(BaseModel):
    """Synthesis settings. Unknown keys are accepted and ignored (seed rule)."""

    model_config = ConfigDict(extra="allow")

    voice_name: Optional[str] = None
    language: Optional[str] = None
    model_name: Optional[str] = None
    # extensions
    length_scale: Optional[float] = Field(default=None, gt=0.1, le=5.0, description="speaking rate; >1 slower")
    speaker_id: Optional[JsonInt] = None
    #: A worker whose engine cannot clone voices leaves these two out of its schema and ignores them,
    #: as it ignores every key it does not know.
    speaker_wav: Optional[str] = Field(
        default=None,
        description=(
            "cloning engines: an uploaded voice's sha256 (PUT /voices/{sha256} first) or a WAV path on the "
            "worker host; any other value is refused with 422"
        ),
    )
    speaker: Optional[str] = Field(
        default=None,
        description="cloning engines: a built-in speaker of the model (GET /status lists them); an unknown one: 422",
    )
    verify: StrictBool = Field(
        default=False,
        description=(
            "hear every sentence back with speech recognition and speak again what does not say its text; "
            "the answer's `checks` give each sentence's verdict. A worker that cannot verify answers 422 "
            "(GET /health says why) and its schema allows only false"
        ),
    )
    verify_takes: JsonInt = Field(default=3, ge=1, le=10, description="takes per sentence at most, the first included")


class ProcessChapterRequest(BaseModel):
    """``POST /process_chapter`` body. ``chapter_id`` may be an int (seed) or a string unit id."""

    model_config = ConfigDict(extra="ignore")

    # JSON true/false and numeric strings are not integers, as the schema says; a string id with a lone
    # surrogate is refused (it could not be sent back)
    chapter_id: Union[JsonInt, StrictStr]
    #: The limits beyond ``min_length`` are checked by the worker (``check_limits``) so its 422 can say
    #: which sentence is too long; they are declared here so the schema states every rule it can.
    sentences: list[str] = Field(
        min_length=1,
        description=(
            f"at most {MAX_SENTENCES} sentences of at most {MAX_SENTENCE_CHARS} characters each (less if the "
            f"engine speaks less), {MAX_TOTAL_CHARS} characters in all, and at least one that is not blank; "
            "no control characters but tab, newline and carriage return, and no lone surrogates"
        ),
        json_schema_extra={
            "maxItems": MAX_SENTENCES,
            "items": {"type": "string", "maxLength": MAX_SENTENCE_CHARS, "pattern": SENTENCE_PATTERN},
            "contains": {"type": "string", "pattern": r"\S"},
        },
    )
    tts_config: TTSConfig = Field(default_factory=TTSConfig)
    # extensions
    response_mode: ResponseMode = "base64"
    audio_format: AudioFormat = "flac"
    sentence_gap_ms: JsonInt = Field(default=250, ge=0, le=5000)
    paragraph_gap_ms: JsonInt = Field(default=600, ge=0, le=10000)
    #: indices into ``sentences`` that begin a new paragraph (gap before them is paragraph_gap_ms)
    paragraph_starts: list[Annotated[int, Field(ge=0, le=MAX_SENTENCES - 1), BeforeValidator(_json_integer)]] = Field(
        default_factory=list,
        max_length=MAX_SENTENCES,
        description="indices into sentences that open a paragraph; any past the last sentence are ignored",
    )
    #: silence appended after the last sentence (so joined units keep their rhythm)
    trailing_gap_ms: JsonInt = Field(default=0, ge=0, le=10000)


class SentenceTiming(BaseModel):
    """Where one sentence lies in the returned audio, in seconds from its start."""

    start: float
    end: float
    # extensions
    #: how many pieces the worker cut the sentence into to stay within the engine's limit
    pieces: int = 1
    #: the first take failed the sanity check (duration per character, near-silence) and was spoken again
    resynthesised: bool = False
    #: what the sanity check found, on the take that was kept (absent when nothing)
    warning: Optional[str] = None


class SentenceCheck(BaseModel):
    """What verification concluded about one sentence of the unit."""

    index: int
    status: Literal["passed", "flagged", "unverified"]
    #: share of the sentence's words heard as written (0-1)
    score: float = 1.0
    #: takes spoken, the first included; the best one is in the audio
    takes: int = 1
    #: why it is flagged or unverified: silence, babble, repeat, missing, mismatch, overlong, a language...
    problem: str = ""
    #: what the recogniser heard, for flagged sentences
    heard: str = ""


class ProcessChapterResponse(BaseModel):
    """Seed fields first (option A: ``audio_base64``; option B: ``audio_url``), then extensions."""

    chapter_id: Union[int, str]
    audio_base64: Optional[str] = None
    audio_url: Optional[str] = None
    duration: float
    num_sentences: int
    # extensions
    sample_rate: int = 0
    num_samples: int = 0
    format: AudioFormat = "flac"
    sha256: str = ""
    size_bytes: int = 0
    sentence_timings: list[SentenceTiming] = Field(default_factory=list)
    synthesis_seconds: float = 0.0
    engine: str = ""
    voice: str = ""
    #: one per sentence when the request asked to verify
    checks: Optional[list[SentenceCheck]] = None


class VerifyInfo(BaseModel):
    """Whether this worker can hear its audio back (``tts_config.verify``), and in which languages."""

    available: bool = False
    model: str = ""
    languages: list[str] = Field(default_factory=list)
    #: why not, when it cannot (e.g. the recogniser is not installed)
    reason: str = ""


class HealthResponse(BaseModel):
    status: str = "healthy"
    gpu_available: bool = False
    model_loaded: bool = False
    # extensions
    engine: str = ""
    version: str = ""
    protocol: int = PROTOCOL_VERSION
    model: str = ""
    device: str = ""
    replicas: int = 1
    #: GPU memory the loaded model copies hold, all replicas together (None on CPU)
    model_memory_mb: Optional[float] = None
    verify: VerifyInfo = Field(default_factory=VerifyInfo)


class ReplicaStatus(BaseModel):
    """One loaded copy of the model and what it is doing."""

    index: int
    busy: bool = False
    current_chapter: Optional[Union[int, str]] = None
    units_done: int = 0
    busy_seconds: float = 0.0
    model_memory_mb: Optional[float] = None


class VoiceResponse(BaseModel):
    """``GET``/``PUT /voices/{sha256}``: an uploaded reference voice."""

    sha256: str
    size_bytes: int
    sample_rate: int
    seconds: float
    created: bool = False


def _whole_number(value: Any) -> Any:
    """None → 0 and floats → rounded ints, so replies of older workers (null, 12.7) still parse."""
    if value is None:
        return 0
    if isinstance(value, float):
        return int(round(value)) if value == value else 0  # NaN → 0
    return value


#: An int on the wire (the seed declares ``int``); lenient about what older workers sent.
WholeNumber = Annotated[int, BeforeValidator(_whole_number)]


class StatusResponse(BaseModel):
    """Seed fields are ints as the design declares them: 0 MB free when there is no GPU."""

    status: Literal["idle", "busy"] = "idle"
    current_chapter: Optional[Union[int, str]] = None
    gpu_memory_free_mb: WholeNumber = 0
    uptime_seconds: WholeNumber = 0
    # extensions
    queued: int = 0
    engine: str = ""
    voice: str = ""
    device: str = "cpu"
    provider: str = ""
    threads: int = 0
    gpu_name: Optional[str] = None
    gpu_memory_used_mb: Optional[float] = None
    gpu_memory_total_mb: Optional[float] = None
    gpu_utilization_percent: Optional[float] = None
    units_done: int = 0
    units_failed: int = 0
    audio_seconds: float = 0.0
    synthesis_seconds: float = 0.0
    version: str = ""
    model: str = ""
    replicas: int = 1
    running: int = 0
    #: most units that ever ran at once (one per replica at most)
    peak_running: int = 0
    model_memory_mb: Optional[float] = None
    replica_status: list[ReplicaStatus] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)
    speakers: list[str] = Field(default_factory=list)
    #: verification so far: seconds spent recognising speech, audio seconds heard, takes beyond the first
    verify_seconds: float = 0.0
    verify_audio_seconds: float = 0.0
    retakes: int = 0


class ErrorResponse(BaseModel):
    """Every refusal and failure: one line saying why."""

    detail: str


class InvalidRequestResponse(ErrorResponse):
    """422: ``detail`` is one line; ``errors`` lists pydantic's findings when the body failed validation."""

    errors: list[dict[str, Any]] = Field(default_factory=list)
