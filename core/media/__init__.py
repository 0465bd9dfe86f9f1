"""The encrypted media store shared by check-ins and camera snapshots.

- ``store(session, data=…, content_type=…, kind=…, purpose=…, supervisee_id=…) -> id``
- ``read(session, id, purpose=…, ctx=…) -> MediaBlob`` (audited)
- ``purge(session, supervisee_id=…, ctx=…) -> count`` (end of term; audited)
- ``seal(data) / unseal(blob)`` for small secrets kept in rows (face templates, credentials)
"""
from __future__ import annotations

from core.media.keys import Keyring, MediaIntegrityError, MediaKeyError, keyring
from core.media.keys import seal as seal_with
from core.media.keys import unseal as unseal_with
from core.media.models import Media
from core.media.store import MediaBlob, Recorder, purge, read, store
from core.settings import Settings, get_settings


def seal(data: bytes, *, aad: bytes = b"", settings: Settings | None = None) -> bytes:
    """Encrypt a small secret with the current media key (the key id travels inside)."""
    return seal_with(keyring((settings or get_settings()).media), data, aad=aad)


def unseal(blob: bytes, *, aad: bytes = b"", settings: Settings | None = None) -> bytes:
    """Open a sealed blob with the key it names (retired keys still open their blobs)."""
    return unseal_with(keyring((settings or get_settings()).media), blob, aad=aad)


__all__ = ["Keyring", "Media", "MediaBlob", "MediaIntegrityError", "MediaKeyError", "Recorder",
           "keyring", "purge", "read", "seal", "store", "unseal"]
