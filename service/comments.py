"""Readers' use cases: submit a reply, read an article's published thread, count comments."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import math
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from service.addresses import client_key, normalize_address
from service.admission import (
    DUPLICATE_MESSAGE,
    FLOOD_MESSAGE,
    Admission,
    Candidate,
    ContentScores,
    Refused,
    Verdict,
    duplicate_fingerprint,
)
from service.errors import CommentNotFound, InvalidField
from service.json_encoding import encode_json
from service.keys import article_bucket
from service.models import Comment, PrivateData, Status, anchor_for_reply
from service.observability import SUBMISSIONS
from service.offensive import OffensiveLanguage
from service.pipelined_scripts import ScriptCall
from service.privacy import Privacy
from service.spam_learning import SpamFilter
from service.store import Locator, Outcome, Store, Thread
from service.text import render_body

PUBLIC_FIELDS = (
    "id",
    "article_id",
    "parent_id",
    "name",
    "website",
    "body",
    "body_html",
    "created_at",
    "avatar",
)
AWAITING_MODERATION = "Your comment is awaiting moderation."
PUBLISHED = "Your comment is published."
# A client the submission rules refused is remembered this long (by this process, up to this
# many clients), so its next submissions read the spam filter only once the rules pass.
REFUSED_MEMORY_SECONDS = 60.0
REFUSED_MEMORY_SIZE = 10_000


class RecentlyRefused:
    """Clients (by their keyed hash) the submission rules refused lately, in this process: each
    for `seconds`, the newest `size` of them."""

    def __init__(self, seconds: float, size: int) -> None:
        self.seconds = seconds
        self.size = size
        self._until: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def note(self, client: str) -> None:
        """Remember a refused client."""
        with self._lock:
            self._until[client] = time.monotonic() + self.seconds
            self._until.move_to_end(client)
            while len(self._until) > self.size:
                self._until.popitem(last=False)

    def holds(self, client: str) -> bool:
        """Tell whether a client was refused within the last `seconds`."""
        with self._lock:
            until = self._until.get(client)
            if until is None:
                return False
            if until > time.monotonic():
                return True
            del self._until[client]
            return False


@dataclass(frozen=True)
class RenderedPage:
    """A page of published comments, serialized, with its entity tag."""

    etag: str
    body: bytes


@dataclass(frozen=True)
class Submission:
    """A validated reply and what the request tells about its sender."""

    name: str
    email: str
    website: str | None
    body: str
    parent_id: str | None
    ip: str
    user_agent: str
    honeypot: str | None = None

    @classmethod
    def from_fields(cls, fields: dict[str, Any], ip: str, user_agent: str) -> Submission:
        """Build a submission from the fields of a validated reply form.

        The address is kept in its one canonical spelling (see service/addresses.py).
        """
        return cls(
            name=fields["name"],
            email=fields["email"],
            website=fields["website"],
            body=fields["body"],
            parent_id=fields["parent_id"],
            ip=normalize_address(ip) or ip,
            user_agent=user_agent,
            honeypot=fields.get("subject"),
        )


def new_comment_id(now_ms: int, article_id: str) -> str:
    """Make a comment id that sorts by arrival and names its article's bucket: 12 hex digits of
    milliseconds, 2 of the bucket, 10 random."""
    return f"{now_ms:012x}{article_bucket(article_id):02x}{secrets.token_hex(5)}"


def rfc3339(moment: datetime) -> str:
    """Format a UTC moment as RFC 3339 with a Z."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def record_view(fields: dict[str, str]) -> dict[str, Any]:
    """Shape a stored record's public fields, whatever its state."""
    view: dict[str, Any] = {name: fields.get(name) for name in PUBLIC_FIELDS}
    if fields.get("staff") == "1":
        view["staff"] = True
    return view


def public_view(fields: dict[str, str]) -> dict[str, Any]:
    """Shape a stored record for readers; a removed comment keeps only its place."""
    view = record_view(fields)
    if fields.get("status") != Status.APPROVED:
        view.update(dict.fromkeys(("name", "website", "body", "body_html", "avatar")))
        view["removed"] = True
    return view


class CommentService:
    """What readers do: submit replies and read published ones."""

    def __init__(
        self,
        store: Store,
        privacy: Privacy,
        admission: Admission,
        page_cache_size: int = 2048,
        spam_filter: SpamFilter | None = None,
        offensive: OffensiveLanguage | None = None,
    ) -> None:
        self.store = store
        self.privacy = privacy
        self.admission = admission
        self.spam_filter = spam_filter
        self.offensive = offensive
        self._refused = RecentlyRefused(REFUSED_MEMORY_SECONDS, REFUSED_MEMORY_SIZE)
        self._cached_page = functools.lru_cache(maxsize=page_cache_size)(
            self._render_page_of_version
        )

    def submit(self, article_id: str, submission: Submission) -> dict[str, Any]:
        """Run the submission rules, store the reply in the state they give, answer its view."""
        now = datetime.now(UTC)
        created_ms = int(now.timestamp() * 1000)
        comment_id = new_comment_id(created_ms, article_id)
        root_id, anchor_id, depth = self._place(article_id, comment_id, submission.parent_id)

        candidate, fingerprint = self._candidate(article_id, submission)
        try:
            verdict = self._judge(candidate, fingerprint, dry_run=False)
        except Refused as refusal:
            SUBMISSIONS.labels(f"refused_{refusal.rule}").inc()
            raise
        comment = Comment(
            comment_id=comment_id,
            article_id=article_id,
            parent_id=submission.parent_id,
            root_id=root_id,
            anchor_id=anchor_id,
            depth=depth,
            name=submission.name,
            website=submission.website,
            body=submission.body,
            body_html=render_body(submission.body),
            created_at=rfc3339(now),
            created_ms=created_ms,
            avatar=self.privacy.avatar_seed(submission.email),
            status=verdict.status,
            reasons=tuple(verdict.reasons),
            email_hash=candidate.email_hash,
            fingerprint=fingerprint,
        )
        sealed = self.privacy.encrypt(
            PrivateData(submission.email, submission.ip, submission.user_agent)
        )
        outcome = self.store.add(
            comment,
            sealed,
            Locator.of(comment),
            self.store.flood_marks(
                candidate.ip_hash,
                candidate.email_hash,
                self.admission.flood_interval_ms(submission.ip),
            ),
            pending_mark=self.store.pending_mark(
                candidate.ip_hash, self.admission.settings.purge_after_days + 1
            ),
        )
        try:
            self._raise_for(outcome)
        except Refused as refusal:
            SUBMISSIONS.labels(f"refused_{refusal.rule}").inc()
            self._refused.note(candidate.ip_hash)
            raise
        SUBMISSIONS.labels(str(verdict.status)).inc()
        published = verdict.status is Status.APPROVED
        # Spam is answered exactly as a held comment: nothing tells a spammer it was caught.
        shown_status = Status.APPROVED if published else Status.PENDING
        view = record_view(comment.to_fields()) | {"status": shown_status}
        return {
            "comment": view,
            "message": PUBLISHED if published else AWAITING_MODERATION,
            "published": published,
        }

    def staff_reply(
        self, article_id: str, moderator: str, body: str, parent_id: str | None
    ) -> dict[str, Any]:
        """Publish a moderator's comment at once, in the site's name, marked as staff."""
        now = datetime.now(UTC)
        created_ms = int(now.timestamp() * 1000)
        comment_id = new_comment_id(created_ms, article_id)
        root_id, anchor_id, depth = self._place(article_id, comment_id, parent_id)
        # Staff have no email: a pseudonym keyed per moderator stands in for its hashes.
        pseudonym = f"{moderator}@staff.invalid"
        email_hash = self.privacy.email_hash(pseudonym)
        comment = Comment(
            comment_id=comment_id,
            article_id=article_id,
            parent_id=parent_id,
            root_id=root_id,
            anchor_id=anchor_id,
            depth=depth,
            name=moderator,
            website=None,
            body=body,
            body_html=render_body(body),
            created_at=rfc3339(now),
            created_ms=created_ms,
            avatar=self.privacy.avatar_seed(pseudonym),
            status=Status.APPROVED,
            decided_by=moderator,
            decided_at=rfc3339(now),
            reasons=("staff reply",),
            staff=True,
            email_hash=email_hash,
            fingerprint=duplicate_fingerprint(article_id, parent_id, email_hash, body),
        )
        outcome = self.store.add(
            comment, self.privacy.encrypt(PrivateData("", "", "")), Locator.of(comment), flood=None
        )
        self._raise_for(outcome)
        self.store.audit(
            {
                "action": "staff_reply",
                "moderator": moderator,
                "comment_id": comment_id,
                "article_id": article_id,
                "after": str(Status.APPROVED),
            }
        )
        return record_view(comment.to_fields()) | {"status": Status.APPROVED}

    def check(self, article_id: str, submission: Submission) -> dict[str, Any]:
        """Say what the rules would do with a submission, and why, without storing or counting."""
        candidate, fingerprint = self._candidate(article_id, submission)
        try:
            verdict = self._judge(candidate, fingerprint, dry_run=True)
        except Refused as refusal:
            return {
                "outcome": "refused",
                "code": int(refusal.code),
                "message": refusal.message,
                "reasons": [refusal.rule],
                "retry_after": refusal.retry_after,
                "spam_score": None,
                "offensive_score": None,
            }
        published = verdict.status is Status.APPROVED
        return {
            "outcome": str(verdict.status),
            "code": 201 if published else 202,
            "message": PUBLISHED if published else AWAITING_MODERATION,
            "reasons": verdict.reasons,
            "retry_after": None,
            "spam_score": verdict.spam_score,
            "offensive_score": verdict.offensive_score,
        }

    def _candidate(self, article_id: str, submission: Submission) -> tuple[Candidate, str]:
        """Give what the rules look at, and the submission's duplicate fingerprint."""
        email_hash = self.privacy.email_hash(submission.email)
        candidate = Candidate(
            article_id=article_id,
            name=submission.name,
            email=submission.email,
            email_hash=email_hash,
            website=submission.website,
            body=submission.body,
            parent_id=submission.parent_id,
            honeypot=submission.honeypot,
            ip=submission.ip,
            ip_hash=self.client_hash(submission.ip),
        )
        fingerprint = duplicate_fingerprint(
            article_id, submission.parent_id, email_hash, submission.body
        )
        return candidate, fingerprint

    def client_hash(self, ip: str) -> str:
        """Give the keyed hash naming a client in flood marks and limits: its IPv4 address,
        or its IPv6 network of `ipv6_prefix_length` bits."""
        prefix = self.admission.settings.ipv6_prefix_length
        return self.privacy.client_hash(client_key(ip, prefix))

    def _judge(self, candidate: Candidate, fingerprint: str, *, dry_run: bool) -> Verdict:
        # The spam filter's read travels with the rules' facts (one round trip for both), unless
        # the rules refused this client lately: then it goes only once they let it through, so a
        # flood of refused submissions does not have Redis score each one.
        spam_read = None
        if self.spam_filter is not None and not self._refused.holds(candidate.ip_hash):
            spam_read = self._spam_read(self.spam_filter, candidate)
        facts, spam_answer = self.store.admission_facts(
            candidate.article_id, candidate.email_hash, candidate.ip_hash, fingerprint, spam_read
        )
        if self.admission.network_share_reached(facts.network_pending):
            # The set may still hold comments decided since: count only those still waiting.
            live = self.store.pending_from(candidate.ip_hash)
            facts = dataclasses.replace(facts, network_pending=live)
        try:
            return self.admission.judge(
                candidate,
                facts,
                dry_run=dry_run,
                scores=lambda: self._scores(candidate, spam_read, spam_answer),
            )
        except Refused:
            if not dry_run:
                self._refused.note(candidate.ip_hash)
            raise

    @staticmethod
    def _spam_read(spam_filter: SpamFilter, candidate: Candidate) -> ScriptCall:
        return spam_filter.score_read(
            candidate.name, candidate.body, candidate.website, candidate.email
        )

    def _scores(
        self, candidate: Candidate, spam_read: ScriptCall | None, spam_answer: Any
    ) -> ContentScores:
        """Score a submission with the learning spam filter (from what its read answered, or
        read now when it did not travel with the facts: built then if it was not before) and
        the offensive-language model."""
        spam = offensive = None
        if self.spam_filter is not None:
            if spam_answer is None:
                spam_answer = (spam_read or self._spam_read(self.spam_filter, candidate)).run()
            spam = self.spam_filter.score_of(spam_answer)
        if self.offensive is not None:
            offensive = self.offensive.score(f"{candidate.name}\n{candidate.body}")
        return ContentScores(spam, offensive)

    def _raise_for(self, outcome: Outcome) -> None:
        """Raise what the store script refused: races the first checks could not see."""
        if outcome.verdict == "no_parent":
            # The parent was removed between the check above and the write.
            raise InvalidField("parent_id", "No such published comment to reply to.")
        if outcome.verdict == "flood":
            wait = max(1, -(-int(outcome.detail or 0) // 1000))
            raise Refused(HTTPStatus.TOO_MANY_REQUESTS, FLOOD_MESSAGE, "flood", wait)
        if outcome.verdict == "duplicate":
            raise Refused(HTTPStatus.CONFLICT, DUPLICATE_MESSAGE, "duplicate")

    def _place(
        self, article_id: str, comment_id: str, parent_id: str | None
    ) -> tuple[str, str | None, int]:
        """Place a new comment in its thread: (root id, anchor id, depth)."""
        if not parent_id:
            return comment_id, None, 1
        parent = self._published_parent(article_id, parent_id)
        return parent.root_id, anchor_for_reply(parent), parent.depth + 1

    def _published_parent(self, article_id: str, parent_id: str) -> Comment:
        fields = self.store.comment_fields(article_id, parent_id)
        if fields.get("status") != Status.APPROVED:
            raise InvalidField("parent_id", "No such published comment to reply to.")
        return Comment.from_fields(fields)

    def published(self, article_id: str, page: int, per_page: int, sort: str) -> RenderedPage:
        """Give one page of an article's published comments as the JSON readers get.

        Pages are cached in this process per list version, which every decision touching the
        article's public list changes, so a busy article costs one Redis read per request.
        """
        version = self.store.list_version(article_id)
        if version is None:
            # Nothing was ever decided here: the list is empty and cheap to build.
            return self._render_page(article_id, page, per_page, sort)
        return self._cached_page(article_id, version, page, per_page, sort)

    def _render_page_of_version(
        self, article_id: str, version: str, page: int, per_page: int, sort: str
    ) -> RenderedPage:
        rendered = self._render_page(article_id, page, per_page, sort)
        tag = hashlib.blake2b(
            f"{article_id}|{version}|{page}|{per_page}|{sort}".encode(), digest_size=12
        ).hexdigest()
        return RenderedPage(etag=tag, body=rendered.body)

    def _render_page(self, article_id: str, page: int, per_page: int, sort: str) -> RenderedPage:
        count, threads, page_threads = self.store.published_page(
            article_id, (page - 1) * per_page, per_page, newest_first=(sort == "newest")
        )
        comments = [tree for tree in map(_thread_tree, page_threads) if tree is not None]
        document = {
            "article_id": article_id,
            "count": count,
            "page": page,
            "per_page": per_page,
            "pages": math.ceil(threads / per_page),
            "comments": comments,
        }
        body = encode_json(document)
        return RenderedPage(etag=hashlib.blake2b(body, digest_size=12).hexdigest(), body=body)

    def published_comment(self, article_id: str, comment_id: str) -> dict[str, Any]:
        """Read one published comment of an article."""
        fields = self.store.comment_fields(article_id, comment_id)
        if fields.get("status") != Status.APPROVED:
            raise CommentNotFound()
        return public_view(fields)

    def counts(self, article_ids: list[str]) -> dict[str, int]:
        """Count the published comments of each article."""
        unique = list(dict.fromkeys(article_ids))
        return dict(zip(unique, self.store.published_counts(unique), strict=True))


def _thread_tree(thread: Thread) -> dict[str, Any] | None:
    """Nest a thread's replies under their anchors; drop removed comments nobody replies under."""
    if not thread.root:
        return None
    root = public_view(thread.root) | {"replies": []}
    nodes = {fields["id"]: public_view(fields) | {"replies": []} for fields in thread.replies}
    nodes[root["id"]] = root
    for fields in thread.replies:
        anchor = nodes.get(fields.get("anchor_id") or root["id"], root)
        anchor["replies"].append(nodes[fields["id"]])
    return root if _prune(root) else None


def _prune(node: dict[str, Any]) -> bool:
    """Drop removed comments with no published reply below them; tell whether `node` stays."""
    node["replies"] = [child for child in node["replies"] if _prune(child)]
    return not node.get("removed") or bool(node["replies"])
