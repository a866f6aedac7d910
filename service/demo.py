"""The demo news article this product started from, shown on `/` with the widget under it."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources

DEMO_ARTICLE_ID = "nato-dialogue"
# The seed page ends with its comment section; the widget draws that part.
_COMMENT_SECTION_START = "Be the first to comment"


@dataclass(frozen=True)
class DemoArticle:
    """A title and the paragraphs of the article's text."""

    article_id: str
    title: str
    paragraphs: tuple[str, ...]


@functools.cache
def demo_article() -> DemoArticle:
    """Read the seed article shipped with the package."""
    text = resources.files("service").joinpath("content", "seed-article.txt").read_text()
    title, _, rest = text.strip().partition("\n")
    paragraphs = []
    for paragraph in (part.strip() for part in rest.split("\n\n")):
        if paragraph.startswith(_COMMENT_SECTION_START):
            break
        if paragraph:
            paragraphs.append(paragraph)
    return DemoArticle(DEMO_ARTICLE_ID, title.strip(), tuple(paragraphs))
