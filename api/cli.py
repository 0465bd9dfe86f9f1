"""`zhijiao`: the operator's command line."""
from __future__ import annotations

import os
import time
from datetime import date
from pathlib import Path

import typer

from core.settings import get_settings

app = typer.Typer(help="zhijiao 智矫: community-corrections supervision", no_args_is_help=True)
users_app = typer.Typer(help="Accounts", no_args_is_help=True)
seed_app = typer.Typer(help="Demo and fixture data", no_args_is_help=True)
fences_app = typer.Typer(help="Geofences and administrative areas", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit trail", no_args_is_help=True)
mqtt_app = typer.Typer(help="The MQTT broker's files (OwnTracks over MQTT)", no_args_is_help=True)
cameras_app = typer.Typer(help="Public cameras (雪亮工程)", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(seed_app, name="seed")
app.add_typer(fences_app, name="fences")
app.add_typer(audit_app, name="audit")
app.add_typer(mqtt_app, name="mqtt-broker")
app.add_typer(cameras_app, name="cameras")


def _session():
    from core.db import make_engine, make_session_factory

    settings = get_settings()
    if not settings.db.database_url:
        raise typer.BadParameter("ZHIJIAO_DATABASE_URL is not set (./dev sets it)")
    return make_session_factory(make_engine(settings.db.database_url, pool_size=2))()


@app.command()
def migrate(revision: str = typer.Argument("head")) -> None:
    """Apply database migrations (default: to head)."""
    from migrations.run import upgrade

    upgrade(get_settings().db.database_url, revision)
    typer.echo(f"database migrated to {revision}")


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Run the API server (uvicorn)."""
    import uvicorn

    settings = get_settings()
    settings.require_secrets()
    if settings.testing.unsafe_ack_before_commit:
        raise typer.BadParameter("ZHIJIAO_UNSAFE_ACK_BEFORE_COMMIT is a test switch that loses acknowledged "
                                 "fixes; unset it")
    if settings.testing.group_commit_delay_seconds:
        raise typer.BadParameter("ZHIJIAO_GROUP_COMMIT_DELAY_SECONDS is a test switch that holds every ingest "
                                 "request; unset it")
    # Rate limits are kept per process and divide their rates by this (api/limits.py).
    os.environ.setdefault("ZHIJIAO_SERVER_PROCESSES", str(workers))
    if workers > 1 and settings.api.bus_url.startswith("memory"):
        raise typer.BadParameter("several workers need ZHIJIAO_BUS_URL=postgresql://… or nats://… "
                                 "(memory:// does not cross processes)", param_hint="--workers")
    # Access logs stay off (OsmAnd puts the device secret in the URL; the
    # redacting log factory is a second line). Websocket frames are capped
    # well above the hub's own 4 KB message limit but far below uvicorn's 16 MiB.
    uvicorn.run("api.main:app", host=host, port=port, workers=workers, proxy_headers=False, log_level="info",
                access_log=False, ws_max_size=64 * 1024)


@users_app.command("create-admin")
def create_admin(
    username: str = typer.Option(..., help="login name of the new administrator"),
    full_name: str = typer.Option("Administrator", help="display name"),
    bureau_name: str = typer.Option("区县司法局", help="bureau to create when the database has none"),
    bureau_code: str = typer.Option(None, help="administrative code of that bureau"),
) -> None:
    """Create an administrator with a freshly generated password (printed once)."""
    from sqlalchemy import select

    from core.security import generate_password, hash_password
    from supervision.jurisdictions import add_jurisdiction
    from supervision.models import Jurisdiction, Role, User

    db = _session()
    if db.scalar(select(User.id).where(User.username == username)) is not None:
        raise typer.BadParameter(f"user {username!r} exists", param_hint="--username")
    bureau = db.scalar(select(Jurisdiction).where(Jurisdiction.parent_id.is_(None)).order_by(Jurisdiction.id))
    if bureau is None:
        bureau = add_jurisdiction(db, name=bureau_name, level="bureau", parent=None, code=bureau_code)
    password = os.environ.get("ZHIJIAO_NEW_ADMIN_PASSWORD") or generate_password()
    db.add(User(username=username, full_name=full_name, role=Role.admin, jurisdiction_id=bureau.id,
                password_hash=hash_password(password)))
    db.commit()
    typer.echo(f"admin {username} created in {bureau.name}; password: {password}")


@seed_app.command("demo")
def seed_demo() -> None:
    """Build the 衢江区 demo district (or refresh its demo passwords)."""
    from core.audit import AuditLog
    from core.clock import SystemClock
    from core.principal import RequestContext
    from geo.demo import seed_demo as build
    from cameras.demo import seed_demo_cameras
    from leave.demo import seed_demo_leave
    from sanctions.demo import seed_demo_obligations

    settings = get_settings()
    settings.require_secrets()
    db = _session()
    accounts = build(db, id_hash_key=settings.auth.id_hash_key, today=date.today(), device_key=settings.auth.device_key)
    audit = AuditLog(settings.audit.audit_key.encode(), SystemClock())
    leaves = seed_demo_leave(db, settings=settings, clock=SystemClock(), audit=audit)
    cameras = seed_demo_cameras(db)
    hours = seed_demo_obligations(db, settings=settings, clock=SystemClock(), audit=audit)
    audit.record(
        db, RequestContext(None, source_addr="cli"), action="seed.demo",
        detail={"accounts": len(accounts), "leave": leaves, "cameras": cameras, "obligation_entries": hours})
    db.commit()
    typer.echo("demo accounts and device tokens (fresh, shown once):")
    for acc in accounts:
        typer.echo(f"  {acc.username:<22} {acc.role:<11} {acc.password}   {acc.where}")


@seed_app.command("simulate")
def simulate(url: str = typer.Option("http://127.0.0.1:8000", help="the server to send fixes to"),
             phones: int = typer.Option(40, help="how many demo supervisees get a simulated phone")) -> None:
    """Send fixes from simulated demo phones through POST /ingest/native (./dev demo runs this)."""
    import httpx

    from core.clock import SystemClock
    from geo.demo_simulator import DemoSimulator, provision_phones

    settings = get_settings()
    settings.require_secrets()
    db = _session()
    fleet = provision_phones(db, device_key=settings.auth.device_key, count=phones)
    db.commit()
    db.close()
    with httpx.Client() as client:
        for _ in range(600):  # wait for the server (./dev demo starts it after this)
            try:
                if client.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        typer.echo(f"simulator: {len(fleet)} phones sending about one fix a minute each to {url}")
        DemoSimulator(url, fleet, SystemClock(), client).run()


@fences_app.command("import-boundary")
def import_boundary(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="GeoJSON (Multi)Polygon, Feature or 1-feature collection"),
    datum: str = typer.Option(..., help="datum of the file: wgs84, gcj02 (Amap data) or bd09"),
    code: str = typer.Option(None, help="administrative code (default: properties.adcode, or the file name)"),
    name: str = typer.Option(None, help="name (default: properties.name, or the bundled names)"),
) -> None:
    """Upsert an administrative area, converted to WGS-84 (the raw file is kept)."""
    from core.audit import AuditLog
    from core.clock import SystemClock
    from core.principal import RequestContext
    from geo.admin_areas import import_boundary as run
    from shapely.errors import ShapelyError

    from geo.boundaries import BoundaryError

    from geo.datum import DATUM_NAMES

    if datum not in DATUM_NAMES:
        raise typer.BadParameter("must be one of " + ", ".join(sorted(DATUM_NAMES)), param_hint="--datum")
    settings = get_settings()
    settings.require_secrets()
    db = _session()
    try:
        area = run(db, file, datum=datum, code=code, name=name)
    except (BoundaryError, ValueError, ShapelyError) as exc:
        raise typer.BadParameter(str(exc), param_hint="FILE") from None
    AuditLog(settings.audit.audit_key.encode(), SystemClock()).record(
        db, RequestContext(None, source_addr="cli"), action="admin_area.import", object_type="admin_area",
        object_id=area.code, detail={"file": file.name, "datum": datum, "created": area.created})
    db.commit()
    typer.echo(f"{'imported' if area.created else 'updated'} {area.code} {area.name}: "
               f"{area.vertices} vertices, {area.area_km2:.1f} km²")


@cameras_app.command("import")
def import_cameras(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV: code,name,lon,lat,datum,heading,fov,range,url"),
    jurisdiction: str = typer.Option(..., help="code of the jurisdiction the cameras belong to (each goes into "
                                               "the office below it whose boundary covers it)"),
) -> None:
    """Import a camera list; prints how many were imported and every refused line with its reason."""
    import json

    from sqlalchemy import select

    from cameras.importer import run_import
    from core.audit import AuditLog
    from core.clock import SystemClock
    from core.context import Ctx
    from core.errors import ServiceError
    from core.principal import RequestContext
    from supervision.models import Jurisdiction

    settings = get_settings()
    settings.require_secrets()
    db = _session()
    home = db.scalar(select(Jurisdiction).where(Jurisdiction.code == jurisdiction))
    if home is None:
        raise typer.BadParameter(f"no jurisdiction with code {jurisdiction!r}", param_hint="--jurisdiction")
    clock = SystemClock()
    ctx = Ctx(db=db, request=RequestContext(None, source_addr="cli"),
              audit=AuditLog(settings.audit.audit_key.encode(), clock), settings=settings, clock=clock)
    try:
        report = run_import(ctx=ctx, data=file.read_bytes(), home=home)
    except ServiceError as exc:
        raise typer.BadParameter(exc.message, param_hint="FILE") from None
    db.commit()
    for refusal in report.refused:
        typer.echo(f"line {refusal['line']}: {refusal['code'] or '-'}: {refusal['reason']}", err=True)
    typer.echo(json.dumps({k: v for k, v in report.as_dict().items() if k != "refused"}
                          | {"refused": len(report.refused)}))


def _audit_bound(value: str | None, option: str):
    """``--from``/``--to``: a seq (digits) or an ISO time with its offset."""
    from datetime import datetime

    if value is None:
        return None
    if value.isdigit():
        return int(value)
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter("give a seq or an ISO time such as 2026-01-05T08:00+08:00", param_hint=option) from None
    if when.tzinfo is None:
        # Refuse to guess between UTC and Beijing time: they are 8 hours apart.
        raise typer.BadParameter("the time needs an offset (+08:00 or Z)", param_hint=option)
    return when


@audit_app.command("verify")
def audit_verify(
    from_: str = typer.Option(None, "--from", help="first row: a seq, or an ISO time (+08:00 / Z)"),
    to: str = typer.Option(None, "--to", help="last row: a seq, or an ISO time (default: the head)"),
    checkpoints: bool = typer.Option(True, help="also check the signed checkpoint file (off: the chain only)"),
) -> None:
    """Check the hash chain and the signed checkpoints; name the first bad row (exit 1)."""
    from core.audit.verify import verify_audit_log

    lo, hi = _audit_bound(from_, "--from"), _audit_bound(to, "--to")
    if lo is not None and hi is not None and type(lo) is type(hi) and hi < lo:
        raise typer.BadParameter("--to is before --from", param_hint="--to")
    settings = get_settings()
    if not settings.audit.audit_key:
        raise typer.BadParameter("ZHIJIAO_AUDIT_KEY is not set")
    path = settings.audit.audit_checkpoint_path
    db = _session()
    # One snapshot for the whole scan: rows appended meanwhile are simply not seen.
    db.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    try:
        report = verify_audit_log(db, key=settings.audit.audit_key.encode(), from_=lo, to=hi,
                                  checkpoint_path=path if checkpoints else None)
    finally:
        db.rollback()
        db.close()
    chain = report.chain
    if chain.ok:
        typer.echo(f"chain OK: {chain.rows_checked} rows, head seq {chain.last_seq or 0}"
                   + (f"; {len(report.checkpoints)} signed checkpoints read" if checkpoints else "; checkpoints not checked"))
    else:
        problem = chain.problem
        assert problem is not None
        typer.echo(f"chain BROKEN: first bad row seq {problem.seq} ({problem.reason}): {problem.message}", err=True)
        if problem.reason == "truncated":
            typer.echo(f"  rows after seq {chain.last_seq or 0} are missing", err=True)
        found = report.checkpoint_at(problem.seq) if problem.reason in ("checkpoint_mismatch", "truncated") else None
        if found:
            line_no, cp = found
            typer.echo(f"  checkpoint #{line_no} in {path} (seq {cp.seq}, written {cp.at.isoformat()})", err=True)
        typer.echo(f"  {chain.rows_checked} rows verified before it", err=True)
    if report.checkpoint_error:
        typer.echo(f"checkpoints BAD: {report.checkpoint_error}", err=True)
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """Sign the chain head into the checkpoint file now (the server does it every minute)."""
    from core.audit.checkpoint_job import write_checkpoint
    from core.audit.checkpoints import CheckpointError
    from core.clock import SystemClock

    settings = get_settings()
    if not settings.audit.audit_key:
        raise typer.BadParameter("ZHIJIAO_AUDIT_KEY is not set")
    path = settings.audit.audit_checkpoint_path
    db = _session()
    try:
        cp = write_checkpoint(db, path=path, key=settings.audit.audit_key.encode(), now=SystemClock().now())
    except CheckpointError as exc:
        typer.echo(f"checkpoint refused ({path}): {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        db.rollback()
        db.close()
    typer.echo(f"checkpoint written: seq {cp.seq} -> {path}" if cp else "nothing to checkpoint: head unchanged or empty")


@app.command("mqtt-ingest")
def mqtt_ingest(acl_sync: bool = typer.Option(True, help="also keep the broker's password/ACL files in step "
                                                         "(when ZHIJIAO_MQTT_BROKER_DIR is set)")) -> None:
    """Consume OwnTracks messages from the MQTT broker (ZHIJIAO_MQTT_*) until SIGTERM."""
    from api.app import install_alert_hooks
    from geo.ingest.mqtt.service import run_mqtt_ingest

    settings = get_settings()
    install_alert_hooks(settings)  # its violations get their cameras too, as the app's do
    try:
        run_mqtt_ingest(settings, acl_sync=acl_sync)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


@mqtt_app.command("files")
def mqtt_broker_files(reload: bool = typer.Option(False, help="SIGHUP the broker (ZHIJIAO_MQTT_BROKER_PID_FILE) if they changed")) -> None:
    """Write the broker's password_file and acl_file from the devices table, once."""
    from geo.ingest.mqtt.broker_files import sync_broker_files

    db = _session()
    try:
        files = sync_broker_files(db, get_settings().mqtt, reload=reload)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    finally:
        db.rollback()
        db.close()
    typer.echo(f"broker files: {files.devices} device logins, {len(files.skipped)} devices without one")
    for name, why in files.skipped.items():
        typer.echo(f"  {name}: {why}")


@mqtt_app.command("config")
def mqtt_broker_config(port: int = typer.Option(..., help="loopback port of the broker"),
                       out: Path = typer.Option(..., help="mosquitto.conf to write")) -> None:
    """Write a private Mosquitto configuration using ZHIJIAO_MQTT_BROKER_DIR / _PID_FILE."""
    from geo.ingest.mqtt.broker_files import broker_config, broker_run_as, prepare_broker_dir

    cfg = get_settings().mqtt
    if cfg.mqtt_broker_dir is None or cfg.mqtt_broker_pid_file is None:
        raise typer.BadParameter("ZHIJIAO_MQTT_BROKER_DIR and ZHIJIAO_MQTT_BROKER_PID_FILE must be set")
    run_as = broker_run_as()
    out.write_text(broker_config(Path(cfg.mqtt_broker_dir), port=port, pid_file=Path(cfg.mqtt_broker_pid_file),
                                 run_as=run_as))
    prepare_broker_dir(Path(cfg.mqtt_broker_dir), run_as)
    typer.echo(f"wrote {out}")


if __name__ == "__main__":
    app()
