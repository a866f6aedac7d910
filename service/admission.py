"""The rules every submission passes, in one fixed order, before it is stored.

1. Closed articles: refused (403).
2. Block list (emails, email domains, IP networks): refused (403) or stored as spam.
3. Flood: a second comment from the same IP or email within `flood_interval` (429).
4. Rate limits per client IP (429).
5. Duplicates: same article, parent, email and text as a comment not deleted (409).
6. Idempotency-Key replays are answered before all of these, in the HTTP layer.
7. Honeypot field filled: stored as spam (the usual 202).
8. Disallowed words in name, email, website or text: stored as spam.
9. Moderation words, or `max_links` links or more: held for review with the reason.
9a. The learning spam filter (service/spam_learning.py): a score at or above `spam_threshold`
    files the comment as spam, at or above `hold_threshold` holds it ("spam filter: 0.87").
9b. Offensive language (service/offensive.py): a score above `offensive_threshold`: held.
10. Trusted commenters (`trusted_after_approved` approved comments): published at once.
11. Moderation mode: `all` holds everything, `trusted` applies rule 10, `off` publishes.
12. Queue cap: with `max_pending` comments waiting, new comments that would wait are refused (503);
    so are those from a network (IPv4 address, IPv6 /64) with `max_pending_per_network` waiting.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus

from service.addresses import in_any, normalize_network
from service.errors import ServiceError
from service.models import Status
from service.rate_limits import RateLimits
from service.settings import Settings
from service.store import AdmissionFacts
from service.text import count_links
from service.wordlists import WordList

DAY_MS = 86_400_000
# Bytes of a SHA-256 kept as a duplicate fingerprint: collisions within one article never come.
FINGERPRINT_BYTES = 12
CLOSED_MESSAGE = "Comments are closed for this article."
BLOCKED_MESSAGE = "You cannot comment on this site."
FLOOD_MESSAGE = "You are posting comments too quickly. Slow down."
RATE_MESSAGE = "You have posted too many comments. Please wait before posting again."
DUPLICATE_MESSAGE = "Duplicate comment detected; it looks as though you’ve already said that!"
QUEUE_FULL_MESSAGE = "The moderation queue is full. Please try again later."


class Refused(ServiceError):
    """A rule refuses the submission; the reader is told why, and when to retry."""

    def __init__(
        self, code: HTTPStatus, message: str, rule: str, retry_after: int | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.rule = rule
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}


@dataclass(frozen=True)
class Candidate:
    """What the rules look at in a submission."""

    article_id: str
    name: str
    email: str
    email_hash: str
    website: str | None
    body: str
    parent_id: str | None
    honeypot: str | None
    ip: str
    ip_hash: str


@dataclass(frozen=True)
class ContentScores:
    """What the learning spam filter and the offensive-language model make of a submission
    (None: no score, the filter abstains or the rule is off)."""

    spam: float | None = None
    offensive: float | None = None


@dataclass
class Verdict:
    """Where the rules put a comment, and every reason a rule gave."""

    status: Status
    reasons: list[str] = field(default_factory=list)
    spam_score: float | None = None
    offensive_score: float | None = None


def shown_score(score: float) -> str:
    """Give a score as moderators read it, two decimals, never rounded up past a threshold."""
    return f"{math.floor(score * 100) / 100:.2f}"


def duplicate_fingerprint(
    article_id: str, parent_id: str | None, email_hash: str, body: str
) -> str:
    """Fingerprint a comment's article, parent, author and text, whitespace and case aside
    (96 bits of a SHA-256, in 16 characters of URL-safe base64)."""
    text = " ".join(body.casefold().split())
    material = "\x1f".join([article_id, parent_id or "", email_hash, text])
    return _base64(hashlib.sha256(material.encode()).digest()[:FINGERPRINT_BYTES])


def fingerprint_of_hex(old: str) -> str:
    """Give a fingerprint kept in hex before (128 or 256 bits) in today's form, cut to 96 bits
    (data moved from then: `news-comments migrate-keys`, files exported then)."""
    return _base64(bytes.fromhex(old)[:FINGERPRINT_BYTES])


def _base64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _is_loopback(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False


class Admission:
    """Apply the submission rules against the settings and what the store knows."""

    def __init__(self, settings: Settings, rate_limits: RateLimits) -> None:
        self.settings = settings
        self.rate_limits = rate_limits
        self.disallowed = WordList(settings.disallowed_words)
        self.held_words = WordList(settings.moderation_words)
        self.trusted_proxies = [normalize_network(network) for network in settings.trusted_proxies]

    def flood_interval_ms(self, ip: str) -> int:
        """Give the flood interval for a client: none for this machine with
        `flood_exempts_loopback` (development, where one person tries the API and the page)."""
        if self.settings.flood_exempts_loopback and _is_loopback(ip):
            return 0
        return self.settings.flood_interval * 1000

    def judge(
        self,
        candidate: Candidate,
        facts: AdmissionFacts,
        *,
        dry_run: bool,
        scores: Callable[[], ContentScores] | None = None,
    ) -> Verdict:
        """Run the rules in order; raise Refused, or give the comment's state and reasons.
        `scores` is called only for a submission the rules before it let through."""
        verdict = Verdict(Status.PENDING)
        self._closed(facts)
        self._blocked(candidate, facts, verdict)
        if self.flood_interval_ms(candidate.ip) > 0 and facts.flood_wait_ms > 0:
            raise Refused(
                HTTPStatus.TOO_MANY_REQUESTS,
                FLOOD_MESSAGE,
                "flood",
                retry_after=max(1, -(-facts.flood_wait_ms // 1000)),
            )
        wait = self.rate_limits.hit(candidate.ip_hash, count=not dry_run)
        if wait is not None:
            raise Refused(HTTPStatus.TOO_MANY_REQUESTS, RATE_MESSAGE, "rate_limit", wait)
        if facts.duplicate_of is not None:
            raise Refused(HTTPStatus.CONFLICT, DUPLICATE_MESSAGE, "duplicate")
        if verdict.status is not Status.SPAM:
            self._content(candidate, verdict)
        if verdict.status is not Status.SPAM and scores is not None:
            self._scored(scores(), verdict)
        if verdict.status is not Status.SPAM:
            self._publication(facts, verdict)
        if verdict.status is Status.PENDING and facts.pending >= self.settings.max_pending:
            raise self.queue_full()
        if verdict.status is Status.PENDING and self.network_share_reached(facts.network_pending):
            # The same answer as a full queue: nothing tells one network it is singled out.
            raise self.queue_full("network_queue_full")
        return verdict

    def network_share_reached(self, network_pending: int) -> bool:
        """Tell whether a network has its share of the queue waiting."""
        share = self.settings.max_pending_per_network
        return share > 0 and network_pending >= share

    def queue_full(self, rule: str = "queue_full") -> Refused:
        """Give the refusal for a full moderation queue (or a network's full share of it)."""
        return Refused(
            HTTPStatus.SERVICE_UNAVAILABLE,
            QUEUE_FULL_MESSAGE,
            rule,
            retry_after=self.settings.retry_after_seconds * 12,
        )

    def _closed(self, facts: AdmissionFacts) -> None:
        closed = facts.article.get("closed")
        if closed == "1":
            raise Refused(HTTPStatus.FORBIDDEN, CLOSED_MESSAGE, "closed")
        first_ms = int(facts.article.get("first_comment_ms", 0))
        days = self.settings.close_after_days
        if closed is None and days > 0 and first_ms:
            if time.time() * 1000 >= first_ms + days * DAY_MS:
                raise Refused(HTTPStatus.FORBIDDEN, CLOSED_MESSAGE, "closed")

    def _blocked(self, candidate: Candidate, facts: AdmissionFacts, verdict: Verdict) -> None:
        reason = None
        domain = candidate.email.rpartition("@")[2].casefold()
        if facts.email_blocked:
            reason = "blocked email"
        elif any(domain == d or domain.endswith(f".{d}") for d in facts.blocked_domains):
            reason = "blocked email domain"
        elif self._ip_in(candidate.ip, facts.blocked_networks):
            reason = "blocked network"
        if reason is None:
            return
        if self.settings.blocked_action == "refuse":
            raise Refused(HTTPStatus.FORBIDDEN, BLOCKED_MESSAGE, "blocked")
        verdict.status = Status.SPAM
        verdict.reasons.append(reason)

    @staticmethod
    def _ip_in(ip: str, networks: frozenset[str]) -> bool:
        """Tell whether an address, in any spelling, lies in one of the blocked networks."""
        parsed = []
        for network in networks:
            try:
                parsed.append(normalize_network(network))
            except ValueError:
                continue
        return in_any(ip, parsed)

    def _content(self, candidate: Candidate, verdict: Verdict) -> None:
        if candidate.honeypot:
            verdict.status = Status.SPAM
            verdict.reasons.append("honeypot field filled")
            return
        # Each field is cut into words once; the lists are then matched word by word.
        fields = {
            name: WordList.words_of(value)
            for name, value in (
                ("name", candidate.name),
                ("email", candidate.email),
                ("website", candidate.website or ""),
                ("text", candidate.body),
            )
        }
        for entry in self.disallowed.entries:
            for field_name, words in fields.items():
                if entry.found_in(words):
                    verdict.status = Status.SPAM
                    where = "the email" if field_name == "email" else f"{field_name} ({entry.text})"
                    verdict.reasons.append(f"disallowed word in {where}")
                    return
        for entry in self.held_words.entries:
            if any(entry.found_in(words) for words in fields.values()):
                verdict.reasons.append(f"moderation word ({entry.text})")
        links = count_links(candidate.body)
        if self.settings.max_links and links >= self.settings.max_links:
            verdict.reasons.append(f"{links} links (holding at {self.settings.max_links})")

    def _scored(self, scores: ContentScores, verdict: Verdict) -> None:
        """Apply the learning spam filter's score, then the offensive-language score."""
        verdict.spam_score = scores.spam
        verdict.offensive_score = scores.offensive
        if scores.spam is not None and scores.spam >= self.settings.hold_threshold:
            verdict.reasons.append(f"spam filter: {shown_score(scores.spam)}")
            if scores.spam >= self.settings.spam_threshold:
                verdict.status = Status.SPAM
                return
        threshold = self.settings.offensive_threshold
        if threshold > 0 and scores.offensive is not None and scores.offensive > threshold:
            verdict.reasons.append(f"offensive language: {shown_score(scores.offensive)}")

    def _publication(self, facts: AdmissionFacts, verdict: Verdict) -> None:
        mode = facts.article.get("moderation_mode") or self.settings.moderation_mode
        if verdict.reasons:
            verdict.status = Status.PENDING
        elif mode == "off":
            verdict.status = Status.APPROVED
            verdict.reasons.append("moderation off")
        elif mode == "trusted" and facts.approved_by_author >= self.settings.trusted_after_approved:
            verdict.status = Status.APPROVED
            verdict.reasons.append(
                f"trusted commenter ({facts.approved_by_author} approved before)"
            )
