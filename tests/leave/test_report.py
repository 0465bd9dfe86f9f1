"""The manager's leave report: JSON / CSV / PDF, flags, and reconciliation with the audit trail."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pypdf
from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import func, select

from core.audit import AuditEntry
from leave.models import LeaveRequest
from tests.leave.conftest import leave_body

FORMULA = "=HYPERLINK(\"http://x\",\"点击\")"


def _workflow(client, auth, clock, world):
    """Three requests through the API: approved, rejected (reason begins with '='), pending."""
    t = clock.now() + timedelta(days=1)
    ids = []
    for i, who in enumerate(("supervisee_a", "supervisee_b", "supervisee_a")):
        r = client.post("/leave", headers=auth(who), json=leave_body(t + timedelta(days=10 * i), days=2))
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    assert client.post(f"/leave/{ids[0]}/approve", headers=auth("officer_a"), json={"reason": "同意"}).status_code == 200
    assert client.post(f"/leave/{ids[1]}/reject", headers=auth("officer_b"), json={"reason": FORMULA}).status_code == 200
    return ids


def _report(client, auth, clock, world, fmt="json", who="manager", **params):
    day = clock.now().date()
    q = {"jurisdiction_id": world.bureau.id, "from": (day - timedelta(days=40)).isoformat(),
         "to": (day + timedelta(days=1)).isoformat(), "format": fmt, **params}
    return client.get("/reports/leave", headers=auth(who), params=q)


def _audit_count(db, action):
    return db.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action,
                                                                        AuditEntry.outcome == "ok"))


def test_json_report_rows_totals_and_reconciliation(client, db, auth, clock, world):
    ids = _workflow(client, auth, clock, world)
    r = _report(client, auth, clock, world)
    assert r.status_code == 200, r.text
    rep = r.json()
    rows = {row["id"]: row for row in rep["rows"]}
    assert set(rows) == set(ids)
    assert rows[ids[0]]["decision"] == "approved" and rows[ids[0]]["approver"] == world.users["officer_a"].full_name
    assert rows[ids[0]]["outcome"] == "not_started" and rows[ids[0]]["hours_to_decision"] == 0
    assert rows[ids[1]]["decision"] == "rejected" and rows[ids[2]]["decision"] == "pending"
    assert all(row["flags"] == [] for row in rep["rows"]), rep["rows"]
    rec = rep["reconciliation"]
    assert rec["ok"] is True
    assert rec["report"] == {"requests": 3, "approvals": 1, "rejections": 1}
    # The counts are the audit trail's own rows (this test's transaction holds only these).
    assert rec["audit"] == {"requests": _audit_count(db, "leave.request"),
                            "approvals": _audit_count(db, "leave.approve"),
                            "rejections": _audit_count(db, "leave.reject")}
    by_office = {t["office"]: t for t in rep["totals"]}
    assert by_office["甲司法所"]["requests"] == 2 and by_office["乙司法所"]["rejected"] == 1
    # The report read itself is audited, with the leaves it showed.
    read = db.scalar(select(AuditEntry).where(AuditEntry.action == "report.leave"))
    assert sorted(read.detail["leave_ids"]) == sorted(ids)


def test_report_access(client, auth, clock, world):
    assert _report(client, auth, clock, world, who="auditor").status_code == 200
    assert _report(client, auth, clock, world, who="officer_a").status_code == 403
    assert _report(client, auth, clock, world, who="admin").status_code == 403
    other = _report(client, auth, clock, world, jurisdiction_id=1)  # another test world's bureau, or absent
    assert other.status_code in (404, 200)
    if other.status_code == 200:
        assert other.json()["jurisdiction"]["id"] == world.bureau.id
    assert _report(client, auth, clock, world, jurisdiction_id=987654321).status_code == 404


def _insert(db, world, who, *, requested, depart, days, status="approved", decided_by=None, decided_at=None,
            reason="同意", level="office", decided_level=None):
    sup = world.supervisees[who]
    row = LeaveRequest(
        supervisee_id=sup.id, office_id=sup.office_id, requested_by=world.users["officer_a"].id, requested_at=requested,
        reason="探亲", address="某地", geom=from_shape(Point(120.16, 30.27), srid=4326), radius_m=5000.0,
        datum="wgs84", raw={}, depart_at=depart, return_at=depart + timedelta(days=days),
        return_due_at=depart + timedelta(days=days), days=days, total_days=days, required_level=level, status=status,
        decided_by=decided_by, decided_at=decided_at, decision_reason=reason, decided_level=decided_level)
    db.add(row)
    db.flush()
    return row.id


def test_irregular_rows_are_flagged_and_break_reconciliation(client, db, auth, clock, world):
    now = clock.now()
    officer, manager = world.users["officer_a"].id, world.users["manager"].id
    t = now - timedelta(days=20)
    # A 10-day leave approved by an office officer (level recorded as office, though 10 > 7).
    wrong = _insert(db, world, "a2", requested=t, depart=t + timedelta(days=1), days=10, decided_by=officer,
                    decided_at=t + timedelta(hours=1), decided_level="office")
    # Approved two days after departure, and without a reason.
    late = _insert(db, world, "b", requested=t, depart=t + timedelta(days=1), days=2, decided_by=manager,
                   decided_at=t + timedelta(days=3), reason=" ", decided_level="bureau")
    # Two approved leaves of one person overlapping; three requests within 30 days; one self-approved.
    o1 = _insert(db, world, "a", requested=t, depart=t + timedelta(days=2), days=3, decided_by=manager,
                 decided_at=t + timedelta(hours=2), decided_level="bureau")
    o2 = _insert(db, world, "a", requested=t + timedelta(days=1), depart=t + timedelta(days=3), days=3,
                 decided_by=officer, decided_at=t + timedelta(days=1, hours=1), decided_level="office")
    o3 = _insert(db, world, "a", requested=t + timedelta(days=2), depart=t + timedelta(days=9), days=1,
                 status="pending", reason=None)
    db.commit()
    rep = _report(client, auth, clock, world).json()
    flags = {row["id"]: set(row["flags"]) for row in rep["rows"]}
    assert "wrong_level" in flags[wrong]
    assert {"approved_after_departure", "no_reason"} <= flags[late]
    assert "overlapping_approval" in flags[o1] and "overlapping_approval" in flags[o2]
    assert "self_approved" in flags[o2]  # officer_a entered it and approved it
    assert "repeated_requests" in flags[o3]
    assert all("no_audit_record" in f for f in flags.values())
    rec = rep["reconciliation"]
    assert rec["ok"] is False and rec["report"]["requests"] == 5 and rec["audit"]["requests"] == 0
    assert rep["flag_counts"]["no_audit_record"] == 5


def test_csv_escapes_formulas_and_pdf_has_chinese(client, db, auth, clock, world):
    _workflow(client, auth, clock, world)
    r = _report(client, auth, clock, world, fmt="csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert table[0][0] == "编号" and len(table) == 4
    reasons = [row[table[0].index("决定理由")] for row in table[1:]]
    assert "'" + FORMULA in reasons and FORMULA not in reasons
    r = _report(client, auth, clock, world, fmt="pdf")
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(r.content)).pages)
    for expected in ("外出请假审批审计报告", world.bureau.name, "甲一", "乙司法所", "与审计日志核对", "一致"):
        assert expected in text, expected
