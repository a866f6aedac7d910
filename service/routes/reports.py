"""Readers' reports: a public route to report a published comment, and the moderators' route to
dismiss a comment's reports (deciding on it, as usual, answers them too)."""

from __future__ import annotations

from typing import Any

from flask import Response, g, jsonify, redirect, request, url_for
from flask_smorest import Blueprint
from werkzeug.exceptions import UnprocessableEntity
from werkzeug.wrappers import Response as BaseResponse

from service.errors import CommentNotFound, ServiceError, json_error, validation_messages
from service.reports import REPORT_RECEIVED
from service.routes import moderation, public, services
from service.routes.client import client_ip
from service.routes.pages import render_comments_page
from service.schemas import ModerationCommentSchema, ReportReceiptSchema, ReportSchema

blp = Blueprint(
    "reports",
    __name__,
    url_prefix="/api/v1",
    description="Readers' reports of published comments.",
)
blp.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {
    **blp.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
    "json_or_form": "application/json",
}
# Answers differ by Origin (CORS) and are never cached, as on the other public routes.
blp.after_request(public.vary_on_origin)
REPORT_GONE = "This comment can no longer be reported."
REPORT_FORM = {"schema": {"$ref": "#/components/schemas/Report"}}

moderation_blp = Blueprint(
    "report_moderation",
    __name__,
    url_prefix="/api/v1/moderation",
    description="Readers' reports, for moderators with a bearer token.",
)
moderation_blp.before_request(moderation.authenticate)
moderation_blp.after_request(moderation.never_stored)


@blp.errorhandler(UnprocessableEntity)
@blp.errorhandler(ServiceError)
def form_errors(error: Exception) -> Response:
    """Show a report form's refusal in the page without JavaScript; answer JSON otherwise."""
    view_args = request.view_args or {}
    if not public.wants_html_page() or "article_id" not in view_args:
        return json_error(error)
    if isinstance(error, CommentNotFound):
        message = REPORT_GONE
    elif isinstance(error, ServiceError):
        message = error.message
    else:
        fields = validation_messages(error)
        message = next(iter(fields.values()))[0] if fields else "Your report could not be read."
    response = render_comments_page(
        view_args["article_id"],
        report=view_args.get("comment_id"),
        report_values=request.form.to_dict(),
        report_message=message,
        status=getattr(error, "code", 422) or 422,
    )
    response.headers.update(getattr(error, "headers", {}) or {})
    return response


@blp.route(
    "/articles/<article_id:article_id>/comments/<comment_id:comment_id>/reports",
    methods=["POST"],
)
@public.accepts_body_types
@blp.doc(requestBody={"content": {"application/x-www-form-urlencoded": REPORT_FORM}})
@blp.arguments(ReportSchema(), location="json_or_form")
@blp.response(202, ReportReceiptSchema(), description="The first report from this client.")
@blp.alt_response(
    200, schema=ReportReceiptSchema(), description="This client reported it already: a no-op."
)
@blp.alt_response(404, description="No published comment with this id in this article.")
@blp.alt_response(415, description="The body is neither JSON nor an HTML form.")
@blp.alt_response(429, description="Too many reports from this client; see Retry-After.")
def report_comment(fields: dict[str, Any], article_id: str, comment_id: str) -> BaseResponse:
    """Report a published comment to the moderators, once per client.

    Enough readers' reports (`report_threshold`) take it out of publication until a moderator
    looks."""
    first = services().reports.report(
        article_id,
        comment_id,
        fields["reason"],
        fields["note"],
        client_ip(services().comments.admission.trusted_proxies),
    )
    if public.wants_html_page():
        page = url_for("pages.comments_page", article_id=article_id, reported=comment_id)
        return redirect(f"{page}#reported", 303)
    response = jsonify(ReportReceiptSchema().dump({"message": REPORT_RECEIVED}))
    response.status_code = 202 if first else 200
    return response


@moderation_blp.route("/comments/<comment_id:comment_id>/dismiss-reports", methods=["POST"])
@moderation_blp.doc(security=[{"moderatorToken": []}])
@moderation_blp.response(200, ModerationCommentSchema())
def dismiss_reports(comment_id: str) -> dict[str, Any]:
    """Dismiss a comment's readers' reports.

    A comment the reports took out of publication is published again; dismissing nothing
    changes nothing."""
    services().reports.dismiss(comment_id, g.moderator)
    return services().moderation.get(comment_id)
