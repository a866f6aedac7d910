"""Web pages: the demo article, the comment section without JavaScript, the moderators' page."""

from __future__ import annotations

import json
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_smorest import abort
from marshmallow import ValidationError
from werkzeug.wrappers import Response as BaseResponse

from service.comments import AWAITING_MODERATION
from service.demo import demo_article
from service.models import ReportReason
from service.reports import REPORT_RECEIVED
from service.routes import services
from service.schemas import CommentsPageQuerySchema

blp = Blueprint("pages", __name__)

WIDGET_MAX_AGE = 300
# The reasons a reader may give for a report, as the form offers them.
REPORT_REASONS = [
    (ReportReason.SPAM, "Spam"),
    (ReportReason.ABUSIVE, "Abusive or hateful"),
    (ReportReason.OFF_TOPIC, "Off topic"),
    (ReportReason.OTHER, "Something else"),
]
MODERATION_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


def page_csp(frame_ancestors: str) -> str:
    """Give the policy of a reader-facing page: only this service's own resources."""
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        f"img-src 'self' data:; form-action 'self'; base-uri 'none'; "
        f"frame-ancestors {frame_ancestors}"
    )


@blp.app_template_test("http_url")
def is_http_url(value: object) -> bool:
    """Tell whether a value is an http(s) address, the only kind a page links."""
    return isinstance(value, str) and value[:8].lower().startswith(("http://", "https://"))


def _html(body: str, status: int, csp: str) -> Response:
    response = Response(body, status=status, mimetype="text/html")
    response.headers["Content-Security-Policy"] = csp
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    return response


@blp.get("/")
def demo() -> Response:
    """Show the demo article with the comment widget under it."""
    article = demo_article()
    return _html(render_template("article.html", article=article), 200, page_csp("'self'"))


@blp.get("/embed.js")
def widget_script() -> BaseResponse:
    """Serve the comment widget."""
    return _static("embed.js")


@blp.get("/embed.css")
def widget_styles() -> BaseResponse:
    """Serve the comment widget's stylesheet."""
    return _static("embed.css")


@blp.get("/favicon.ico")
def favicon() -> BaseResponse:
    """Serve the site's icon (browsers ask for it on every page)."""
    return send_from_directory(
        current_app.static_folder or "", "favicon.ico", max_age=86400, mimetype="image/x-icon"
    )


def _static(filename: str) -> BaseResponse:
    static = current_app.static_folder or ""
    response = send_from_directory(static, filename, max_age=WIDGET_MAX_AGE)
    # Any site may load the widget; the API itself answers only allowed origins.
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@blp.post("/moderate")
def moderate_form_posted() -> BaseResponse:
    """Send a sign-in posted before the page's script ran back to the page (no token is sent:
    the token field has no name, and the form posts, so it never lands in a URL)."""
    response = redirect(url_for("pages.moderate"), 303)
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.get("/moderate")
def moderate() -> Response:
    """Serve the moderators' page; it is never framed and loads only its own files."""
    response = _html(render_template("moderate.html"), 200, MODERATION_CSP)
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.get("/articles/<article_id:article_id>/comments")
def comments_page(article_id: str) -> Response:
    """Show an article's comments and the reply form without JavaScript; `reply_to` opens the
    form as a reply to that comment, `report` the form reporting it."""
    try:
        query = CommentsPageQuerySchema().load(request.args)
    except ValidationError as error:
        abort(422, errors={"query": error.messages})
    return render_comments_page(
        article_id,
        page=query["page"],
        posted=query["posted"] is not None,
        reply_to=query["reply_to"],
        report=query["report"],
        reported=query["reported"] is not None,
    )


def _find_comment(comments: list[dict[str, Any]], comment_id: str) -> dict[str, Any] | None:
    """Find a published comment, at any depth, in a page of threads."""
    for comment in comments:
        if comment.get("id") == comment_id:
            return comment
        found = _find_comment(comment.get("replies") or [], comment_id)
        if found is not None:
            return found
    return None


def render_comments_page(
    article_id: str,
    *,
    page: int = 1,
    posted: bool = False,
    errors: dict[str, list[str]] | None = None,
    values: dict[str, Any] | None = None,
    message: str | None = None,
    status: int = 200,
    reply_to: str | None = None,
    report: str | None = None,
    report_values: dict[str, Any] | None = None,
    report_message: str | None = None,
    reported: bool = False,
) -> Response:
    """Render the no-JavaScript comment section, with a submission's errors when there are."""
    listing = json.loads(services().comments.published(article_id, page, 50, "oldest").body)
    # A reply: the comment named by the Reply link, or by the form that came back with errors.
    reply_to = reply_to or (values or {}).get("parent_id") or None
    parent = _find_comment(listing["comments"], reply_to) if reply_to else None
    # A refused report of a comment no longer on the page is told at the top of the list.
    target = _find_comment(listing["comments"], report) if report else None
    report_refusal = report_message if target is None or target.get("removed") else None
    frame_ancestors = " ".join(["'self'", *services().settings.cors_origins])
    body = render_template(
        "comments.html",
        listing=listing,
        article_id=article_id,
        notice=AWAITING_MODERATION if posted else None,
        errors=errors or {},
        values=values or {},
        message=message,
        parent=parent if parent and not parent.get("removed") else None,
        # The comment whose Report link was followed: its form, the confirm step, opens.
        report=report,
        report_values=report_values or {},
        report_message=report_message,
        report_reasons=REPORT_REASONS,
        reported_notice=REPORT_RECEIVED if reported else None,
        report_refusal=report_refusal,
    )
    return _html(body, status, page_csp(frame_ancestors))
