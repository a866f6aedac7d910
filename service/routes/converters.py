"""URL converters for article and comment ids: anything else in the path is a 404."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_smorest import Api
from werkzeug.routing import BaseConverter

from service.schemas import ARTICLE_ID_PATTERN, COMMENT_ID_PATTERN


class ArticleIdConverter(BaseConverter):
    """1 to 200 letters, digits and `-_.~:`."""

    regex = ARTICLE_ID_PATTERN


class CommentIdConverter(BaseConverter):
    """A comment id as the service makes them."""

    regex = COMMENT_ID_PATTERN


def register_converters(app: Flask, api: Api) -> None:
    """Make `<article_id:…>` and `<comment_id:…>` usable in routes and documented."""
    for name, converter in (("article_id", ArticleIdConverter), ("comment_id", CommentIdConverter)):
        app.url_map.converters[name] = converter

        def schema(_: Any, pattern: str = converter.regex) -> dict[str, str]:
            return {"type": "string", "pattern": f"^{pattern}$"}

        api.register_converter(converter, schema)
