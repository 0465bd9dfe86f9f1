"""What supervision keeps and deletes at a supervisee's purge.

Kept (legal file): the identity record (``supervisees``: name, keyed ID hash,
sentence, term, residence), the account row (deactivated at the end of term;
leave requests name it as their requester), account requests and intake
registrations (decisions). Deleted: the devices (their credential and broker
password hashes are secrets with no use once monitoring has stopped, and the
rows only tie fixes, already gone, to a device), activation codes and account
notices. Devices go after geo's fixes (api.app.RETENTIONS: geo first).
"""
from __future__ import annotations

from sqlalchemy import delete, select

from core.context import Ctx
from core.retention import Retention
from supervision.models import AccountNotice, ActivationCode, Device, User


def purge_supervision(ctx: Ctx, supervisee_id: int) -> dict[str, int]:
    """Delete the person's devices, activation codes and account notices; counts per table."""
    db = ctx.db
    account = select(User.id).where(User.supervisee_id == supervisee_id)
    return {
        "activation_codes": db.execute(delete(ActivationCode).where(ActivationCode.user_id.in_(account))).rowcount,
        "account_notices": db.execute(delete(AccountNotice).where(AccountNotice.user_id.in_(account))).rowcount,
        "devices": db.execute(delete(Device).where(Device.supervisee_id == supervisee_id)).rowcount,
    }


RETENTION = Retention(
    package="supervision",
    legal_file=("supervisees", "users", "account_requests", "supervisee_registrations"),
    operational=("devices", "activation_codes", "account_notices"),
    purge=purge_supervision,
)
