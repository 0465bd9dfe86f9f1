"""End of term and the purge, on a committed database through the real routes and jobs:
reminders, the term-end instant, monitoring stopped, a legal hold, the purge checked by a
schema scan, the legal file intact, media gone from disk, and `zhijiao audit verify`."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, text

from alerts.models import Alert
from api.app import RETENTIONS
from core.media.files import path_of
from core.media.models import Media
from core.retention import declared_tables
from lifecycle.models import Release
from lifecycle.term import term_end_instant
from supervision.models import Supervisee
from tests.lifecycle.schema_scan import count_rows, scan, uncleared
from tests.lifecycle.world import HOME, fill, fixes, scene


def _reminders(s) -> list[Alert]:
    s.db.rollback()
    return list(s.db.scalars(select(Alert).where(Alert.supervisee_id == s.sid, Alert.kind == "term_ending")
                             .order_by(Alert.id)))


def test_end_of_term_stops_monitoring_and_the_purge_leaves_only_the_legal_file(server_url, settings, tmp_path):
    with scene(server_url, settings, tmp_path) as s:
        fill(s)
        sup = s.db.get(Supervisee, s.sid)
        end = term_end_instant(sup.term_end)

        # Reminders: 30 and 7 days before, once each.
        assert s.run("term_reminders", end - timedelta(days=31)) == 0
        assert s.run("term_reminders", end - timedelta(days=30)) == 1
        assert s.run("term_reminders", end - timedelta(days=29)) == 0
        assert s.run("term_reminders", end - timedelta(days=7)) == 1
        assert s.run("term_reminders", end - timedelta(days=1)) == 0
        notes = _reminders(s)
        assert [n.detail["days_before"] for n in notes] == [30, 7] and {n.severity for n in notes} == {"low"}

        # Not before the instant; at it, the supervision ends.
        assert s.run("term_end", end - timedelta(seconds=1)) == []
        assert s.run("term_end", end + timedelta(minutes=3)) == [s.sid]
        s.db.rollback()
        rel = s.db.scalar(select(Release).where(Release.supervisee_id == s.sid))
        assert rel.kind == "term_end" and rel.released_at == end and rel.released_by is None
        assert rel.purge_due_at == end + timedelta(days=30)
        assert rel.summary["devices_disabled"] == 1 and rel.summary["accounts_closed"] == 1
        assert rel.summary["fences_retired"] >= 2  # the permitted area and the leave destination
        open_alerts = s.db.scalars(select(Alert).where(Alert.supervisee_id == s.sid, Alert.state != "resolved")).all()
        assert open_alerts == []
        assert s.db.get(Alert, s.facts["alert_id"]).resolution == "term_ended"
        # Monitoring has stopped: the phone's fixes are refused, the account no longer logs in.
        s.clock.set(end + timedelta(hours=1))
        r = s.client.post("/ingest/native", headers={"Authorization": f"Bearer {s.device_secret}"},
                          json=fixes(s.clock.now() - timedelta(minutes=5), HOME, tag="late"))
        assert r.status_code == 401 and "inactive" in r.text, r.text  # the device is disabled
        assert s.client.get("/checkins/due", headers=s.auth("supervisee_a")).status_code == 401
        # The officer sees the release record.
        life = s.client.get(f"/supervisees/{s.sid}/lifecycle", headers=s.auth("officer_a")).json()
        assert life["status"] == "ended" and life["release"]["kind"] == "term_end" and life["purges"] == []

        # What the scan finds before the purge.
        schema = scan(s.db)
        owner = declared_tables(RETENTIONS)
        assert schema.tables <= set(owner)
        before = {t: count_rows(s.db, schema, t, s.sid) for t in sorted(schema.tables)}
        seeded = {"fixes", "violation_episodes", "fence_folds", "supervisee_signal", "fences", "fence_versions",
                  "alert_evidence", "alert_notes", "alerts", "devices", "leave_requests", "face_enrolments",
                  "checkin_submissions", "checkin_challenges", "checkin_occurrences", "media", "users",
                  "supervision_releases", "term_reminders"}
        assert not [t for t in seeded if before[t] == 0], before
        files = [path_of(settings.media.media_dir, name) for name in
                 s.db.scalars(select(Media.file_name).where(Media.supervisee_id == s.sid))]
        assert len(files) >= 4 and all(f.exists() for f in files)
        other = s.world.supervisees["a2"].id
        others_before = {t: count_rows(s.db, schema, t, other) for t in sorted(schema.tables)}

        # A day before it is due: nothing.
        assert s.run("purge", rel.purge_due_at - timedelta(days=1)) == []
        assert s.run("purge", rel.purge_due_at) == [s.sid]
        s.db.rollback()

        operational = {t for r in RETENTIONS for t in r.operational}
        scrubbed = {t: cols for r in RETENTIONS for t, cols in r.scrubbed.items()}
        after = {t: count_rows(s.db, schema, t, s.sid) for t in sorted(schema.tables)}
        assert {t: n for t, n in after.items() if t in operational and n} == {}
        for table, cols in scrubbed.items():
            assert after[table] == before[table]
            for col in cols:
                assert uncleared(s.db, schema, table, col, s.sid) == 0, f"{table}.{col} not cleared"
        legal = set(schema.tables) - operational - set(scrubbed)
        assert {t: (before[t], after[t]) for t in legal if t != "purge_records" and before[t] != after[t]} == {}
        assert after["purge_records"] == 1
        # Nobody else's rows were touched.
        assert {t: count_rows(s.db, schema, t, other) for t in sorted(schema.tables)} == others_before
        assert not any(f.exists() for f in files)

        # The purge record: counts and time ranges, no content; audited.
        life = s.client.get(f"/supervisees/{s.sid}/lifecycle", headers=s.auth("auditor")).json()
        [record] = life["purges"]
        assert record["counts"]["fixes"] == before["fixes"] and record["counts"]["media"] == before["media"]
        assert set(record["time_ranges"]["fixes"]) and len(record["time_ranges"]["fixes"]) == 2
        assert "lon" not in str(record) and "杭州" not in str(record)
        action = s.db.scalar(text("SELECT detail FROM audit_log WHERE action = 'supervisee.purge'"))
        assert action["counts"] == record["counts"]
        # The leave approval is still there, in words, without its point.
        leave = s.client.get(f"/leave/{s.facts['leave_id']}", headers=s.auth("officer_a"))
        assert leave.status_code == 200 and leave.json()["address"] == "杭州市西湖区某路1号", leave.text
        # The alert stays readable: its kind, resolution and the officer's note, without its evidence.
        alert = s.client.get(f"/alerts/{s.facts['alert_id']}", headers=s.auth("officer_a"))
        assert alert.status_code == 200, alert.text
        assert alert.json()["evidence"] == [] and [n["body"] for n in alert.json()["notes"]] == ["已电话联系本人"]
        assert alert.json()["resolution"] == "term_ended" and alert.json()["detail"] == {}
        # A second round does nothing more.
        assert s.run("purge", rel.purge_due_at + timedelta(days=1)) == []

        # The audit chain is whole: checkpoint, then the operator's verify.
        made = s.cli("audit", "checkpoint")
        assert made.returncode == 0, made.stderr
        verified = s.cli("audit", "verify")
        assert verified.returncode == 0, verified.stdout + verified.stderr


def test_a_legal_hold_stops_the_purge_until_another_manager_lifts_it(server_url, settings, tmp_path):
    with scene(server_url, settings, tmp_path) as s:
        fill(s)
        c, sid = s.client, s.sid
        # An officer of another office cannot see the person; the own officer ends the term early.
        assert c.post(f"/supervisees/{sid}/release", headers=s.auth("officer_b"), json={"reason": "x"}).status_code == 404
        r = c.post(f"/supervisees/{sid}/release", headers=s.auth("officer_a"), json={"reason": "法院裁定撤销缓刑"})
        assert r.status_code == 201, r.text
        rel = r.json()
        assert rel["kind"] == "early" and rel["summary"]["devices_disabled"] == 1
        again = c.post(f"/supervisees/{sid}/release", headers=s.auth("officer_a"), json={"reason": "again"})
        assert again.status_code == 409
        r = c.post(f"/supervisees/{sid}/legal-holds", headers=s.auth("officer_a"), json={"reason": "申诉未结"})
        assert r.status_code == 201, r.text
        hold = r.json()
        due = s.clock.now() + timedelta(days=31)
        assert s.run("purge", due) == []
        s.db.rollback()
        assert count_rows(s.db, scan(s.db), "fixes", sid) > 0
        # Only a manager lifts it, and not the one who set it; here the officer set it.
        s.clock.set(due)
        assert c.post(f"/legal-holds/{hold['id']}/lift", headers=s.auth("officer_a"),
                      json={"reason": "结案"}).status_code == 403
        r = c.post(f"/legal-holds/{hold['id']}/lift", headers=s.auth("manager"), json={"reason": "申诉已结案"})
        assert r.status_code == 200 and r.json()["lifted_by"] == s.world.users["manager"].id, r.text
        assert c.post(f"/legal-holds/{hold['id']}/lift", headers=s.auth("manager"),
                      json={"reason": "again"}).status_code == 409
        assert s.run("purge", due) == [sid]
        s.db.rollback()
        assert count_rows(s.db, scan(s.db), "fixes", sid) == 0
        actions = s.db.scalars(text("SELECT action FROM audit_log WHERE action LIKE 'legal_hold.%' AND outcome = 'ok'"
                                    " ORDER BY seq")).all()
        assert actions == ["legal_hold.set", "legal_hold.lift"]
