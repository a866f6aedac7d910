"""Keep readers' private data private: encryption at rest and keyed hashes, from one secret."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from service.models import PrivateData
from service.records import avatar_of

KEY_CHECK_TEXT = b"news-comments: the secret key this store is sealed with"
# Sealed data: a form digit, then a 12-byte nonce and the AES-256-GCM ciphertext with its tag, in
# URL-safe base64 (unpadded) or, form "4", in base85 (`base64.b85encode`: its alphabet holds no
# quote, backslash or slash, so JSON, Lua's cjson included, keeps it as it is; 5 characters per
# 4 bytes, where base64 takes 4 per 3). Data sealed before is a Fernet token ("gAAAA…"), still
# opened. An email on the block list is sealed in form "2".
_SEALED_PREFIX = b"2"
_NONCE_BYTES = 12
# A comment's private data today: form "4", email, IP and user agent joined by _SEPARATOR (the
# email and IP never hold it), in base85. Form "3" sealed the same in base64; form "2" sealed
# them as a JSON list (or, before, an object).
_PRIVATE_PREFIX = b"4"
_JOINED_BASE64_PREFIX = b"3"
_SEPARATOR = "\x1f"
# Bytes of an email's HMAC-SHA256 kept in its hash: 128 bits, 22 characters of base64.
_EMAIL_HASH_BYTES = 16


class PrivateDataError(RuntimeError):
    """Stored private data cannot be decrypted with the configured secret."""


def _derive(secret: str, purpose: str) -> bytes:
    """Derive an independent 32-byte key for one purpose from the server secret."""
    kdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode())
    return kdf.derive(secret.encode())


class Privacy:
    """Encrypt private data and hash emails with keys derived from the server secret."""

    def __init__(self, secret: str) -> None:
        self._fernet = Fernet(base64.urlsafe_b64encode(_derive(secret, "private-data/v1")))
        self._aead = AESGCM(_derive(secret, "private-data/v2"))
        self._lookup_key = _derive(secret, "email-lookup/v1")
        self._avatar_key = _derive(secret, "avatar/v1")
        self._check_key = _derive(secret, "key-check/v1")

    def _seal(self, plain: bytes, prefix: bytes = _SEALED_PREFIX) -> bytes:
        """Encrypt and authenticate `plain` under a fresh nonce, in the form `prefix` names."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = nonce + self._aead.encrypt(nonce, plain, None)
        if prefix == _PRIVATE_PREFIX:
            return prefix + base64.b85encode(sealed)
        return prefix + base64.urlsafe_b64encode(sealed).rstrip(b"=")

    def _open(self, sealed: bytes) -> bytes:
        """Decrypt what `_seal` (or, before it, Fernet) sealed, in any form; raise
        PrivateDataError when it does not open with this secret."""
        form, body = sealed[:1], sealed[1:]
        try:
            if form == _PRIVATE_PREFIX:
                raw = base64.b85decode(body)
            elif form in (_SEALED_PREFIX, _JOINED_BASE64_PREFIX):
                raw = base64.urlsafe_b64decode(body + b"=" * (-len(body) % 4))
            else:
                return self._fernet.decrypt(sealed)
            return self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], None)
        except (InvalidToken, InvalidTag, binascii.Error, ValueError) as error:
            raise PrivateDataError("private data does not open with this secret") from error

    def encrypt(self, data: PrivateData) -> bytes:
        """Seal the private data of one comment: email, IP and user agent, joined."""
        plain = _SEPARATOR.join([data.email, data.ip, data.user_agent])
        return self._seal(plain.encode(), _PRIVATE_PREFIX)

    def decrypt(self, sealed: bytes) -> PrivateData:
        """Open the private data of one comment (sealed in any form so far)."""
        plain = self._open(sealed)
        if sealed.startswith((_PRIVATE_PREFIX, _JOINED_BASE64_PREFIX)):
            email, ip, user_agent = plain.decode().split(_SEPARATOR, 2)
            return PrivateData(email=email, ip=ip, user_agent=user_agent)
        fields = json.loads(plain)
        if isinstance(fields, dict):  # sealed before the list form
            return PrivateData(fields["email"], fields["ip"], fields["user_agent"])
        email, ip, user_agent = fields
        return PrivateData(email=email, ip=ip, user_agent=user_agent)

    def opens(self, sealed: bytes) -> bool:
        """Tell whether sealed data opens with this secret."""
        try:
            self._open(sealed)
        except PrivateDataError:
            return False
        return True

    def seal_email(self, email: str) -> bytes:
        """Seal an email on its own (for the block list)."""
        return self._seal(email.encode())

    def open_email(self, sealed: bytes) -> str:
        """Open an email sealed by `seal_email`."""
        return self._open(sealed).decode()

    def email_hash(self, email: str) -> str:
        """Give the keyed hash that finds an email's comments without storing the email: 128
        bits of an HMAC-SHA256, in 22 characters of URL-safe base64."""
        digest = hmac.new(self._lookup_key, email.casefold().encode(), hashlib.sha256).digest()
        return _base64(digest[:_EMAIL_HASH_BYTES])

    def client_hash(self, ip: str) -> str:
        """Give the keyed hash that names a client IP in rate-limit and flood keys."""
        return hmac.new(self._lookup_key, f"ip:{ip}".encode(), hashlib.sha256).hexdigest()[:32]

    def key_check(self) -> str:
        """Give the key check value of this secret: an HMAC of a fixed text under a key derived
        from it, kept in Redis so a service with another secret refuses to write there (it
        tells nothing of the secret)."""
        return hmac.new(self._check_key, KEY_CHECK_TEXT, hashlib.sha256).hexdigest()

    def avatar_seed(self, email: str) -> str:
        """Give the public avatar seed of an email: a one-way function of its keyed hash, so
        nobody can test a guess offline, and a record derives it from the hash it keeps."""
        return avatar_of(self.email_hash(email))

    def avatar_seed_before(self, email: str) -> str:
        """Give the avatar seed an email had before seeds derived from its hash (an HMAC under
        a key of its own): comments stored then show it still, and so may answers kept for an
        `Idempotency-Key` (24 hours), which an erasure looks for by it."""
        digest = hmac.new(self._avatar_key, email.casefold().encode(), hashlib.sha256)
        return digest.hexdigest()[:16]

    def reporter_hash(self, comment_id: str, client: str) -> str:
        """Give the keyed hash naming one client among a comment's reporters; keyed per comment
        too, so one client's reports cannot be linked across comments."""
        text = f"report:{comment_id}:{client}".encode()
        return hmac.new(self._lookup_key, text, hashlib.sha256).hexdigest()[:32]


def email_hash_of_hex(old: str) -> str:
    """Give today's email hash of one kept in hex (all 256 bits) before: the same HMAC, cut to
    128 bits, so data stored then is found by it (`news-comments migrate-keys`)."""
    return _base64(bytes.fromhex(old)[:_EMAIL_HASH_BYTES])


def _base64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
