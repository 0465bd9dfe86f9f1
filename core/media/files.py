"""Where the store's files live on disk: ``<media_dir>/<ab>/<abcdef…>``, 0700 dirs, 0600 files."""
from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

_NAME = re.compile(r"[0-9a-f]{32}")
TMP_SUFFIX = ".tmp"


def new_name() -> str:
    """A server-chosen name that says nothing about the file (128 random bits)."""
    return secrets.token_hex(16)


def path_of(root: Path, name: str) -> Path:
    if not _NAME.fullmatch(name):  # names only ever come from new_name(); never a path from outside
        raise ValueError("not a media file name")
    return root / name[:2] / name


def write(root: Path, name: str, data: bytes) -> None:
    """Write durably and atomically: a reader sees the whole file or none."""
    path = path_of(root, name)
    # makedirs applies its mode to the leaf only (the rest get the umask): make the
    # root 0700 first, so no other account can even list the media folder.
    os.makedirs(root, mode=0o700, exist_ok=True)
    os.makedirs(path.parent, mode=0o700, exist_ok=True)
    tmp = path.with_name(name + TMP_SUFFIX)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the rename itself survives a crash
    finally:
        os.close(dir_fd)


def read(root: Path, name: str) -> bytes:
    return path_of(root, name).read_bytes()


def remove(root: Path, name: str) -> bool:
    """Delete a file; False if it was already gone."""
    try:
        path_of(root, name).unlink()
        return True
    except FileNotFoundError:
        return False


def listing(root: Path) -> Iterator[tuple[str, Path]]:
    """(name, path) of every file under the store, finished or not (``.tmp``)."""
    if not root.is_dir():
        return
    for sub in root.iterdir():
        if not sub.is_dir() or len(sub.name) != 2:
            continue
        for path in sub.iterdir():
            name = path.name.removesuffix(TMP_SUFFIX)
            if _NAME.fullmatch(name) and path.is_file():
                yield name, path
