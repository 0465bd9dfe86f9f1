"""A flooding device, as a process of its own (so its CPU is not the measuring test's):

    python -m tests.abuse.flood BASE_URL SECRET CONCURRENCY SECONDS [FIXES]

sends native batches of FIXES new fixes (default 1) with ``SECRET`` back to back
over CONCURRENCY keep-alive connections for SECONDS, then prints
``{"status": count, ...}``.
"""
from __future__ import annotations

import asyncio
import collections
import json
import sys
import time
import uuid
from datetime import UTC, datetime

import httpx


async def flood(base: str, secret: str, concurrency: int, seconds: float, fixes: int = 1) -> dict[str, int]:
    counts: collections.Counter[str] = collections.Counter()
    deadline = time.monotonic() + seconds
    headers = {"Authorization": f"Bearer {secret}"}

    # One body, a fresh id prefix per request: new fixes each time (real work if
    # accepted), at almost no cost to this process.
    now = datetime.now(UTC).timestamp()
    template = json.dumps({"fixes": [
        {"id": f"TAG-{i}", "time": datetime.fromtimestamp(now - 10 * (fixes - i), UTC).isoformat(),
         "lat": 28.95, "lon": 118.95, "accuracy": 10} for i in range(fixes)]}).encode()
    headers["content-type"] = "application/json"

    async def one_connection(http: httpx.AsyncClient) -> None:
        while time.monotonic() < deadline:
            body = template.replace(b'"TAG-', f'"f{uuid.uuid4().hex[:12]}-'.encode())
            try:
                r = await http.post("/ingest/native", headers=headers, content=body)
                counts[str(r.status_code)] += 1
            except httpx.HTTPError as exc:
                counts[type(exc).__name__] += 1

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as http:
        await asyncio.gather(*(one_connection(http) for _ in range(concurrency)))
    return dict(counts)


if __name__ == "__main__":
    base, secret, concurrency, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    fixes = int(sys.argv[5]) if len(sys.argv) > 5 else 1
    print(json.dumps(asyncio.run(flood(base, secret, concurrency, seconds, fixes))), flush=True)
