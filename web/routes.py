"""Routes that serve the console: ``/`` → ``/console/``, the pages, the vendored assets, offline ``/docs``.

Every asset comes from this app: the pages from ``web/static/``, the libraries
from ``web/node_modules/`` (installed by ``./dev`` with ``npm ci`` from the
committed lock file). A Content-Security-Policy that allows only this origin is
sent with every file, so a page cannot load anything from another host even if
a library tried (an offline government network has no CDN to reach anyway).
"""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from core.settings import ConsoleSettings

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
NODE_MODULES = HERE / "node_modules"

# Only these library folders are served (not the whole of node_modules).
VENDOR = {
    "leaflet": "leaflet/dist",
    "markercluster": "leaflet.markercluster/dist",
    "chart.js": "chart.js/dist",
    "swagger-ui": "swagger-ui-dist",
}
_SUFFIXES = {".js", ".css", ".png", ".svg", ".html", ".woff2", ".map"}

# Inline styles are allowed because Leaflet and Swagger UI position elements with
# style attributes; scripts only from this origin, no eval, no inline script.
# Images also from the configured base-map tile host(s), and from no other.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:{tiles}; "
       "connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
       "form-action 'self'")
_BASE = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-cache"}


def headers(settings: ConsoleSettings) -> dict[str, str]:
    tiles = "".join(f" {origin}" for origin in settings.tile_origins())
    return {"Content-Security-Policy": CSP.format(tiles=tiles), **_BASE}

router = APIRouter(include_in_schema=False)


def _file(root: Path, relative: str, request: Request) -> Response:
    """A file under ``root``, or 404 for anything outside it or of an unexpected type."""
    hdrs = headers(request.app.state.settings.console)
    base = root.resolve()
    path = (base / relative).resolve()
    if not path.is_relative_to(base) or not path.is_file() or path.suffix not in _SUFFIXES:
        return Response(status_code=404, headers=hdrs)
    return FileResponse(path, headers=hdrs)


@router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse("/console/", status_code=307)


@router.get("/console/")
def console(request: Request) -> Response:
    return _file(STATIC, "index.html", request)


@router.get("/console/static/{relative:path}")
def static(relative: str, request: Request) -> Response:
    return _file(STATIC, relative, request)


@router.get("/console/vendor/{library}/{relative:path}")
def vendor(library: str, relative: str, request: Request) -> Response:
    folder = VENDOR.get(library)
    if folder is None:
        return Response(status_code=404, headers=headers(request.app.state.settings.console))
    return _file(NODE_MODULES / folder, relative, request)


@router.get("/docs")
def docs(request: Request) -> Response:
    """Swagger UI from the swagger-ui-dist npm package (FastAPI's default pulls it from a CDN)."""
    return _file(STATIC, "docs.html", request)
