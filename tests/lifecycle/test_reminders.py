"""Term reminders on the manual clock: once each, only the nearest when several fall due at once,
a new term end gets its own, and an ended supervision gets none."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from alerts.models import Alert
from core.localtime import LOCAL_TZ
from lifecycle.scheduled import send_term_reminders
from lifecycle.term import term_end_instant


def _notices(db, sid):
    return [(a.detail["term_end"], a.detail["days_before"]) for a in db.scalars(
        select(Alert).where(Alert.supervisee_id == sid, Alert.kind == "term_ending").order_by(Alert.id))]


def test_a_term_five_days_away_gets_one_notice_and_a_new_term_end_its_own(db, world, clock, job):
    sup = world.supervisees["a"]
    sup.term_end = (clock.now() + timedelta(days=5)).astimezone(LOCAL_TZ).date()
    for other in ("a2", "b"):  # far away: nothing
        world.supervisees[other].term_end = (clock.now() + timedelta(days=90)).astimezone(LOCAL_TZ).date()
    db.flush()
    assert send_term_reminders(job()) == 1
    assert send_term_reminders(job(clock.now() + timedelta(days=1))) == 0
    assert _notices(db, sup.id) == [(sup.term_end.isoformat(), 7)]
    # The court extends the term by 40 days: both reminders of the new end, in their time.
    old = sup.term_end
    sup.term_end = old + timedelta(days=40)
    db.flush()
    end = term_end_instant(sup.term_end)
    assert send_term_reminders(job(end - timedelta(days=31))) == 0
    assert send_term_reminders(job(end - timedelta(days=30))) == 1
    assert send_term_reminders(job(end - timedelta(days=7))) == 1
    assert send_term_reminders(job(end + timedelta(seconds=1))) == 0
    assert _notices(db, sup.id) == [(old.isoformat(), 7), (sup.term_end.isoformat(), 30), (sup.term_end.isoformat(), 7)]
    assert {a.severity for a in db.scalars(select(Alert).where(Alert.kind == "term_ending"))} == {"low"}


def test_an_ended_supervision_gets_no_reminder(db, world, clock, job):
    sup = world.supervisees["a"]
    sup.term_end = (clock.now() + timedelta(days=3)).astimezone(LOCAL_TZ).date()
    sup.status = "ended"
    db.flush()
    assert send_term_reminders(job()) == 0


def test_a_first_reminder_the_day_before_the_end_says_one_day(db, world, clock, job):
    """The job (or the system) was not running at 30 and 7 days: one notice, for the nearest step
    passed, whose title tells the days actually left."""
    sup = world.supervisees["a"]
    sup.term_end = (clock.now() + timedelta(days=3)).astimezone(LOCAL_TZ).date()
    db.flush()
    end = term_end_instant(sup.term_end)
    assert send_term_reminders(job(end - timedelta(hours=20))) == 1
    [notice] = db.scalars(select(Alert).where(Alert.supervisee_id == sup.id, Alert.kind == "term_ending"))
    assert (notice.detail["days_before"], notice.detail["days_left"]) == (7, 1)
    assert notice.title.endswith(f"term ends {sup.term_end.isoformat()} (in 1 day)")
    assert send_term_reminders(job(end - timedelta(hours=2))) == 0  # 1 day is not a default step; 7 and 30 are done
