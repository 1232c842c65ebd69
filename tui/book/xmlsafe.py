"""Hardened XML/HTML parsing for untrusted book files.

Every parser here keeps entity references unresolved (no external entities, no
entity expansion bombs), never touches the network and never loads a DTD. HTML
named entities such as ``&nbsp;`` or ``&mdash;`` are rewritten to numeric
character references first, so XHTML that relies on the (unloaded) XHTML DTD
still keeps its dashes and spaces; any other entity stays an unresolved
reference that the text extractor ignores.
"""

from __future__ import annotations

import html.entities
import re
from typing import Optional

from lxml import etree
from lxml import html as lxml_html

__all__ = ["XmlError", "parse_xml", "parse_html", "localname", "element_text", "children", "first_child"]

_XML_BUILTIN = {"amp", "lt", "gt", "quot", "apos"}
_NAMED_ENTITY = re.compile(rb"&([A-Za-z][A-Za-z0-9]{1,31});")


class XmlError(Exception):
    """A document is not well-formed even for the lenient parser. One line."""


def _numeric_refs(data: bytes) -> bytes:
    """``&nbsp;`` → ``&#160;`` for HTML's named entities; anything else untouched."""

    def repl(m: "re.Match[bytes]") -> bytes:
        name = m.group(1).decode("ascii")
        if name in _XML_BUILTIN:
            return m.group(0)
        chars = html.entities.html5.get(name + ";")
        if not chars:
            return m.group(0)
        return b"".join(b"&#%d;" % ord(c) for c in chars)

    if b"&" not in data:
        return data
    return _NAMED_ENTITY.sub(repl, data)


def _xml_parser(recover: bool) -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        recover=recover,
    )


_LXML_WHERE = re.compile(r"\s*\(<string>, line \d+\)\s*$")


def _first_line(err: Exception) -> str:
    text = str(err).strip()
    if not text:
        return type(err).__name__
    return _LXML_WHERE.sub("", text.splitlines()[0])


def parse_xml(data: bytes, *, name: str, lenient: bool = True) -> tuple[etree._Element, Optional[str]]:
    """Parse ``data`` as XML; returns ``(root, warning)``.

    A document that is not well-formed is parsed again in lxml's recovery mode
    when ``lenient`` (the warning then says so); the strict error is raised as
    :class:`XmlError` otherwise, or when recovery yields nothing.
    """
    data = _numeric_refs(data)
    try:
        return etree.fromstring(data, _xml_parser(False)), None
    except etree.XMLSyntaxError as exc:
        strict_error = _first_line(exc)
    except ValueError as exc:  # e.g. an unsupported encoding declaration
        raise XmlError(f"{name}: {_first_line(exc)}") from None
    if not lenient:
        raise XmlError(f"{name} is not well-formed XML ({strict_error})")
    try:
        root = etree.fromstring(data, _xml_parser(True))
    except (etree.XMLSyntaxError, ValueError):
        root = None
    if root is None:
        raise XmlError(f"{name} is not well-formed XML ({strict_error})")
    return root, f"{name} is not well-formed XML ({strict_error}); read leniently"


def parse_html(data: bytes, *, name: str) -> etree._Element:
    """Parse tag soup (``.html`` books, ``text/html`` spine items) with lxml's HTML parser."""
    parser = lxml_html.HTMLParser(no_network=True, remove_comments=True, remove_pis=True, default_doctype=False)
    try:
        root = lxml_html.document_fromstring(data, parser=parser)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError) as exc:
        raise XmlError(f"{name} cannot be parsed as HTML ({_first_line(exc)})") from None
    if root is None:
        raise XmlError(f"{name} is empty")
    return root


def localname(el: etree._Element) -> str:
    """The tag without its namespace (``{http://www.w3.org/1999/xhtml}p`` → ``p``); '' for non-elements."""
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2].lower() if "}" in tag else tag.lower()


def element_text(el: etree._Element) -> str:
    """All text inside an element, in document order; unresolved entity references are left out."""
    parts: list[str] = []

    def add(node: etree._Element) -> None:
        if isinstance(node.tag, str) and node.text:
            parts.append(node.text)
        for child in node:
            add(child)
            if child.tail:
                parts.append(child.tail)

    add(el)
    return "".join(parts)


def children(el: etree._Element, name: str) -> list[etree._Element]:
    """The child elements called ``name`` (namespace and case ignored)."""
    return [c for c in el if localname(c) == name]


def first_child(el: Optional[etree._Element], name: str) -> Optional[etree._Element]:
    """The first child element called ``name``; None when there is none or ``el`` is None."""
    if el is None:
        return None
    return next((c for c in el if localname(c) == name), None)
