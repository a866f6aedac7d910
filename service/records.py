"""How one comment is kept in Redis: a compact JSON record, a field of its article's hash.

A comment used to be a hash of its own plus a key for its private data and one for its duplicate
fingerprint; a hash with a text over 64 bytes is stored as a hash table, which cost about as much
again as the data. Now each comment is one value in `Keys.comments(article_id)`, field = comment
id, holding everything about it in short-named JSON members:

| member | field | member | field |
| --- | --- | --- | --- |
| `p` | parent_id | `s` | status |
| `r` | root_id (left out when it is the comment itself) | `by` | decided_by |
| `a` | anchor_id | `at` | decided_at (number: see below) |
| `d` | depth (number; left out at 1, top level) | `why` | reason |
| `n` | name | `rc` | reason_code |
| `w` | website | `rs` | reasons (list) |
| `b` | body | `rp` | replies (number) |
| `v` | avatar (left out when derived) | `q` | queued_ms (number) |
| `st` | staff (1) | `eb`, `ea` | edited_by, edited_at (number) |
| `e` | the author's email hash | `f` | the duplicate fingerprint |
| `x` | the sealed private data (email, IP, user agent: encrypted) | | |

What derives from other data is not stored: the id and article id (the hash's field and name),
the creation time (the id's first 12 hex digits are its milliseconds), the text's HTML
(rendered from the text when read) and the avatar seed when it is the one the email hash gives
(`avatar_of`; a record stored before it keeps its own seed in `v`, and so does a record whose
email hash an erasure took away). Members of no name above are kept under their own name.
A moment (decided_at, edited_at) is kept as the whole seconds from the comment's creation second
(from its id) to it, a JSON number, and read back as RFC 3339 to the second (`kept_moment`,
`moment_of`); a moment stored before as RFC 3339 text is kept and read as that text.
The Lua steps read and change the same members (see `service/lua/_publication.lua`).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from service.text import render_body

# Field name as the rest of the service knows it -> member name in the stored record.
SHORT_NAMES = {
    "parent_id": "p",
    "root_id": "r",
    "anchor_id": "a",
    "depth": "d",
    "name": "n",
    "website": "w",
    "body": "b",
    "avatar": "v",
    "staff": "st",
    "status": "s",
    "decided_by": "by",
    "decided_at": "at",
    "reason": "why",
    "reason_code": "rc",
    "reasons": "rs",
    "replies": "rp",
    "queued_ms": "q",
    "edited_by": "eb",
    "edited_at": "ea",
}
LONG_NAMES = {short: long for long, short in SHORT_NAMES.items()}
# Fields stored as JSON numbers (they are strings in the record the service reads).
_NUMBERS = {"depth", "replies", "queued_ms"}
# Moments stored as seconds from the comment's creation second (see `kept_moment`).
_MOMENTS = {"decided_at", "edited_at"}
# Fields the record never stores: they derive from the id, the key or the text.
_DERIVED = {"id", "article_id", "created_at", "created_ms", "body_html"}
EMAIL_HASH, FINGERPRINT, SEALED = "e", "f", "x"


def avatar_of(email_hash: str) -> str:
    """Give the public avatar seed of an email hash: the first 16 hex digits of its SHA-1.

    The email hash is a keyed HMAC of the email, never public, so the seed cannot be tested
    against a guessed email without the secret key; SHA-1 makes it one-way, so the seed does not
    give the email hash away. The Lua steps compute the same: `string.sub(redis.sha1hex(e), 1, 16)`.
    """
    return hashlib.sha1(email_hash.encode()).hexdigest()[:16]


def created_ms_of(comment_id: str) -> int:
    """Give a comment's creation time (ms): the first 12 hex digits of its id."""
    return int(comment_id[:12], 16)


def rfc3339_of_ms(ms: int) -> str:
    """Format milliseconds since the epoch as RFC 3339 with a Z, to the second."""
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def kept_moment(comment_id: str, moment: str) -> int | str:
    """Give how a comment's record keeps a moment: the whole seconds from the comment's creation
    second to it, for RFC 3339 to the second with a Z (as the service writes moments); any
    other text as it is, so it reads back unchanged."""
    try:
        parsed = datetime.fromisoformat(moment)
        seconds = int(parsed.timestamp())
        if parsed.tzinfo is None or rfc3339_of_ms(seconds * 1000) != moment:
            return moment
    except (ValueError, OverflowError, OSError):
        return moment
    return seconds - created_ms_of(comment_id) // 1000


def moment_of(comment_id: str, kept: int | str) -> str:
    """Give a moment as a comment's record keeps it (`kept_moment`) as RFC 3339."""
    if isinstance(kept, str):
        return kept
    return rfc3339_of_ms((created_ms_of(comment_id) // 1000 + int(kept)) * 1000)


def pack(
    comment_id: str,
    fields: dict[str, str],
    email_hash: str = "",
    fingerprint: str = "",
    sealed: bytes | str = b"",
) -> str:
    """Give the stored record of a comment's fields (as `Comment.to_fields` gives them)."""
    record: dict[str, Any] = {}
    derived_avatar = avatar_of(email_hash) if email_hash else None
    for name, value in fields.items():
        if name in _DERIVED or value is None:
            continue
        if (name == "root_id" and value == comment_id) or (name == "depth" and value == "1"):
            continue
        if name == "avatar" and value == derived_avatar:
            continue
        if name in _NUMBERS:
            record[SHORT_NAMES[name]] = int(value)
        elif name in _MOMENTS:
            record[SHORT_NAMES[name]] = kept_moment(comment_id, value)
        elif name == "reasons":
            record["rs"] = json.loads(value)
        elif name == "staff":
            record["st"] = 1
        else:
            record[SHORT_NAMES.get(name, name)] = value
    if email_hash:
        record[EMAIL_HASH] = email_hash
    if fingerprint:
        record[FINGERPRINT] = fingerprint
    if sealed:
        record[SEALED] = sealed.decode() if isinstance(sealed, bytes) else sealed
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def load(raw: str | bytes) -> dict[str, Any]:
    """Read a stored record as its JSON members."""
    members: dict[str, Any] = json.loads(raw)
    return members


def unpack(article_id: str, comment_id: str, raw: str | bytes) -> dict[str, str]:
    """Give a stored record's fields by their full names, as strings, with what derives from
    the id, the text and the email hash (the avatar seed); never the email hash itself, the
    fingerprint or the private data."""
    members = load(raw)
    created_ms = created_ms_of(comment_id)
    fields = {
        "id": comment_id,
        "article_id": article_id,
        "root_id": comment_id,
        "depth": "1",
        "created_ms": str(created_ms),
        "created_at": rfc3339_of_ms(created_ms),
    }
    for short, value in members.items():
        if short in (EMAIL_HASH, FINGERPRINT, SEALED):
            continue
        name = LONG_NAMES.get(short, short)
        if name == "reasons":
            if value:
                fields["reasons"] = json.dumps(value)
        elif name == "staff":
            fields["staff"] = "1"
        elif name in _MOMENTS:
            fields[name] = moment_of(comment_id, value)
        else:
            fields[name] = str(value)
    if SHORT_NAMES["avatar"] not in members and members.get(EMAIL_HASH):
        fields["avatar"] = avatar_of(str(members[EMAIL_HASH]))
    if "body" in fields:
        fields["body_html"] = render_body(fields["body"])
    return fields


def unpack_with_sealed(
    article_id: str, comment_id: str, raw: str | bytes | None
) -> tuple[dict[str, str], bytes | None]:
    """Give a stored record's fields (`unpack`) and its sealed private data; an empty record and
    None for a comment that is gone (`raw` None)."""
    if raw is None:
        return {}, None
    return unpack(article_id, comment_id, raw), sealed_of(raw)


def sealed_of(raw: str | bytes | None) -> bytes | None:
    """Give a stored record's sealed private data (None when it has none)."""
    if raw is None:
        return None
    sealed = load(raw).get(SEALED)
    return sealed.encode() if sealed else None


def email_hash_of(raw: str | bytes | None) -> str:
    """Give the email hash a stored record keeps ("" when none)."""
    if raw is None:
        return ""
    return str(load(raw).get(EMAIL_HASH, ""))
