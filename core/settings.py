"""Settings, split by concern, all read from ``ZHIJIAO_*`` environment variables.

Each group is its own class so a module depends only on the settings it uses
(tipg style). ``get_settings()`` caches one aggregate per process; tests build
their own instances instead of mutating the environment.
"""
from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_COMMON = dict(env_prefix="ZHIJIAO_", extra="ignore", env_file=None)


class DatabaseSettings(BaseSettings):
    model_config = SettingsConfigDict(**_COMMON)
    database_url: str = Field(
        "",
        description="libpq / SQLAlchemy URL of the database. ./dev sets it to its private cluster when unset.",
    )
    db_pool_size: int = Field(10, description="Connections kept open per server process.")


class AuthSettings(BaseSettings):
    model_config = SettingsConfigDict(**_COMMON)
    jwt_secret: str = Field("", description="HMAC key for access tokens (HS256). Required; ./dev generates one.")
    jwt_issuer: str = Field("zhijiao", description="`iss` claim written and required.")
    jwt_audience: str = Field("zhijiao-api", description="`aud` claim written and required.")
    access_token_minutes: int = Field(15, description="Lifetime of an access token.")
    id_hash_key: str = Field("", description="Key for the keyed hash of national ID numbers. Required.")
    device_key: str = Field("", description="Key for the keyed hash of device credentials. Required.")
    login_max_failures: int = Field(5, ge=1, description="Failed logins for one username within the window before it is locked (429 with Retry-After, even with the right password).")
    login_source_max_failures: int = Field(30, ge=1, description="Failed logins from one source address within the window before that address is locked.")
    login_window_minutes: int = Field(15, ge=1, description="The window failed logins are counted in.")
    login_lockout_minutes: int = Field(15, ge=1, description="How long a locked username or source address stays locked.")
    password_hash_slots: int = Field(2, ge=1, description="Password hashes computed at once per process (each costs 64 MiB and ~50 ms of a core); more wait, then get 503.")
    activation_code_hours: int = Field(72, ge=1, le=24 * 30, description="Lifetime of a one-time activation code (new account or password reset); the user redeems it with their own password at `POST /auth/activate`.")


class AuditSettings(BaseSettings):
    model_config = SettingsConfigDict(**_COMMON)
    audit_key: str = Field("", description="HMAC key of the audit hash chain; kept out of the database. Required.")
    audit_checkpoint_path: Path = Field(
        Path(".data/audit-checkpoints.jsonl"), description="File (outside the database) for signed audit checkpoints."
    )
    audit_checkpoint_seconds: float = Field(
        60.0, gt=0, description="How often the audit chain's head is checkpointed (when it moved).")


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(**_COMMON)
    max_page_size: int = Field(200, description="Hard upper limit of `limit` on list routes.")
    allowed_origins: list[str] = Field(
        default_factory=lambda: ["http://127.0.0.1:8000", "http://localhost:8000"],
        description="Origins allowed to open the alert websocket (JSON list).",
    )
    bus_url: str = Field("memory://", description="Event bus: memory://, postgresql://…, or nats://host:port.")
    allowed_hosts: list[str] = Field(
        default_factory=lambda: ["127.0.0.1", "localhost", "::1"],
        description="Host header values served (JSON list; `*.example.org` wildcards; `*` for any). Anything else is refused with 400, so a DNS-rebinding page cannot reach the API through a browser.")
    jobs_enabled: bool = Field(True, description="Run the periodic jobs (escalation, silence, overdue returns, audit checkpoints) in this process; each job runs in one process at a time.")
    server_processes: int = Field(1, ge=1, description="Server processes sharing the load (`zhijiao serve --workers N` sets it; behind a load balancer, the total). Rate limits are kept per process, so their rates are divided by this.")
    heavy_route_rate_per_minute: float = Field(30.0, gt=0, description="Per user: GPX uploads, report exports, websocket tickets, photo check-ins and face enrolments allowed a minute (more: 429 with Retry-After).")
    heavy_route_burst: int = Field(10, ge=1, description="... of which this many at once.")


class IngestSettings(BaseSettings):
    model_config = SettingsConfigDict(**_COMMON)
    max_speed_mps: float = Field(100.0, description="Implied speed above this flags a fix as suspicious (m/s; high-speed rail is ~97).")
    max_accuracy_m: float = Field(500.0, description="Accuracy radius worse than this (or missing) flags a fix as suspicious.")
    low_battery_pct: float = Field(15.0, description="Battery level at or below this raises a device alert.")
    silence_strict_minutes: int = Field(30, description="No fix for this long raises 'signal lost' (strict tier).")
    silence_ordinary_minutes: int = Field(120, description="… ordinary tier.")
    silence_lenient_minutes: int = Field(360, description="… lenient tier.")
    max_batch_fixes: int = Field(1000, description="Most fixes accepted in one native batch request.")
    ingest_device_rate_per_second: float = Field(5.0, gt=0, description="Ingest requests one device credential may send a second, sustained (more: 429 with Retry-After, before any database work).")
    ingest_device_burst: int = Field(100, ge=1, description="... and at once: an OsmAnd client's backlog of a hundred single-fix requests after signal loss is not refused.")
    ingest_device_fixes_per_second: float = Field(10.0, gt=0, description="Fixes one device credential may send a second, sustained, whatever the batching (checked once a batch is decoded, before it is judged and stored).")
    ingest_device_fix_burst: int = Field(2000, ge=1, description="... and at once: a phone's backlog of a few hundred fixes (up to two full batches) is not refused.")
    silence_check_seconds: float = Field(60.0, gt=0, description="How often the 'signal lost' job runs.")
    group_commit: bool = Field(True, description="Judge and commit concurrent ingest requests together, one transaction per group (geo/ingest/group_commit.py); each request is answered after the commit that holds its fixes. Off: one transaction per request.")
    group_window_ms: float = Field(1.0, ge=0, le=1000, description="Once a request waits and no group is being written, wait this much longer for others to join its group (requests arriving while a group is written join the next one anyway).")
    group_max_requests: int = Field(128, ge=1, le=4096, description="Most requests in one group commit.")
    group_in_flight: int = Field(2, ge=1, le=16, description="Groups one server process writes at the same time, each in its own transaction and thread: while one waits for the database, the next is judged.")
    group_max_body_bytes: int = Field(16384, ge=0, description="Requests with a larger body (about a hundred fixes and more) are written in a transaction of their own instead of joining a group: they already amortise their round trips, and in a group they would hold the phones behind them.")


class Jt808Settings(BaseSettings):
    """The JT/T 808 TCP listener (geo/ingest/jt808/listener.py), started by each server process."""

    model_config = SettingsConfigDict(**_COMMON)
    jt808_enabled: bool = Field(False, description="Run the JT/T 808 TCP listener in the server process (several workers share the port with SO_REUSEPORT).")
    jt808_host: str = Field("127.0.0.1", description="Address the JT/T 808 listener binds (0.0.0.0 to take trackers from the network).")
    jt808_port: int = Field(6808, ge=0, le=65535, description="TCP port of the JT/T 808 listener (0: any free port, for tests).")
    jt808_auth_timeout_seconds: float = Field(30.0, gt=0, description="A connection that has not authenticated (0x0102) within this is closed.")
    jt808_idle_timeout_seconds: float = Field(300.0, gt=0, description="An authenticated connection silent for this long (no heartbeat, no report) is closed.")
    jt808_max_frame_bytes: int = Field(4096, ge=64, le=65536, description="Largest frame read (escaped, between the 0x7e flags); a larger one closes the connection. A 1023-byte body escapes to at most ~2 KiB.")
    jt808_max_connections: int = Field(10000, ge=1, description="Open terminal connections per process; more are closed at once.")
    jt808_max_connections_per_address: int = Field(100, ge=1, description="Open terminal connections per peer address and process (trackers behind one carrier NAT share an address); more are closed at once.")
    jt808_attempts_per_minute: float = Field(60.0, gt=0, description="Registration/authentication attempts (0x0100/0x0102) per peer address and process, a minute; beyond it (after bursts of `jt808_attempt_burst`) the connection is closed before any database work.")
    jt808_attempt_burst: int = Field(30, ge=1, description="Registration/authentication attempts a peer address may make at once before `jt808_attempts_per_minute` applies.")
    jt808_reregister_minutes: int = Field(10, ge=0, description="After a terminal registered (0x0100), it may register again within this many minutes (a lost 0x8100 answer); later only after the device's secret is rotated.")


class AlertSettings(BaseSettings):
    model_config = SettingsConfigDict(**_COMMON)
    escalate_high_minutes: int = Field(10, ge=1, description="Unacknowledged high/critical alerts escalate to bureau managers after this long, and again each period.")
    escalate_other_minutes: int = Field(30, ge=1, description="… low/medium alerts.")
    escalate_max_level: int = Field(5, ge=1, description="Stop re-escalating an untouched alert after this many levels.")
    escalation_interval_seconds: float = Field(30.0, gt=0, description="How often the escalation job runs.")
    flap_limit_per_hour: int = Field(3, ge=0, description="Re-openings of one supervisee+cause per hour before further ones are grouped, not re-sent.")
    webhook_timeout_seconds: float = Field(5.0, gt=0, description="HTTP timeout of one webhook delivery.")
    webhook_max_attempts: int = Field(8, ge=1, description="Attempts before a webhook delivery is marked failed.")
    webhook_backoff_seconds: float = Field(30.0, gt=0, description="Delay before the first retry; doubles each attempt.")
    webhook_backoff_max_seconds: float = Field(3600.0, gt=0, description="Longest delay between retries.")
    webhook_allow_loopback: bool = Field(False, description="Allow webhook URLs on 127.0.0.0/8 and ::1, any port (tests, local relays).")
    webhook_allowed_networks: list[str] = Field(
        default_factory=list, description="Non-public networks webhooks may reach (JSON list of CIDRs, e.g. an intranet messaging platform's); cloud metadata addresses stay refused.")
    webhook_allowed_ports: list[int] = Field(
        default_factory=lambda: [80, 443], description="Ports webhook URLs may use (JSON list).")

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _cidrs(cls, value: list[str]) -> list[str]:
        for cidr in value:
            ipaddress.ip_network(cidr, strict=False)  # raises ValueError naming the bad entry
        return value


class HubSettings(BaseSettings):
    """The live alert websocket (alerts/hub.py) and the outbox relay (alerts/relay.py)."""

    model_config = SettingsConfigDict(**_COMMON)
    ws_ticket_ttl_seconds: int = Field(30, ge=1, le=30, description="Lifetime of a one-time websocket ticket (at most 30 s).")
    ws_queue_cap: int = Field(1000, ge=1, description="Events queued for one socket before it is closed with 4000 'resync'.")
    ws_heartbeat_seconds: float = Field(20.0, gt=0, description="Interval of {\"type\":\"ping\"} messages to each socket.")
    ws_max_message_bytes: int = Field(4096, ge=256, description="Largest client message; larger closes the socket (1009).")
    ws_client_rate_per_second: float = Field(10.0, gt=0, description="Client messages per second (burst the same); more closes it (1008).")
    ws_auth_timeout_seconds: float = Field(10.0, gt=0, description="Time allowed for the first (auth) message.")
    ws_recheck_seconds: float = Field(60.0, gt=0, description="Interval at which an open socket's user is re-checked (active, role, jurisdiction); a change closes it with 4001 'reauthenticate'.")
    ws_replay_limit: int = Field(10_000, ge=1, description="Most missed events replayed on resume; beyond it the client gets a snapshot.")
    ws_snapshot_limit: int = Field(5000, ge=1, description="Most open alerts in one snapshot (newest first).")
    relay_enabled: bool = Field(True, description="Run an outbox relay candidate in this process (one leader per database).")
    bus_channel: str = Field("alerts", description="Bus channel of alert events; give deployments that share one NATS their own.")


class SupervisionSettings(BaseSettings):
    """Supervisee records (supervision/)."""

    model_config = SettingsConfigDict(**_COMMON)

    registration_review_share: float = Field(
        0.05, ge=0, le=1,
        description="Share of supervisee registrations sent to bureau review at random (a quality check). A "
                    "registration whose national ID is already on record goes there too, with the same answer, "
                    "so an office cannot tell the two apart; 0 would make that answer a tell.")


class LeaveSettings(BaseSettings):
    """Leave and standing permits (leave/)."""

    model_config = SettingsConfigDict(**_COMMON)

    leave_travel_allowance_hours: float = Field(
        6.0, ge=0, le=48,
        description="The destination is an allowed area from departure minus this until return plus this "
                    "(arriving early, leaving late). 6 h covers a same-day rail trip anywhere in the province.")
    leave_corridor_buffer_km: float = Field(
        20.0, gt=0, le=100,
        description="Half-width of the travel corridor (the convex hull of home and the destination, buffered by "
                    "this) allowed during the outbound and return travel windows (departure / return ± the "
                    "travel allowance), so the journey itself raises no 'outside leave destination' alert. "
                    "20 km covers expressway and rail routes that bend away from the straight line.")
    leave_return_grace_hours: float = Field(
        2.0, ge=0, le=72, description="No return report (销假) by the return time plus this raises 'overdue_return'.")
    leave_past_tolerance_minutes: int = Field(
        5, ge=0, le=60, description="A departure this far in the past is still accepted (clock skew).")
    leave_permit_horizon_days: int = Field(
        7, ge=1, le=31, description="Standing-permit occurrence fences are created this far ahead.")
    leave_repeat_count: int = Field(3, ge=2, description="Report flag: this many requests by one person ...")
    leave_repeat_days: int = Field(30, ge=1, description="... within this many days.")
    leave_overdue_check_seconds: float = Field(60.0, gt=0, description="How often the overdue-return job runs.")
    leave_permit_check_seconds: float = Field(
        900.0, gt=0, description="How often the standing-permit job makes coming occurrence fences.")


class OrderSettings(BaseSettings):
    """Electronic-positioning orders (orders/, Law art. 29)."""

    model_config = SettingsConfigDict(**_COMMON)

    order_check_seconds: float = Field(
        60.0, gt=0, description="How often the orders job sends expiry reminders (7 days and 1 day before) and "
                                "marks lapsed orders. Ingest stops storing positioning data at the exact end "
                                "whatever this is: the job only announces it.")


class UnsafeTestSettings(BaseSettings):
    """Switches that exist only so tests can prove a checker fails; `zhijiao serve` refuses them."""

    model_config = SettingsConfigDict(**_COMMON)
    unsafe_ack_before_commit: bool = Field(False, description="TEST ONLY, loses data: ingest answers before its transaction commits (the crash test's negative control). `zhijiao serve` refuses to start with it.")
    group_commit_delay_seconds: float = Field(0.0, ge=0, description="TEST ONLY: a group commit waits this long between writing its group and COMMIT, so a test can kill the server there. `zhijiao serve` refuses to start with it.")


class MqttSettings(BaseSettings):
    """OwnTracks over MQTT: the ingest worker (geo/ingest/mqtt) and the broker files it keeps."""

    model_config = SettingsConfigDict(**_COMMON)
    mqtt_url: str = Field("", description="Broker the MQTT ingest worker subscribes to, `mqtt://host:port` (empty: no MQTT ingest). ./dev sets it to its private Mosquitto.")
    mqtt_username: str = Field("zhijiao-ingest", description="The ingest worker's own broker account (allowed to subscribe to `owntracks/#`, to publish nothing).")
    mqtt_password: str = Field("", description="Its password (./dev generates one). Written to the broker's password file only as a hash.")
    mqtt_client_id: str = Field("zhijiao-ingest", description="Client id of the worker's persistent session: messages not yet acknowledged are redelivered to the next worker with this id. The private broker (`use_username_as_clientid`) replaces every client's id with its login name, so there the session is `ZHIJIAO_MQTT_USERNAME`'s, and no device can take it.")
    mqtt_topic: str = Field("owntracks/+/+", description="Subscription of the worker (OwnTracks publishes locations to `owntracks/<user>/<device>`).")
    mqtt_batch_max: int = Field(500, ge=1, le=10_000, description="Most messages judged and committed together in one transaction.")
    mqtt_batch_window_ms: float = Field(5.0, ge=0, le=1000, description="After the first message of a batch, wait at most this long for more before committing.")
    mqtt_broker_dir: Path | None = Field(None, description="Directory of the broker's password_file and acl_file, which the worker regenerates from the devices table (unset: the worker does not manage broker files).")
    mqtt_broker_pid_file: Path | None = Field(None, description="PID file of the Mosquitto to send SIGHUP after the files change (it rereads them and disconnects clients no longer allowed).")
    mqtt_acl_sync_seconds: float = Field(30.0, gt=0, le=60, description="The broker files are also regenerated (when changed) at this interval, besides at once on every device change (a NOTIFY trigger): a disabled device is refused within a minute even if a notification is missed.")


class CheckinSettings(BaseSettings):
    """Check-in plans, windows and submissions (checkins/). Windows are local time (Asia/Shanghai),
    "HH:MM-HH:MM"; an end at or before the start closes the next day (across midnight)."""

    model_config = SettingsConfigDict(**_COMMON)

    checkin_daily_window: str = Field(
        "09:00-11:00", pattern=r"^\d\d:\d\d-\d\d:\d\d$",
        description="Strict tier: the daily location + face check-in window (local time).")
    checkin_report_window: str = Field(
        "09:00-17:00", pattern=r"^\d\d:\d\d-\d\d:\d\d$",
        description="The 报到 window: weekly (strict), every two weeks (ordinary), monthly (lenient).")
    checkin_report_weekday: int = Field(0, ge=0, le=6, description="Weekday of the 报到 (0 = Monday); lenient: the first such day of each month.")
    checkin_fixed_windows: list[str] = Field(
        default_factory=lambda: ["08:00-09:00", "12:00-13:00", "20:00-21:00"],
        description="Windows of the 'fixed daily windows' plan an office may choose instead (JSON list).")
    checkin_spot_per_week_strict: int = Field(2, ge=0, le=21, description="Random spot checks (随机点名) per week the plan issues, strict tier.")
    checkin_spot_per_week_ordinary: int = Field(0, ge=0, le=21, description="… ordinary tier.")
    checkin_spot_per_week_lenient: int = Field(0, ge=0, le=21, description="… lenient tier.")
    checkin_waking_hours: str = Field(
        "08:00-21:00", pattern=r"^\d\d:\d\d-\d\d:\d\d$",
        description="Random spot checks start only within these local hours (their answer window included).")
    checkin_spot_answer_minutes: int = Field(
        60, ge=5, le=24 * 60, description="A spot check must be answered within this (Shenyang rule: 1 hour).")
    checkin_horizon_days: int = Field(7, ge=1, le=31, description="Occurrences are materialised this far ahead.")
    checkin_max_accuracy_m: float = Field(100.0, gt=0, le=5000, description="A check-in location less accurate than this is refused (resubmit with a better fix).")
    checkin_max_refused_submissions: int = Field(
        10, ge=1, le=1000, description="After this many refused submissions of one check-in (late, replayed nonce, accuracy, photo refused, ...) it takes no more and is judged missed when it closes, for an officer to review.")
    checkin_separation_m: float = Field(
        1000.0, gt=0, description="人机分离: a check-in this far (beyond both accuracy radii) from the phone's own trusted fix near that time raises an integrity alert.")
    checkin_separation_minutes: int = Field(15, ge=1, le=240, description="… the phone's fixes within this many minutes of the check-in are compared.")
    checkin_outage_gap_seconds: float = Field(
        600.0, gt=0, description="The scheduler not having run for longer than this is a system outage: windows that closed during it are 'missed, system outage' (to an officer, no sanction alert).")
    checkin_check_seconds: float = Field(30.0, gt=0, description="How often the check-in scheduler job runs (materialise, open, judge).")


class SanctionSettings(BaseSettings):
    """Sanctions, monthly assessment and obligations (sanctions/). The escalation rules default to
    Wenzhou's local rule; an office's own rule is set here for the installation."""

    model_config = SettingsConfigDict(**_COMMON)

    sanction_contact_admonish_max_days: float = Field(
        10.0, gt=0, description="Out of contact up to this many days → a 训诫 proposal; longer → a 警告 proposal.")
    sanction_contact_revoke_days: float = Field(
        30.0, gt=0, description="Out of contact longer than this many days → a revocation (撤销缓刑/假释) proposal.")
    sanction_admonitions_to_warning: int = Field(2, ge=1, le=10, description="This many imposed 训诫 → a 警告 proposal.")
    sanction_warnings_to_revocation: int = Field(2, ge=1, le=10, description="This many imposed 警告 → a revocation proposal.")
    sanction_check_seconds: float = Field(3600.0, gt=0, description="How often the escalation rules and the month-end assessment run.")
    assessment_good_score: float = Field(90.0, ge=0, le=100, description="A month scoring at least this is 良好 (good).")
    assessment_pass_score: float = Field(60.0, ge=0, le=100, description="… at least this is 合格 (pass); below is 不合格.")
    assessment_points_missed_checkin: float = Field(5.0, ge=0, description="Points off the month's 100 per missed or failed check-in that stands.")
    assessment_points_violation: float = Field(10.0, ge=0, description="Points off per violation alert of the month (not a false alarm, excused or withdrawn).")
    assessment_points_shortfall: float = Field(15.0, ge=0, description="Points off per obligation (study, public service) short at month end.")
    assessment_points_praise: float = Field(5.0, ge=0, description="Points added per 表扬 of the month (the score stays ≤ 100).")
    obligation_study_hours_strict: float = Field(12.0, ge=0, description="Study (教育学习) hours a month, strict tier.")
    obligation_service_hours_strict: float = Field(12.0, ge=0, description="Public-service (公益活动) hours a month, strict tier.")
    obligation_study_hours_ordinary: float = Field(8.0, ge=0, description="… study, ordinary tier.")
    obligation_service_hours_ordinary: float = Field(8.0, ge=0, description="… public service, ordinary tier.")
    obligation_study_hours_lenient: float = Field(4.0, ge=0, description="… study, lenient tier.")
    obligation_service_hours_lenient: float = Field(4.0, ge=0, description="… public service, lenient tier.")


class RiskSettings(BaseSettings):
    """Explainable risk and tier proposals (risk/): the score is the sum of weight × value per factor."""

    model_config = SettingsConfigDict(**_COMMON)

    risk_weight_violations_recent: float = Field(5.0, description="Per violation alert in the last 30 days.")
    risk_weight_violations_older: float = Field(2.0, description="Per violation alert 31–180 days ago.")
    risk_weight_exclusion_zone: float = Field(5.0, description="Per exclusion-zone entry in the last 180 days (on top of its violation).")
    risk_weight_missed_checkins: float = Field(3.0, description="Per missed check-in in the last 90 days (not overturned).")
    risk_weight_failed_checkins: float = Field(3.0, description="Per failed check-in in the last 90 days (not overturned).")
    risk_weight_signal_loss: float = Field(4.0, description="Per lost-contact alert in the last 90 days.")
    risk_weight_integrity: float = Field(4.0, description="Per integrity alert (mock location, phone apart…) in the last 90 days.")
    risk_weight_night_outings: float = Field(3.0, description="Per curfew breach (night-only outing, 昼伏夜出) in the last 90 days.")
    risk_weight_sanctions: float = Field(8.0, description="Per imposed sanction (训诫, 警告, proposal) in the term.")
    risk_weight_new_intake: float = Field(2.0, description="Per month short of six since intake (new supervisees are riskier).")
    risk_high_score: float = Field(30.0, ge=0, description="A score at least this is high risk: a proposal into strict.")
    risk_check_seconds: float = Field(86400.0, gt=0, description="How often the risk job runs (daily).")
    tier_intake_months: int = Field(2, ge=0, le=24, description="Strict for the first this many months of the term.")
    tier_lenient_after_months: int = Field(6, ge=1, le=60, description="Months at ordinary before a proposal to lenient.")
    tier_strict_min_months: int = Field(2, ge=1, le=60, description="Months at strict before a proposal to ordinary.")
    tier_lenient_average: float = Field(80.0, ge=0, le=100, description="… with the last quarter's average confirmed assessment score at least this (two months at least).")
    tier_praises_in_a_row: int = Field(3, ge=1, le=12, description="… or this many 表扬 in a row (no sanction between).")


class MediaSettings(BaseSettings):
    """The encrypted media store (core/media): photos, snapshots, sealed templates."""

    model_config = SettingsConfigDict(**_COMMON)
    media_keys: str = Field(
        "", description="AES-GCM keys of the media store, `keyid:base64key,...` (16, 24 or 32 bytes each). "
                        "Keep retired keys listed so older files still open. Required; ./dev generates one.")
    media_key_id: str = Field("", description="The id (in `ZHIJIAO_MEDIA_KEYS`) of the key new files and sealed blobs use.")
    media_dir: Path = Field(
        Path(".data/media"), description="Directory of the encrypted media files (outside any web root; created 0700).")
    media_orphan_grace_minutes: int = Field(
        60, ge=1, description="A media file with no row (its transaction rolled back) older than this is deleted by the sweep.")
    media_sweep_seconds: float = Field(3600.0, gt=0, description="How often the media sweep (orphaned and purged files) runs.")


class FaceSettings(BaseSettings):
    """Photo intake and face checks (video/photos.py, video/face.py)."""

    model_config = SettingsConfigDict(**_COMMON)
    photo_max_bytes: int = Field(8 * 1024 * 1024, ge=1024, description="Largest photo upload accepted (bytes).")
    photo_max_pixels: int = Field(
        16_000_000, ge=10_000, description="Largest photo accepted (width × height, read from the header before decoding).")
    photo_store_max_side: int = Field(
        1280, ge=320, description="Photos are re-encoded as JPEG with the long side at most this (pixels).")
    face_min_score: float = Field(0.8, gt=0, lt=1, description="YuNet confidence below which a detection is not a face.")
    face_match_distance: float = Field(
        0.5, gt=0, description="Descriptor distance at or below this to the nearest enrolled photo is a match.")
    face_no_match_distance: float = Field(
        0.6, gt=0, description="Distance above this is no match; between the two is inconclusive (an officer decides).")
    liveness_turn_deg: float = Field(
        15.0, gt=0, description="Estimated yaw (turn) or pitch (look up/down) the challenge photo must reach.")
    liveness_change_deg: float = Field(
        10.0, gt=0, description="The challenge pose must differ from the neutral photo's by at least this (degrees).")
    liveness_turn_direction_strict: bool = Field(
        False, description="Require turn_left/turn_right in the stated direction. Off by default: phones save front-camera "
                           "selfies mirrored or not, which swaps left and right; a turn either way then passes.")
    liveness_neutral_max_deg: float = Field(
        20.0, gt=0, description="The neutral photo must face the camera within this yaw and pitch (degrees).")


class LifecycleSettings(BaseSettings):
    """End of term and data minimisation (lifecycle/): Law art. 44, PIPL arts. 19 and 47."""

    model_config = SettingsConfigDict(**_COMMON)
    purge_retention_days: int = Field(
        365, ge=1, description="After a supervision ends, its operational personal data (fixes, photos, face templates, "
                               "episode detail, exact leave destinations) is purged after this many days, unless a legal "
                               "hold is set. The legal file is kept.")
    term_reminder_days: list[int] = Field(
        default_factory=lambda: [30, 7],
        description="The responsible officer gets an alert-feed notice this many days before a term ends (JSON list; "
                    "each once).")
    fix_thinning_days: int = Field(
        180, ge=1, description="While supervision runs, raw fixes older than this are thinned to one per "
                               "`fix_thinning_keep_minutes` (PIPL data minimisation); fixes that are evidence of an "
                               "alert, or in an episode's span, are kept.")
    fix_thinning_keep_minutes: int = Field(
        60, ge=1, description="The thinned track keeps the first fix of each such interval per supervisee.")
    lifecycle_check_seconds: float = Field(
        300.0, gt=0, description="How often the reminder, term-end and purge jobs run.")
    fix_thinning_check_seconds: float = Field(
        3600.0, gt=0, description="How often the thinning job runs.")


class CameraSettings(BaseSettings):
    """Cameras: URL safety (video/camera_url.py), frame grabs (video/capture.py) and health (cameras/health.py)."""

    model_config = SettingsConfigDict(**_COMMON)
    camera_networks: list[str] = Field(
        default_factory=list, description="Networks camera stream URLs may point to (JSON list of CIDRs); empty: no camera is reachable. "
                                          "Loopback, link-local and metadata addresses need a network naming them (`127.0.0.0/8`).")
    camera_grab_deadline_seconds: float = Field(
        10.0, gt=0, le=120, description="Hard deadline of one grab (open, keyframe, frames); a later worker process is killed.")
    camera_answer_timeout_seconds: float = Field(
        3.0, gt=0, le=120, description="A camera silent this long (connecting, answering, between reads) is hung: the grab ends as a timeout before the deadline.")
    camera_grab_workers: int = Field(4, ge=1, le=64, description="Grab worker processes at most (a bounded pool: an alert storm cannot fork-bomb the host).")
    camera_grab_queue: int = Field(64, ge=1, description="Grabs waiting for a worker at most; more are answered `busy` at once.")
    camera_snapshot_max_bytes: int = Field(
        8 * 1024 * 1024, ge=1024, description="Largest still image (snapshot URL answer) read from a camera (bytes).")
    camera_snapshots_per_alert: int = Field(3, ge=0, description="Covering cameras grabbed from when a violation alert is created.")
    camera_probe_minutes: float = Field(10.0, gt=0, description="Every camera is probed once per this period, the probes spread over it.")
    camera_probe_concurrency: int = Field(2, ge=1, description="Health probes running at once (they share the grab pool).")
    camera_degraded_after: int = Field(1, ge=1, description="Consecutive failed probes after which an online camera is degraded.")
    camera_offline_after: int = Field(3, ge=1, description="Consecutive failed probes after which a camera is offline.")
    camera_offline_alert_share: float = Field(
        0.3, gt=0, le=1, description="Admins are alerted when at least this share of an office's cameras is offline.")
    camera_snapshot_seconds: float = Field(
        5.0, gt=0, description="How often the snapshot job takes pending frame requests (alert evidence, on demand).")

    @field_validator("camera_networks")
    @classmethod
    def _camera_cidrs(cls, value: list[str]) -> list[str]:
        for cidr in value:
            ipaddress.ip_network(cidr, strict=False)  # raises ValueError naming the bad entry
        return value


class RollcallSettings(BaseSettings):
    """Remote roll-calls (rollcall/): the window, the grabs in it, the frames kept, the cameras suggested."""

    model_config = SettingsConfigDict(**_COMMON)
    rollcall_default_minutes: int = Field(10, ge=1, le=240, description="Minutes a supervisee has to reach the camera when the officer names none.")
    rollcall_max_minutes: int = Field(60, ge=1, le=240, description="Longest roll-call window an officer may give (minutes).")
    rollcall_check_seconds: float = Field(20.0, gt=0, description="Seconds between roll-call job rounds: each waiting roll-call's camera is grabbed once per round.")
    rollcall_batch: int = Field(8, ge=1, le=64, description="Roll-calls grabbed per round at most (the grab pool bounds them further).")
    rollcall_frames_per_grab: int = Field(3, ge=1, le=10, description="Frames read per grab (the best one is judged and kept).")
    rollcall_frame_interval_seconds: float = Field(0.5, ge=0, le=5, description="Seconds between the frames of one grab.")
    rollcall_frames_kept: int = Field(10, ge=1, le=100, description="Frames kept as evidence per roll-call at most (a match is always kept).")
    rollcall_suggest_radius_m: float = Field(1000.0, gt=0, le=20000, description="Cameras suggested lie within this distance of the phone's last position (metres).")
    rollcall_suggest_limit: int = Field(5, ge=1, le=50, description="Cameras suggested at most, nearest first.")


class ConsoleSettings(BaseSettings):
    """The web console's base map (web/). No tile URL: the map is a plain background (offline networks)."""

    model_config = SettingsConfigDict(**_COMMON)
    console_tile_url: str = Field(
        "", description="Base map tile URL template, e.g. `https://{s}.example.cn/{z}/{x}/{y}.png` (`{s}` takes one of "
                        "the subdomains). Empty: no base map, no tile request at all. The page's CSP admits images from "
                        "exactly this host (each subdomain).")
    console_tile_subdomains: str = Field("", description="Letters or comma-separated names put in `{s}` (e.g. `abc`, `t0,t1,t2`).")
    console_tile_attribution: str = Field("", description="Attribution shown on the map (text, e.g. `© 天地图`).")
    console_tile_datum: Literal["wgs84", "cgcs2000", "gcj02"] = Field(
        "wgs84", description="Datum of the tiles: `gcj02` (Amap, Tencent) shifts positions for display only; "
                             "`cgcs2000` (天地图) and `wgs84` are drawn as stored.")
    console_tile_max_zoom: int = Field(18, ge=1, le=22, description="Highest zoom level the tile server has.")

    @field_validator("console_tile_subdomains")
    @classmethod
    def _subdomains(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9,-]*", value.replace(" ", "")):
            raise ValueError("ZHIJIAO_CONSOLE_TILE_SUBDOMAINS: letters, digits, '-' and ',' only")
        return value

    @field_validator("console_tile_url")
    @classmethod
    def _tile_url(cls, value: str) -> str:
        if value == "":
            return value
        parts = urlsplit(value.replace("{s}", "s"))
        # The host goes into the CSP header: nothing but a plain host[:port] may reach it.
        if parts.scheme not in ("http", "https") or not re.fullmatch(r"[A-Za-z0-9.-]+(:\d{1,5})?", parts.netloc):
            raise ValueError("ZHIJIAO_CONSOLE_TILE_URL must be an http(s) URL with a plain host[:port]")
        missing = [k for k in ("{z}", "{x}", "{y}") if k not in value]
        if missing:
            raise ValueError(f"ZHIJIAO_CONSOLE_TILE_URL lacks {', '.join(missing)}")
        return value

    def subdomains(self) -> list[str]:
        raw = self.console_tile_subdomains.strip()
        return [s.strip() for s in raw.split(",") if s.strip()] if "," in raw else list(raw)

    def tile_origins(self) -> list[str]:
        """Every scheme://host[:port] the tiles come from (one per subdomain), for the CSP."""
        if not self.console_tile_url:
            return []
        subs = self.subdomains() if "{s}" in self.console_tile_url else [""]
        out = []
        for s in subs or ["a", "b", "c"]:  # Leaflet's default subdomains
            parts = urlsplit(self.console_tile_url.replace("{s}", s))
            out.append(f"{parts.scheme}://{parts.netloc}")
        return sorted(set(out))


class Settings:
    """All settings of one process."""

    def __init__(self) -> None:
        self.db = DatabaseSettings()
        self.auth = AuthSettings()
        self.audit = AuditSettings()
        self.api = ApiSettings()
        self.hub = HubSettings()
        self.alerts = AlertSettings()
        self.ingest = IngestSettings()
        self.leave = LeaveSettings()
        self.orders = OrderSettings()
        self.supervision = SupervisionSettings()
        self.testing = UnsafeTestSettings()
        self.mqtt = MqttSettings()
        self.jt808 = Jt808Settings()
        self.checkins = CheckinSettings()
        self.media = MediaSettings()
        self.face = FaceSettings()
        self.lifecycle = LifecycleSettings()
        self.sanctions = SanctionSettings()
        self.risk = RiskSettings()
        self.cameras = CameraSettings()
        self.rollcall = RollcallSettings()
        self.console = ConsoleSettings()

    def require_secrets(self) -> None:
        """Refuse to start without keys: a default key would be a shared secret."""
        missing = [
            name
            for name, value in (
                ("ZHIJIAO_DATABASE_URL", self.db.database_url),
                ("ZHIJIAO_JWT_SECRET", self.auth.jwt_secret),
                ("ZHIJIAO_ID_HASH_KEY", self.auth.id_hash_key),
                ("ZHIJIAO_DEVICE_KEY", self.auth.device_key),
                ("ZHIJIAO_AUDIT_KEY", self.audit.audit_key),
                ("ZHIJIAO_MEDIA_KEYS", self.media.media_keys),
                ("ZHIJIAO_MEDIA_KEY_ID", self.media.media_key_id),
            )
            if not value
        ]
        if missing:
            raise RuntimeError("missing required settings: " + ", ".join(missing) + " (./dev sets them for development)")


@lru_cache
def get_settings() -> Settings:
    return Settings()
