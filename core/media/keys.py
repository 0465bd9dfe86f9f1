"""AES-GCM keys of the media store, and sealed blobs for small secrets kept in rows.

Keys come from ``ZHIJIAO_MEDIA_KEYS`` (``keyid:base64key,...``); new data uses
``ZHIJIAO_MEDIA_KEY_ID``. Every file row and every sealed blob names the key it
was written with, so a key is rotated by adding a new one, making it current,
and keeping the old one listed until nothing written with it is left.
"""
from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from core.settings import MediaSettings

NONCE_BYTES = 12  # the GCM standard nonce; random per file/blob (2^-32 collision odds after 2^32 writes per key)
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_SEAL_MAGIC = b"zjs1"  # version of the sealed-blob layout


class MediaKeyError(RuntimeError):
    """The configured keys are missing or malformed, or data names a key we do not hold."""


class MediaIntegrityError(RuntimeError):
    """Ciphertext did not authenticate (wrong key, tampered or truncated data)."""


@dataclass(frozen=True)
class Keyring:
    keys: dict[str, bytes]
    current: str

    @classmethod
    def parse(cls, spec: str, current: str) -> Keyring:
        """Read ``keyid:base64key,...``; refuse anything doubtful rather than guess."""
        keys: dict[str, bytes] = {}
        for item in filter(None, (part.strip() for part in spec.split(","))):
            key_id, sep, encoded = item.partition(":")
            if not sep or not _KEY_ID.match(key_id):
                raise MediaKeyError("ZHIJIAO_MEDIA_KEYS: each entry is keyid:base64key (id: letters, digits, _ or -)")
            try:
                # Padding is optional: shells that split on '=' may have eaten it.
                key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
            except (binascii.Error, ValueError):
                raise MediaKeyError(f"ZHIJIAO_MEDIA_KEYS: key {key_id!r} is not valid base64") from None
            if len(key) not in (16, 24, 32):
                raise MediaKeyError(f"ZHIJIAO_MEDIA_KEYS: key {key_id!r} must be 16, 24 or 32 bytes")
            if key_id in keys:
                raise MediaKeyError(f"ZHIJIAO_MEDIA_KEYS: key {key_id!r} is listed twice")
            keys[key_id] = key
        if not keys:
            raise MediaKeyError("ZHIJIAO_MEDIA_KEYS is not set (./dev generates one)")
        if current not in keys:
            raise MediaKeyError("ZHIJIAO_MEDIA_KEY_ID must name one of the keys in ZHIJIAO_MEDIA_KEYS")
        return cls(keys=keys, current=current)

    def encrypt(self, nonce: bytes, data: bytes, aad: bytes, *, key_id: str | None = None) -> bytes:
        return AESGCM(self._key(key_id or self.current)).encrypt(nonce, data, aad)

    def decrypt(self, key_id: str, nonce: bytes, data: bytes, aad: bytes) -> bytes:
        try:
            return AESGCM(self._key(key_id)).decrypt(nonce, data, aad)
        except InvalidTag:
            raise MediaIntegrityError("encrypted data did not authenticate (wrong key or altered data)") from None

    def _key(self, key_id: str) -> bytes:
        try:
            return self.keys[key_id]
        except KeyError:
            raise MediaKeyError(f"media key {key_id!r} is not configured (keep retired keys in ZHIJIAO_MEDIA_KEYS)") from None


@lru_cache(maxsize=8)
def _parsed(spec: str, current: str) -> Keyring:
    return Keyring.parse(spec, current)


def keyring(settings: MediaSettings) -> Keyring:
    """The keyring of these settings (parsed once per distinct configuration)."""
    return _parsed(settings.media_keys, settings.media_key_id)


def seal(ring: Keyring, data: bytes, *, aad: bytes = b"") -> bytes:
    """Encrypt a small secret for a database column: magic, key id, nonce, ciphertext+tag.

    ``aad`` binds the blob to where it belongs (e.g. ``b"face-template:42"``), so a
    blob copied into another row does not open there.
    """
    key_id = ring.current.encode()
    header = _SEAL_MAGIC + bytes([len(key_id)]) + key_id
    nonce = os.urandom(NONCE_BYTES)
    return header + nonce + ring.encrypt(nonce, data, header + aad)


def unseal(ring: Keyring, blob: bytes, *, aad: bytes = b"") -> bytes:
    """Open a blob made by :func:`seal` with the key it names."""
    if len(blob) < 5 or blob[:4] != _SEAL_MAGIC:
        raise MediaIntegrityError("not a sealed blob")
    id_len = blob[4]
    header_len = 5 + id_len
    if len(blob) < header_len + NONCE_BYTES + 16:
        raise MediaIntegrityError("sealed blob is truncated")
    header = blob[:header_len]
    key_id = header[5:].decode("ascii", errors="replace")
    nonce = blob[header_len:header_len + NONCE_BYTES]
    return ring.decrypt(key_id, nonce, blob[header_len + NONCE_BYTES:], header + aad)
