"""Size limits for reading untrusted book files: far above any real book, far below what hurts the machine."""

from __future__ import annotations

__all__ = ["MAX_TEXT_BYTES", "MAX_DOCUMENT_BYTES", "MAX_METADATA_BYTES", "MAX_COVER_BYTES"]

#: A whole book read as one file (plain text, Markdown, HTML, FB2).
MAX_TEXT_BYTES = 256 << 20
#: One content document inside an EPUB.
MAX_DOCUMENT_BYTES = 64 << 20
#: An EPUB's container, package, navigation document or NCX.
MAX_METADATA_BYTES = 16 << 20
#: A cover image, in an EPUB or decoded from an FB2's base64.
MAX_COVER_BYTES = 32 << 20
