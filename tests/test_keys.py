"""Key names: one prefix, buckets that keep an article and its share of each site-wide index in
one hash slot, per-client keys spread over the slots, no email anywhere."""

from __future__ import annotations

import zlib

import pytest
from flask.testing import FlaskClient
from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot

from service.keys import (
    BUCKETS,
    COMMENT_ID_LENGTH,
    Keys,
    article_bucket,
    bucket_tags,
    comment_bucket,
)
from service.models import Status
from service.topology import RedisClient
from tests.helpers import publish, submit

# Article ids that read like the names of a bucket's own keys.
LOOKALIKE_ARTICLES = [
    "global",
    "status",
    "status:pending",
    "locator",
    "events",
    "audit",
    "articles",
    "published-counts",
    "approved-by-email",
    "email",
    "a",
    "a:a",
]


def slot(name: str) -> int:
    return key_slot(name.encode())


def article_keys(keys: Keys, article_id: str) -> list[str]:
    """Every key an article's comments use (with made-up comment and fingerprint ids)."""
    return [
        keys.comments(article_id),
        keys.fingerprints(article_id),
        *keys.article_statuses(article_id),
        keys.revisions(article_id, "c1"),
        keys.roots(article_id),
        keys.thread(article_id, "c1"),
        keys.live(article_id),
        keys.version(article_id),
        keys.article(article_id),
    ]


def bucket_keys(keys: Keys, bucket: int) -> list[str]:
    """Every key of one bucket's share of the site-wide indexes."""
    return [
        *keys.queues(bucket),
        keys.published_counts(bucket),
        keys.approved_by_email(bucket),
        keys.locator(bucket, "c1"),
        keys.email_index(bucket, "ab12"),
        keys.articles(bucket),
        keys.events(bucket),
        keys.audit(bucket),
    ]


def test_raw_key_names() -> None:
    keys = Keys("comments")
    tag = bucket_tags()[article_bucket("art-1")]
    assert tag == "14.23"  # the bucket, a dot, a suffix; fixed once for all time
    article = f"comments:{{{tag}}}:a:art-1"
    assert keys.comments("art-1") == f"{article}:comments"
    assert keys.fingerprints("art-1") == f"{article}:fingerprints"
    assert keys.article_status("art-1", Status.PENDING) == f"{article}:status:pending"
    assert keys.revisions("art-1", "c1") == f"{article}:revisions:c1"
    assert keys.roots("art-1") == f"{article}:roots"
    assert keys.thread("art-1", "c1") == f"{article}:thread:c1"
    assert keys.live("art-1") == f"{article}:live"
    assert keys.version("art-1") == f"{article}:version"
    assert keys.article("art-1") == f"{article}:article"

    assert keys.queue(3, Status.SPAM) == "comments:{3.0}:status:spam"
    assert keys.queues(3) == [f"comments:{{3.0}}:status:{status}" for status in Status.indexed()]
    assert keys.locator(3, "c1") == f"comments:{{3.0}}:locator:{zlib.crc32(b'c1') % 128}"
    assert keys.published_counts(3) == "comments:{3.0}:published-counts"
    assert keys.approved_by_email(3) == "comments:{3.0}:approved-by-email"
    assert keys.email_index(3, "ab12") == "comments:{3.0}:emails:a"
    assert keys.articles(3) == "comments:{3.0}:articles"
    assert keys.events(3) == "comments:{3.0}:events"
    assert keys.audit(3) == "comments:{3.0}:audit"

    assert keys.blocks("domains") == "comments:{site}:blocks:domains"
    assert keys.moderators() == "comments:{site}:moderators"
    assert keys.key_check() == "comments:{site}:key-check"
    assert keys.sign_in_lock("cc33") == "comments:{site}:sign-in-lock:cc33"
    assert keys.flood("ip", "ff00") == "comments:flood:ip:ff00"
    assert keys.idempotency("ee11") == "comments:idempotency:ee11"
    assert keys.pending_from("dd22") == "comments:pending-from:dd22"
    assert keys.rate_limits() == "comments:limits"
    assert keys.webhook_log() == "comments:{webhooks}:log"
    assert keys.webhook_retries() == "comments:{webhooks}:retries"
    assert keys.webhook_retry_records() == "comments:{webhooks}:retry-records"
    assert keys.webhook_dead_letters() == "comments:{webhooks}:dead-letters"
    assert keys.webhook_finished("d1") == "comments:{webhooks}:finished:d1"


def test_each_bucket_owns_an_even_share_of_the_slots() -> None:
    tags = bucket_tags()
    assert len(tags) == len(set(tags)) == BUCKETS
    width = REDIS_CLUSTER_HASH_SLOTS // BUCKETS
    for bucket, tag in enumerate(tags):
        assert tag.startswith(f"{bucket}.")
        assert bucket * width <= slot(f"{{{tag}}}") < (bucket + 1) * width


@pytest.mark.parametrize("article_id", ["art-1", "news:2026.x", "a", *LOOKALIKE_ARTICLES[:3]])
def test_an_article_and_its_buckets_shares_hash_to_one_slot(article_id: str) -> None:
    keys = Keys("comments")
    bucket = article_bucket(article_id)
    names = article_keys(keys, article_id) + bucket_keys(keys, bucket)
    assert {slot(name) for name in names} == {slot(keys.queue(bucket, Status.PENDING))}
    # Another bucket's shares live elsewhere.
    other = (bucket + 1) % BUCKETS
    assert slot(keys.locator(other, "c1")) != slot(keys.locator(bucket, "c1"))


def test_no_article_id_can_name_a_buckets_own_key() -> None:
    keys = Keys("comments")
    shares = {name for bucket in range(BUCKETS) for name in bucket_keys(keys, bucket)}
    for article_id in LOOKALIKE_ARTICLES:
        tag = bucket_tags()[article_bucket(article_id)]
        names = article_keys(keys, article_id)
        assert not shares.intersection(names), article_id
        assert all(name.startswith(f"comments:{{{tag}}}:a:{article_id}:") for name in names)
    assert not any(":a:" in name for name in shares)


def test_per_client_keys_carry_no_hash_tag_and_spread_over_the_slots() -> None:
    keys = Keys("comments")
    per_client = [
        *(keys.flood(kind, f"{number:04x}") for kind in ("ip", "email") for number in range(50)),
        *(keys.idempotency(f"{number:04x}") for number in range(50)),
        *(keys.pending_from(f"{number:04x}") for number in range(50)),
        keys.rate_limits(),
    ]
    assert not any("{" in name or "}" in name for name in per_client)
    assert len({slot(name) for name in per_client}) > 100


def test_a_prefix_cannot_move_the_hash_tag() -> None:
    for prefix in ("{comments}", "news{", "news}"):
        with pytest.raises(ValueError, match="hash tag"):
            Keys(prefix)


def test_comment_ids_carry_their_articles_bucket(
    client: FlaskClient, redis_client: RedisClient, key_prefix: str
) -> None:
    keys = Keys(key_prefix)
    articles = ["art-1", "global", "status", "news:2026.x"]
    assert len({article_bucket(article_id) for article_id in articles}) == len(articles)
    for article_id in articles:
        comment_id = submit(client, article_id)["id"]
        assert len(comment_id) == COMMENT_ID_LENGTH
        assert comment_bucket(comment_id) == article_bucket(article_id)
        assert int(comment_id[12:14], 16) == article_bucket(article_id)
        assert redis_client.hexists(keys.comments(article_id), comment_id)
        bucket = article_bucket(article_id)
        assert redis_client.zscore(keys.queue(bucket, Status.PENDING), comment_id) == 0
        assert redis_client.hexists(keys.locator(bucket, comment_id), comment_id)
    # Ids made before buckets (22 hex digits) name none.
    assert comment_bucket("0" * 22) is None


def test_stored_keys_follow_the_scheme(
    client: FlaskClient, moderator: dict[str, str], redis_client: RedisClient, key_prefix: str
) -> None:
    keys = Keys(key_prefix)
    article_id = "news:2026.x"
    root = publish(client, moderator, article_id, email="keys@example.com")
    publish(client, moderator, article_id, parent_id=root["id"])
    names = sorted(redis_client.scan_iter(match=f"{key_prefix}:*"))
    assert names
    tag = bucket_tags()[article_bucket(article_id)]
    assert keys.layout() in names
    for name in names:
        rest = name.split(":", 1)[1]
        if name == keys.layout():
            continue
        assert (
            rest.startswith(f"{{{tag}}}:a:{article_id}:")
            or rest.startswith(f"{{{tag}}}:")
            or rest.startswith(("flood:", "pending-from:", "idempotency:", "limits"))
            or rest.startswith("{spam-filter}:")
        ), name
        if rest.startswith("{") and not rest.startswith("{spam-filter}:"):
            assert slot(name) == slot(keys.queue(article_bucket(article_id), Status.PENDING))
        assert "keys@example.com" not in name and "@" not in name
    assert keys.thread(article_id, root["id"]) in names
    assert keys.locator(article_bucket(article_id), root["id"]) in names


def test_article_global_counts_only_its_own_comments(
    client: FlaskClient, moderator: dict[str, str], redis_client: RedisClient, key_prefix: str
) -> None:
    """Posting and approving on article `global` leaves every other article's counts alone, and
    its own list reports only its own comments (it once shared keys with the site-wide indexes)."""
    keys = Keys(key_prefix)
    for _ in range(3):
        publish(client, moderator, "elections")
    submit(client, "elections")
    publish(client, moderator, "global")
    submit(client, "global")

    own = client.get("/api/v1/articles/global/comments")
    assert own.status_code == 200
    assert own.get_json()["count"] == 1
    assert len(own.get_json()["comments"]) == 1
    counts = client.get("/api/v1/counts?article_id=global&article_id=elections")
    assert counts.status_code == 200
    assert counts.get_json() == {"counts": {"global": 1, "elections": 3}}
    other = client.get("/api/v1/articles/elections/comments")
    assert other.get_json()["count"] == 3
    # Stored: each article's own indexes hold its own comments only.
    assert redis_client.zcard(keys.article_status("global", Status.APPROVED)) == 1
    assert redis_client.zcard(keys.article_status("global", Status.PENDING)) == 1
    assert redis_client.zcard(keys.article_status("elections", Status.APPROVED)) == 3
    assert redis_client.hget(keys.published_counts(article_bucket("global")), "global") == "1"
    assert redis_client.hget(keys.published_counts(article_bucket("elections")), "elections") == "3"
