"""Measure the Redis memory a comment costs, and where the bytes are.

Run with `make bench-memory` (or `.venv/bin/python bench/memory.py --help`).

1. Starts a throwaway Redis-compatible server on a free port (no persistence), as `make bench`.
2. Stores `--comments` comments (100,000) over `--articles` articles (1,000) through the
   service's own use cases, in this process: each article gets top-level comments and, one in
   five, replies to its published ones; a moderator approves half of all comments (the rest stay
   pending). Flood marks and rate limits are off, as in `make bench` (they expire in seconds and
   are no part of what a stored comment costs); webhook events are off unless `--events`.
3. Prints bytes per comment (the growth of INFO memory `used_memory`, and MEMORY USAGE summed
   over every key), keys per comment, a breakdown by kind of key (the articles' comment
   records, duplicate fingerprints, the bucket's locator, indexes…) with each kind's encodings,
   and the average size of each member of a comment's record (service/records.py).

It changes nothing in the service; it prints figures and is not a test.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from run import app_settings, log, submission, throwaway_redis  # noqa: E402

from service import EXTENSION, Services, create_app  # noqa: E402
from service.models import Decision  # noqa: E402

KEY_PREFIX = "bench"
MODERATOR = "editor"
# One comment in this many is a reply to a published comment of its article.
REPLY_EVERY = 5
SCAN_BATCH = 1000
FIELD_SAMPLE = 2000

# What each kind of key is, by the name segment service/keys.py gives it.
ARTICLE_KINDS = {
    "comments": "comment records (article hash)",
    "fingerprints": "duplicate fingerprints (article hash)",
    "status": "article state index",
    "revisions": "revisions",
    "roots": "article roots (public list)",
    "thread": "reply thread (public list)",
    "live": "live thread counts",
    "version": "list version",
    "article": "article settings",
}
BUCKET_KINDS = {
    "status": "bucket state queue",
    "published-counts": "published counts (bucket hash)",
    "approved-by-email": "approved per email (bucket hash)",
    "locator": "comment locator (bucket hash shards)",
    "emails": "email index (bucket hash shards)",
    "articles": "article list (bucket)",
    "events": "events stream (bucket)",
    "audit": "audit stream (bucket)",
}


@dataclass
class Kind:
    """What the keys of one kind hold."""

    keys: int = 0
    bytes: int = 0
    encodings: Counter[str] = field(default_factory=Counter)


def kind_of(key: str) -> str:
    """Name a key's kind from its name: `bench:{tag}:a:<article>:<kind>:…` for an article's,
    `bench:{tag}:<kind>…` for a bucket's share of a site-wide index, else per client."""
    rest = key.removeprefix(f"{KEY_PREFIX}:")
    if not rest.startswith("{"):
        return f"per client: {rest.split(':', 1)[0]}"
    tag, _, rest = rest.partition("}:")
    if tag in ("{site", "{webhooks", "{spam-filter"):
        return f"{tag[1:]}: {rest.split(':', 1)[0]}"
    parts = rest.split(":")
    if parts[0] == "a" and len(parts) >= 3:
        # The bench's article ids hold no colon: a:<article>:<kind>[:<id or state>].
        label = ARTICLE_KINDS.get(parts[2], parts[2])
        return f"{label} ({parts[3]})" if parts[2] == "status" else label
    label = BUCKET_KINDS.get(parts[0], parts[0])
    return f"{label} ({parts[1]})" if parts[0] == "status" else label


def used_memory(client: redis.Redis) -> int:
    """Give the server's used_memory after letting lazy frees finish."""
    return int(client.info("memory")["used_memory"])


def store_comments(services: Services, comments: int, articles: int) -> tuple[int, float]:
    """Store the comments through the use cases; approve half; answer approvals and seconds."""
    started = time.monotonic()
    comment_service, moderation = services.comments, services.moderation
    per_article = comments // articles
    number = approved = 0
    for index in range(articles):
        article_id = f"mem-{index:05d}"
        published: list[str] = []
        for position in range(per_article):
            number += 1
            is_reply = position % REPLY_EVERY == REPLY_EVERY - 1 and published
            parent = published[position % len(published)] if is_reply else None
            answer = comment_service.submit(article_id, submission(number, parent))
            comment_id: str = answer["comment"]["id"]
            # Every other comment is approved: half of them, replies included.
            if position % 2 == 0:
                moderation.decide(comment_id, Decision.APPROVE, MODERATOR, None)
                published.append(comment_id)
                approved += 1
        if (index + 1) % max(1, articles // 10) == 0:
            rate = number / (time.monotonic() - started)
            log(f"  {number:>9,} comments stored ({approved:,} approved), {rate:,.0f}/s")
    return approved, time.monotonic() - started


def measure_keys(client: redis.Redis) -> dict[str, Kind]:
    """Sum MEMORY USAGE (every element counted: SAMPLES 0) and encodings per kind of key."""
    kinds: dict[str, Kind] = defaultdict(Kind)
    batch: list[str] = []

    def flush() -> None:
        pipe = client.pipeline(transaction=False)
        for key in batch:
            pipe.memory_usage(key, samples=0)
            pipe.object("ENCODING", key)
        answers = pipe.execute()
        for key, size, encoding in zip(batch, answers[0::2], answers[1::2], strict=True):
            kind = kinds[kind_of(key)]
            kind.keys += 1
            kind.bytes += int(size or 0)
            kind.encodings[str(encoding)] += 1
        batch.clear()

    for key in client.scan_iter(match=f"{KEY_PREFIX}:*", count=SCAN_BATCH):
        batch.append(key)
        if len(batch) == SCAN_BATCH:
            flush()
    if batch:
        flush()
    return kinds


def record_members(client: redis.Redis, sample: int) -> list[tuple[str, float, float]]:
    """Give each record member's share over a sample of comments: (member, in how many of the
    records, average bytes of its JSON name and value)."""
    raws: list[str] = []
    for key in client.scan_iter(match=f"{KEY_PREFIX}:*:comments", count=SCAN_BATCH):
        raws += client.hvals(key)
        if len(raws) >= sample:
            break
    raws = raws[:sample]
    seen: Counter[str] = Counter()
    sizes: Counter[str] = Counter()
    for raw in raws:
        for name, value in json.loads(raw).items():
            seen[name] += 1
            sizes[name] += len(json.dumps({name: value}, ensure_ascii=False).encode()) - 2
    total = max(1, len(raws))
    return sorted(
        ((name, seen[name] / total, sizes[name] / total) for name in seen),
        key=lambda row: -row[2],
    )


def report(
    comments: int,
    approved: int,
    growth: int,
    kinds: dict[str, Kind],
    fields: list[tuple[str, float, float]],
) -> None:
    """Print the figures."""
    keys = sum(kind.keys for kind in kinds.values())
    summed = sum(kind.bytes for kind in kinds.values())
    log(f"\n{comments:,} comments, {approved:,} approved, {comments - approved:,} pending\n")
    log(f"  used_memory growth:                   {growth / comments:8.0f} bytes/comment")
    log(f"  MEMORY USAGE summed over every key:   {summed / comments:8.0f} bytes/comment")
    log(f"  keys:                                  {keys:,} ({keys / comments:.2f} per comment)")
    learned = sum(kind.bytes for name, kind in kinds.items() if name.startswith("spam-filter:"))
    log(
        f"  of which the spam filter's learning:  {learned / comments:8.0f} bytes/comment "
        f"({learned / max(1, approved):.0f} per approved comment it learned)"
    )
    header = (
        f"{'kind of key':<44} {'keys':>9} {'per comment':>11} {'bytes/comment':>13} {'share':>6}"
    )
    log("\n" + header + "  encodings")
    log("-" * (len(header) + 11))
    for name, kind in sorted(kinds.items(), key=lambda item: -item[1].bytes):
        encodings = ", ".join(f"{enc} {count:,}" for enc, count in kind.encodings.most_common())
        log(
            f"{name:<44} {kind.keys:>9,} {kind.keys / comments:>11.3f} "
            f"{kind.bytes / comments:>13.1f} {kind.bytes / max(1, summed):>6.1%}  {encodings}"
        )
    log(f"\nRecord members (a sample of {FIELD_SAMPLE:,}; JSON name and value, bytes):")
    for name, presence, size in fields:
        log(f"  {name:<8} in {presence:>4.0%} of records, {size:6.1f} bytes on average")
    log(f"  {'all':<8} {sum(size for _, _, size in fields):6.1f} bytes on average")


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--comments", type=int, default=100_000, help="comments (100000)")
    parser.add_argument("--articles", type=int, default=1_000, help="articles (1000)")
    parser.add_argument(
        "--events", action="store_true", help="write webhook events too, as with webhook URLs"
    )
    arguments = parser.parse_args(argv)
    if arguments.articles < 1 or arguments.comments < 2 * arguments.articles:
        parser.error("give at least one article and two comments per article")
    return arguments


def main(argv: list[str] | None = None) -> int:
    """Start a server, store the comments, measure and report."""
    arguments = parse_arguments(argv)
    comments = arguments.comments // arguments.articles * arguments.articles
    with (
        tempfile.TemporaryDirectory(prefix="news-comments-memory-") as temp,
        throwaway_redis(Path(temp)) as redis_url,
    ):
        settings: dict[str, Any] = {**app_settings(redis_url), "key_prefix": KEY_PREFIX}
        if arguments.events:
            settings |= {"webhook_urls": "http://127.0.0.1:9/", "webhook_secret": "x" * 32}
        app = create_app(settings)
        services: Services = app.extensions[EXTENSION]
        client = redis.Redis.from_url(redis_url, decode_responses=True)
        # Scripts loaded and connections open before the first figure.
        services.store.list_version("warm-up")
        before = used_memory(client)
        server = client.info("server")
        name = "Valkey" if "valkey_version" in server else "Redis"
        version = server.get("valkey_version") or server.get("redis_version")
        log(
            f"{name} {version} on {redis_url}; storing {comments:,} comments over "
            f"{arguments.articles:,} articles through the service's use cases ..."
        )
        approved, seconds = store_comments(services, comments, arguments.articles)
        after = used_memory(client)
        log(f"Stored in {seconds:.0f} s.")
        kinds = measure_keys(client)
        fields = record_members(client, FIELD_SAMPLE)
        report(comments, approved, after - before, kinds, fields)
        client.close()
        services.store.client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
