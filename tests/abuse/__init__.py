"""The abuse suite: what a hostile or broken client can try, and what it gets.

Here, against real server processes on 127.0.0.1:

- ``test_rate_limits.py``: a device over its request or fix rate gets 429 with
  Retry-After and a message naming the limit, before any work; a phone's backlog
  passes; a flooding device leaves another device's latency where it was; GPX
  uploads, report exports and websocket tickets are limited per user;
- ``test_log_secrets.py``: canary tokens (JWTs, device secrets of each protocol,
  a websocket ticket, a password, an activation code) through every authentication path never reach
  the access or error log;
- ``test_login_abuse.py``: password guessing over HTTP locks the account (429 +
  Retry-After, even for the right password) and the guessing address.

Elsewhere, by the code they exercise:

- login throttling and lockout in detail, the bounded password hashes (503),
  the Host check: ``tests/api/test_auth.py``;
- bodies over a route's limit (413 while reading, before authentication, memory
  bounded): ``tests/api/test_body_limit.py``;
- hostile values (ids beyond bigint, NUL, deep nesting, far dates): never a 500:
  ``tests/api/test_hostile_values.py``, ``tests/api/test_no_server_errors.py``;
- revoked sessions and sockets at token expiry: ``tests/api/test_session_revocation.py``;
- device credentials only on their own protocol: ``tests/geo/ingest/test_device_protocol.py``;
- server-side fetches (webhooks): ``tests/alerts/test_webhooks.py``;
- kill -9 of the server under load: ``tests/crash/``.
"""
