"""Turn a reader's plain text into safe HTML: escaped, in paragraphs, with links that carry rel."""

from __future__ import annotations

import re

from markupsafe import escape

# A link ends at whitespace, markup quotes, or any invisible format character (soft hyphen,
# zero-width and bidi controls, word joiners, BOM): nothing unseen is ever part of an address.
_URL = re.compile(
    r"https?://[^\s<>\"'`\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]+",
    re.IGNORECASE,
)
_TRAILING = ".,;:!?'\"*_"
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")
LINK_REL = "nofollow ugc noopener"


def _split_trailing(url: str) -> tuple[str, str]:
    """Keep sentence punctuation and an unmatched closing bracket out of a link."""
    end = len(url)
    while end > 0:
        last = url[end - 1]
        if last in _TRAILING:
            end -= 1
        elif last == ")" and url.count("(", 0, end) < url.count(")", 0, end):
            end -= 1
        else:
            break
    return url[:end], url[end:]


def _linkify(line: str) -> str:
    """Escape one line and link its http(s) URLs."""
    parts: list[str] = []
    position = 0
    for match in _URL.finditer(line):
        url, tail = _split_trailing(match.group())
        if "://" not in url or url.endswith("://"):
            continue
        parts.append(str(escape(line[position : match.start()])))
        href = escape(url)
        parts.append(f'<a href="{href}" rel="{LINK_REL}">{href}</a>{escape(tail)}')
        position = match.end()
    parts.append(str(escape(line[position:])))
    return "".join(parts)


def render_body(body: str) -> str:
    """Render plain text as HTML: nothing in it is ever interpreted as markup."""
    paragraphs = _PARAGRAPH_BREAK.split(body.replace("\r\n", "\n").replace("\r", "\n"))
    rendered = (
        "<br>\n".join(_linkify(line) for line in paragraph.split("\n"))
        for paragraph in paragraphs
        if paragraph.strip()
    )
    return "".join(f"<p>{html}</p>" for html in rendered)


def count_links(body: str) -> int:
    """Count the http(s) links in a plain text, as the rendered comment would show them."""
    return len(_URL.findall(body))
