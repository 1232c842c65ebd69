"""The EPUB's ZIP container, opened defensively.

Everything about the archive is checked from the central directory before a
single member is inflated: it must be a ZIP, use only the compression methods
EPUB allows, stay under a total uncompressed size, and hold no member whose
compression ratio marks a zip bomb. ``zipfile`` never inflates a member past
its declared size, so a central directory that lies cannot get around the
limits either (the CRC check then fails and is reported as a corrupt file).
Content encrypted for DRM is refused with a one-line error; font obfuscation,
which only scrambles embedded fonts, is not DRM and is accepted.
"""

from __future__ import annotations

import posixpath
import zipfile
import zlib
from pathlib import Path
from types import TracebackType
from typing import Optional
from urllib.parse import unquote

from .model import BookError
from .xmlsafe import XmlError, localname, parse_xml

__all__ = [
    "EpubArchive",
    "CorruptArchiveError",
    "MAX_TOTAL_BYTES",
    "MAX_MEMBER_BYTES",
    "MAX_RATIO",
    "MAX_MEMBERS",
    "FONT_OBFUSCATION_ALGORITHMS",
]

MAX_TOTAL_BYTES = 1 << 30  # 1 GiB uncompressed in all: far above any real book
MAX_MEMBER_BYTES = 256 << 20
MAX_RATIO = 100  # real text compresses 3-10x; bombs compress 1000x
RATIO_FLOOR_BYTES = 1 << 20  # small members may compress as they like
MAX_MEMBERS = 20_000

FONT_OBFUSCATION_ALGORITHMS = frozenset(
    {
        "http://www.idpf.org/2008/embedding",
        "http://ns.adobe.com/pdf/enc#RC",
    }
)
_ALLOWED_COMPRESSION = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
_COMPRESSION_NAMES = {zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "lzma", 9: "deflate64"}


class CorruptArchiveError(BookError):
    """A member cannot be inflated or fails its CRC check."""


class EpubArchive:
    """Read-only view of a checked EPUB container; use as a context manager."""

    def __init__(
        self,
        path: Path,
        *,
        max_total_bytes: int = MAX_TOTAL_BYTES,
        max_member_bytes: int = MAX_MEMBER_BYTES,
        max_ratio: float = MAX_RATIO,
    ) -> None:
        self.path = Path(path)
        self.label = self.path.name
        if self.path.is_dir():
            raise BookError(f"{self.label} is a folder, not an EPUB file")
        try:
            self._zip = zipfile.ZipFile(self.path, "r")
        except FileNotFoundError:
            raise BookError(f"{self.path}: no such file") from None
        except PermissionError:
            raise BookError(f"{self.path}: permission denied") from None
        except NotImplementedError as exc:
            raise BookError(f"{self.label} is a ZIP archive this reader cannot open ({exc})") from None
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
            raise BookError(f"{self.label} is not an EPUB (not a ZIP archive)") from None
        try:
            self._check_members(max_total_bytes, max_member_bytes, max_ratio)
            self._names = {info.filename: info for info in self._zip.infolist() if not info.is_dir()}
            self._folded = {name.lower(): name for name in self._names}
            self._check_mimetype()
            self._check_drm()
        except BaseException:
            self._zip.close()
            raise

    # ---------------------------------------------------------------- checks
    def _check_members(self, max_total: int, max_member: int, max_ratio: float) -> None:
        infos = self._zip.infolist()
        if not infos:
            raise BookError(f"{self.label} is an empty ZIP archive, not an EPUB")
        if len(infos) > MAX_MEMBERS:
            raise BookError(f"{self.label} has {len(infos)} files; refusing more than {MAX_MEMBERS}")
        total = 0
        for info in infos:
            if info.flag_bits & 0x1:
                raise BookError(f"{self.label} is password-protected ({info.filename} is encrypted)")
            if info.compress_type not in _ALLOWED_COMPRESSION:
                method = _COMPRESSION_NAMES.get(info.compress_type, f"method {info.compress_type}")
                raise BookError(
                    f"{self.label} uses {method} compression for {info.filename}; EPUB allows only stored or deflate"
                )
            size = info.file_size
            total += size
            if size > max_member:
                raise BookError(
                    f"{self.label}: {info.filename} would inflate to {size >> 20} MiB "
                    f"(limit {max_member >> 20} MiB); refusing a possible zip bomb"
                )
            if size >= RATIO_FLOOR_BYTES and size > max_ratio * max(info.compress_size, 1):
                ratio = size / max(info.compress_size, 1)
                raise BookError(
                    f"{self.label}: {info.filename} compresses {ratio:.0f}:1 "
                    f"(limit {max_ratio:.0f}:1); refusing a possible zip bomb"
                )
        if total > max_total:
            raise BookError(
                f"{self.label} would inflate to {total >> 20} MiB (limit {max_total >> 20} MiB); "
                "refusing a possible zip bomb"
            )

    def _check_mimetype(self) -> None:
        if "mimetype" not in self._names:
            return  # common in hand-made books; the container file decides
        declared = self.read("mimetype", limit=256).decode("ascii", "replace").strip()
        if declared != "application/epub+zip":
            raise BookError(f"{self.label} is not an EPUB (its mimetype is {declared[:60]!r})")

    def _check_drm(self) -> None:
        if self.find("META-INF/sinf.xml") is not None:
            raise BookError(f"{self.label} is DRM-protected (Apple FairPlay); a DRM-free copy is needed")
        name = self.find("META-INF/encryption.xml")
        if name is None:
            return
        try:
            root, _ = parse_xml(self.read(name, limit=4 << 20), name=name, lenient=False)
        except XmlError:
            raise BookError(
                f"{self.label} has an unreadable META-INF/encryption.xml; treating it as DRM-protected"
            ) from None
        for data in root.iter():
            if localname(data) != "encrypteddata":
                continue
            algorithm = ""
            target = ""
            for child in data.iter():
                tag = localname(child)
                if tag == "encryptionmethod":
                    algorithm = (child.get("Algorithm") or "").strip()
                elif tag == "cipherreference":
                    target = unquote(child.get("URI") or "")
            if algorithm not in FONT_OBFUSCATION_ALGORITHMS:
                what = f" ({target})" if target else ""
                raise BookError(f"{self.label} is DRM-protected (encrypted content{what}); a DRM-free copy is needed")

    # ---------------------------------------------------------------- access
    def find(self, name: str) -> Optional[str]:
        """The stored member name for ``name`` (exact, else case-insensitive), or None."""
        name = posixpath.normpath(name.lstrip("/"))
        if name in self._names:
            return name
        return self._folded.get(name.lower())

    def read(self, name: str, *, limit: Optional[int] = None) -> bytes:
        """The bytes of one member; BookError with a one-line message when absent or corrupt."""
        found = self.find(name)
        if found is None:
            raise BookError(f"{self.label} is missing {name}")
        info = self._names[found]
        if limit is not None and info.file_size > limit:
            raise BookError(f"{self.label}: {found} is too large ({info.file_size >> 20} MiB)")
        try:
            return self._zip.read(info)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError) as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise CorruptArchiveError(f"{self.label} is corrupt: cannot read {found} ({reason})") from None

    def names(self) -> list[str]:
        return list(self._names)

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> "EpubArchive":
        return self

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()
