"""The spam filter's undo records: kept in a binary form, read back byte for byte whatever the
client decodes, and the printable records kept before still subtracted exactly when a moderator
reverses a decision or a reader is erased."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from flask.testing import FlaskClient

from service import EXTENSION
from service.keys import Keys
from service.spam_filter import (
    HAM,
    SLOTS,
    SPAM,
    WEIGHT_SCALE,
    Features,
    LearnedRecord,
    comment_weight,
    features,
    pack_record,
    record_label,
    record_slots,
    unpack_record,
    without_personal,
)
from service.spam_filter_store import SpamFilterStore
from service.spam_learning import SpamFilter
from service.topology import Timeouts, connect
from tests.helpers import decide, slot_counts, submit

DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_"
READER = {
    "name": "Zebulon Quintavalle",
    "email": "zebulon@quintavalle-family.example",
    "website": "https://zebulon-quintavalle.example",
    "body": "The harbour festival photographs are lovely; the fireworks were late again.",
}


def printable(record: bytes) -> bytes:
    """Write a record as the version before kept it: label s or h, then base-64 digits, two of
    weight, two of the number of personal slots, four per slot."""

    def digits(number: int, width: int) -> str:
        return "".join(DIGITS[(number >> (6 * at)) & 63] for at in reversed(range(width)))

    label, weight, personal, slots = unpack_record(record)
    text = label + digits(weight, 2) + digits(personal, 2)
    return (text + "".join(digits(slot, 4) for slot in slots)).encode()


def spam_filter(client: FlaskClient) -> SpamFilter:
    service: SpamFilter = client.application.extensions[EXTENSION].spam_filter
    return service


def learned_state(redis_client: Any, key_prefix: str) -> tuple[dict[str, str], dict[str, Any]]:
    """Give the filter's totals and every slot shard's counts, as stored."""
    keys = Keys(key_prefix)
    shards = {
        name: redis_client.hgetall(name)
        for name in redis_client.scan_iter(match=f"{keys.spam_filter_shards()}*", count=1000)
    }
    return redis_client.hgetall(keys.spam_filter_totals()), shards


def learned_in_old_form(
    client: FlaskClient, moderator: dict[str, str], redis_client: Any, key_prefix: str
) -> tuple[str, bytes]:
    """Approve a reader's comment, then keep its record as the version before would have: the
    counts are the same in both forms, only the record's form differs."""
    comment_id = submit(client, **READER)["id"]
    decide(client, moderator, comment_id, "approve")
    store = spam_filter(client).filter_store
    record = store.record(comment_id)
    assert record[:1] == b"H"
    old = printable(record)
    redis_client.hset(Keys(key_prefix).spam_filter_records(), comment_id, old)
    assert store.record(comment_id) == old
    return comment_id, record


def test_binary_record_round_trips_and_reads_like_the_printable_one() -> None:
    found = features(READER["name"], READER["body"], READER["website"], READER["email"])
    record = pack_record(HAM, found)
    assert record[:1] == b"H" and len(record) == 5 + 3 * found.count
    assert unpack_record(record) == LearnedRecord(
        HAM, comment_weight(found.count), len(found.personal), list(found.slots())
    )
    assert unpack_record(printable(record)) == unpack_record(record)
    assert record_label(record) == record_label(printable(record)) == HAM
    assert record_slots(record) == record_slots(printable(record)) == list(found.slots())

    # The widest numbers each field holds; slots that are no text (0xff bytes) among them.
    edges = Features(personal=(SLOTS - 1, 0), general=(1, 0x7F80, 0xFFFF))
    packed = pack_record(SPAM, edges)
    assert packed[:1] == b"S" and b"\xff" in packed
    assert unpack_record(packed) == LearnedRecord(
        SPAM, comment_weight(5), 2, [SLOTS - 1, 0, 1, 0x7F80, 0xFFFF]
    )
    heaviest = unpack_record(pack_record(HAM, Features((), (SLOTS - 1,))))
    assert heaviest.weight == WEIGHT_SCALE

    # An erasure keeps the weight learned and the text's slots, whichever form it read.
    for kept in (packed, printable(packed)):
        stripped = without_personal(kept)
        assert stripped[:1] == b"S"
        assert unpack_record(stripped) == LearnedRecord(
            SPAM, comment_weight(5), 0, [1, 0x7F80, 0xFFFF]
        )


def test_old_printable_record_is_unlearned_exactly(
    client: FlaskClient, moderator: dict[str, str], redis_client: Any, key_prefix: str
) -> None:
    # Something else learned first, so the counts are not merely back to empty.
    decide(client, moderator, submit(client, body=READER["body"])["id"], "approve")
    before = learned_state(redis_client, key_prefix)
    comment_id, learned = learned_in_old_form(client, moderator, redis_client, key_prefix)
    assert learned_state(redis_client, key_prefix) != before

    # The same decision again: the old record holds what would be learned now, and stays.
    assert spam_filter(client).learn_comment("article-1", comment_id) == "unchanged"
    assert spam_filter(client).filter_store.record(comment_id) == printable(learned)

    # Reversed: what the old record says was learned is subtracted exactly.
    decide(client, moderator, comment_id, "reject", reason_code="off_topic")
    assert learned_state(redis_client, key_prefix) == before
    assert spam_filter(client).filter_store.record(comment_id) == b""


def test_old_printable_record_is_relabelled_exactly(
    client: FlaskClient, moderator: dict[str, str], redis_client: Any, key_prefix: str
) -> None:
    store = spam_filter(client).filter_store
    comment_id, learned = learned_in_old_form(client, moderator, redis_client, key_prefix)
    decide(client, moderator, comment_id, "spam")
    totals = store.totals()
    assert (totals.spam_comments, totals.ham_comments, totals.ham_weight) == (1, 0, 0)
    # Now kept in the binary form, and the counts are as if learned as spam from the start.
    relabelled = store.record(comment_id)
    assert relabelled[:1] == b"S" and unpack_record(relabelled).slots == record_slots(learned)
    counts = slot_counts(redis_client, key_prefix, record_slots(learned)).values()
    weight = unpack_record(learned).weight
    assert set(counts) == {(weight, 0, 1)}


def test_erasure_forgets_the_reader_from_an_old_printable_record(
    client: FlaskClient, moderator: dict[str, str], redis_client: Any, key_prefix: str
) -> None:
    store = spam_filter(client).filter_store
    comment_id, learned = learned_in_old_form(client, moderator, redis_client, key_prefix)
    label, weight, personal, slots = unpack_record(learned)
    before = store.totals()
    response = client.post(
        "/api/v1/moderation/privacy/erase", headers=moderator, json={"email": READER["email"]}
    )
    assert response.status_code == 200, response.get_json()
    assert store.record(comment_id) == b""
    after = store.totals()
    assert label == HAM and personal > 0
    assert after.ham_comments == before.ham_comments == 1
    assert after.ham_weight == before.ham_weight - weight * personal
    assert after.slots_used == before.slots_used - personal
    by_slot = slot_counts(redis_client, key_prefix, slots)
    assert all(by_slot[slot] is None for slot in slots[:personal])
    assert all(by_slot[slot] is not None for slot in slots[personal:])


@pytest.mark.parametrize("decoded", [False, True], ids=["service client", "decoding client"])
def test_binary_record_survives_the_client(
    client: FlaskClient, redis_url: str, key_prefix: str, decoded: bool
) -> None:
    """The service's client hands bytes through; the store reads records undecoded even from a
    client that decodes answers, so a record that is no UTF-8 comes back byte for byte."""
    service_store = spam_filter(client).filter_store
    raw: Any = None
    store = service_store
    if decoded:
        raw = connect(redis_url, Timeouts(), decode_responses=True)
        store = SpamFilterStore(raw, Keys(key_prefix), service_store.max_records)
    try:
        record = pack_record(SPAM, Features((SLOTS - 1,), (0xFF00, 0xFFFF, 0x8080)))
        with pytest.raises(UnicodeDecodeError):
            record.decode()
        assert store.replace("no-text", None, record) == "learned"
        assert store.record("no-text") == record
        assert store.comment_and_record("article-1", "no-text") == (None, record)
        assert store.replace("no-text", record, record) == "unchanged"
        assert store.replace("no-text", record, b"") == "learned"
        totals = store.totals()
        assert (totals.spam_comments, totals.spam_weight, totals.slots_used) == (0, 0, 0)
    finally:
        if raw is not None:
            raw.close()


def test_the_service_client_does_not_decode(client: FlaskClient) -> None:
    """What the spam filter's store is given: a client whose answers are bytes."""
    filter_client: redis.Redis = spam_filter(client).filter_store.client
    assert filter_client.get_encoder().decode_responses is False
