"""``e2a-tui`` with no book on a terminal: pick a book, an inventory, a format and chapters, then start."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, DirectoryTree, Footer, Input, Label, Select, Static

from ..assembly.formats import FORMAT_NAMES
from ..book.ingest import SUPPORTED_SUFFIXES

__all__ = ["StartApp", "StartChoice", "BookTree"]


@dataclass(frozen=True)
class StartChoice:
    book: Path
    inventory: Optional[Path]
    fmt: str
    chapters: Optional[str]


class BookTree(DirectoryTree):
    """Folders (not hidden ones) and files the book loader reads (its own readers and calibre's)."""

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        out = []
        for path in paths:
            if path.name.startswith("."):
                continue
            try:
                if path.is_dir() or path.suffix.lower() in SUPPORTED_SUFFIXES:
                    out.append(path)
            except OSError:
                continue
        return out


class StartApp(App[Optional[StartChoice]]):
    CSS_PATH = "dashboard.tcss"
    TITLE = "e2a-tui"
    BINDINGS = [Binding("ctrl+s", "start", "Start"), Binding("escape", "quit", "Quit"),
                Binding("ctrl+c", "quit", "Quit", show=False, priority=True)]

    def __init__(self, root: Path = Path("."), inventory: Optional[Path] = None) -> None:
        super().__init__()
        self.root = root
        self.inventory = inventory
        self.book: Optional[Path] = None
        self.chapter_count = 0

    def compose(self) -> ComposeResult:
        yield Static(Text("Choose a book to convert", style="bold"), id="book-header")
        with Horizontal(id="start-form"):
            tree = BookTree(self.root, id="book-tree")
            tree.border_title = "Books"
            yield tree
            with Vertical(id="start-side"):
                yield Label("Book")
                yield Static("(pick one on the left)", id="book-path")
                yield Label("Inventory (optional: SSH hosts; empty = local workers)")
                yield Input(str(self.inventory or ""), placeholder="inventory.toml", id="inventory")
                yield Label("Output format")
                yield Select([(f, f) for f in FORMAT_NAMES], value=FORMAT_NAMES[0], allow_blank=False, id="format")
                yield Label("Chapters (empty = all; e.g. 1-3,5)")
                yield Input(placeholder="all", id="chapter-spec")
                listing = Static(id="chapter-list")
                listing.border_title = "Chapters"
                yield listing
                yield Static(id="start-error")
                yield Button("Start", variant="primary", id="start")
        yield Footer()

    @on(DirectoryTree.FileSelected)
    def _picked(self, event: DirectoryTree.FileSelected) -> None:
        self.book = Path(event.path)
        self.query_one("#book-path", Static).update(Text(str(self.book)))
        self.query_one("#chapter-list", Static).update(Text("reading…", style="dim"))
        self._list(self.book)

    @work(thread=True, exclusive=True, group="listing")
    def _list(self, path: Path) -> None:
        """Reading a book can take seconds (calibre): in a thread."""
        from ..book.ingest import load_book
        from ..book.listing import format_chapter_list
        from ..book.model import BookError

        try:
            book = load_book(path)
            text, count = format_chapter_list(book), len(book.chapters)
        except BookError as exc:
            text, count = f"cannot read this book: {exc}", 0
        self.call_from_thread(self._listed, path, text, count)

    def _listed(self, path: Path, text: str, count: int) -> None:
        if path == self.book:
            self.chapter_count = count
            self.query_one("#chapter-list", Static).update(Text(text))

    def _error(self, message: str) -> None:
        self.query_one("#start-error", Static).update(Text(message))

    @on(Button.Pressed, "#start")
    def _start_pressed(self) -> None:
        self.action_start()

    def action_start(self) -> None:
        from ..book.selection import parse_chapter_selection

        if self.book is None:
            self._error("Pick a book first.")
            return
        inventory_text = self.query_one("#inventory", Input).value.strip()
        inventory = Path(inventory_text).expanduser() if inventory_text else None
        if inventory is not None and not inventory.is_file():
            self._error(f"{inventory}: no such inventory file")
            return
        chapters = self.query_one("#chapter-spec", Input).value.strip() or None
        if chapters and self.chapter_count:
            try:
                parse_chapter_selection(chapters, self.chapter_count)
            except ValueError as exc:
                self._error(str(exc))
                return
        fmt = str(self.query_one("#format", Select).value)
        self.exit(StartChoice(self.book, inventory, fmt, chapters))
