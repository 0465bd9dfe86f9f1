"""The ``media`` table: one row per encrypted file of the media store."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, LargeBinary, String, func
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class Media(Base):
    __tablename__ = "media"
    __table_args__ = (Index("media_supervisee", "supervisee_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # e.g. "photo", "snapshot"
    content_type: Mapped[str] = mapped_column(String(64))
    # Server-chosen random name (hex) of the file under the media directory.
    file_name: Mapped[str] = mapped_column(String(64), unique=True)
    key_id: Mapped[str] = mapped_column(String(32))
    nonce: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))  # of the plaintext: checked on every read
    size: Mapped[int] = mapped_column(BigInteger)  # plaintext bytes
    # A schema-level reference only (core imports nothing of supervision).
    supervisee_id: Mapped[int | None] = mapped_column(ForeignKey("supervisees.id"))
    purpose: Mapped[str] = mapped_column(String(32))  # why it was collected: "checkin", "enrolment", …
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
