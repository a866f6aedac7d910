"""The learning spam filter's features and arithmetic: pure, no I/O.

A comment becomes a set of features (words, word pairs, word starts, links and their domains,
the shape of its text, the words of the name, the website's and the email's domain), each hashed
to one of `SLOTS` slots: the filter never keeps a feature in clear, and its memory is bounded
whatever the vocabulary of the site.

The model is a complement-style naive Bayes (Rennie et al., "Tackling the Poor Assumptions of
Naive Bayes Text Classifiers", ICML 2003): each learned comment adds 1/sqrt(its number of
features) to its slots' weight for its class, so long comments do not outvote short ones; a
comment is scored by the log-ratio of its slots' smoothed class frequencies, weighted by their
inverse document frequency and normalized by the comment's length. Every quantity is a sum over
learned comments, so unlearning one subtracts exactly what it added. The sums over a comment's
slots are taken in Redis, where the counts are (`service/lua/spam_score.lua`, which writes the
formula out): two numbers travel back instead of some 400 slots' counts.
"""

from __future__ import annotations

import html
import math
import re
import string
import unicodedata
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import urlsplit

# Features are hashed to 2**20 slots; a slot's counts live in shard `slot >> SHARD_BITS`, 128
# slots a shard, so each shard stays a compact Redis hash (listpack) of at most 128 fields.
SLOT_BITS = 20
SLOTS = 1 << SLOT_BITS
SHARD_BITS = 7
SHARD_SIZE = 1 << SHARD_BITS
# A learned comment adds WEIGHT_SCALE/sqrt(features) to each of its slots (integers: exact undo).
WEIGHT_SCALE = 1000
# Additive smoothing of the class frequencies.
ALPHA = 1.0
# The most features one comment gives (a very long text keeps its first ones).
MAX_FEATURES = 400
# Words longer than this are not words (hashes, base64, runs of one letter).
MAX_WORD = 30
# Of a longer text only the links, the length and the first characters are looked at (a text of
# MAX_TEXT characters already gives about MAX_FEATURES features).
MAX_TEXT = 1000
# A word longer than this also gives its first STEM letters: subscribe, subscribed, subscribing.
STEM = 4

SPAM = "s"
HAM = "h"
LABELS = (SPAM, HAM)

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")
_TAG = re.compile(r"<[^>]*>")
_HREF = re.compile(r"""href\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
_TLDS = (
    "com|net|org|info|biz|io|co|me|tv|ly|gl|to|be|us|uk|de|fr|ru|cn|in|br|pl|nl|it|es|eu|"
    "xyz|online|site|club|top|shop|store|app|news|link|click|live|pro|ws|cc|tk"
)
_URL = re.compile(
    r"(?:https?://|www\.)[^\s<>\"']+"
    rf"|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:{_TLDS})\b(?:/[^\s<>\"']*)?",
    re.IGNORECASE,
)
# Cheap to search for: a text without any of these has no link for `_URL` to find. Searched in
# the text in lower case (several times faster than ignoring case) where that keeps its length.
_LINK_HINT = re.compile(rf"https?://|www\.|\.(?:{_TLDS})\b")
_LINK_HINT_ANY_CASE = re.compile(_LINK_HINT.pattern, re.IGNORECASE)
# CRC-32 of a feature's prefix: a word's slot is the CRC-32 of "w:<word>", continued from it.
_WORD_SEED, _PAIR_SEED, _STEM_SEED = zlib.crc32(b"w:"), zlib.crc32(b"p:"), zlib.crc32(b"s:")
# White space, and the last run of it before a position (searched up to that position).
_SPACE = re.compile(r"\s")
_SPACE_BEFORE = re.compile(r"(?s:.*)\s")
_HANDLE = re.compile(r"(?:^|\s)@\w")
_HASHTAG = re.compile(r"(?:^|\s)#\w")
_ASCII_LETTERS = string.ascii_letters.encode()
_ASCII_CAPITALS = string.ascii_uppercase.encode()


@dataclass(frozen=True)
class Features:
    """A comment's feature slots: those about the reader (name, website, email domain), which
    an erasure forgets, and the others."""

    personal: tuple[int, ...]
    general: tuple[int, ...]

    @property
    def count(self) -> int:
        """Give the number of distinct slots."""
        return len(self.personal) + len(self.general)

    def slots(self) -> tuple[int, ...]:
        """Give every slot, personal ones first."""
        return self.personal + self.general


@dataclass(frozen=True)
class Totals:
    """What the filter has learned overall: comments and summed weights per class, and the
    number of slots in use."""

    spam_comments: int = 0
    ham_comments: int = 0
    spam_weight: int = 0
    ham_weight: int = 0
    slots_used: int = 0


def _slots(found: Iterable[str]) -> list[int]:
    """Hash features to their slots (CRC-32: fast, and evenly spread over the slots)."""
    crc32, mask = zlib.crc32, SLOTS - 1
    return [crc32(encoded) & mask for encoded in map(str.encode, found)]


def _bucket(value: int) -> int:
    """Give a count's order of magnitude (0, 1, 2-3, 4-7, …)."""
    return (value + 1).bit_length() - 1


def _domain_features(prefix: str, address: str) -> list[str]:
    """Give a link's host, its registrable part (the last two labels) and its top-level domain."""
    target = address if "://" in address else f"http://{address}"
    try:
        parts = urlsplit(target)
        host = (parts.hostname or "").removeprefix("www.")
    except ValueError:
        return [f"{prefix}bad"]
    labels = host.split(".")
    found = [f"{prefix}host:{host}", f"{prefix}domain:{'.'.join(labels[-2:])}"]
    if len(labels) > 1:
        found.append(f"{prefix}tld:{labels[-1]}")
    return found


def _links_and_rest(text: str) -> tuple[list[str], str]:
    """Give the links written in a text, and the text without them.

    A link holds no white space and always one of `_LINK_HINT`'s marks, so `_URL` (slow to try
    at every position) only runs on the runs of non-space characters around those marks."""
    links: list[str] = []
    rest: list[str] = []
    start = covered = 0
    lowered = text.lower()
    if len(lowered) == len(text):  # each character lowered to one: the same positions
        hints = _LINK_HINT.finditer(lowered)
    else:
        hints = _LINK_HINT_ANY_CASE.finditer(text)
    for hint in hints:
        if hint.start() < covered:
            continue
        # The run starts after the last white space before the mark (searched only back to the
        # end of the run before, so the whole text is read once).
        word_start = _SPACE_BEFORE.search(text, covered, hint.start())
        begin = word_start.end() if word_start else covered
        space_after = _SPACE.search(text, hint.end())
        covered = space_after.start() if space_after else len(text)
        for match in _URL.finditer(text, begin, covered):
            links.append(match.group())
            rest.append(text[start : match.start()])
            start = match.end()
    if not links:
        return [], text
    rest.append(text[start:])
    return links, " ".join(rest)


def _word_slots(words: list[str]) -> list[int]:
    """Give the slots of a text's words, word pairs and word starts: the same slots as the
    features "w:<word>", "p:<first> <second>" and "s:<start>", without making those strings."""
    crc32, mask = zlib.crc32, SLOTS - 1
    encoded = [word.encode() for word in words]
    pair_seed = _PAIR_SEED
    slots = [crc32(word, _WORD_SEED) & mask for word in encoded]
    slots += [
        crc32(second, crc32(first + b" ", pair_seed)) & mask
        for first, second in zip(encoded, encoded[1:], strict=False)
    ]
    slots += [crc32(word[:STEM].encode(), _STEM_SEED) & mask for word in words if len(word) > STEM]
    return slots


def _letters_and_capitals(text: str) -> tuple[int, int]:
    """Count a text's letters and capital letters (ASCII text by bytes.translate: fast)."""
    if text.isascii():
        raw = text.encode()
        return (
            len(raw) - len(raw.translate(None, _ASCII_LETTERS)),
            len(raw) - len(raw.translate(None, _ASCII_CAPITALS)),
        )
    return sum(map(str.isalpha, text)), sum(map(str.isupper, text))


def _text_slots(body: str) -> list[int]:
    """Give the slots of a text's features, in order: links, words, shape."""
    text = html.unescape(body)
    links = _HREF.findall(text) if "href" in text else []
    text = unicodedata.normalize("NFKC", _TAG.sub(" ", text)).replace("\ufeff", "")
    length = len(text)
    # The first MAX_TEXT characters (cut at a space) give every feature; the rest, its links.
    cut = text.rfind(" ", 0, MAX_TEXT) if length > MAX_TEXT else length
    cut = cut if cut > 0 else MAX_TEXT
    text, rest = text[:cut], text[cut:]
    written, prose = _links_and_rest(text)
    links += written + _links_and_rest(rest)[0]
    found: list[str] = []
    for link in links:
        found += _domain_features("link-", link)
        path = urlsplit(link if "://" in link else f"http://{link}").path
        found += [f"link-path:{word}" for word in _WORD.findall(path.casefold())[:8]]
    if links:
        found.append("link")
    found.append(f"links:{_bucket(len(links))}")
    words = [
        "#" if word.isdigit() else word
        for word in _WORD.findall(prose.casefold())
        if len(word) <= MAX_WORD
    ]
    shape = [f"chars:{_bucket(length)}", f"words:{_bucket(len(words))}"]
    letters, upper = _letters_and_capitals(text)
    if letters:
        shape.append(f"caps:{4 * upper // letters}")
    shape.append(f"bangs:{_bucket(text.count('!'))}")
    if "@" in text and _HANDLE.search(text):
        shape.append("handle")
    if "#" in text and _HASHTAG.search(text):
        shape.append("hashtag")
    return _slots(found) + _word_slots(words) + _slots(shape)


def features(name: str, body: str, website: str | None = None, email: str = "") -> Features:
    """Give a comment's feature slots; of the email only its domain is looked at."""
    general: list[str] = []
    name_words = [word.casefold() for word in _WORD.findall(name)]
    general.append(f"name-words:{min(len(name_words), 4)}")
    if any(char.isdigit() for char in name):
        general.append("name-digits")
    personal = [f"name:{word}" for word in name_words]
    if website:
        general.append("website")
        personal += _domain_features("website-", website)
    domain = email.rpartition("@")[2].casefold()
    if domain:
        personal.append(f"email-domain:{domain}")
    personal_slots = tuple(dict.fromkeys(_slots(personal)))
    general_slots = dict.fromkeys(_text_slots(body) + _slots(general))
    for slot in personal_slots:
        general_slots.pop(slot, None)
    kept = max(0, MAX_FEATURES - len(personal_slots))
    return Features(personal_slots, tuple(general_slots)[:kept])


def comment_weight(feature_count: int) -> int:
    """Give the weight one learned comment adds to each of its slots."""
    return max(1, round(WEIGHT_SCALE / math.sqrt(max(feature_count, 1))))


def probability(evidence: float, squares: float) -> float:
    """Give a comment's spam probability, 0 (legitimate) to 1 (spam), from its slots' evidence
    sum and sum of squared rarities (computed where the counts are: lua/spam_score.lua)."""
    if squares == 0.0:
        return 0.5
    return 1.0 / (1.0 + math.exp(-evidence / math.sqrt(squares)))


# --- what the store keeps per learned comment ------------------------------------------------
# Binary, numbers big-endian: one byte of label (_BINARY_LABEL), two of weight (at most
# WEIGHT_SCALE), two of how many slots are personal, then three per slot (SLOT_BITS <= 24).
# Records kept before were printable, and are still read as they are (a reversal subtracts
# exactly what they added): one character of label (s or h), then numbers in base 64
# (_DIGITS), two characters of weight, two of how many slots are personal, four per slot.
_BINARY_LABEL = {SPAM: b"S", HAM: b"H"}
_LABEL_OF = {ord("S"): SPAM, ord("H"): HAM, ord(SPAM): SPAM, ord(HAM): HAM}
_HEADER = 5
_SLOT_BYTES = 3
_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_"
_VALUE = {digit: value for value, digit in enumerate(_DIGITS)}
_SLOT_DIGITS = 4


def _number(text: str) -> int:
    value = 0
    for digit in text:
        value = value * 64 + _VALUE[digit]
    return value


def _pack(label: str, weight: int, personal: int, slots: Iterable[int]) -> bytes:
    """Give a record in the binary form (to_bytes refuses a number its width cannot hold)."""
    header = _BINARY_LABEL[label] + weight.to_bytes(2, "big") + personal.to_bytes(2, "big")
    return header + b"".join([slot.to_bytes(_SLOT_BYTES, "big") for slot in slots])


class LearnedRecord(NamedTuple):
    """A kept record read back: label (SPAM or HAM), weight, number of personal slots (they
    come first), slots."""

    label: str
    weight: int
    personal: int
    slots: list[int]


def unpack_record(record: bytes) -> LearnedRecord:
    """Read a kept record, whichever its form."""
    label = _LABEL_OF[record[0]]
    if record[:1].isupper():
        step = _SLOT_BYTES
        slots = [
            int.from_bytes(record[at : at + step], "big")
            for at in range(_HEADER, len(record), step)
        ]
        weight, personal = int.from_bytes(record[1:3], "big"), int.from_bytes(record[3:5], "big")
    else:
        text, step = record.decode(), _SLOT_DIGITS
        slots = [_number(text[at : at + step]) for at in range(_HEADER, len(text), step)]
        weight, personal = _number(text[1:3]), _number(text[3:5])
    return LearnedRecord(label, weight, personal, slots)


def pack_record(label: str, found: Features) -> bytes:
    """Give what is kept of a learned comment: its label, weight and slots (no text)."""
    return _pack(label, comment_weight(found.count), len(found.personal), found.slots())


def record_label(record: bytes) -> str | None:
    """Give the label of a kept record (SPAM or HAM, whichever its form), or None for none."""
    return _LABEL_OF[record[0]] if record else None


def record_slots(record: bytes) -> list[int]:
    """Give every slot of a kept record."""
    return unpack_record(record).slots if record else []


def without_personal(record: bytes) -> bytes:
    """Give a record with its personal slots taken out (what an erasure leaves learned), in the
    binary form, with the weight it was learned with."""
    if not record:
        return b""
    label, weight, personal, slots = unpack_record(record)
    return _pack(label, weight, 0, slots[personal:])
