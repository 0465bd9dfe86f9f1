"""Item 12 of issue 12: a registration whose national ID is already under
supervision (anywhere) is accepted as "pending bureau review", with exactly
the answer of any other pending registration (a share of all registrations is
sampled for review), and routed to the bureau's queue, which a manager resolves."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.audit import AuditEntry
from geo.admin_areas import import_boundary
from geo.boundaries import bundled
from supervision.models import Supervisee
from tests.factories import national_id


@pytest.fixture(autouse=True)
def _qujiang(db):
    import_boundary(db, bundled("330803"), datum="gcj02")


def _person(world, office, nid):
    return {"name": "丙", "national_id": nid, "sentence_type": "probation", "term_start": "2026-01-01",
            "term_end": "2027-01-01", "office_id": office.id, "permitted_area_codes": ["330803"]}


def _without_id(r):
    body = r.json()
    body.pop("id")
    return body


def test_a_conflict_looks_like_any_pending_registration_and_reaches_the_bureau(client, db, world, settings):
    nid = national_id()
    first = client.post("/supervisees", headers=world.auth("officer_a"), json=_person(world, world.office_a, nid))
    assert first.status_code == 201, first.text
    # The same person registered by the other office: no hint that they are supervised elsewhere.
    conflict = client.post("/supervisees", headers=world.auth("officer_b"), json=_person(world, world.office_b, nid))
    assert conflict.status_code == 202, conflict.text
    assert "national" not in conflict.text and "elsewhere" not in conflict.text and "conflict" not in conflict.text
    # A registration picked for review by the sample answers the same, byte for byte but for its id.
    settings.supervision.registration_review_share = 1.0
    sampled = client.post("/supervisees", headers=world.auth("officer_b"),
                          json=_person(world, world.office_b, national_id()))
    settings.supervision.registration_review_share = 0.0
    assert sampled.status_code == 202
    assert _without_id(sampled) == _without_id(conflict)
    assert sorted(sampled.headers.keys()) == sorted(conflict.headers.keys())
    # Neither is a supervisee record yet; the office sees none of them.
    listed = client.get("/supervisees", headers=world.auth("officer_b")).json()["items"]
    assert [s["id"] for s in listed] == [world.supervisees["b"].id]
    assert client.get("/registrations", headers=world.auth("officer_b")).status_code == 403
    # The bureau's manager sees the queue, with the reason.
    queue = {q["id"]: q for q in client.get("/registrations", headers=world.auth("manager")).json()["items"]}
    c, s = queue[conflict.json()["id"]], queue[sampled.json()["id"]]
    assert c["reason"] == "national_id_match" and c["matching_supervisee_id"] == first.json()["id"]
    assert s["reason"] == "sample" and s["matching_supervisee_id"] is None
    # Accepting the conflicting one is refused while the other record exists; rejecting resolves it.
    assert client.post(f"/registrations/{c['id']}/accept", headers=world.auth("manager"),
                       json={"reason": "转入"}).status_code == 409
    r = client.post(f"/registrations/{c['id']}/reject", headers=world.auth("manager"), json={"reason": "已在甲所"})
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    ok = client.post(f"/registrations/{s['id']}/accept", headers=world.auth("manager"), json={"reason": "核实"})
    assert ok.status_code == 200, ok.text
    sup_id = ok.json()["supervisee_id"]
    row = db.get(Supervisee, sup_id)
    assert row.office_id == world.office_b.id and row.permitted_area_codes == ["330803"]
    assert client.get(f"/supervisees/{sup_id}", headers=world.auth("officer_b")).status_code == 200
    actions = [a for a, in db.execute(select(AuditEntry.action).where(AuditEntry.action.like("registration.%"),
                                                                AuditEntry.action != "registration.list"))]
    assert sorted(actions) == ["registration.accept", "registration.create", "registration.create",
                               "registration.reject"]


def test_a_manager_of_another_bureau_does_not_see_the_queue(client, db, world, settings):
    from core.security import issue_access_token
    from supervision.jurisdictions import add_jurisdiction
    from supervision.models import Role
    from tests.factories import add_user

    bureau = add_jurisdiction(db, name="另一个区司法局", level="bureau", parent=None, code=f"O{world.bureau.id}")
    stranger = add_user(db, f"other-manager-{world.bureau.id}", Role.manager, bureau)
    db.commit()
    token = issue_access_token(settings.auth, user_id=stranger.id, role="manager", now=client.app.state.clock.now())
    headers = {"Authorization": f"Bearer {token.token}"}
    nid = national_id()
    client.post("/supervisees", headers=world.auth("officer_a"), json=_person(world, world.office_a, nid))
    pending = client.post("/supervisees", headers=world.auth("officer_b"), json=_person(world, world.office_b, nid))
    assert pending.status_code == 202
    assert client.get("/registrations", headers=headers).json()["items"] == []
    r = client.post(f"/registrations/{pending.json()['id']}/reject", headers=headers, json={"reason": "x"})
    assert r.status_code == 404


def test_a_manager_cannot_decide_a_registration_they_made(client, db, world, settings):
    settings.supervision.registration_review_share = 1.0
    held = client.post("/supervisees", headers=world.auth("manager"), json=_person(world, world.office_a, national_id()))
    settings.supervision.registration_review_share = 0.0
    assert held.status_code == 202, held.text
    for action in ("accept", "reject"):
        r = client.post(f"/registrations/{held.json()['id']}/{action}", headers=world.auth("manager"),
                        json={"reason": "自己核实"})
        assert r.status_code == 403, r.text
    refused = db.execute(select(AuditEntry.action, AuditEntry.detail).where(
        AuditEntry.object_type == "registration", AuditEntry.outcome == "refused")).all()
    assert sorted(a for a, _ in refused) == ["registration.accept", "registration.reject"]
    assert all(d["reason"] == "own registration" for _, d in refused)
