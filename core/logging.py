"""Secrets never reach a log line.

Credentials travel where loggers look: OsmAnd and Traccar Client send the
device secret as ``?id=``; a client may put a bearer token in any query
parameter or path segment, and uvicorn's access log and its websocket lines
print the full path with the query string; office messaging webhooks (DingTalk,
WeCom) carry theirs as ``access_token=`` / ``key=`` / ``sign=``. Redaction by
parameter name alone misses ``?jwt=``, ``?device=`` and paths, so a record is
redacted by *shape*, whatever the name or position:

- every query-string value (``?a=…&b=…``): names are kept, values never;
- anything shaped like a JWT (``eyJ…`` header, or three long base64url
  segments joined by dots), signed or not;
- any run of 32+ base64url characters with both cases, which is how every
  secret this project generates looks (``secrets.token_urlsafe(32)``: device
  secrets and websocket tickets, 43 characters). Lower-case hex (hashes,
  request ids, uuids) and ordinary words are left alone;
- Bearer / Basic credentials, and JSON string values of secret-named keys;
- the ``user:pass@`` part of any URL (camera stream URLs carry passwords).

Rather than trusting every logger and formatter to be configured right, every
log record of the process is redacted when it is created: the message, each
of its arguments (so formatters that read ``record.args``, like uvicorn's
access log, keep working) and its traceback text.
"""
from __future__ import annotations

import logging
import re
import traceback

_B64 = r"A-Za-z0-9_\-"
_PATTERNS = (
    # Credentials inside any URL (camera streams: rtsp://admin:12345@10.0.0.5/…); greedy up
    # to the last '@' of the authority, so a password containing '@' goes too.
    (re.compile(r"(\b[A-Za-z][A-Za-z0-9+.\-]*://)[^/\s?#\"'<>]*@"), r"\1[redacted]@"),
    (re.compile(r"(\bBearer\s+)[A-Za-z0-9._~+/=-]+", re.I), r"\1[redacted]"),
    (re.compile(r"(\bBasic\s+)[A-Za-z0-9+/=]+", re.I), r"\1[redacted]"),
    (re.compile(r"(\"(?:device_id|ticket|secret|password|token|access_token)\"\s*:\s*\")[^\"]+"), r"\1[redacted]"),
    # JWTs: a JSON header always encodes to "eyJ"; others by three long segments.
    (re.compile(rf"eyJ[{_B64}]*\.[{_B64}]*(?:\.[{_B64}]*)?"), "[redacted-jwt]"),
    (re.compile(rf"[{_B64}]{{16,}}\.[{_B64}]{{16,}}\.[{_B64}]{{16,}}"), "[redacted-jwt]"),
    # Every query-string value, whatever its name.
    (re.compile(r"([?&][^=&?\s\"'#]{1,64}=)[^&\s\"'#]+"), r"\1[redacted]"),
    # Generated secrets (token_urlsafe): 32+ base64url characters, both letter cases.
    (re.compile(rf"(?<![{_B64}])(?=[{_B64}]*[a-z])(?=[{_B64}]*[A-Z])[{_B64}]{{32,}}(?![{_B64}])"), "[redacted]"),
)
_installed = False


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _redact_arg(value: object) -> object:
    """A record argument with secrets removed; numbers and clean values unchanged
    (so ``%d`` still formats them)."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    text = value if isinstance(value, str) else str(value)
    cleaned = redact(text)
    return value if cleaned == text else cleaned


def redact_record(record: logging.LogRecord) -> None:
    """Redact a record in place: message, arguments, traceback and stack text."""
    if isinstance(record.msg, str):
        record.msg = redact(record.msg)
    if isinstance(record.args, tuple):
        record.args = tuple(_redact_arg(a) for a in record.args)
    elif isinstance(record.args, dict):
        record.args = {k: _redact_arg(v) for k, v in record.args.items()}
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a broken format string must not break logging
        message = None
    if message is not None and redact(message) != message:
        # A secret that only appears once formatted (split across arguments):
        # give up the arguments' structure rather than the secret.
        record.msg, record.args = redact(message), ()
    if record.exc_info and not record.exc_text:
        # Formatted now, redacted, and cached where every Formatter looks first.
        record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


def install_redaction() -> None:
    """Wrap the log record factory once per process."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        redact_record(record)
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
