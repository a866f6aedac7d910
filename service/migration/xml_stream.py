"""Read an XML export piece by piece, whatever namespaces it declares, in flat memory."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from service.migration import UnreadableExport


class ByteSource(Protocol):
    """What the XML parser reads from: an open binary file, or anything with its `read`."""

    def read(self, size: int = -1, /) -> bytes: ...


def local(tag: str) -> str:
    """Give an element's or attribute's name without its namespace."""
    return tag.rsplit("}", 1)[-1]


def attribute(element: ET.Element, name: str) -> str:
    """Give an attribute by its local name (`dsq:id` or `id`), stripped; "" when absent."""
    for key, value in element.attrib.items():
        if local(key) == name:
            return value.strip()
    return ""


def child(element: ET.Element, name: str) -> ET.Element | None:
    """Give the first child with this local name."""
    for item in element:
        if local(item.tag) == name:
            return item
    return None


def text(element: ET.Element | None, name: str) -> str:
    """Give the text of the first child with this local name ("" when absent or empty)."""
    found = child(element, name) if element is not None else None
    return (found.text or "") if found is not None else ""


def children(element: ET.Element, name: str) -> list[ET.Element]:
    """Give every child with this local name."""
    return [item for item in element if local(item.tag) == name]


def stream_children(
    source: ByteSource, path: Path | str, root: str, what: str, depth: int
) -> Iterator[ET.Element]:
    """Give each complete element `depth` levels under the root, then drop it from the tree.

    The root must be named `root` (local name); otherwise, or when the XML is malformed, raise
    UnreadableExport naming the file and `what` it should have been.
    """
    parents: list[ET.Element] = []
    try:
        for event, element in ET.iterparse(source, events=("start", "end")):
            if event == "start":
                if not parents and local(element.tag) != root:
                    raise UnreadableExport(
                        path, f"not {what}: it starts with <{local(element.tag)}>, not <{root}>"
                    )
                parents.append(element)
                continue
            parents.pop()
            if len(parents) == depth:
                yield element
                parents[-1].remove(element)
    except ET.ParseError as error:
        if not parents and error.position[0] <= 1:
            raise UnreadableExport(path, f"not {what}: not XML ({error})") from error
        raise UnreadableExport(path, f"malformed XML ({error})") from error
    except (OSError, UnicodeDecodeError) as error:
        raise UnreadableExport(path, f"cannot be read ({error})") from error
