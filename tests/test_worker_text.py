"""Text a worker cannot speak is refused with a one-line 422 naming the sentence, never a 500.

A real Piper behind real uvicorn: NUL used to reach the engine and come back as
``500 engine piper failed: embedded null character``.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.support.worker_helpers import http_client, metric_value, serve_in_thread
from remote_worker.app import check_limits, create_app
from remote_worker.engines import PiperEngine
from remote_worker.protocol import SENTENCE_PATTERN, ProcessChapterRequest

ALLOWED_CONTROLS = "\t\n\r"


@pytest.fixture(scope="module")
def client():
    with serve_in_thread(create_app(PiperEngine(threads=1))) as url, http_client(url) as c:
        yield c


def _post_raw(client, text: str):
    """Send ``text`` as the body exactly (so it can hold escapes json.dumps would not write)."""
    return client.post("/process_chapter", content=text.encode("utf-8"), headers={"content-type": "application/json"})


def test_nul_in_a_sentence_is_a_422_naming_the_sentence(client):
    before = metric_value(client.get("/metrics").text, "e2a_worker_units_total", {"outcome": "invalid"})
    r = client.post("/process_chapter", json={"chapter_id": 1, "sentences": ["Fine.", "Not\x00fine."]})
    assert r.status_code == 422
    assert r.json() == {"detail": "sentence 1 holds a control character (U+0000) at position 3; "
                                  "only tab, newline and carriage return are allowed"}
    after = metric_value(client.get("/metrics").text, "e2a_worker_units_total", {"outcome": "invalid"})
    assert after == before + 1
    assert client.get("/status").json()["units_failed"] == 0


@pytest.mark.parametrize("char", ["\x01", "\x07", "\x08", "\x0b", "\x0c", "\x1b", "\x1f"])
def test_other_control_characters_are_refused_in_one_line(client, char):
    r = client.post("/process_chapter", json={"chapter_id": "u", "sentences": ["One.", "Two.", f"Three{char}"]})
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert detail.startswith(f"sentence 2 holds a control character (U+{ord(char):04X}) at position 5")
    assert char not in detail and "\n" not in detail


def test_lone_surrogates_are_refused_not_a_500(client):
    sentence = _post_raw(client, '{"chapter_id": 2, "sentences": ["Ok.", "x\\ud800y"]}')
    assert sentence.status_code == 422
    assert sentence.json()["detail"] == "sentence 1 holds a lone surrogate (U+D800) at position 1, which is not text"
    unit_id = _post_raw(client, '{"chapter_id": "a\\udfff", "sentences": ["Ok."]}')
    assert unit_id.status_code == 422 and unit_id.json()["detail"].startswith("chapter_id holds a lone surrogate")
    # pydantic's findings echo the input: they come back escaped, still JSON
    echoed = _post_raw(client, '{"chapter_id": ["\\ud800"], "sentences": ["Ok."], "sentence_gap_ms": 1e400}')
    assert echoed.status_code == 422 and echoed.json()["detail"].startswith("invalid request: ")


def test_tabs_newlines_and_unicode_punctuation_are_spoken(client):
    sentences = ["She said:\t“Wait—really?”", "Line one\nline two\r\nline three…", "Café, naïve, Zürich — ¿qué? ✓"]
    r = client.post("/process_chapter", json={"chapter_id": 3, "sentences": sentences})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["num_sentences"] == 3 and body["duration"] > 1.0
    assert all(t["end"] > t["start"] for t in body["sentence_timings"])


def test_the_schema_pattern_and_the_server_agree_on_every_c0_character():
    pattern = re.compile(SENTENCE_PATTERN)
    for code in range(0x20):
        sentence = f"a{chr(code)}b"
        schema_allows = pattern.search(sentence) is not None
        server_allows = check_limits(ProcessChapterRequest(chapter_id=1, sentences=[sentence])) is None
        assert schema_allows == server_allows == (chr(code) in ALLOWED_CONTROLS), hex(code)
    items = create_app(PiperEngine(threads=1)).openapi()["components"]["schemas"]["ProcessChapterRequest"]
    assert json.loads(json.dumps(items))["properties"]["sentences"]["items"]["pattern"] == SENTENCE_PATTERN
