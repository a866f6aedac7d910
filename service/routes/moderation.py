"""Moderation routes: the queue and decisions, for moderators holding a token."""

from __future__ import annotations

from typing import Any

from flask import Response, g, request
from flask.views import MethodView
from flask_smorest import Blueprint, abort

from service.addresses import normalize_address
from service.comments import Submission
from service.models import Decision
from service.moderation import QueueSearch
from service.routes import services
from service.routes.answers import json_answer
from service.routes.client import client_ip
from service.schemas import (
    ArticleListQuerySchema,
    ArticleListSchema,
    ArticleSettingsSchema,
    ArticleUpdateSchema,
    AuditListSchema,
    AuditQuerySchema,
    BlockListSchema,
    BlockSchema,
    BulkDecisionSchema,
    BulkResultsSchema,
    DecisionSchema,
    EditSchema,
    ModerationCommentSchema,
    ModerationListSchema,
    ModerationQuerySchema,
    RuleCheckResultSchema,
    RuleCheckSchema,
    StaffReplySchema,
    StatsSchema,
)

blp = Blueprint(
    "moderation",
    __name__,
    url_prefix="/api/v1/moderation",
    description="The moderation queue, for moderators with a bearer token.",
)


TOO_MANY_FAILURES = "Too many wrong moderator tokens from your address. Please wait."


@blp.after_request
def never_stored(response: Response) -> Response:
    """Keep moderators' answers (readers' emails and IPs) out of every cache."""
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.before_request
def authenticate() -> None:
    """Let a request through only with a moderator's token; remember who it is.

    A client that presented `moderator_failure_limits` wrong tokens gets 429 until the window
    passes, whatever token it sends then, so guessing cannot tell a right token by its answer.
    """
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    presented = presented.strip()
    comments = services().comments
    client = comments.client_hash(client_ip(comments.admission.trusted_proxies))
    sign_in = services().moderators.sign_in(client, presented if scheme.lower() == "bearer" else "")
    if sign_in.wait is not None:
        abort(429, message=TOO_MANY_FAILURES, headers={"Retry-After": str(sign_in.wait)})
    if sign_in.moderator is None:
        abort(401, message="A moderator token is required.")
    g.moderator = sign_in.moderator


@blp.route("/comments")
class ModerationQueue(MethodView):
    """Comments by moderation state."""

    @blp.doc(security=[{"moderatorToken": []}])
    @blp.arguments(ModerationQuerySchema(), location="query")
    @blp.response(200, ModerationListSchema())
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """List comments in one state, pending ones oldest first; or (`reported`) the comments
        readers reported, most reported first."""
        if query["reported"]:
            return services().moderation.reported(query["limit"], query["cursor"])
        search = QueueSearch(
            email=query["email"],
            ip=normalize_address(str(query["ip"])) if query["ip"] else None,
            text=query["q"],
        )
        return services().moderation.queue(
            query["status"], query["article_id"], query["limit"], query["cursor"], search
        )


@blp.route("/comments/<comment_id:comment_id>")
class ModeratedComment(MethodView):
    """One comment, with the reader's private data."""

    @blp.doc(security=[{"moderatorToken": []}])
    @blp.response(200, ModerationCommentSchema())
    def get(self, comment_id: str) -> dict[str, Any]:
        """Read one comment with its private data."""
        return services().moderation.get(comment_id)

    @blp.doc(security=[{"moderatorToken": []}])
    @blp.response(204)
    def delete(self, comment_id: str) -> None:
        """Delete a comment and its private data; its published replies stay."""
        services().moderation.delete(comment_id, g.moderator)


@blp.route("/comments/<comment_id:comment_id>/edit", methods=["POST"])
@blp.doc(security=[{"moderatorToken": []}])
@blp.arguments(EditSchema())
@blp.response(200, ModerationCommentSchema())
def edit_comment(fields: dict[str, Any], comment_id: str) -> dict[str, Any]:
    """Change a comment's text; readers see the latest, moderators every version."""
    return services().moderation.edit(comment_id, fields["body"], g.moderator)


def _decision_view(decision: Decision) -> Any:
    @blp.doc(security=[{"moderatorToken": []}])
    @blp.arguments(DecisionSchema(), location="json", required=False)
    @blp.response(200, ModerationCommentSchema())
    def decide(fields: dict[str, Any], comment_id: str) -> Response:
        view = services().moderation.decide(
            comment_id, decision, g.moderator, fields.get("reason"), fields.get("reason_code")
        )
        return json_answer(ModerationCommentSchema, view)

    decide.__doc__ = {
        Decision.APPROVE: "Approve a comment: publish it.",
        Decision.REJECT: "Reject a comment: take it out of publication.",
        Decision.SPAM: "Mark a comment as spam: take it out of publication.",
    }[decision]
    decide.__name__ = f"{decision}_comment"
    return decide


for _decision in Decision:
    blp.route(
        f"/comments/<comment_id:comment_id>/{_decision}",
        methods=["POST"],
        endpoint=f"{_decision}_comment",
    )(_decision_view(_decision))


@blp.route("/articles")
@blp.doc(security=[{"moderatorToken": []}])
@blp.arguments(ArticleListQuerySchema(), location="query")
@blp.response(200, ArticleListSchema())
def articles(query: dict[str, Any]) -> dict[str, Any]:
    """List articles with comments, newest first, with counts per state and whether closed."""
    return services().site_rules.articles(query["limit"], query["cursor"])


@blp.route("/articles/<article_id:article_id>")
class ArticleSettings(MethodView):
    """An article's comment settings."""

    @blp.doc(security=[{"moderatorToken": []}])
    @blp.response(200, ArticleSettingsSchema())
    def get(self, article_id: str) -> dict[str, Any]:
        """Read whether an article is closed and how its comments are moderated."""
        return services().site_rules.article(article_id)

    @blp.doc(security=[{"moderatorToken": []}])
    @blp.arguments(ArticleUpdateSchema())
    @blp.response(200, ArticleSettingsSchema())
    def patch(self, fields: dict[str, Any], article_id: str) -> dict[str, Any]:
        """Give an article its own moderation mode (null: the site's)."""
        return services().site_rules.set_mode(article_id, fields["moderation_mode"], g.moderator)


@blp.route("/articles/<article_id:article_id>/comments", methods=["POST"])
@blp.doc(security=[{"moderatorToken": []}])
@blp.arguments(StaffReplySchema())
@blp.response(201, ModerationCommentSchema())
def staff_reply(fields: dict[str, Any], article_id: str) -> dict[str, Any]:
    """Publish a moderator's comment or reply at once, marked as from staff."""
    view = services().comments.staff_reply(
        article_id, g.moderator, fields["body"], fields["parent_id"]
    )
    return services().moderation.get(view["id"])


@blp.route("/articles/<article_id:article_id>/close", methods=["POST"])
@blp.doc(security=[{"moderatorToken": []}])
@blp.response(200, ArticleSettingsSchema())
def close_article(article_id: str) -> dict[str, Any]:
    """Close comments on an article: new submissions get 403."""
    return services().site_rules.close(article_id, True, g.moderator)


@blp.route("/articles/<article_id:article_id>/reopen", methods=["POST"])
@blp.doc(security=[{"moderatorToken": []}])
@blp.response(200, ArticleSettingsSchema())
def reopen_article(article_id: str) -> dict[str, Any]:
    """Reopen comments on an article, whatever its age."""
    return services().site_rules.close(article_id, False, g.moderator)


@blp.route("/blocks")
class Blocks(MethodView):
    """The block list: emails, email domains and IP networks."""

    @blp.doc(security=[{"moderatorToken": []}])
    @blp.response(200, BlockListSchema())
    def get(self) -> dict[str, Any]:
        """List blocked emails, domains and networks."""
        return services().site_rules.blocks()

    @blp.doc(security=[{"moderatorToken": []}])
    @blp.arguments(BlockSchema())
    @blp.response(200, BlockListSchema())
    def post(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Block an email, an email domain (and its subdomains) or an IP network."""
        services().site_rules.block(fields["kind"], fields["value"], True, g.moderator)
        return services().site_rules.blocks()

    @blp.doc(security=[{"moderatorToken": []}])
    @blp.arguments(BlockSchema())
    @blp.response(200, BlockListSchema())
    def delete(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Lift a block; 404 if there was none."""
        if not services().site_rules.block(fields["kind"], fields["value"], False, g.moderator):
            abort(404, message="That is not on the block list.")
        return services().site_rules.blocks()


@blp.route("/rules/check", methods=["POST"])
@blp.doc(security=[{"moderatorToken": []}])
@blp.arguments(RuleCheckSchema())
@blp.response(200, RuleCheckResultSchema())
def check_rules(fields: dict[str, Any]) -> dict[str, Any]:
    """Run the rules on a sample submission without storing it: what they would do, and why."""
    submission = Submission.from_fields(fields, ip=str(fields["ip"]), user_agent="")
    return services().comments.check(fields["article_id"], submission)


@blp.route("/decisions", methods=["POST"])
@blp.doc(security=[{"moderatorToken": []}])
@blp.arguments(BulkDecisionSchema())
@blp.response(200, BulkResultsSchema())
def decide_many(fields: dict[str, Any]) -> dict[str, Any]:
    """Take one decision on up to 200 comments; each changes atomically."""
    results = services().moderation.decide_many(
        fields["ids"], fields["action"], g.moderator, fields["reason"], fields["reason_code"]
    )
    return {"results": results}


@blp.route("/stats")
@blp.doc(security=[{"moderatorToken": []}])
@blp.response(200, StatsSchema())
def stats() -> dict[str, Any]:
    """Count comments per state; tell the age of the oldest pending comment."""
    return services().moderation.stats()


@blp.route("/audit")
@blp.doc(security=[{"moderatorToken": []}])
@blp.arguments(AuditQuerySchema(), location="query")
@blp.response(200, AuditListSchema())
def audit(query: dict[str, Any]) -> dict[str, Any]:
    """Read the audit log, newest first, filtered by moderator, article, comment or action."""
    filters = {name: query[name] for name in ("moderator", "article_id", "comment_id", "action")}
    return services().moderation.audit(filters, query["limit"], query["cursor"])
