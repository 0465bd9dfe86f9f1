"""The demo district: real 衢江区 boundary, a partition into offices, 393 people."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import date

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from core.db import sqlalchemy_url
from geo.demo import seed_demo
from supervision.demo import SUPERVISEES
from supervision.models import Device, Jurisdiction, Supervisee, User
from tests.conftest import migrated_database


@pytest.fixture(scope="module")
def demo_url(server_url):
    with migrated_database(server_url, "zj_demo") as url:
        yield url


def test_seed_demo_builds_the_district(demo_url, settings):
    eng = create_engine(sqlalchemy_url(demo_url))
    with Session(eng) as db:
        accounts = seed_demo(db, id_hash_key=settings.auth.id_hash_key, today=date(2026, 11, 25),
                             device_key=settings.auth.device_key)
        db.commit()
        # Every demo supervisee has a permitted area 衢江区 ∪ 柯城区 (one geometry, about 2,400 km²).
        permitted = db.execute(text(
            "SELECT count(DISTINCT f.supervisee_id), min(ST_Area(v.geom::geography)) FROM fences f"
            " JOIN fence_versions v ON v.fence_id = f.id WHERE f.kind = 'permitted'")).one()
        assert permitted[0] == 393 and 2.2e9 < permitted[1] < 2.7e9
        assert {a.role for a in accounts if a.role == "device"} == {"device"}
        # Each demo supervisee also has an OwnTracks phone with a broker login (MQTT mode).
        owntracks = db.execute(select(Device.owntracks_user, Device.mqtt_password_hash)
                               .where(Device.protocol == "owntracks")).all()
        assert len(owntracks) == 2 and all(u.startswith("demo-supervisee") and h for u, h in owntracks)
        assert db.scalar(select(func.count()).select_from(Supervisee)) == SUPERVISEES == 393
        bureau = db.scalar(select(Jurisdiction).where(Jurisdiction.code == "330803"))
        offices = db.scalars(select(Jurisdiction).where(Jurisdiction.parent_id == bureau.id)).all()
        assert len(offices) >= 5
        # Offices partition the district: areas add up, no overlaps.
        total, union, overlaps = db.execute(text(
            "SELECT sum(ST_Area(boundary::geography)), ST_Area(ST_Union(boundary)::geography),"
            " (SELECT count(*) FROM jurisdictions a JOIN jurisdictions b ON a.id < b.id"
            "   AND a.parent_id = :b AND b.parent_id = :b AND ST_Area(ST_Intersection(a.boundary, b.boundary)::geography) > 1)"
            " FROM jurisdictions WHERE parent_id = :b"), {"b": bureau.id}).one()
        district = db.execute(text("SELECT ST_Area(boundary::geography) FROM jurisdictions WHERE id = :b"),
                              {"b": bureau.id}).scalar_one()
        assert overlaps == 0
        assert abs(total - district) / district < 0.001 and abs(union - district) / district < 0.001
        # Qujiang is about 1,750 km².
        assert 1.6e9 < district < 1.9e9
        # Every residence lies inside its office's area.
        outside = db.execute(text(
            "SELECT count(*) FROM supervisees s JOIN jurisdictions j ON j.id = s.office_id"
            " WHERE NOT ST_Covers(j.boundary, s.residence)")).scalar_one()
        assert outside == 0
        mix = dict(db.execute(select(Supervisee.sentence_type, func.count()).group_by(Supervisee.sentence_type)).all())
        assert set(mix) == {"probation", "parole", "control", "temporary_release"}
        tiers = dict(db.execute(select(Supervisee.tier, func.count()).group_by(Supervisee.tier)).all())
        assert set(tiers) == {"strict", "ordinary", "lenient"}
        assert all(s == ["330803", "330802"] for s in db.scalars(select(Supervisee.permitted_area_codes)))
        roles = {str(a.role) for a in accounts}
        assert {"officer", "manager", "auditor", "admin", "supervisee"} <= roles
        assert len({a.password for a in accounts}) == len(accounts)
        # Seeding again keeps the data and hands out fresh passwords.
        again = seed_demo(db, id_hash_key=settings.auth.id_hash_key, today=date(2026, 11, 25),
                          device_key=settings.auth.device_key)
        db.commit()
        assert {a.username for a in again} == {a.username for a in accounts}
        assert not ({a.password for a in again} & {a.password for a in accounts})
        users = [a for a in accounts if a.role != "device"]
        assert db.scalar(select(func.count()).select_from(User).where(User.username.like("demo-%"))) == len(users)
    eng.dispose()


def test_create_admin_cli(demo_url):
    env = {**os.environ, "ZHIJIAO_DATABASE_URL": demo_url}
    out = subprocess.run([sys.executable, "-m", "api.cli", "users", "create-admin", "--username", "root-admin"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "password:" in out.stdout and len(out.stdout.split("password:")[1].strip()) >= 12
    again = subprocess.run([sys.executable, "-m", "api.cli", "users", "create-admin", "--username", "root-admin"],
                           check=False, env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode != 0
