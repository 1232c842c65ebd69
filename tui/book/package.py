"""The EPUB package: container → OPF → metadata, manifest, spine, TOC and landmarks.

Read with the hardened lxml parsers of :mod:`xmlsafe` straight from the checked
archive, so only the documents actually needed are ever inflated. Follows the
parts of EPUB 2 and 3 a reader needs: the *first* rootfile of the container,
manifest fallbacks for non-XHTML spine items, the EPUB 3 nav document (TOC and
landmarks) with the EPUB 2 NCX and guide as fallbacks.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Iterable, Optional
from urllib.parse import unquote, urlsplit

from lxml import etree

from .archive import EpubArchive
from .limits import MAX_COVER_BYTES, MAX_METADATA_BYTES
from .model import BookError, BookMeta
from .semantics import EPUB_TYPE
from .xmlsafe import XmlError, children, element_text, first_child, localname, parse_html, parse_xml

__all__ = ["ManifestItem", "SpineItem", "TocEntry", "Landmark", "Package", "read_package", "resolve_href"]

XHTML_TYPES = frozenset({"application/xhtml+xml", "text/html", "application/html", "text/x-oeb1-document"})
_OPF_MEDIA_TYPE = "application/oebps-package+xml"


@dataclass(frozen=True)
class ManifestItem:
    id: str
    path: str  # member name inside the archive
    media_type: str
    properties: frozenset[str] = frozenset()
    fallback: str = ""


@dataclass(frozen=True)
class SpineItem:
    """A spine entry; ``item`` is the readable document (after manifest fallbacks), ``listed_path`` the original."""

    item: ManifestItem
    linear: bool
    listed_path: str = ""


@dataclass(frozen=True)
class TocEntry:
    """One navigation point: ``path`` is the archive member, ``fragment`` the id inside it."""

    title: str
    path: str
    fragment: str
    depth: int


@dataclass(frozen=True)
class Landmark:
    """A landmark (EPUB 3) or guide reference (EPUB 2), ``type`` in the EPUB 3 vocabulary."""

    type: str
    path: str
    fragment: str


@dataclass
class Package:
    meta: BookMeta
    spine: list[SpineItem]
    manifest: dict[str, ManifestItem]
    toc: list[TocEntry] = field(default_factory=list)
    landmarks: list[Landmark] = field(default_factory=list)
    nav_path: str = ""
    warnings: list[str] = field(default_factory=list)


# EPUB 2 guide types → EPUB 3 structural vocabulary
_GUIDE_TYPES = {
    "title-page": "titlepage",
    "copyright-page": "copyright-page",
    "notes": "endnotes",
    "text": "bodymatter",
    "acknowledgements": "acknowledgments",
}


def resolve_href(base_dir: str, href: str) -> tuple[str, str]:
    """``href`` relative to ``base_dir`` → (archive path, fragment). Remote URLs give ('', '')."""
    href = (href or "").strip()
    if not href:
        return "", ""
    parts = urlsplit(href)
    if parts.scheme or parts.netloc:
        return "", ""
    path = unquote(parts.path)
    fragment = unquote(parts.fragment)
    if not path:
        return "", fragment
    joined = posixpath.normpath(posixpath.join(base_dir, path))
    if joined.startswith("../") or joined == "..":
        return "", ""
    return joined, fragment


def _text(el: Optional[etree._Element]) -> str:
    """Whitespace-collapsed text of an element; unresolved entity references are left out."""
    return "" if el is None else " ".join(element_text(el).split())


def _parse(archive: EpubArchive, name: str, warnings: list[str]) -> etree._Element:
    try:
        root, warning = parse_xml(archive.read(name, limit=MAX_METADATA_BYTES), name=name)
    except XmlError as exc:
        raise BookError(f"{archive.label}: {exc}") from None
    if warning:
        warnings.append(warning)
    return root


# ---------------------------------------------------------------- container


def _rootfile(archive: EpubArchive, warnings: list[str]) -> str:
    if archive.find("META-INF/container.xml") is None:
        opfs = [n for n in archive.names() if n.lower().endswith(".opf")]
        if len(opfs) == 1:
            warnings.append("META-INF/container.xml is missing; using the only package file")
            return opfs[0]
        raise BookError(f"{archive.label} is not an EPUB (no META-INF/container.xml)")
    root = _parse(archive, "META-INF/container.xml", warnings)
    candidates = [
        rf.get("full-path", "")
        for rf in root.iter()
        if localname(rf) == "rootfile" and rf.get("full-path")
    ]
    typed = [
        rf.get("full-path", "")
        for rf in root.iter()
        if localname(rf) == "rootfile" and rf.get("media-type") == _OPF_MEDIA_TYPE and rf.get("full-path")
    ]
    for path in typed or candidates:
        if archive.find(unquote(path)) is not None:
            return unquote(path)
    if typed or candidates:
        raise BookError(f"{archive.label} is missing its package file {unquote((typed or candidates)[0])}")
    raise BookError(f"{archive.label} names no package (OPF) file in META-INF/container.xml")


# ---------------------------------------------------------------- OPF


def _metadata(opf: etree._Element) -> tuple[BookMeta, str]:
    """Dublin Core metadata, and the manifest id of the EPUB 2 ``<meta name="cover">``."""
    md = first_child(opf, "metadata")
    if md is None:
        return BookMeta(), ""
    # EPUB 2 sometimes nests DC elements inside <dc-metadata>
    elements = list(md.iter())
    by_name: dict[str, list[etree._Element]] = {}
    for el in elements:
        by_name.setdefault(localname(el), []).append(el)
    refines: dict[str, dict[str, str]] = {}
    cover_id = ""
    for meta in by_name.get("meta", []):
        if meta.get("refines", "").startswith("#") and meta.get("property"):
            refines.setdefault(meta.get("refines", "")[1:], {})[meta.get("property", "")] = _text(meta)
        if (meta.get("name") or "").lower() == "cover" and meta.get("content"):
            cover_id = meta.get("content", "")

    def values(name: str) -> list[str]:
        return [v for v in (_text(el) for el in by_name.get(name, [])) if v]

    titles = by_name.get("title", [])
    title = ""
    for el in titles:
        if refines.get(el.get("id", ""), {}).get("title-type") == "main":
            title = _text(el)
            break
    if not title:
        title = next((t for t in values("title")), "")

    authors: list[str] = []
    others: list[str] = []
    for el in by_name.get("creator", []):
        name = _text(el)
        if not name:
            continue
        role = ""
        for key, value in el.attrib.items():
            if key.rpartition("}")[2] == "role":
                role = value
        role = role or refines.get(el.get("id", ""), {}).get("role", "")
        (authors if role in ("", "aut") else others).append(name)
    if not authors:
        authors = others

    dates = by_name.get("date", [])
    date = ""
    for el in dates:
        event = next((v for k, v in el.attrib.items() if k.rpartition("}")[2] == "event"), "")
        if event in ("publication", "issued", "original-publication"):
            date = _text(el)
            break
    if not date:
        date = next((t for t in values("date")), "")

    description = next((t for t in values("description")), "")
    if "<" in description:  # descriptions often carry escaped HTML
        try:
            description = " ".join(parse_html(description.encode("utf-8"), name="description").text_content().split())
        except XmlError:
            pass
    language = next((t for t in values("language")), "") or "en"
    meta = BookMeta(
        title=title,
        authors=authors,
        language=language,
        publisher=next((t for t in values("publisher")), ""),
        date=date,
        description=description,
    )
    return meta, cover_id


def _manifest(opf: etree._Element, opf_dir: str, archive: EpubArchive) -> dict[str, ManifestItem]:
    manifest_el = first_child(opf, "manifest")
    items: dict[str, ManifestItem] = {}
    if manifest_el is None:
        return items
    for el in manifest_el:
        if localname(el) != "item" or not el.get("id") or not el.get("href"):
            continue
        path, _ = resolve_href(opf_dir, el.get("href", ""))
        if not path:
            continue  # remote resources are never fetched
        path = archive.find(path) or path
        items[el.get("id", "")] = ManifestItem(
            id=el.get("id", ""),
            path=path,
            media_type=(el.get("media-type") or "").strip().lower(),
            properties=frozenset((el.get("properties") or "").split()),
            fallback=el.get("fallback", ""),
        )
    return items


def _readable(item: ManifestItem, manifest: dict[str, ManifestItem]) -> Optional[ManifestItem]:
    """Follow manifest fallbacks from a non-XHTML spine item to an XHTML one."""
    seen: set[str] = set()
    current: Optional[ManifestItem] = item
    while current is not None and current.id not in seen:
        if current.media_type in XHTML_TYPES:
            return current
        seen.add(current.id)
        current = manifest.get(current.fallback) if current.fallback else None
    return None


def _spine(
    opf: etree._Element, manifest: dict[str, ManifestItem], warnings: list[str]
) -> tuple[list[SpineItem], str]:
    spine_el = first_child(opf, "spine")
    if spine_el is None:
        return [], ""
    out: list[SpineItem] = []
    for ref in spine_el:
        if localname(ref) != "itemref":
            continue
        item = manifest.get(ref.get("idref", ""))
        if item is None:
            warnings.append(f"spine item {ref.get('idref', '')!r} is not in the manifest; skipped")
            continue
        readable = _readable(item, manifest)
        if readable is None:
            if not item.media_type.startswith("image/"):
                warnings.append(f"{item.path} ({item.media_type or 'no media type'}) cannot be read as text; skipped")
            continue
        out.append(SpineItem(readable, (ref.get("linear") or "yes").strip().lower() != "no", item.path))
    return out, spine_el.get("toc", "")


# ---------------------------------------------------------------- navigation


def _nav_lists(root: etree._Element) -> dict[str, etree._Element]:
    """``{'toc': <nav>, 'landmarks': <nav>}`` from an EPUB 3 navigation document."""
    navs: dict[str, etree._Element] = {}
    for el in root.iter():
        if localname(el) != "nav":
            continue
        types = (el.get(EPUB_TYPE) or el.get("epub:type") or el.get("type") or "").split()
        role = (el.get("role") or "").replace("doc-", "")
        for t in types + ([role] if role else []):
            navs.setdefault(t, el)
    return navs


def _nav_toc(nav: etree._Element, base_dir: str) -> list[TocEntry]:
    out: list[TocEntry] = []

    def walk(ol: etree._Element, depth: int) -> None:
        for li in children(ol, "li"):
            link = None
            label = None
            sub = None
            for child in li:
                tag = localname(child)
                if tag == "a" and link is None:
                    link = child
                elif tag == "span" and label is None:
                    label = child
                elif tag in ("ol", "ul"):
                    sub = child
            if link is not None and link.get("href"):
                path, fragment = resolve_href(base_dir, link.get("href", ""))
                title = _text(link) or (link.get("title") or "")
                if path:
                    out.append(TocEntry(title, path, fragment, depth))
            if sub is not None:
                walk(sub, depth + 1)

    for child in nav:
        if localname(child) in ("ol", "ul"):
            walk(child, 0)
            break
    return out


def _nav_landmarks(nav: etree._Element, base_dir: str) -> list[Landmark]:
    out = []
    for a in nav.iter():
        if localname(a) != "a" or not a.get("href"):
            continue
        types = (a.get(EPUB_TYPE) or a.get("epub:type") or "").split()
        path, fragment = resolve_href(base_dir, a.get("href", ""))
        for t in types:
            kind = t.rpartition(":")[2].lower()
            if path:
                out.append(Landmark(_GUIDE_TYPES.get(kind, kind), path, fragment))
    return out


def _ncx_toc(root: etree._Element, base_dir: str) -> list[TocEntry]:
    out: list[TocEntry] = []
    nav_map = next((el for el in root.iter() if localname(el) == "navmap"), None)
    if nav_map is None:
        return out

    def walk(parent: etree._Element, depth: int) -> None:
        for point in children(parent, "navpoint"):
            label = first_child(point, "navlabel")
            title = _text(first_child(label, "text")) if label is not None else ""
            content = first_child(point, "content")
            if content is not None and content.get("src"):
                path, fragment = resolve_href(base_dir, content.get("src", ""))
                if path:
                    out.append(TocEntry(title, path, fragment, depth))
            walk(point, depth + 1)

    walk(nav_map, 0)
    return out


def _guide(opf: etree._Element, opf_dir: str) -> list[Landmark]:
    guide = first_child(opf, "guide")
    out = []
    if guide is None:
        return out
    for ref in children(guide, "reference"):
        kind = (ref.get("type") or "").strip().lower()
        if kind.startswith("other."):
            kind = kind[6:]
        path, fragment = resolve_href(opf_dir, ref.get("href", ""))
        if kind and path:
            out.append(Landmark(_GUIDE_TYPES.get(kind, kind), path, fragment))
    return out


def _cover(
    archive: EpubArchive, manifest: dict[str, ManifestItem], cover_id: str, warnings: list[str]
) -> tuple[Optional[bytes], str]:
    item = next((i for i in manifest.values() if "cover-image" in i.properties), None)
    if item is None and cover_id:
        item = manifest.get(cover_id) or next((i for i in manifest.values() if i.path.endswith(cover_id)), None)
    if item is None:
        item = next(
            (i for i in manifest.values() if i.media_type.startswith("image/") and "cover" in i.id.lower()), None
        )
    if item is None or not item.media_type.startswith("image/") or archive.find(item.path) is None:
        return None, ""
    try:
        return archive.read(item.path, limit=MAX_COVER_BYTES), item.media_type
    except BookError as exc:
        warnings.append(f"cover image not used: {exc}")
        return None, ""


def _dedupe(entries: Iterable[TocEntry]) -> list[TocEntry]:
    seen: set[tuple[str, str, str]] = set()
    out = []
    for e in entries:
        key = (e.title, e.path, e.fragment)
        if key not in seen:
            seen.add(key)
            out.append(e)
    return out


def read_package(archive: EpubArchive) -> Package:
    """Everything but the content documents' text. BookError on a book that has no usable package."""
    warnings: list[str] = []
    opf_path = _rootfile(archive, warnings)
    opf_dir = posixpath.dirname(opf_path)
    opf = _parse(archive, opf_path, warnings)
    if localname(opf) != "package":
        raise BookError(f"{archive.label}: {opf_path} is not an OPF package document")
    manifest = _manifest(opf, opf_dir, archive)
    meta, cover_id = _metadata(opf)
    spine, ncx_id = _spine(opf, manifest, warnings)
    if not spine:
        broken = next((w for w in warnings if w.startswith(opf_path)), "")
        if broken:
            raise BookError(f"{archive.label}: {broken.rsplit(';', 1)[0]}")
        raise BookError(f"{archive.label} is empty (its spine lists no readable documents)")
    meta.cover, meta.cover_mime = _cover(archive, manifest, cover_id, warnings)

    toc: list[TocEntry] = []
    landmarks: list[Landmark] = []
    nav_item = next((i for i in manifest.values() if "nav" in i.properties), None)
    nav_path = ""
    if nav_item is not None and archive.find(nav_item.path) is not None:
        nav_path = nav_item.path
        try:
            nav_root, warning = parse_xml(archive.read(nav_item.path, limit=MAX_METADATA_BYTES), name=nav_item.path)
            if warning:
                warnings.append(warning)
            navs = _nav_lists(nav_root)
            base = posixpath.dirname(nav_item.path)
            if "toc" in navs:
                toc = _nav_toc(navs["toc"], base)
            if "landmarks" in navs:
                landmarks = _nav_landmarks(navs["landmarks"], base)
        except (XmlError, BookError) as exc:
            warnings.append(f"navigation document not used: {exc}")
    if not toc:
        ncx_item = manifest.get(ncx_id) or next(
            (i for i in manifest.values() if i.media_type == "application/x-dtbncx+xml"), None
        )
        if ncx_item is not None and archive.find(ncx_item.path) is not None:
            try:
                ncx_root, warning = parse_xml(archive.read(ncx_item.path, limit=MAX_METADATA_BYTES), name=ncx_item.path)
                if warning:
                    warnings.append(warning)
                toc = _ncx_toc(ncx_root, posixpath.dirname(ncx_item.path))
            except (XmlError, BookError) as exc:
                warnings.append(f"NCX table of contents not used: {exc}")
    if not landmarks:
        landmarks = _guide(opf, opf_dir)
    aliases = {s.listed_path: s.item.path for s in spine if s.listed_path and s.listed_path != s.item.path}
    toc = _dedupe(
        TocEntry(" ".join(e.title.split()), aliases.get(e.path, e.path), e.fragment, e.depth) for e in toc
    )
    return Package(meta, spine, manifest, toc, landmarks, nav_path, warnings)
