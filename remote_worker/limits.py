"""What the worker refuses in a request body before admitting it, each reason one line for a 422.

Each rule is also stated in the request schema (``protocol.py``), so a client
that follows the schema never meets one of these refusals, except the lone
surrogate, which no JSON Schema pattern can name.
"""

from __future__ import annotations

import re
from typing import Optional

from .protocol import MAX_SENTENCE_CHARS, MAX_SENTENCES, MAX_TOTAL_CHARS, ProcessChapterRequest

__all__ = ["check_limits", "text_problem"]

# C0 controls but tab, newline and carriage return, as SENTENCE_PATTERN says: an engine fails on NUL
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
# half of a UTF-16 pair on its own: UTF-8 cannot encode it, so it can be neither spoken nor sent back
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def text_problem(text: str, *, controls_allowed: bool = False) -> Optional[str]:
    """What in ``text`` cannot be spoken (one line, never the character itself); None when nothing."""
    found = _LONE_SURROGATE.search(text)
    if found is not None:
        return f"holds a lone surrogate (U+{ord(found.group()):04X}) at position {found.start()}, which is not text"
    found = None if controls_allowed else _CONTROL.search(text)
    if found is not None:
        return (f"holds a control character (U+{ord(found.group()):04X}) at position {found.start()}; "
                "only tab, newline and carriage return are allowed")
    return None


def check_limits(body: ProcessChapterRequest, max_sentence_chars: int = MAX_SENTENCE_CHARS) -> Optional[str]:
    """Why ``body`` is beyond what the worker accepts, as one line; None when it is fine.

    A sentence longer than the engine speaks at once is not refused: the worker splits it
    (``speaking.py``). ``paragraph_starts`` entries past the last sentence are not refused either:
    no schema can tie them to the length of ``sentences``, and a paragraph break after the end
    changes nothing, so they are ignored.
    """
    if isinstance(body.chapter_id, str):
        problem = text_problem(body.chapter_id, controls_allowed=True)  # JSON sends controls back escaped
        if problem is not None:
            return f"chapter_id {problem}"
    sentences = body.sentences
    if len(sentences) > MAX_SENTENCES:
        return f"too many sentences: {len(sentences)} (limit {MAX_SENTENCES})"
    limit = max_sentence_chars
    for index, sentence in enumerate(sentences):
        if len(sentence) > limit:
            return f"sentence {index} has {len(sentence)} characters (limit {limit})"
        problem = text_problem(sentence)
        if problem is not None:
            return f"sentence {index} {problem}"
    total = sum(len(s) for s in sentences)
    if total > MAX_TOTAL_CHARS:
        return f"request has {total} characters in all (limit {MAX_TOTAL_CHARS})"
    if not any(s.strip() for s in sentences):
        return "nothing to speak: every sentence is empty"
    return None
