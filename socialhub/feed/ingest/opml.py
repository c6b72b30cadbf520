"""OPML import and export: the file every feed reader uses to move subscriptions.

`parse_opml` flattens the outline tree into one `OpmlOutline` per feed; folders become the
feed's category, nested folders joined with `CATEGORY_SEPARATOR` ("Tech / Python").
`build_opml` turns that list back into nested folders, so export → import is lossless.

OPML files are uploaded by users, so they are parsed by defusedxml with entity declarations
forbidden: a "billion laughs" file or an external entity (XXE), general or parameter, is refused
with `OpmlError`, never expanded or fetched.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as defused_fromstring

from .errors import OpmlError

CATEGORY_SEPARATOR = " / "
MAX_OPML_BYTES = 10_000_000


@dataclass(frozen=True, slots=True)
class OpmlOutline:
    """One subscription: a feed URL with its title, website and (possibly nested) category."""

    title: str
    xml_url: str
    html_url: str | None = None
    category: str | None = None


def parse_opml(data: bytes) -> list[OpmlOutline]:
    """Every feed in an OPML file, in document order, each feed URL once."""
    if len(data) > MAX_OPML_BYTES:
        raise OpmlError("This OPML file is too large to import.")
    root = _parse_xml(data)
    if _local_name(root.tag) != "opml":
        raise OpmlError("This file is not OPML: its root element is not <opml>.")
    body = next((child for child in root if _local_name(child.tag) == "body"), None)
    if body is None:
        raise OpmlError("This OPML file has no <body> with subscriptions.")

    outlines: list[OpmlOutline] = []
    seen: set[str] = set()

    def walk(element: ET.Element, folders: list[str]) -> None:
        for child in element:
            if _local_name(child.tag) != "outline":
                continue
            attrs = {key.lower(): (value or "").strip() for key, value in child.attrib.items()}
            title = attrs.get("title") or attrs.get("text") or ""
            xml_url = _feed_url(attrs.get("xmlurl", ""))
            if xml_url:
                if xml_url not in seen:
                    seen.add(xml_url)
                    category = CATEGORY_SEPARATOR.join(folders) or _category_attribute(
                        attrs.get("category", "")
                    )
                    outlines.append(
                        OpmlOutline(
                            title=title or xml_url,
                            xml_url=xml_url,
                            html_url=_feed_url(attrs.get("htmlurl", "")) or None,
                            category=category or None,
                        )
                    )
                walk(child, folders)
            elif not attrs.get("xmlurl"):  # a folder (an unusable feed URL is skipped)
                walk(child, [*folders, title] if title else folders)

    walk(body, [])
    return outlines


def build_opml(outlines: list[OpmlOutline], title: str = "SocialHub subscriptions") -> bytes:
    """An OPML 2.0 document (UTF-8 bytes) with one folder per category level."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(datetime.now(UTC), usegmt=True)
    body = ET.SubElement(root, "body")

    folders: dict[tuple[str, ...], ET.Element] = {(): body}

    def folder(path: tuple[str, ...]) -> ET.Element:
        if path not in folders:
            parent = folder(path[:-1])
            folders[path] = ET.SubElement(parent, "outline", text=path[-1], title=path[-1])
        return folders[path]

    for outline in outlines:
        path = tuple(
            part.strip()
            for part in (outline.category or "").split(CATEGORY_SEPARATOR)
            if part.strip()
        )
        attrs = {"type": "rss", "text": outline.title, "title": outline.title,
                 "xmlUrl": outline.xml_url}
        if outline.html_url:
            attrs["htmlUrl"] = outline.html_url
        ET.SubElement(folder(path), "outline", attrs)

    ET.indent(root, space="  ")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _feed_url(value: str) -> str:
    value = value.strip()
    lowered = value.lower()
    if lowered.startswith("feed://"):
        value = "http://" + value[7:]
    elif lowered.startswith("feed:http"):
        value = value[5:]
    return value if value.lower().startswith(("http://", "https://")) else ""


def _category_attribute(value: str) -> str:
    """OPML 2.0 `category="/Tech/Python,/News"`: the first path, as our category."""
    first = value.split(",")[0].strip().strip("/")
    return CATEGORY_SEPARATOR.join(part for part in first.split("/") if part)


def _local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


def _parse_xml(data: bytes) -> ET.Element:
    try:
        return defused_fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise OpmlError(
            "This OPML file declares XML entities, which could be an attack; it was not imported."
        ) from exc
    except ET.ParseError as exc:
        raise OpmlError(f"This OPML file is not well-formed XML ({exc}).") from exc
