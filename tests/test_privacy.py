"""The reader's email stays private: never in a public answer, a header, a log line or Redis."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets

import pytest
import redis
from cryptography.fernet import Fernet
from flask.testing import FlaskClient

from service import records
from service.keys import Keys
from service.models import PrivateData
from service.privacy import Privacy, PrivateDataError, _derive, email_hash_of_hex
from tests.conftest import SECRET_KEY
from tests.helpers import decide, keyspace_mentions, listing, stored_members, submit


def test_canary_email_leaks_nowhere(
    client: FlaskClient,
    moderator: dict[str, str],
    redis_client: redis.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    local_part = f"canary{secrets.token_hex(6)}"
    canary = f"{local_part}@example.com"
    url = "/api/v1/articles/article-1/comments"

    posted = client.post(url, json={"name": "Canary", "email": canary, "body": "Tweet"})
    assert posted.status_code == 202
    comment_id = posted.get_json()["comment"]["id"]
    reply = submit(client, email=canary.upper().replace("EXAMPLE", "example"), body="again")
    decide(client, moderator, comment_id, "approve")
    public_answers = [
        posted,
        client.get(url),
        client.get(f"{url}/{comment_id}"),
        client.get("/api/v1/counts?article_id=article-1"),
        client.get("/openapi.json"),
    ]
    # The moderator sees it, which proves the canary really is stored.
    item = client.get(f"/api/v1/moderation/comments/{comment_id}", headers=moderator)
    assert item.get_json()["email"] == canary
    decide(client, moderator, reply["id"], "reject")

    for answer in public_answers:
        text = answer.get_data(as_text=True).lower()
        assert local_part not in text
        assert local_part not in str(answer.headers).lower()
    assert all(local_part not in record.getMessage().lower() for record in caplog.records)
    assert keyspace_mentions(redis_client, local_part) == []
    assert keyspace_mentions(redis_client, local_part.upper()) == []


def test_private_data_is_sealed_at_rest(
    client: FlaskClient, redis_client: redis.Redis, key_prefix: str
) -> None:
    comment = submit(client, email="sealed@example.com")
    sealed = stored_members(redis_client, key_prefix, "article-1", comment["id"])[records.SEALED]
    assert sealed is not None and "sealed" not in sealed
    opened = Privacy(SECRET_KEY).decrypt(sealed.encode())
    assert opened == PrivateData(
        email="sealed@example.com", ip="127.0.0.1", user_agent=opened.user_agent
    )
    with pytest.raises(PrivateDataError):
        Privacy("another-secret-of-sufficient-length-000000").decrypt(sealed.encode())


def test_keyed_hashes_depend_on_the_secret() -> None:
    one, other = Privacy("one-secret-" + "x" * 32), Privacy("other-secret-" + "x" * 32)
    email = "reader@example.com"
    assert one.email_hash(email) == one.email_hash("READER@example.com")
    assert one.email_hash(email) != other.email_hash(email)
    assert one.avatar_seed(email) != other.avatar_seed(email)
    assert one.avatar_seed(email) not in one.email_hash(email)


def test_an_email_hash_kept_in_hex_before_gives_todays() -> None:
    """Today's email hash is the first 128 bits of the HMAC kept before in hex (all 256): the
    key migration finds each email's data by it."""
    privacy = Privacy(SECRET_KEY)
    email = "reader@example.com"
    lookup_key = _derive(SECRET_KEY, "email-lookup/v1")
    old = hmac.new(lookup_key, email.encode(), hashlib.sha256).hexdigest()
    assert len(old) == 64 and len(privacy.email_hash(email)) == 22
    assert email_hash_of_hex(old) == privacy.email_hash(email)


def test_removed_comment_hides_its_author(client: FlaskClient, moderator: dict[str, str]) -> None:
    root = submit(client, name="Secret Name", body="secret words")
    decide(client, moderator, root["id"], "approve")
    reply = submit(client, parent_id=root["id"])
    decide(client, moderator, reply["id"], "approve")
    decide(client, moderator, root["id"], "reject")
    text = listing(client).__repr__()
    assert "Secret Name" not in text and "secret words" not in text


def test_data_sealed_before_the_compact_form_still_opens() -> None:
    """Private data and block-list emails sealed as Fernet tokens, as before, open as ever;
    what is sealed now is shorter and opens only with the same secret."""
    fernet = Fernet(base64.urlsafe_b64encode(_derive(SECRET_KEY, "private-data/v1")))
    old = fernet.encrypt(
        json.dumps({"email": "old@example.com", "ip": "192.0.2.7", "user_agent": "UA"}).encode()
    )
    privacy = Privacy(SECRET_KEY)
    assert privacy.decrypt(old) == PrivateData("old@example.com", "192.0.2.7", "UA")
    assert privacy.open_email(fernet.encrypt(b"blocked@example.com")) == "blocked@example.com"

    data = PrivateData("new@example.com", "192.0.2.8", "Mozilla/5.0")
    sealed = privacy.encrypt(data)
    assert len(sealed) < len(old) and b"new@example.com" not in sealed
    assert privacy.decrypt(sealed) == data and privacy.opens(sealed)
    other = Privacy(secrets.token_urlsafe(32))
    assert not other.opens(sealed) and not other.opens(old)
    with pytest.raises(PrivateDataError):
        other.decrypt(sealed)
    assert not privacy.opens(sealed[:-2]) and not privacy.opens(b"2%%%")

    # Sealed as a JSON list under the same cipher (form "2"), as until the joined form, and
    # joined in base64 (form "3"), as until base85: both open; each later form is shorter, and a
    # user agent holding the separator comes back whole.
    as_list = [data.email, data.ip, data.user_agent]
    listed = privacy._seal(json.dumps(as_list, separators=(",", ":")).encode())
    joined = privacy._seal("\x1f".join(as_list).encode(), b"3")
    assert listed.startswith(b"2") and joined.startswith(b"3") and sealed.startswith(b"4")
    assert privacy.decrypt(listed) == privacy.decrypt(joined) == data
    assert privacy.opens(joined) and not other.opens(joined)
    assert len(sealed) < len(joined) < len(listed)
    odd = PrivateData("odd@example.com", "192.0.2.9", "Agent\x1fwith\x1fseparators")
    assert privacy.decrypt(privacy.encrypt(odd)) == odd
    assert not privacy.opens(b"4") and not privacy.opens(b'4"\\') and not privacy.opens(b"3")


def test_private_data_sealed_in_base85_stays_as_it_is_through_every_step(
    client: FlaskClient, moderator: dict[str, str], redis_client: redis.Redis, key_prefix: str
) -> None:
    """Form "4" holds only characters JSON keeps as they are, in Python and in Lua's cjson: a
    step that rewrites the record leaves every one of them as it was."""
    comment = submit(client, email="base85@example.com")
    key = Keys(key_prefix).comments("article-1")
    record = json.loads(redis_client.hget(key, comment["id"]))
    sealed = record[records.SEALED]
    assert sealed.startswith("4")
    alphabet = base64.b85encode(bytes(range(256))).decode()
    assert set(alphabet) >= set(sealed[1:]) and not set(alphabet) & set('"\\/')
    redis_client.hset(key, comment["id"], json.dumps(record | {"y": alphabet}))
    decide(client, moderator, comment["id"], "approve")  # a Lua step decodes and encodes it
    raw = redis_client.hget(key, comment["id"])
    assert f'"y":"{alphabet}"' in raw and f'"x":"{sealed}"' in raw
    item = client.get(f"/api/v1/moderation/comments/{comment['id']}", headers=moderator)
    assert item.get_json()["email"] == "base85@example.com"
