"""Validation and output shapes, as marshmallow schemas: no Redis, no Flask."""

from __future__ import annotations

import ipaddress
import json
import re
import unicodedata
from datetime import datetime
from typing import Any

import email_validator
from marshmallow import (
    EXCLUDE,
    RAISE,
    Schema,
    ValidationError,
    fields,
    pre_load,
    validate,
    validates_schema,
)

from service.models import Decision, ReasonCode, ReportReason, Status

ARTICLE_ID_PATTERN = r"[A-Za-z0-9\-_.~:]{1,200}"
# New ids name their bucket (24 hex digits); ids made before buckets have 22.
COMMENT_ID_PATTERN = r"[0-9a-f]{22}(?:[0-9a-f]{2})?"
_ARTICLE_ID = re.compile(ARTICLE_ID_PATTERN)
# Unicode categories a name may not contain: controls, format characters (zero-width and bidi
# overrides among them), surrogates, private use, unassigned, and line/paragraph separators.
_FORBIDDEN_NAME_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# Plain text keeps line breaks and tabs; every other control character is refused.
_FORBIDDEN_BODY_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})
_BODY_WHITESPACE_CONTROLS = frozenset("\n\t")
# Bidi embeddings, overrides and isolates reorder the text around them (a link could read as
# another address), so a comment's text may not hold them; the marks LRM and RLM stay allowed.
BIDI_CONTROLS = frozenset(map(chr, [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]))
# A website is an address: no control, format (zero-width, bidi), unassigned or space character.
_FORBIDDEN_URL_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"})
# Letters that show nothing: Hangul fillers, the blank Braille pattern, Khmer inherent vowels.
INVISIBLE_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u17b4\u17b5")
MAX_COMBINING_MARKS = 4
_ASCII_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")
MAX_PAGE = 1_000_000
# A Redis stream id: two unsigned 64-bit numbers (milliseconds and a sequence).
MAX_EMAIL_LENGTH = 254
MAX_WEBSITE_LENGTH = 200


def refuse_characters(
    text: str,
    categories: frozenset[str],
    allowed: frozenset[str] = frozenset(),
    characters: frozenset[str] = frozenset(),
) -> None:
    """Refuse a text holding a character of a forbidden Unicode category, or a forbidden one."""
    # Most text is ASCII, where only the control characters can be forbidden.
    suspects = _ASCII_CONTROLS.findall(text) if text.isascii() else text
    for char in suspects:
        if char in characters:
            raise ValidationError(
                f"Contains a direction-changing character that is not allowed (U+{ord(char):04X})."
            )
        if char not in allowed and unicodedata.category(char) in categories:
            raise ValidationError(f"Contains a character that is not allowed (U+{ord(char):04X}).")


class TrimmedText(fields.String):
    """A string trimmed of surrounding whitespace and put in Unicode NFC."""

    def __init__(
        self,
        *,
        forbidden: frozenset[str],
        allowed: frozenset[str] = frozenset(),
        forbidden_characters: frozenset[str] = frozenset(),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.forbidden = forbidden
        self.allowed = allowed
        self.forbidden_characters = forbidden_characters

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
        refuse_characters(text, self.forbidden, self.allowed, self.forbidden_characters)
        return text.strip()


class DisplayName(TrimmedText):
    """A commenter's name: no control or format characters, and something to see.

    Letters that render as nothing (Hangul fillers, the blank Braille pattern) are refused, at
    least one letter or digit is needed, and no letter carries more than MAX_COMBINING_MARKS
    combining marks (stacked accents that spill over the lines around them).
    """

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        marks = 0
        for char in text:
            if char in INVISIBLE_LETTERS:
                raise ValidationError(
                    f"Contains an invisible character that is not allowed (U+{ord(char):04X})."
                )
            marks = marks + 1 if unicodedata.category(char).startswith("M") else 0
            if marks > MAX_COMBINING_MARKS:
                raise ValidationError(
                    f"Use at most {MAX_COMBINING_MARKS} combining marks on one letter."
                )
        if text and not any(unicodedata.category(char)[0] in "LN" for char in text):
            raise ValidationError("Use at least one visible letter or digit.")
        return text


class WebsiteUrl(fields.Url):
    """An http(s) address with nothing invisible in it: no control, format or space character."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        refuse_characters(text, _FORBIDDEN_URL_CATEGORIES)
        return text


class EmailAddress(fields.String):
    """An email address checked by email-validator (no DNS lookup) and kept normalized."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\r" in text or "\n" in text:
            raise ValidationError("An email address cannot contain a line break.")
        text = text.strip()
        if not text:
            raise ValidationError("Enter your email address.")
        if len(text) > MAX_EMAIL_LENGTH:
            raise ValidationError(f"Use at most {MAX_EMAIL_LENGTH} characters.")
        try:
            valid = email_validator.validate_email(text, check_deliverability=False)
        except email_validator.EmailNotValidError as error:
            raise ValidationError(str(error)) from error
        return str(valid.normalized)


def comment_text() -> TrimmedText:
    """Give the field of a comment's text: plain text, trimmed, 1 to 5000 characters, with no
    control character but line breaks and tabs, and no bidi embedding, override or isolate."""
    return TrimmedText(
        required=True,
        forbidden=_FORBIDDEN_BODY_CATEGORIES,
        allowed=_BODY_WHITESPACE_CONTROLS,
        forbidden_characters=BIDI_CONTROLS,
        validate=validate.Length(min=1, max=5000, error="Write 1 to 5000 characters."),
        metadata={"description": "Plain text; HTML in it is shown as text."},
    )


class CommentCreateSchema(Schema):
    """A reply from the form under an article."""

    name = DisplayName(
        required=True,
        forbidden=_FORBIDDEN_NAME_CATEGORIES,
        validate=validate.Length(min=1, max=100, error="Use 1 to 100 characters."),
        metadata={"description": "The name shown with the comment."},
    )
    email = EmailAddress(
        required=True,
        metadata={"description": "Never published; used to hold and contact.", "format": "email"},
    )
    website = WebsiteUrl(
        load_default=None,
        allow_none=True,
        schemes={"http", "https"},
        validate=validate.Length(max=MAX_WEBSITE_LENGTH),
        metadata={"description": "An http or https address linked from the name."},
    )
    body = comment_text()
    parent_id = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(COMMENT_ID_PATTERN, error="No such comment to reply to."),
        metadata={"description": "The published comment of the same article this replies to."},
    )

    subject = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=500),
        metadata={"description": "Leave empty: a field people never see, to catch bots."},
    )

    @pre_load
    def empty_means_none(self, data: Any, **_: Any) -> Any:
        """Treat empty optional fields, as an HTML form sends them, as absent."""
        if not hasattr(data, "items"):
            return data
        cleaned = dict(data.items())
        for name in ("website", "parent_id", "subject"):
            value = cleaned.get(name)
            if isinstance(value, str) and not value.strip():
                cleaned[name] = None
            elif isinstance(value, str):
                cleaned[name] = value.strip()
        return cleaned


class PublicCommentSchema(Schema):
    """A comment as every reader sees it."""

    id = fields.String(required=True)
    article_id = fields.String(required=True)
    parent_id = fields.String(allow_none=True)
    name = fields.String(allow_none=True)
    website = fields.String(allow_none=True)
    body = fields.String(allow_none=True)
    body_html = fields.String(allow_none=True)
    created_at = fields.String(required=True, metadata={"format": "date-time"})
    avatar = fields.String(
        allow_none=True, metadata={"description": "Seed for an identicon; a keyed hash."}
    )
    removed = fields.Boolean(
        metadata={"description": "A removed comment kept as a placeholder for its replies."}
    )
    staff = fields.Boolean(metadata={"description": "Written by the site's moderators."})
    replies = fields.List(fields.Nested(lambda: PublicCommentSchema()))


class SubmittedCommentSchema(PublicCommentSchema):
    """The reader's own comment right after submission."""

    status = fields.Enum(Status, by_value=True, required=True)


class SubmissionSchema(Schema):
    """The answer to a submission."""

    comment = fields.Nested(SubmittedCommentSchema, required=True)
    message = fields.String(required=True)
    published = fields.Boolean(required=True)


class ReportSchema(Schema):
    """A reader's report of a published comment."""

    reason = fields.Enum(
        ReportReason,
        by_value=True,
        required=True,
        metadata={"description": "spam, abusive, off_topic or other."},
    )
    note = TrimmedText(
        load_default=None,
        allow_none=True,
        forbidden=_FORBIDDEN_BODY_CATEGORIES,
        allowed=_BODY_WHITESPACE_CONTROLS,
        forbidden_characters=BIDI_CONTROLS,
        validate=validate.Length(max=500, error="Write at most 500 characters."),
        metadata={"description": "Optional plain text for the moderators."},
    )

    @pre_load
    def empty_note_means_none(self, data: Any, **_: Any) -> Any:
        """Treat an empty note, as an HTML form sends it, as none."""
        if not hasattr(data, "items"):
            return data
        cleaned = dict(data.items())
        if isinstance(cleaned.get("note"), str) and not cleaned["note"].strip():
            cleaned["note"] = None
        return cleaned


class ReportReceiptSchema(Schema):
    """The answer to a report."""

    message = fields.String(required=True)


def page_number() -> fields.Integer:
    """Give the field of a page number: 1 to MAX_PAGE, so an offset always fits Redis."""
    return fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))


class CommentListQuerySchema(Schema):
    """Which page of an article's published comments to show."""

    page = page_number()
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=100))
    sort = fields.String(load_default="oldest", validate=validate.OneOf(["oldest", "newest"]))


class CommentsPageQuerySchema(Schema):
    """Which page the comment section without JavaScript shows; other parameters are ignored."""

    class Meta:
        unknown = EXCLUDE

    page = page_number()
    posted = fields.String(load_default=None)
    # A comment to answer: shown only if it is a published comment of the article.
    reply_to = fields.String(load_default=None)
    # A comment to report (its form opens: the confirm step), and the notice after a report.
    report = fields.String(load_default=None)
    reported = fields.String(load_default=None)


class CommentListSchema(Schema):
    """One page of an article's published comments, threaded."""

    article_id = fields.String(required=True)
    count = fields.Integer(required=True, metadata={"description": "All published, replies too."})
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    pages = fields.Integer(required=True)
    comments = fields.List(fields.Nested(PublicCommentSchema), required=True)


class CountsQuerySchema(Schema):
    """The articles to count published comments for."""

    article_id = fields.List(
        fields.String(validate=validate.Regexp(ARTICLE_ID_PATTERN + r"\Z")),
        required=True,
        validate=validate.Length(min=1, max=100),
    )


class CountsSchema(Schema):
    """Published comment counts per article."""

    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


class ModerationQuerySchema(Schema):
    """Which slice of the moderation queues to list."""

    status = fields.Enum(Status, by_value=True, load_default=Status.PENDING)
    article_id = fields.String(
        load_default=None, validate=validate.Regexp(ARTICLE_ID_PATTERN + r"\Z")
    )
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(
        load_default=None,
        validate=validate.Regexp(r"(?:\d{1,9}-)?" + COMMENT_ID_PATTERN + r"\Z"),
        metadata={"description": "next_cursor of the previous page."},
    )
    email = EmailAddress(load_default=None, metadata={"description": "Only this reader's."})
    ip = fields.IP(load_default=None, metadata={"description": "Only those sent from this IP."})
    q = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "Only those whose name or text contains this."},
    )
    reported = fields.Boolean(
        load_default=False,
        metadata={
            "description": "Only comments readers reported, in any state, most reported first."
        },
    )

    @validates_schema
    def reported_alone(self, data: dict[str, Any], **_: Any) -> None:
        """Refuse mixing the reported list with searches, and cursors of the other list."""
        cursor = data.get("cursor") or ""
        if data.get("reported"):
            for name in ("article_id", "email", "ip", "q"):
                if data.get(name) is not None:
                    raise ValidationError("The reported list takes no search.", name)
            if cursor and "-" not in cursor:
                raise ValidationError("Not a cursor of the reported list.", "cursor")
        elif "-" in cursor:
            raise ValidationError("A cursor of the reported list.", "cursor")


class ReportSummarySchema(Schema):
    """A comment's open reports, as moderators see them."""

    count = fields.Integer(required=True, metadata={"description": "Distinct clients."})
    reasons = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    entries = fields.List(
        fields.Dict(keys=fields.String(), values=fields.String()),
        required=True,
        metadata={"description": "The first reports: reason, note (if any), at."},
    )
    hidden_at = fields.String(
        allow_none=True,
        metadata={"format": "date-time", "description": "When the reports unpublished it."},
    )


class ModerationCommentSchema(PublicCommentSchema):
    """A comment as a moderator sees it, private data included."""

    status = fields.Enum(Status, by_value=True, required=True)
    email = fields.String(allow_none=True)
    ip = fields.String(allow_none=True)
    user_agent = fields.String(allow_none=True)
    decided_by = fields.String(allow_none=True)
    decided_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    reason = fields.String(allow_none=True)
    reason_code = fields.String(allow_none=True)
    edited_by = fields.String(allow_none=True)
    edited_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    revisions = fields.List(
        fields.Dict(keys=fields.String(), values=fields.String()),
        metadata={"description": "Every text it had, original first, once edited: body, by, at."},
    )
    reasons = fields.List(
        fields.String(), metadata={"description": "Why the submission rules held or filed it."}
    )
    reports = fields.Nested(
        ReportSummarySchema,
        allow_none=True,
        metadata={"description": "Readers' open reports (null: none)."},
    )
    private_unreadable = fields.Boolean(
        metadata={
            "description": "Its private data was sealed with another secret key: email, IP and "
            "user agent are null."
        }
    )


class ModerationListSchema(Schema):
    """One page of a moderation queue."""

    comments = fields.List(fields.Nested(ModerationCommentSchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class DecisionSchema(Schema):
    """Why a moderator decided as they did: a code and free text, seen by moderators only."""

    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    reason_code = fields.Enum(ReasonCode, by_value=True, load_default=None, allow_none=True)


class BulkDecisionSchema(DecisionSchema):
    """One decision for many comments."""

    ids = fields.List(
        fields.String(validate=validate.Regexp(COMMENT_ID_PATTERN + r"\Z")),
        required=True,
        validate=validate.Length(min=1, max=200),
    )
    action = fields.Enum(Decision, by_value=True, required=True)


class BulkResultSchema(Schema):
    """What one comment of a bulk decision became."""

    id = fields.String(required=True)
    outcome = fields.String(
        required=True, metadata={"description": "changed, unchanged or not_found"}
    )
    previous_status = fields.Enum(Status, by_value=True, allow_none=True)
    status = fields.Enum(Status, by_value=True, allow_none=True)


class BulkResultsSchema(Schema):
    """A result per id of a bulk decision."""

    results = fields.List(fields.Nested(BulkResultSchema), required=True)


class SpamFilterStatsSchema(Schema):
    """What the learning spam filter has learned, and whether it scores submissions yet."""

    learned_spam = fields.Integer(required=True)
    learned_legitimate = fields.Integer(required=True)
    min_samples = fields.Integer(
        required=True,
        metadata={"description": "Learned comments of each kind it needs before it scores."},
    )
    scoring = fields.Boolean(
        required=True,
        metadata={"description": "False while it abstains (too few learned comments)."},
    )


class StatsSchema(Schema):
    """The moderation desk at a glance."""

    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    oldest_pending_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    oldest_pending_age_seconds = fields.Integer(allow_none=True)
    spam_filter = fields.Nested(SpamFilterStatsSchema, allow_none=True)


class AuditQuerySchema(Schema):
    """Which audit entries to read, newest first."""

    moderator = fields.String(load_default=None, validate=validate.Length(max=100))
    article_id = fields.String(
        load_default=None, validate=validate.Regexp(ARTICLE_ID_PATTERN + r"\Z")
    )
    comment_id = fields.String(
        load_default=None, validate=validate.Regexp(COMMENT_ID_PATTERN + r"\Z")
    )
    action = fields.String(load_default=None, validate=validate.Length(max=40))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    # A stream position `<ms>-<seq>[-<bucket>]`; 19 digits always fit Redis's 64-bit stream ids.
    cursor = fields.String(
        load_default=None, validate=validate.Regexp(r"\d{1,19}-\d{1,19}(?:-\d{1,2})?\Z")
    )


class AuditEntrySchema(Schema):
    """One moderation action: who, what, when, before and after. Never an email."""

    id = fields.String(required=True)
    action = fields.String(required=True)
    moderator = fields.String(required=True)
    at = fields.String(required=True, metadata={"format": "date-time"})
    comment_id = fields.String()
    article_id = fields.String()
    before = fields.String()
    after = fields.String()
    reason_code = fields.String()
    reason = fields.String()


class AuditListSchema(Schema):
    """A page of the audit log."""

    entries = fields.List(fields.Nested(AuditEntrySchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


def is_article_id(value: str) -> bool:
    """Tell whether a string is a valid article id."""
    return _ARTICLE_ID.fullmatch(value) is not None


class ArticleSettingsSchema(Schema):
    """An article's comment settings, as moderators see them."""

    article_id = fields.String(required=True)
    closed = fields.Boolean(required=True, metadata={"description": "Closed now, by hand or age."})
    closed_by_hand = fields.Boolean(
        allow_none=True, metadata={"description": "true or false when set by a moderator."}
    )
    closes_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    moderation_mode = fields.String(required=True)
    moderation_mode_override = fields.String(allow_none=True)


class EditSchema(Schema):
    """A moderator's new text for a comment."""

    body = comment_text()


class StaffReplySchema(Schema):
    """A moderator's comment, published at once in the site's name."""

    body = comment_text()
    parent_id = fields.String(
        load_default=None, allow_none=True, validate=validate.Regexp(COMMENT_ID_PATTERN + r"\Z")
    )


class ArticleSummarySchema(ArticleSettingsSchema):
    """An article in the moderators' list, with its comments per state."""

    first_comment_at = fields.String(required=True, metadata={"format": "date-time"})
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


class ArticleListQuerySchema(Schema):
    """Which page of the article list to show."""

    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(load_default=None, validate=validate.Regexp(r"\d{1,16}-.{1,200}\Z"))


class ArticleListSchema(Schema):
    """A page of articles, newest first."""

    articles = fields.List(fields.Nested(ArticleSummarySchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class ArticleUpdateSchema(Schema):
    """Change an article's moderation mode (null goes back to the site's setting)."""

    moderation_mode = fields.String(
        required=True, allow_none=True, validate=validate.OneOf(["all", "trusted", "off"])
    )


class BlockSchema(Schema):
    """One entry of the block list."""

    kind = fields.String(required=True, validate=validate.OneOf(["email", "domain", "network"]))
    value = fields.String(required=True, validate=validate.Length(min=1, max=254))


class BlockListSchema(Schema):
    """The block list: emails, email domains and IP networks."""

    emails = fields.List(fields.String(), required=True)
    domains = fields.List(fields.String(), required=True)
    networks = fields.List(fields.String(), required=True)


class RuleCheckSchema(CommentCreateSchema):
    """A sample submission to run the rules on, without storing it."""

    article_id = fields.String(required=True, validate=validate.Regexp(ARTICLE_ID_PATTERN + r"\Z"))
    ip = fields.IP(load_default=ipaddress.ip_address("127.0.0.1"))


class RuleCheckResultSchema(Schema):
    """What the rules would do with a submission, and why."""

    outcome = fields.String(
        required=True, metadata={"description": "refused, spam, pending or approved"}
    )
    code = fields.Integer(required=True, metadata={"description": "The HTTP status it would get."})
    message = fields.String(required=True)
    reasons = fields.List(fields.String(), required=True)
    retry_after = fields.Integer(allow_none=True)
    spam_score = fields.Float(
        allow_none=True,
        metadata={"description": "The learning spam filter's score, 0 to 1 (null: it abstains)."},
    )
    offensive_score = fields.Float(
        allow_none=True,
        metadata={"description": "The offensive-language score, 0 to 1 (null: the rule is off)."},
    )


# --- `news-comments import` of our own JSON-lines export -----------------------------------------
# A record's fields the importer rebuilds itself, whatever the file says.
DERIVED_RECORD_FIELDS = ("body_html", "created_at", "root_id", "anchor_id", "depth", "replies")
MAX_CREATED_MS = 16**12 - 1  # a comment id's 12 hex digits of milliseconds


def _rfc3339(value: str) -> None:
    """Refuse what is not an RFC 3339 moment with its time zone."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise ValidationError("Not an RFC 3339 date and time.") from error
    if moment.tzinfo is None:
        raise ValidationError("Give the time zone.")


def actor_name(**kwargs: Any) -> TrimmedText:
    """Give the field naming who acted (a moderator, `author`, `import:wordpress`)."""
    return TrimmedText(
        forbidden=_FORBIDDEN_NAME_CATEGORIES, validate=validate.Length(min=1, max=100), **kwargs
    )


class ExportedRecordSchema(Schema):
    """A comment's stored record as `news-comments export` writes it, checked as the reply form
    and the moderation API check what they take. Derived fields (`DERIVED_RECORD_FIELDS`) are
    dropped here and rebuilt; `website` is checked on its own (an import drops a bad one)."""

    class Meta:
        unknown = RAISE

    id = fields.String(required=True, validate=validate.Regexp(COMMENT_ID_PATTERN + r"\Z"))
    article_id = fields.String(required=True, validate=validate.Regexp(ARTICLE_ID_PATTERN + r"\Z"))
    parent_id = fields.String(
        load_default=None, validate=validate.Regexp(COMMENT_ID_PATTERN + r"\Z")
    )
    name = DisplayName(
        required=True,
        forbidden=_FORBIDDEN_NAME_CATEGORIES,
        validate=validate.Length(min=1, max=100, error="Use 1 to 100 characters."),
    )
    website = fields.String(load_default=None)
    body = comment_text()
    created_ms = fields.Integer(required=True, validate=validate.Range(min=0, max=MAX_CREATED_MS))
    avatar = fields.String(load_default=None, validate=validate.Regexp(r"[0-9a-f]{1,64}\Z"))
    status = fields.Enum(
        Status,
        by_value=True,
        required=True,
        validate=validate.OneOf(Status.indexed(), error="Not a moderation state."),
    )
    decided_by = actor_name(load_default=None)
    decided_at = fields.String(load_default=None, validate=_rfc3339)
    reason = TrimmedText(
        load_default=None, forbidden=_FORBIDDEN_BODY_CATEGORIES, validate=validate.Length(max=500)
    )
    reason_code = fields.Enum(ReasonCode, by_value=True, load_default=None)
    reasons = fields.List(
        TrimmedText(forbidden=_FORBIDDEN_NAME_CATEGORIES, validate=validate.Length(max=500)),
        load_default=list,
        validate=validate.Length(max=50),
    )
    staff = fields.String(load_default=None, validate=validate.Equal("1"))
    edited_by = actor_name(load_default=None)
    edited_at = fields.String(load_default=None, validate=_rfc3339)
    # When it joined the queue where it was exported; an import sets its own.
    queued_ms = fields.Integer(load_default=None, validate=validate.Range(min=0))

    @pre_load
    def without_derived_fields(self, data: Any, **_: Any) -> Any:
        """Drop what the importer rebuilds; read `reasons` from its stored JSON."""
        if not isinstance(data, dict):
            raise ValidationError("A record is an object of strings.")
        cleaned = {name: value for name, value in data.items() if name not in DERIVED_RECORD_FIELDS}
        if any(not isinstance(value, str) for value in cleaned.values()):
            raise ValidationError("A record is an object of strings.")
        if "reasons" in cleaned:
            try:
                cleaned["reasons"] = json.loads(cleaned["reasons"])
            except ValueError as error:
                raise ValidationError("Not a JSON list.", "reasons") from error
        return cleaned


class RevisionSchema(Schema):
    """One text an edited comment had: the text, who wrote it (`author` or a moderator), when."""

    class Meta:
        unknown = RAISE

    body = comment_text()
    by = actor_name(required=True)
    at = fields.String(required=True, validate=_rfc3339)


def http_website(value: str | None) -> str | None:
    """Give a website as the reply form would take it, or None when it would refuse it."""
    if not value:
        return None
    field = WebsiteUrl(schemes={"http", "https"}, validate=validate.Length(max=MAX_WEBSITE_LENGTH))
    try:
        return str(field.deserialize(value.strip()))
    except ValidationError:
        return None


def valid_display_name(value: str) -> str | None:
    """Give a name as the reply form would take it, or None when it would refuse it."""
    try:
        loaded = CommentCreateSchema(only=("name",)).load({"name": value})
    except ValidationError:
        return None
    return str(loaded["name"])
