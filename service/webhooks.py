"""Signed webhook delivery of comment events, losing nothing while a receiver is down.

The Lua steps append comment events (ids and states only) to the stream `Keys.events()`. A
`WebhookWorker` reads it through the consumer group `webhooks`, so any number of workers share
the events, and POSTs each event to every URL of `webhook_urls`, signed with `webhook_secret`.
An event is acknowledged once every URL has it or the retry schedule owns its delivery there;
an event a worker took and did not acknowledge within `webhook_visibility_timeout_seconds` (the
worker died) is taken over by the next worker to look. Failed deliveries wait in a Redis sorted
set with exponential backoff, then go to a dead-letter list. A delivery is marked finished after
its success, so a redelivered event does not POST it again; a worker killed between a receiver's
2xx and that mark repeats the POST, with the same `X-Comments-Delivery` (at least once).

An `article.changed` event (an article's public list changed) also goes, when `cdn_purge_url`
is set, to that URL with the article's id filled in (`cdn_purge_method`, unsigned, with the
`cdn_purge_header` token), so a CDN drops its copies at once; it is retried like a webhook.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import http.client
import json
import logging
import os
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from typing import Any

from service.comments import public_view, rfc3339
from service.event_stream import Event
from service.settings import Settings
from service.store import Store, StoreUnavailable
from service.webhook_store import Attempt, Retry, WebhookStore

log = logging.getLogger(__name__)

# Retries wait webhook_backoff_seconds, doubling after each failure, up to this.
BACKOFF_CAP_SECONDS = 3600.0
# Longest wait for new events before looking at retries and stale events again.
POLL_SECONDS = 1.0
# How long to wait before trying again when Redis does not answer.
REDIS_PAUSE_SECONDS = 1.0
# Consumers holding no events and idle this long are removed from the group (workers gone).
IDLE_CONSUMER_MS = 24 * 3600 * 1000
# How much of a receiver's answer is read (and ignored).
MAX_ANSWER_BYTES = 65536
USER_AGENT = "news-comments-webhooks/1"
# The event telling that an article's public list changed (a purge for the CDN).
ARTICLE_CHANGED = "article.changed"


def delivery_id(stream: str, event_id: str, url: str, purge: bool = False) -> str:
    """Name one event's delivery to one URL: unique, and the same on every attempt."""
    target = f"purge {url}" if purge else url
    return hashlib.sha256(f"{stream}\n{event_id}\n{target}".encode()).hexdigest()[:32]


def purge_target(template: str, article_id: str, in_url: bool = True) -> str:
    """Fill an article's id into a purge URL template (URL-escaped) or body template (as is:
    an article id holds only letters, digits and `-_.~:`)."""
    filled = urllib.parse.quote(article_id, safe="") if in_url else article_id
    return template.replace("{article_id}", filled)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """Give X-Comments-Signature: `sha256=` and the hex HMAC-SHA256 of `{timestamp}.{body}`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def backoff_seconds(base: float, attempts: int) -> float:
    """How long to wait after `attempts` failed attempts: base, 2 x base, 4 x base, ... capped."""
    return float(min(BACKOFF_CAP_SECONDS, base * 2 ** (attempts - 1)))


def event_time(event_id: str) -> str:
    """The RFC 3339 time of a stream entry, from its id (milliseconds-sequence)."""
    milliseconds = int(event_id.partition("-")[0])
    return rfc3339(datetime.fromtimestamp(milliseconds / 1000, UTC))


@dataclasses.dataclass(frozen=True)
class Answer:
    """What one POST got: an HTTP status, or an error without one, and how long it took."""

    status: int | None
    error: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        """Tell whether the receiver took the event (any 2xx)."""
        return self.status is not None and 200 <= self.status < 300


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Treat a redirect as a failed delivery: a signed POST is never re-sent elsewhere."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def send(
    url: str, body: bytes | None, headers: dict[str, str], timeout: float, method: str = "POST"
) -> Answer:
    """Send a request (a POST, or a purge); never raise for what the receiver or the network
    does."""
    started = time.monotonic()
    status: int | None = None
    error = ""
    request = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        with _OPENER.open(request, timeout=timeout) as answer:
            answer.read(MAX_ANSWER_BYTES)
            status = int(answer.status)
    except urllib.error.HTTPError as refusal:
        status, error = refusal.code, f"HTTP {refusal.code}"
        refusal.close()
    except (OSError, http.client.HTTPException, ValueError) as failure:
        error = _describe(failure)
    return Answer(status, error, int((time.monotonic() - started) * 1000))


def _describe(failure: Exception) -> str:
    """A short reason for a failed POST: no body, no header, nothing the receiver sent."""
    reason: object = failure.reason if isinstance(failure, urllib.error.URLError) else failure
    if isinstance(reason, TimeoutError | socket.timeout):
        return "timeout"
    if isinstance(reason, str):
        return reason[:100]
    return type(reason).__name__


class WebhookWorker:
    """Deliver comment events to the webhook URLs, with retries, dead letters and a log."""

    def __init__(self, store: Store, settings: Settings, consumer: str | None = None) -> None:
        self.store = store
        self.settings = settings
        self.webhooks = WebhookStore(store)
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}"
        self._stop = threading.Event()
        self._cursor = "0-0"

    # --- running --------------------------------------------------------------------------
    def stop(self) -> None:
        """Ask the worker to stop after the delivery under way (safe from a signal handler)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        """Tell whether `stop` was called."""
        return self._stop.is_set()

    def start(self) -> int:
        """Create the group, forget long-gone consumers, then finish the events this consumer
        took before and did not acknowledge (a restart under the same name); answer how many."""
        self.webhooks.ensure_group()
        self.webhooks.forget_idle_consumers(IDLE_CONSUMER_MS)
        handled = 0
        while not self.stopping:
            events = self.webhooks.read(self.consumer, 1, None, own=True)
            if not events:
                break
            handled += self._handle(events)
        return handled

    def run(self) -> None:
        """Deliver until `stop`; ride out Redis outages."""
        started = False
        while not self.stopping:
            try:
                if not started:
                    self.start()
                    started = True
                self.step(block=True)
            except StoreUnavailable as error:
                log.warning("webhooks: Redis unavailable (%s); trying again", error)
                started = False
                self._stop.wait(REDIS_PAUSE_SECONDS)

    def drain(self) -> int:
        """Deliver what is due now, then return: how many events and retries were handled."""
        handled = self.start()
        while not self.stopping:
            done = self.step(block=False)
            handled += done
            if not done:
                break
        return handled

    def step(self, block: bool = False) -> int:
        """Take over one stale event, try one due retry, and deliver one new event (waiting for
        it a little when `block` and nothing else was done); answer how many were handled."""
        visibility_ms = int(self.settings.webhook_visibility_timeout_seconds * 1000)
        self._cursor, stale = self.webhooks.claim_stale(
            self.consumer, visibility_ms, self._cursor, 1
        )
        done = self._handle(stale)
        for retry in self.webhooks.lease_due(_now_ms(), visibility_ms, 1):
            if self.stopping:
                break
            self._attempt(retry)
            done += 1
        wait_ms = self._wait_ms() if block and not done else None
        if not self.stopping:
            done += self._handle(self.webhooks.read(self.consumer, 1, wait_ms))
        return done

    def _wait_ms(self) -> int | None:
        """How long to wait for new events: until the next retry is due, at most a poll."""
        # Never as long as the Redis client's socket timeout, which would end the wait early.
        wait = min(POLL_SECONDS, self.settings.redis_socket_timeout / 2)
        due_ms = self.webhooks.next_due_ms()
        if due_ms is not None:
            wait = min(wait, (due_ms - _now_ms()) / 1000)
        return int(wait * 1000) if wait >= 0.001 else None

    # --- delivering -----------------------------------------------------------------------
    def _handle(self, events: list[Event]) -> int:
        """Deliver events to every URL; acknowledge each unless stopped half-way."""
        handled = 0
        for event_id, fields in events:
            if self.stopping:
                break
            if self._deliver(event_id, fields):
                self.webhooks.ack(event_id)
                handled += 1
        return handled

    def _deliver(self, event_id: str, fields: dict[str, str]) -> bool:
        """Try an event once on each URL still waiting for it; False if stopped first."""
        if not fields.get("type"):
            return True  # trimmed from the stream meanwhile: nothing left to send
        stream = self.webhooks.stream(event_id)
        for url, purge in self._targets(fields):
            if self.stopping:
                return False
            delivery = delivery_id(stream, event_id, url, purge)
            if not self.webhooks.is_settled(delivery):
                self._attempt(Retry(delivery, event_id, fields, url, attempts=0, purge=purge))
        return True

    def _targets(self, fields: dict[str, str]) -> list[tuple[str, bool]]:
        """Where an event goes: every webhook URL, and the CDN's purge URL for a change."""
        targets = [(url, False) for url in self.settings.webhook_urls]
        template = self.settings.cdn_purge_url
        if template and fields.get("type") == ARTICLE_CHANGED and fields.get("article_id"):
            targets.append((purge_target(template, fields["article_id"]), True))
        return targets

    def _attempt(self, retry: Retry) -> None:
        """POST once; record the success, or schedule the next attempt, or the dead letter."""
        number = retry.attempts + 1
        answer = self._post(retry)
        settings = self.settings
        result = (
            "delivered"
            if answer.ok
            else ("dead" if number >= settings.webhook_max_attempts else "retry")
        )
        attempt = Attempt(
            delivery_id=retry.delivery_id,
            event_id=retry.event_id,
            event_type=retry.event.get("type", ""),
            url=retry.url,
            attempt=number,
            result=result,
            status=answer.status,
            error=answer.error,
            duration_ms=answer.duration_ms,
            at=datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        )
        tried = dataclasses.replace(retry, attempts=number)
        if result == "delivered":
            self.webhooks.delivered(retry.delivery_id, attempt)
            return
        if result == "dead":
            log.error(
                "webhook delivery %s to %s failed %d times (%s); moved to the dead letters",
                retry.delivery_id,
                retry.url,
                number,
                answer.error,
            )
            self.webhooks.dead_letter(tried, attempt)
            return
        delay = backoff_seconds(settings.webhook_backoff_seconds, number)
        log.warning(
            "webhook delivery %s to %s failed (%s, attempt %d of %d); retrying in %.1f s",
            retry.delivery_id,
            retry.url,
            answer.error,
            number,
            settings.webhook_max_attempts,
            delay,
        )
        self.webhooks.schedule(tried, _now_ms() + int(delay * 1000), attempt)

    def _post(self, retry: Retry) -> Answer:
        """Build the event's body (the comment as readers see it now), sign it and POST it; or,
        for a purge, call the CDN."""
        if retry.purge:
            return self._purge(retry)
        body = json.dumps(self.payload(retry.event_id, retry.event), separators=(",", ":"))
        data = body.encode()
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Comments-Event": retry.event.get("type", ""),
            "X-Comments-Delivery": retry.delivery_id,
            "X-Comments-Timestamp": str(timestamp),
            "X-Comments-Signature": sign(self.settings.webhook_secret, timestamp, data),
        }
        return send(retry.url, data, headers, self.settings.webhook_timeout_seconds)

    def _purge(self, retry: Retry) -> Answer:
        """Ask the CDN to drop its copies of one article's answers."""
        settings = self.settings
        headers = {"User-Agent": USER_AGENT}
        if settings.cdn_purge_header and settings.cdn_purge_token:
            headers[settings.cdn_purge_header] = settings.cdn_purge_token
        body = None
        if settings.cdn_purge_body:
            article_id = retry.event.get("article_id", "")
            body = purge_target(settings.cdn_purge_body, article_id, in_url=False).encode()
            headers["Content-Type"] = "application/json"
        return send(
            retry.url, body, headers, settings.webhook_timeout_seconds, settings.cdn_purge_method
        )

    def payload(self, event_id: str, fields: dict[str, str]) -> dict[str, Any]:
        """The JSON an event is delivered as; `comment` is its public view, or None if gone."""
        article_id, comment_id = fields.get("article_id", ""), fields.get("comment_id", "")
        record = self.store.comment_fields(article_id, comment_id) if comment_id else {}
        return {
            "id": event_id,
            "type": fields.get("type"),
            "created_at": event_time(event_id),
            "comment": public_view(record) if record else None,
            "article_id": article_id,
            "status": fields.get("status") or None,
            "moderator": fields.get("moderator") or None,
        }


def _now_ms() -> int:
    return int(time.time() * 1000)
