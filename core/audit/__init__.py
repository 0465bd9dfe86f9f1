"""The tamper-evident audit trail.

- ``log``: the append-only ``audit_log`` table and its writer (``AuditLog``);
- ``chain``: pure functions of the HMAC hash chain and its verifier;
- ``checkpoints``: the signed file of chain heads kept outside the database;
- ``checkpoint_job``: the periodic job that appends the head to that file;
- ``verify``: checking the stored chain against the checkpoints.
"""
from core.audit.log import AuditEntry, AuditLog, AuditUnavailable, entry_as_row

__all__ = ["AuditEntry", "AuditLog", "AuditUnavailable", "entry_as_row"]
