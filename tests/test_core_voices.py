"""Voice samples go to each worker once: GET first, PUT only on 404, against a real worker over HTTP."""

from __future__ import annotations

import asyncio
import io

import httpx
import numpy as np
import pytest
import soundfile

from tests.support.worker_helpers import serve_in_thread
from remote_worker.app import create_app
from remote_worker.engines import PiperEngine
from tui.core.client import WorkerClient
from tui.core.cluster import WorkerEndpoint
from tui.core.voices import VoiceError, VoiceUploader, load_voice_sample


@pytest.fixture(scope="module")
def worker_url():
    with serve_in_thread(create_app(PiperEngine(threads=1), token="t0ken")) as url:
        yield url


def _wav(tmp_path, seconds=1.5):
    buffer = io.BytesIO()
    soundfile.write(buffer, (0.2 * np.sin(np.arange(int(16000 * seconds)) * 0.07)).astype(np.float32), 16000,
                    format="WAV")
    path = tmp_path / "voice.wav"
    path.write_bytes(buffer.getvalue())
    return path


def test_uploads_once_even_when_two_units_start_together(worker_url, tmp_path):
    sample = load_voice_sample(_wav(tmp_path))
    assert sample.tts_config("en") == {"speaker_wav": sample.sha256, "language": "en"}

    async def scenario():
        client = WorkerClient(WorkerEndpoint("w1", worker_url, token="t0ken"))
        try:
            uploader = VoiceUploader(sample)
            first = await asyncio.gather(uploader.ensure(client), uploader.ensure(client))
            assert sorted(first) == [False, True] and uploader.uploads == 1
            again = VoiceUploader(sample)  # a fresh orchestrator: the worker already has it
            assert await again.ensure(client) is False and again.uploads == 0
            assert await client.has_voice(sample.sha256) is True
        finally:
            await client.aclose()
        async with httpx.AsyncClient(base_url=worker_url, headers={"Authorization": "Bearer t0ken"},
                                     trust_env=False) as http:
            assert (await http.get(f"/voices/{sample.sha256}")).status_code == 200

    asyncio.run(scenario())


def test_refusals_are_one_line(worker_url, tmp_path):
    with pytest.raises(VoiceError, match="cannot read voice sample"):
        load_voice_sample(tmp_path / "missing.wav")
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"not audio" * 20)

    async def scenario():
        client = WorkerClient(WorkerEndpoint("w1", worker_url, token="t0ken"))
        try:
            with pytest.raises(VoiceError, match="refused voice sample junk.wav: not an audio file"):
                await VoiceUploader(load_voice_sample(junk)).ensure(client)
        finally:
            await client.aclose()

    asyncio.run(scenario())
