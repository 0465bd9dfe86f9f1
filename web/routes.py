"""Routes that serve the console: ``/`` → ``/console/``, the pages, the vendored assets, offline ``/docs``.

Every asset comes from this app: the pages from ``web/static/``, the libraries
from ``web/node_modules/`` (installed by ``./dev`` with ``npm ci`` from the
committed lock file). A Content-Security-Policy that allows only this origin is
sent with every file, so a page cannot load anything from another host even if
a library tried (an offline government network has no CDN to reach anyway).
"""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse, Response

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
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
       "form-action 'self'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
           "Cache-Control": "no-cache"}

router = APIRouter(include_in_schema=False)


def _file(root: Path, relative: str) -> Response:
    """A file under ``root``, or 404 for anything outside it or of an unexpected type."""
    base = root.resolve()
    path = (base / relative).resolve()
    if not path.is_relative_to(base) or not path.is_file() or path.suffix not in _SUFFIXES:
        return Response(status_code=404, headers=HEADERS)
    return FileResponse(path, headers=HEADERS)


@router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse("/console/", status_code=307)


@router.get("/console/")
def console() -> Response:
    return _file(STATIC, "index.html")


@router.get("/console/static/{relative:path}")
def static(relative: str) -> Response:
    return _file(STATIC, relative)


@router.get("/console/vendor/{library}/{relative:path}")
def vendor(library: str, relative: str) -> Response:
    folder = VENDOR.get(library)
    if folder is None:
        return Response(status_code=404, headers=HEADERS)
    return _file(NODE_MODULES / folder, relative)


@router.get("/docs")
def docs() -> Response:
    """Swagger UI from the swagger-ui-dist npm package (FastAPI's default pulls it from a CDN)."""
    return _file(STATIC, "docs.html")
