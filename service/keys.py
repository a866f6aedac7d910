"""Every Redis key name the service uses, built here and nowhere else.

Keys that belong to one article carry the article id as a hash tag (`{article_id}`), so that one
article's keys share a Redis Cluster slot. The cross-article indexes (the global moderation queues,
the comment locator and the email index) live under the `{global}` tag. No key name ever holds
an email address: the email index is keyed by a keyed hash (HMAC) of it.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.models import Status


@dataclass(frozen=True)
class Keys:
    """Build key names under one configurable prefix."""

    prefix: str

    # --- one article ----------------------------------------------------------------------
    def comment(self, article_id: str, comment_id: str) -> str:
        """Hash holding a comment's public record and moderation state."""
        return f"{self.prefix}:{{{article_id}}}:comment:{comment_id}"

    def private(self, article_id: str, comment_id: str) -> str:
        """String holding a comment's encrypted email, IP and user agent."""
        return f"{self.prefix}:{{{article_id}}}:private:{comment_id}"

    def article_status(self, article_id: str, status: Status) -> str:
        """Sorted set of the article's comment ids in one state (score 0, ordered by id)."""
        return f"{self.prefix}:{{{article_id}}}:status:{status}"

    def article_statuses(self, article_id: str) -> list[str]:
        """The article's state indexes, in `Status.indexed()` order."""
        return [self.article_status(article_id, status) for status in Status.indexed()]

    def revisions(self, article_id: str, comment_id: str) -> str:
        """List of a comment's texts, original first, once a moderator has edited it."""
        return f"{self.prefix}:{{{article_id}}}:revisions:{comment_id}"

    def roots(self, article_id: str) -> str:
        """Sorted set of top-level comments shown in the public list, scored by creation time."""
        return f"{self.prefix}:{{{article_id}}}:roots"

    def thread(self, article_id: str, root_id: str) -> str:
        """Sorted set of the replies under one top-level comment, scored by creation time."""
        return f"{self.prefix}:{{{article_id}}}:thread:{root_id}"

    def live(self, article_id: str) -> str:
        """Hash of top-level comment id to the number of published comments in its thread."""
        return f"{self.prefix}:{{{article_id}}}:live"

    def version(self, article_id: str) -> str:
        """String naming the current version of the article's public list; changes with it."""
        return f"{self.prefix}:{{{article_id}}}:version"

    def duplicate(self, article_id: str, fingerprint: str) -> str:
        """String naming the comment with this fingerprint (parent, email hash and text)."""
        return f"{self.prefix}:{{{article_id}}}:duplicate:{fingerprint}"

    def article(self, article_id: str) -> str:
        """Hash of the article's settings: closed, moderation mode, first comment time."""
        return f"{self.prefix}:{{{article_id}}}:article"

    # --- across articles --------------------------------------------------------------------
    def queue(self, status: Status) -> str:
        """Sorted set of every comment id in one state (score 0, ordered by id = arrival)."""
        return f"{self.prefix}:{{global}}:status:{status}"

    def queues(self) -> list[str]:
        """The global state indexes, in `Status.indexed()` order."""
        return [self.queue(status) for status in Status.indexed()]

    def published_counts(self) -> str:
        """Hash of article id to its number of published comments (kept by the Lua steps)."""
        return f"{self.prefix}:{{global}}:published-counts"

    def approved_by_email(self) -> str:
        """Hash of email hash to that email's number of approved comments."""
        return f"{self.prefix}:{{global}}:approved-by-email"

    def flood(self, kind: str, client_hash: str) -> str:
        """String marking that a client (by IP or email hash) has just posted."""
        return f"{self.prefix}:{{global}}:flood:{kind}:{client_hash}"

    def blocks(self, kind: str) -> str:
        """Set of blocked emails (as hashes), email domains or IP networks."""
        return f"{self.prefix}:{{global}}:blocks:{kind}"

    def moderators(self) -> str:
        """Hash of a moderator token's SHA-256 to the moderator it belongs to."""
        return f"{self.prefix}:{{global}}:moderators"

    def articles(self) -> str:
        """Sorted set of every article with comments, scored by its first comment's time."""
        return f"{self.prefix}:{{global}}:articles"

    def events(self) -> str:
        """Stream of comment events for webhooks (ids and states only, never personal data)."""
        return f"{self.prefix}:{{global}}:events"

    def audit(self) -> str:
        """Stream of every moderation action, oldest first (it never holds an email)."""
        return f"{self.prefix}:{{global}}:audit"

    def idempotency(self, key_hash: str) -> str:
        """String holding the first answer given for an Idempotency-Key."""
        return f"{self.prefix}:{{global}}:idempotency:{key_hash}"

    def rate_limits(self) -> str:
        """Prefix of the rate limiter's own keys."""
        return f"{self.prefix}:{{global}}:limits"

    def locator(self) -> str:
        """Hash of comment id to its routing record (article, thread, parent, email hash)."""
        return f"{self.prefix}:{{global}}:locator"

    def email_index(self, email_hash: str) -> str:
        """Sorted set of the comment ids written with one email, named by the email's HMAC."""
        return f"{self.prefix}:{{global}}:email:{email_hash}"

    # --- webhook delivery (service/webhooks.py) -----------------------------------------------
    def webhook_log(self) -> str:
        """Capped stream of delivery attempts: ids, URL, result, duration (no personal data)."""
        return f"{self.prefix}:{{global}}:webhooks:log"

    def webhook_retries(self) -> str:
        """Sorted set of delivery ids awaiting another attempt, scored by when it is due (ms)."""
        return f"{self.prefix}:{{global}}:webhooks:retries"

    def webhook_retry_records(self) -> str:
        """Hash of a scheduled delivery's id to its record: event, URL, attempts made."""
        return f"{self.prefix}:{{global}}:webhooks:retry-records"

    def webhook_dead_letters(self) -> str:
        """List of deliveries that failed every attempt, newest first."""
        return f"{self.prefix}:{{global}}:webhooks:dead-letters"

    def webhook_finished(self, delivery_id: str) -> str:
        """String marking a delivery finished (delivered or dead-lettered), for a while."""
        return f"{self.prefix}:{{global}}:webhooks:finished:{delivery_id}"

    def sign_in_failures(self) -> str:
        """Prefix of the rate limiter's keys counting wrong moderator tokens per client."""
        return f"{self.prefix}:{{global}}:sign-in-failures"
