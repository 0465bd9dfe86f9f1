"""Health: answers 200 only when the database (with PostGIS) answers."""
from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from api.deps import UowDep

router = APIRouter(tags=["health"])


@router.get("/health")
def health(uow: UowDep):
    try:
        postgis = uow.session.execute(text("SELECT postgis_lib_version()")).scalar_one()
    except SQLAlchemyError as exc:
        uow.session.rollback()  # nothing to keep; the unit of work then commits nothing
        return JSONResponse({"status": "unavailable", "database": type(exc).__name__}, status_code=503)
    return {"status": "ok", "database": "ok", "postgis": postgis}
