"""Request and response models of the camera registry, coverage and snapshots."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from cameras.models import MAX_RANGE_M
from core.schemas import Id, Input, Output, Page
from geo.datum import DatumName

Lon = Annotated[float, Field(ge=-180, le=180)]
Lat = Annotated[float, Field(ge=-90, le=90)]
Heading = Annotated[float, Field(ge=0, lt=360, description="degrees clockwise from north")]
Fov = Annotated[float, Field(gt=0, le=360, description="horizontal field of view, degrees (360: a dome)")]
Range = Annotated[float, Field(gt=0, le=MAX_RANGE_M, description="useful range, metres")]
Url = Annotated[str, Field(min_length=1, max_length=2000, description="rtsp/http/https, without credentials")]
Secret = Annotated[str, Field(min_length=1, max_length=200)]
CameraStatus = Literal["active", "disabled"]


class CameraCredentialsIn(Input):
    username: Secret
    password: Secret


class CameraIn(Input):
    code: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_.:-]+$")]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    lon: Lon
    lat: Lat
    datum: DatumName = "wgs84"
    heading: Heading
    fov: Fov
    range_m: Range
    height_m: Annotated[float, Field(ge=0, le=200)] | None = None
    url: Url
    credentials: CameraCredentialsIn | None = None
    jurisdiction_id: Id
    status: CameraStatus = "active"


class CameraPatch(Input):
    not_null = frozenset({"name", "lon", "lat", "heading", "fov", "range_m", "url", "jurisdiction_id", "status"})

    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    lon: Lon | None = None
    lat: Lat | None = None
    datum: DatumName = "wgs84"
    heading: Heading | None = None
    fov: Fov | None = None
    range_m: Range | None = None
    height_m: Annotated[float, Field(ge=0, le=200)] | None = None
    url: Url | None = None
    # null removes the stored credentials; leaving it out keeps them.
    credentials: CameraCredentialsIn | None = None
    jurisdiction_id: Id | None = None
    status: CameraStatus | None = None


class CameraOut(Output):
    id: int
    code: str
    name: str
    lon: float  # WGS-84
    lat: float
    source_datum: str
    heading: float
    fov: float
    range_m: float
    height_m: float | None
    url: str  # redacted: never credentials or query tokens
    has_credentials: bool
    jurisdiction_id: int
    status: str


class CameraPage(Page[CameraOut]):
    pass


class CameraHit(Output):
    """A camera that can see (coverage) or is near (within) a point, with its distance."""

    id: int
    code: str
    name: str
    lon: float
    lat: float
    heading: float
    fov: float
    range_m: float
    jurisdiction_id: int
    distance_m: float


class CameraHits(Output):
    items: list[CameraHit]


class SnapshotOut(Output):
    id: int
    camera_id: int
    alert_id: int | None
    around_at: datetime
    distance_m: float | None
    state: str
    error: str | None
    frames: int
    requested_at: datetime
    done_at: datetime | None


class SnapshotList(Output):
    items: list[SnapshotOut]


class ImportRefusal(Output):
    line: int
    code: str | None
    reason: str


class ImportReport(Output):
    rows: int
    imported: int
    refused: list[ImportRefusal]
    elapsed_ms: float
