"""Fixtures shared across the suite: paths to test books and the bundled sample."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_BOOKS = REPO.parent / "shared" / "books"


@pytest.fixture(scope="session")
def shared_books() -> Path:
    """``../shared/books`` (real EPUBs written elsewhere); tests skip when it is absent."""
    if not SHARED_BOOKS.is_dir():
        pytest.skip("../shared/books is not present")
    return SHARED_BOOKS


@pytest.fixture(scope="session")
def sample_epub(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled sample book, written as a real EPUB."""
    from tui.sample import write_sample_epub

    return write_sample_epub(tmp_path_factory.mktemp("sample") / "sample.epub")
