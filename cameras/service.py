"""The camera registry: admins register and change cameras, staff read those in scope.

Positions arrive in any datum and are stored in WGS-84. The stream URL is
checked against the configured camera networks (``video.camera_url``) on
every write and stored without credentials; the credentials are sealed apart
(``camera_credentials``) and leave this package only toward a grab, never in
an answer or an audit row.
"""
from __future__ import annotations

import json
from urllib.parse import urlsplit

from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from cameras.models import Camera, CameraCredential
from cameras.schemas import CameraIn, CameraOut, CameraPatch
from cameras.scope import camera_clause, require_admin
from core.context import Ctx
from core.errors import Conflict, Invalid, NotFound
from core.media import seal, unseal
from core.settings import Settings
from geo.datum import to_wgs84
from supervision.models import Jurisdiction
from supervision.models import Role
from supervision.scope import STAFF_READERS, jurisdiction_clause, require_role
from video.camera_url import CameraUrl, CameraUrlRefused, check_camera_url, redact_url


# Camera rows are not personal: admins (who register them) read them too; supervisees do not.
CAMERA_READERS = STAFF_READERS | {Role.admin}


def camera_networks(settings: Settings) -> list[str]:
    return list(settings.cameras.camera_networks)


def check_url(url: str, settings: Settings, *, field: str = "url") -> CameraUrl:
    """The URL checked against the camera networks, or a 422 naming why."""
    try:
        return check_camera_url(url, networks=camera_networks(settings))
    except CameraUrlRefused as exc:
        raise Invalid(f"stream URL refused: {exc}", field=field) from None


def _aad(camera_id: int) -> bytes:
    return f"zhijiao-camera-credentials:{camera_id}".encode()


def set_credentials(db: Session, camera: Camera, credentials: tuple[str, str] | None, settings: Settings) -> None:
    """Seal (or remove, with None) a camera's credentials; bound to its id so a row copied elsewhere does not open."""
    db.execute(delete(CameraCredential).where(CameraCredential.camera_id == camera.id))
    if credentials is not None:
        sealed = seal(json.dumps(list(credentials)).encode(), aad=_aad(camera.id), settings=settings)
        db.add(CameraCredential(camera_id=camera.id, sealed=sealed))


def credentials_for(db: Session, camera_id: int, settings: Settings) -> tuple[str, str] | None:
    """The camera's credentials for a grab (never for an answer)."""
    sealed = db.scalar(select(CameraCredential.sealed).where(CameraCredential.camera_id == camera_id))
    if sealed is None:
        return None
    user, password = json.loads(unseal(sealed, aad=_aad(camera_id), settings=settings))
    return user, password


def _position(lon: float, lat: float, datum: str) -> tuple[float, float]:
    return to_wgs84(lon, lat, datum) if datum != "wgs84" else (lon, lat)


def _place(camera: Camera, lon: float, lat: float, datum: str) -> None:
    camera.lon, camera.lat = _position(lon, lat, datum)
    camera.source_datum = datum
    camera.geog = from_shape(Point(camera.lon, camera.lat), srid=4326)


def _jurisdiction(ctx: Ctx, jurisdiction_id: int, *, is_object: bool) -> Jurisdiction:
    """A jurisdiction in the admin's subtree. Where it is the object of the call (registering a camera
    into it) another one is 404 like a nonexistent one; in a PATCH (the camera is the object) a 422."""
    row = ctx.db.scalar(select(Jurisdiction).where(Jurisdiction.id == jurisdiction_id,
                                                   jurisdiction_clause(ctx.principal)))
    if row is None:
        if is_object:
            raise NotFound()
        raise Invalid("no such jurisdiction in your scope", field="body.jurisdiction_id")
    return row


def create_camera(*, ctx: Ctx, data: CameraIn) -> Camera:
    require_admin(ctx.principal, "register cameras")
    _jurisdiction(ctx, data.jurisdiction_id, is_object=True)
    check_url(data.url, ctx.settings, field="body.url")
    if ctx.db.scalar(select(Camera.id).where(Camera.code == data.code)) is not None:
        raise Conflict(f"camera code {data.code!r} is already registered", field="body.code")
    now = ctx.clock.now()
    camera = Camera(code=data.code, name=data.name, heading=data.heading, fov=data.fov, range_m=data.range_m,
                    height_m=data.height_m, stream_url=data.url, jurisdiction_id=data.jurisdiction_id,
                    status=data.status, created_at=now, updated_at=now)
    _place(camera, data.lon, data.lat, data.datum)
    ctx.db.add(camera)
    ctx.db.flush()
    if data.credentials is not None:
        set_credentials(ctx.db, camera, (data.credentials.username, data.credentials.password), ctx.settings)
    ctx.record("camera.create", "camera", camera.id,
               detail={"code": camera.code, "url": redact_url(camera.stream_url),
                       "credentials": data.credentials is not None})
    return camera


def update_camera(*, ctx: Ctx, camera_id: int, data: CameraPatch) -> Camera:
    require_admin(ctx.principal, "change cameras")
    camera = _scoped(ctx, camera_id, for_update=True)
    fields = data.model_fields_set
    if "jurisdiction_id" in fields:
        _jurisdiction(ctx, data.jurisdiction_id, is_object=False)
        camera.jurisdiction_id = data.jurisdiction_id
    dropped_credentials = False
    if "url" in fields:
        check_url(data.url, ctx.settings, field="body.url")
        # Stored credentials belong to the camera at the old address: a URL that names another
        # endpoint must not receive them (an admin session could otherwise harvest every
        # camera's password by pointing it at a host it controls). New ones may come with it.
        if _endpoint(data.url) != _endpoint(camera.stream_url) and "credentials" not in fields:
            set_credentials(ctx.db, camera, None, ctx.settings)
            dropped_credentials = True
        camera.stream_url = data.url
    if ("lon" in fields) != ("lat" in fields):
        raise Invalid("give lon and lat together", field="body.lon")
    if "lon" in fields:
        _place(camera, data.lon, data.lat, data.datum)
    for name in ("name", "heading", "fov", "range_m", "height_m", "status"):
        if name in fields:
            setattr(camera, name, getattr(data, name))
    if "credentials" in fields:
        creds = data.credentials
        set_credentials(ctx.db, camera, (creds.username, creds.password) if creds else None, ctx.settings)
    camera.updated_at = ctx.clock.now()
    changed = sorted(fields - {"datum"})
    ctx.record("camera.update", "camera", camera.id,
               detail={"changed": changed, "credentials_dropped": dropped_credentials})
    return camera


def _endpoint(url: str) -> tuple[str, str, int | None]:
    """Scheme, host and port of a stream URL: what its credentials are bound to."""
    parts = urlsplit(url)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port


def _scoped(ctx: Ctx, camera_id: int, *, for_update: bool = False) -> Camera:
    query = select(Camera).where(Camera.id == camera_id, camera_clause(ctx.principal))
    camera = ctx.db.scalar(query.with_for_update() if for_update else query)
    if camera is None:
        raise NotFound()
    return camera


def require_reader(ctx: Ctx) -> None:
    require_role(ctx.principal, CAMERA_READERS, "read cameras")


def get_camera(*, ctx: Ctx, camera_id: int) -> Camera:
    require_reader(ctx)
    return _scoped(ctx, camera_id)


def list_cameras(*, ctx: Ctx, limit: int, offset: int, jurisdiction_id: int | None = None,
                 status: str | None = None) -> tuple[list[Camera], int]:
    require_reader(ctx)
    query = select(Camera).where(camera_clause(ctx.principal))
    if jurisdiction_id is not None:
        query = query.where(Camera.jurisdiction_id == jurisdiction_id)
    if status is not None:
        query = query.where(Camera.status == status)
    total = ctx.db.scalar(select(func.count()).select_from(query.subquery()))
    rows = list(ctx.db.scalars(query.order_by(Camera.code).limit(limit).offset(offset)))
    return rows, total or 0


def camera_out(db: Session, cameras: list[Camera]) -> list[CameraOut]:
    """Answers for cameras: the URL redacted, whether credentials exist (never the credentials)."""
    ids = [c.id for c in cameras]
    with_creds = set(db.scalars(select(CameraCredential.camera_id).where(CameraCredential.camera_id.in_(ids)))) if ids else set()
    return [CameraOut(id=c.id, code=c.code, name=c.name, lon=c.lon, lat=c.lat, source_datum=c.source_datum,
                      heading=c.heading, fov=c.fov, range_m=c.range_m, height_m=c.height_m,
                      url=redact_url(c.stream_url), has_credentials=c.id in with_creds,
                      jurisdiction_id=c.jurisdiction_id, status=c.status) for c in cameras]
