"""The trivial-route ceiling for bench/devices.py: a FastAPI route that parses the JSON body of
a native ingest request and answers OK — no authentication, no database. Served by the same
uvicorn settings as the real app, it is what the web stack itself allows on this machine."""
from __future__ import annotations

from fastapi import FastAPI, Request

app = FastAPI()


@app.post("/ingest/native")
async def ingest_native(request: Request) -> dict:
    body = await request.json()
    return {"stored": len(body.get("fixes", [])), "duplicates": 0}
