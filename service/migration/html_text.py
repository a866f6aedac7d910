"""Turn comment HTML from WordPress, Disqus or Isso into the service's own text format.

The service stores plain text and renders it (service/text.py): blank lines part paragraphs, a
newline breaks a line, and http(s) URLs become links. So a paragraph becomes a blank line, `<br>`
a newline, a list item a `- ` or `1. ` line, a quote `> ` lines, emphasis `*…*` and `**…**`, code
`` `…` ``, and a link its target URL (after its words when they say something else). Newlines in
the source text are kept, as WordPress and Isso mean them. Scripts, styles and embeds are dropped;
no markup is ever kept, so nothing from the source is trusted as HTML.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)
_DROPPED = frozenset(
    {"script", "style", "iframe", "object", "embed", "svg", "math", "noscript", "template",
     "head", "title", "select", "textarea", "button", "form"}
)  # fmt: skip
_BLOCKS = frozenset(
    {"p", "div", "section", "article", "header", "footer", "aside", "nav", "main", "figure",
     "figcaption", "address", "h1", "h2", "h3", "h4", "h5", "h6", "dl", "dt", "dd", "table",
     "details", "summary", "center", "body", "html"}
)  # fmt: skip
# Elements whose own text between children is only the source's indentation.
_CONTAINERS = frozenset({"ul", "ol", "dl", "table", "thead", "tbody", "tfoot", "tr"})
_EMPHASIS = {"em": "*", "i": "*", "cite": "*", "strong": "**", "b": "**"}
_LINK_SCHEMES = ("http://", "https://")
_ELLIPSIS = ("...", "\u2026")
_SPACE_BEFORE_PUNCTUATION = re.compile(r"(https?://\S+) +(?=[.,;:!?)\]](?:\s|$))")


@dataclass
class _Node:
    tag: str
    attrs: dict[str, str] = field(default_factory=dict)
    children: list[_Node | str] = field(default_factory=list)


class _TreeBuilder(HTMLParser):
    """Build a forgiving tree: unknown tags kept, stray end tags ignored, open ones closed."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Node("#root")
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("p", "li") and self.stack[-1].tag == tag:
            self.stack.pop()  # <p>one<p>two: the second paragraph closes the first
        node = _Node(tag, {name: value or "" for name, value in attrs})
        self.stack[-1].children.append(node)
        if tag not in _VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def _link_target(node: _Node) -> str | None:
    href = node.attrs.get("href", "").strip()
    return href if href.lower().startswith(_LINK_SCHEMES) and " " not in href else None


def _says_only_the_target(words: str, href: str) -> bool:
    """Whether a link's words are its URL, whole or shortened (`http://example.com/b/...`)."""
    text = words.strip()
    if not text:
        return True
    bare = text.rstrip(".\u2026") if text.endswith(_ELLIPSIS) else text
    candidates = {href, href.split("://", 1)[1]}
    return any(
        candidate == text or candidate.rstrip("/") == text.rstrip("/") or (
            bare != text and len(bare) > 8 and candidate.startswith(bare)
        )
        for candidate in candidates
    )  # fmt: skip


class _Renderer:
    """Render the tree as text, one node at a time."""

    def render(self, node: _Node) -> str:
        children = node.children
        if node.tag in _CONTAINERS:
            children = [child for child in children if not isinstance(child, str) or child.strip()]
        return "".join(self._child(child) for child in children)

    def _child(self, child: _Node | str) -> str:
        if isinstance(child, str):
            return child
        return self._node(child)

    def _node(self, node: _Node) -> str:
        tag = node.tag
        if tag in _DROPPED:
            return ""
        if tag == "br":
            return "\n"
        if tag == "hr":
            return "\n\n"
        if tag == "img":
            return self._image(node)
        inner = self.render(node)
        if tag == "a":
            return self._link(node, inner)
        if tag in _EMPHASIS:
            mark = _EMPHASIS[tag]
            return f"{mark}{inner.strip()}{mark}" if inner.strip() else inner
        if tag == "code" and "\n" not in inner:
            return f"`{inner}`" if inner.strip() else inner
        if tag == "pre":
            return f"\n\n{inner.strip(chr(10))}\n\n"
        if tag == "blockquote":
            lines = _tidy(inner).split("\n")
            return "\n\n" + "\n".join(f"> {line}".rstrip() for line in lines) + "\n\n"
        if tag in ("ul", "ol"):
            return self._list(node)
        if tag == "li":
            return f"\n- {_tidy(inner)}\n"
        if tag == "tr":
            cells = [_tidy(self._child(cell)) for cell in node.children if isinstance(cell, _Node)]
            return " | ".join(cell for cell in cells if cell) + "\n"
        if tag in ("td", "th"):
            return f" {inner} "
        if tag in _BLOCKS:
            return f"\n\n{inner}\n\n"
        return inner

    def _list(self, node: _Node) -> str:
        ordered = node.tag == "ol"
        lines: list[str] = []
        number = _start(node)
        for child in node.children:
            if isinstance(child, str):
                if child.strip():
                    lines.append(child.strip())
                continue
            if child.tag != "li":
                lines.append(_tidy(self._node(child)))
                continue
            text = re.sub(r"\n{2,}", "\n", _tidy(self.render(child)))
            lines.append(f"{number}. {text}" if ordered else f"- {text}")
            number += 1
        return "\n\n" + "\n".join(line for line in lines if line) + "\n\n"

    def _link(self, node: _Node, words: str) -> str:
        href = _link_target(node)
        if href is None:
            return words
        if _says_only_the_target(words, href):
            return f" {href} "
        return f"{words.strip()} ({href}) "

    def _image(self, node: _Node) -> str:
        alt = " ".join(node.attrs.get("alt", "").split())
        src = node.attrs.get("src", "").strip()
        if not src.lower().startswith(_LINK_SCHEMES):
            return alt
        return f"{alt} ({src}) " if alt else f" {src} "


def _start(node: _Node) -> int:
    try:
        return int(node.attrs.get("start", "1"))
    except ValueError:
        return 1


def _tidy(text: str) -> str:
    """Trim spaces at line ends and squeeze runs of blank lines to one."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n").strip()


def html_to_text(html: str) -> str:
    """Give a comment's HTML (or plain text) as the service's text format."""
    if "<" not in html and "&" not in html:
        return _finish(html)
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return _finish(_Renderer().render(builder.root))


def _finish(text: str) -> str:
    """Squeeze spaces, trim lines, and keep sentence punctuation next to a URL before it."""
    text = _SPACE_BEFORE_PUNCTUATION.sub(r"\1", text.replace("\r\n", "\n").replace("\r", "\n"))
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return _tidy("\n".join(lines))
