"""Public routes: what the comment widget under an article calls. No authentication."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Response, jsonify, redirect, request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from werkzeug.exceptions import HTTPException, UnprocessableEntity, UnsupportedMediaType
from werkzeug.wrappers import Response as BaseResponse

from service.comments import Submission
from service.errors import InvalidField, ServiceError, json_error, validation_messages
from service.idempotency import REPLAYED_HEADERS, KeptAnswer
from service.routes import services
from service.routes.answers import in_schema_order, json_answer
from service.routes.client import client_ip
from service.routes.pages import render_comments_page
from service.schemas import (
    CommentCreateSchema,
    CommentListQuerySchema,
    CommentListSchema,
    CountsQuerySchema,
    CountsSchema,
    PublicCommentSchema,
    SubmissionSchema,
    SubmittedCommentSchema,
)
from service.store import StoreUnavailable

blp = Blueprint(
    "comments",
    __name__,
    url_prefix="/api/v1",
    description="Readers' replies and published comments.",
)
# flask-smorest documents a request body only for locations it knows; json_or_form reads either.
blp.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {
    **blp.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
    "json_or_form": "application/json",
}
BODY_TYPES = ("application/json", "application/x-www-form-urlencoded")
FORM_BODY = {"schema": {"$ref": "#/components/schemas/CommentCreate"}}
IDEMPOTENCY_KEY = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "schema": {"type": "string", "maxLength": 255},
    "description": (
        "Retries with the same key get the answer that accepted the comment (kept 24 hours); "
        "a refusal is not kept, so a retry after Retry-After is judged again."
    ),
}
MAX_USER_AGENT = 512
HTML_OR_JSON = ["application/json", "text/html"]
# Purge keys a CDN takes on one answer, in bytes (Fastly and Cloudflare take 16 KB).
MAX_PURGE_KEYS_BYTES = 16_000
CACHED = {
    "Cache-Control": {"schema": {"type": "string"}},
    "Surrogate-Key": {
        "schema": {"type": "string"},
        "description": "`article-<id>` for each article in the answer (or Cache-Tag).",
    },
}

F = TypeVar("F", bound=Callable[..., Any])


@blp.after_request
def vary_on_origin(response: Response) -> Response:
    """Tell caches that CORS answers differ by Origin (flask-cors omits it for one origin), and
    keep every answer not marked public (submissions, errors) out of every cache."""
    if services().settings.cors_origins:
        response.vary.add("Origin")
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def cached_publicly(response: BaseResponse, article_ids: list[str]) -> BaseResponse:
    """Let browsers and shared caches (a CDN) keep a published answer for the configured time,
    tagged `article-<id>` for each article so a purge on change drops it."""
    settings = services().settings
    separator = " " if settings.cdn_key_header == "Surrogate-Key" else ","
    keys: list[str] = []
    size = 0
    for article_id in dict.fromkeys(article_ids):
        size += len(article_id) + len("article-") + 1
        if size > MAX_PURGE_KEYS_BYTES:
            break
        keys.append(f"article-{article_id}")
    # An answer some purge cannot reach is kept by shared caches no longer than by browsers.
    shared = (
        settings.cache_s_maxage if len(keys) == len(set(article_ids)) else settings.cache_max_age
    )
    response.headers["Cache-Control"] = (
        f"public, max-age={settings.cache_max_age}, s-maxage={shared}, "
        f"stale-while-revalidate={settings.cache_stale_while_revalidate}"
    )
    if keys:
        response.headers[settings.cdn_key_header] = separator.join(keys)
    return response


def wants_html_page() -> bool:
    """Tell whether a browser posted the plain HTML form and expects a page back."""
    if request.mimetype != "application/x-www-form-urlencoded":
        return False
    return request.accept_mimetypes.best_match(HTML_OR_JSON) == "text/html"


@blp.errorhandler(UnprocessableEntity)
@blp.errorhandler(ServiceError)
def form_errors(error: Exception) -> Response:
    """Show a plain HTML form's errors in its page; answer JSON clients as everywhere."""
    article_id = (request.view_args or {}).get("article_id")
    if not article_id or not wants_html_page():
        return json_error(error)
    if isinstance(error, ServiceError) and not isinstance(error, InvalidField):
        # A rule refused it (closed, blocked, too fast, duplicate): say so above the form.
        response = render_comments_page(
            article_id, values=request.form.to_dict(), message=error.message, status=error.code
        )
        response.headers.update(error.headers)
        return response
    return render_comments_page(
        article_id,
        errors=validation_messages(error),
        values=request.form.to_dict(),
        status=422,
    )


def accepts_body_types(view: F) -> F:
    """Refuse, before parsing, a body that is neither JSON nor an HTML form."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if request.mimetype not in BODY_TYPES:
            raise UnsupportedMediaType("Send the comment as JSON or as an HTML form.")
        return view(*args, **kwargs)

    return cast(F, wrapper)


@blp.route("/articles/<article_id:article_id>/comments")
class ArticleComments(MethodView):
    """An article's comment section."""

    @blp.arguments(CommentListQuerySchema(), location="query")
    @blp.response(
        200, CommentListSchema(), headers={"ETag": {"schema": {"type": "string"}}, **CACHED}
    )
    @blp.alt_response(304, description="Not modified since the ETag in If-None-Match.")
    def get(self, query: dict[str, Any], article_id: str) -> BaseResponse:
        """List an article's published comments, a page of threads at a time."""
        page = services().comments.published(
            article_id, query["page"], query["per_page"], query["sort"]
        )
        # The page comes serialized (and cached) already; flask-smorest passes a Response on.
        response = Response(page.body, mimetype="application/json")
        response.set_etag(page.etag)
        return cached_publicly(response, [article_id]).make_conditional(request)

    @accepts_body_types
    @blp.doc(requestBody={"content": {"application/x-www-form-urlencoded": FORM_BODY}})
    @blp.doc(parameters=[IDEMPOTENCY_KEY])
    @blp.arguments(CommentCreateSchema(), location="json_or_form")
    @blp.response(202, SubmissionSchema())
    @blp.alt_response(201, schema=SubmissionSchema(), description="Published at once.")
    @blp.alt_response(403, description="Comments are closed, or the sender is blocked.")
    @blp.alt_response(409, description="A duplicate of an earlier comment.")
    @blp.alt_response(413, description="The request body is larger than 64 KiB.")
    @blp.alt_response(415, description="The body is neither JSON nor an HTML form.")
    @blp.alt_response(429, description="Too many comments too quickly; see Retry-After.")
    @blp.alt_response(503, description="The moderation queue is full; see Retry-After.")
    def post(self, fields: dict[str, Any], article_id: str) -> Any:
        """Submit a reply; the moderation rules decide whether it waits, publishes or is refused."""
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return submit_reply(fields, article_id)
        idempotency = services().idempotency
        key_hash = idempotency.key_hash(key)
        # A digest of the request: the kept record must not hold the reader's email.
        request_text = json.dumps([article_id, fields], sort_keys=True, default=str)
        fingerprint = hashlib.sha256(request_text.encode()).hexdigest()
        kept = idempotency.begin(key_hash, fingerprint)
        if kept is not None:
            return Response(kept.body, kept.status, kept.headers)
        try:
            response = submit_reply(fields, article_id)
        except (ServiceError, StoreUnavailable, HTTPException) as error:
            response = json_error(error)
        idempotency.keep(
            key_hash,
            fingerprint,
            KeptAnswer(
                response.status_code,
                response.get_data(),
                {
                    name: response.headers[name]
                    for name in REPLAYED_HEADERS
                    if name in response.headers
                },
            ),
        )
        return response


def submit_reply(fields: dict[str, Any], article_id: str) -> BaseResponse:
    """Submit a validated reply and answer as its sender expects: JSON, or a page."""
    submission = Submission.from_fields(
        fields,
        ip=client_ip(services().comments.admission.trusted_proxies),
        user_agent=request.user_agent.string[:MAX_USER_AGENT],
    )
    answer = services().comments.submit(article_id, submission)
    if wants_html_page():
        # A plain HTML form (no JavaScript): back to the page, with the notice.
        posted = None if answer["published"] else 1
        page = url_for("pages.comments_page", article_id=article_id, posted=posted)
        return redirect(f"{page}#respond", 303)
    answer["comment"] = in_schema_order(SubmittedCommentSchema, answer["comment"])
    response = json_answer(SubmissionSchema, answer, 201 if answer["published"] else 202)
    response.headers["Location"] = url_for(
        "comments.PublishedComment", article_id=article_id, comment_id=answer["comment"]["id"]
    )
    return response


@blp.route("/articles/<article_id:article_id>/comments/<comment_id:comment_id>")
class PublishedComment(MethodView):
    """One published comment."""

    @blp.response(200, PublicCommentSchema(), headers=CACHED)
    def get(self, article_id: str, comment_id: str) -> BaseResponse:
        """Read one published comment; 404 until a moderator approves it."""
        comment = services().comments.published_comment(article_id, comment_id)
        return cached_publicly(jsonify(PublicCommentSchema().dump(comment)), [article_id])


@blp.route("/counts")
class Counts(MethodView):
    """Comment counts for article lists and teasers."""

    @blp.arguments(CountsQuerySchema(), location="query")
    @blp.response(200, CountsSchema(), headers={"ETag": {"schema": {"type": "string"}}, **CACHED})
    @blp.alt_response(304, description="Not modified since the ETag in If-None-Match.")
    def get(self, query: dict[str, Any]) -> BaseResponse:
        """Count the published comments of up to 100 articles."""
        article_ids = query["article_id"]
        # Article ids to whole numbers, built here: CountsSchema documents it, no dump needed.
        response = jsonify({"counts": services().comments.counts(article_ids)})
        response.add_etag()
        return cached_publicly(response, article_ids).make_conditional(request)
