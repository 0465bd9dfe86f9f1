"""Secrets never reach a log line.

OsmAnd and Traccar Client authenticate with the device id itself, carried in
the query string; access logs, HTTP client logs and error messages would all
print it. Office messaging webhooks (DingTalk, WeCom) carry theirs as
``access_token=`` / ``key=`` (and ``sign=``) in the URL, which the HTTP
client logs. Rather than trusting every logger to be configured right, every
log record of the process is redacted when it is created.
"""
from __future__ import annotations

import logging
import re

_PATTERNS = (
    (re.compile(r"([?&](?:id|device_id|deviceid|ticket|token|access_token|key|secret|sign)=)[^&\s\"']+", re.I), r"\1[redacted]"),
    (re.compile(r"(\bBearer\s+)[A-Za-z0-9._~+/=-]+", re.I), r"\1[redacted]"),
    (re.compile(r"(\bBasic\s+)[A-Za-z0-9+/=]+", re.I), r"\1[redacted]"),
    (re.compile(r"(\"(?:device_id|ticket|secret|password)\"\s*:\s*\")[^\"]+"), r"\1[redacted]"),
)
_installed = False


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def install_redaction() -> None:
    """Wrap the log record factory once per process."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string must not break logging
            return record
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
