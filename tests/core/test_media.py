"""The encrypted media store on a real database and a real directory."""
from __future__ import annotations

import base64
import os
import secrets
from datetime import timedelta

import pytest
from sqlalchemy import select

from core import media
from core.audit import AuditEntry, AuditLog
from core.context import Ctx
from core.errors import NotFound
from core.media import files
from core.media.models import Media
from core.media.scheduled import sweep_media
from core.principal import Principal, RequestContext

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 40 + b"\xff\xd9"


def _key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


@pytest.fixture
def msettings(settings, tmp_path):
    settings.media.media_dir = tmp_path / "media"
    settings.media.media_keys, settings.media.media_key_id = f"test1:{_key()}", "test1"
    return settings


@pytest.fixture
def ctx(db, msettings, clock, world):
    officer = world.users["officer_a"]
    principal = Principal(officer.id, officer.username, "officer", officer.jurisdiction_id, "1/")
    return Ctx(db=db, request=RequestContext(principal, request_id="r-media"),
               audit=AuditLog(msettings.audit.audit_key.encode(), clock), settings=msettings, clock=clock)


def _store(db, settings, supervisee_id, data=JPEG):
    return media.store(db, data=data, content_type="image/jpeg", kind="photo", purpose="checkin",
                       supervisee_id=supervisee_id, settings=settings)


def _file(db, settings, media_id):
    row = db.get(Media, media_id)
    return files.path_of(settings.media.media_dir, row.file_name)


def _audit(db, action):
    return db.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)).all()


def test_round_trip_is_audited_with_its_purpose(db, msettings, ctx, world):
    sid = world.supervisees["a"].id
    media_id = _store(db, msettings, sid)
    blob = media.read(db, media_id, purpose="review", ctx=ctx)
    assert blob.data == JPEG and blob.content_type == "image/jpeg"
    [entry] = _audit(db, "media.read")
    assert entry.object_id == str(media_id) and entry.actor_id == ctx.principal.user_id
    assert entry.detail == {"purpose": "review", "kind": "photo", "supervisee_id": sid}
    row = db.get(Media, media_id)
    assert (row.size, row.purpose, row.key_id, row.supervisee_id) == (len(JPEG), "checkin", "test1", sid)


def test_file_on_disk_is_unreadable_without_the_key(db, msettings, ctx, world):
    media_id = _store(db, msettings, world.supervisees["a"].id)
    path = _file(db, msettings, media_id)
    raw = path.read_bytes()
    assert not raw.startswith(b"\xff\xd8") and b"JFIF" not in raw
    assert bytes(range(64)) not in raw
    assert len(raw) == len(JPEG) + 16  # ciphertext + GCM tag, nothing else
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert oct(path.parent.stat().st_mode & 0o777) == "0o700"
    # The server chose the name; it says nothing about the content.
    assert "jpg" not in path.name and len(path.name) == 32
    # Another key with the same id does not open it.
    msettings.media.media_keys = f"test1:{_key()}"
    with pytest.raises(media.MediaIntegrityError):
        media.read(db, media_id, purpose="review", ctx=ctx)
    assert _audit(db, "media.read") == []  # nothing was returned, so nothing read


def test_tampered_or_moved_file_is_refused(db, msettings, ctx, world):
    sid = world.supervisees["a"].id
    first, second = _store(db, msettings, sid), _store(db, msettings, sid, data=JPEG[::-1])
    # Put the second file under the first row's name: the associated data names the row.
    _file(db, msettings, first).write_bytes(_file(db, msettings, second).read_bytes())
    with pytest.raises(media.MediaIntegrityError):
        media.read(db, first, purpose="review", ctx=ctx)
    raw = bytearray(_file(db, msettings, second).read_bytes())
    raw[10] ^= 1
    _file(db, msettings, second).write_bytes(bytes(raw))
    with pytest.raises(media.MediaIntegrityError):
        media.read(db, second, purpose="review", ctx=ctx)


def test_key_rotation_keeps_old_files_readable(db, msettings, ctx, world):
    old_key, new_key = _key(), _key()
    msettings.media.media_keys, msettings.media.media_key_id = f"old:{old_key}", "old"
    sid = world.supervisees["a"].id
    old_id = _store(db, msettings, sid, data=b"before rotation")
    old_blob = media.seal(b"template v1", aad=b"face:1", settings=msettings)
    msettings.media.media_keys, msettings.media.media_key_id = f"old:{old_key},new:{new_key}", "new"
    new_id = _store(db, msettings, sid, data=b"after rotation")
    assert (db.get(Media, old_id).key_id, db.get(Media, new_id).key_id) == ("old", "new")
    assert media.read(db, old_id, purpose="review", ctx=ctx).data == b"before rotation"
    assert media.read(db, new_id, purpose="review", ctx=ctx).data == b"after rotation"
    assert media.unseal(old_blob, aad=b"face:1", settings=msettings) == b"template v1"
    # Retire the old key too early: its files say which key they need.
    msettings.media.media_keys = f"new:{new_key}"
    with pytest.raises(media.MediaKeyError, match="'old' is not configured"):
        media.read(db, old_id, purpose="review", ctx=ctx)


def test_seal_binds_key_id_and_context(msettings):
    blob = media.seal(b"secret", aad=b"camera:7", settings=msettings)
    assert b"secret" not in blob and blob[5:10] == b"test1"
    assert media.unseal(blob, aad=b"camera:7", settings=msettings) == b"secret"
    with pytest.raises(media.MediaIntegrityError):
        media.unseal(blob, aad=b"camera:8", settings=msettings)
    forged = blob[:5] + b"test2" + blob[10:]  # claim another key id
    with pytest.raises((media.MediaIntegrityError, media.MediaKeyError)):
        media.unseal(forged, aad=b"camera:7", settings=msettings)
    assert media.seal(b"secret", settings=msettings) != media.seal(b"secret", settings=msettings)


@pytest.mark.parametrize("spec,current,message", [
    ("", "", "not set"),
    ("k1:notbase64!", "k1", "not valid base64"),
    (f"k1:{base64.b64encode(b'short').decode()}", "k1", "16, 24 or 32"),
    (f"k1:{base64.b64encode(bytes(32)).decode()}", "k2", "must name one"),
    ("../x:AAAA", "../x", "keyid:base64key"),
])
def test_bad_key_configuration_is_refused(spec, current, message):
    with pytest.raises(media.MediaKeyError, match=message):
        media.Keyring.parse(spec, current)


def test_purge_deletes_files_marks_rows_and_is_audited(db, msettings, ctx, world):
    a, b = world.supervisees["a"].id, world.supervisees["b"].id
    mine = [_store(db, msettings, a) for _ in range(3)]
    other = _store(db, msettings, b)
    paths = [_file(db, msettings, i) for i in mine]
    assert media.purge(db, supervisee_id=a, ctx=ctx) == 3
    assert not any(p.exists() for p in paths)
    assert all(db.get(Media, i).purged_at is not None for i in mine)
    [entry] = _audit(db, "media.purge")
    assert entry.object_id == str(a) and entry.detail["count"] == 3 and sorted(entry.detail["media_ids"]) == mine
    with pytest.raises(NotFound):
        media.read(db, mine[0], purpose="review", ctx=ctx)
    assert [e.outcome for e in _audit(db, "media.read")] == ["not_found"]
    assert media.read(db, other, purpose="review", ctx=ctx).data == JPEG  # someone else's untouched
    assert media.purge(db, supervisee_id=a, ctx=ctx) == 0


def test_sweep_deletes_rolled_back_and_purged_files_only(db, msettings, job, world, clock):
    root = msettings.media.media_dir
    sid = world.supervisees["a"].id
    kept = _store(db, msettings, sid)
    # A file whose transaction rolled back: written, then its row is gone.
    nested = db.begin_nested()
    lost = _store(db, msettings, sid)
    lost_path = _file(db, msettings, lost)
    nested.rollback()
    assert lost_path.exists() and db.get(Media, lost) is None
    fresh_orphan = files.path_of(root, files.new_name())
    files.write(root, fresh_orphan.name, b"x")
    old = (clock.now() - timedelta(hours=2)).timestamp()
    os.utime(lost_path, (old, old))
    # A purged row whose file somehow survived.
    purged = _store(db, msettings, sid)
    purged_path = _file(db, msettings, purged)
    db.get(Media, purged).purged_at = clock.now()
    db.flush()
    assert sweep_media(job()) == 2
    assert not lost_path.exists() and not purged_path.exists()
    assert fresh_orphan.exists()  # its transaction might still be open
    assert _file(db, msettings, kept).exists()
    assert _audit(db, "media.sweep")[-1].detail == {"deleted": 2}


def test_media_folder_and_names_admit_no_one_else(tmp_path) -> None:
    """The media root is 0700 whatever the umask (makedirs gives its mode to the leaf only),
    and a name with a trailing newline (which ``$`` admits) is not a media file name."""
    import os
    import stat

    from core.media import files

    old = os.umask(0o022)
    try:
        root = tmp_path / "media-root"
        files.write(root, files.new_name(), b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    with pytest.raises(ValueError):
        files.path_of(root, "0" * 32 + "\n")
