"""Check-in scheduler benchmark: one day of occurrences for a national caseload.

Builds a scratch database with ``--supervisees`` (default 700,000: everyone
under community correction in China) spread over 40 offices (20 % strict,
60 % ordinary, 20 % lenient; spot checks at the default two a week for
strict), makes their plans (timed apart: it happens once, not daily), then
times the day's work of the real scheduler code (checkins.schedule):

- ``materialise_s``: every plan's windows for one day (a Monday that is the
  first of its month, so every cadence has its 报到: the busiest day), with
  the strict plans' spot checks for that week;
- ``judge_s``: at the day's end, open + judge every window: a simulated 98 %
  were submitted (rows marked in SQL, not timed), the rest are misses, each
  with its alert, outbox event and ledger entry, in batches as the job runs.

Prints one JSON object. Run: ./dev bench checkin_schedule (or from bench/checkins.py).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import sys
import time
from datetime import date, datetime
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

for _name in ("JWT_SECRET", "ID_HASH_KEY", "DEVICE_KEY", "AUDIT_KEY"):
    os.environ.setdefault(f"ZHIJIAO_{_name}", secrets.token_hex(16))

from bench.world import create_scratch, drop_scratch  # noqa: E402
from checkins.schedule import ensure_plans, judge_closed, materialise, open_windows  # noqa: E402
from core.db import sqlalchemy_url  # noqa: E402
from core.localtime import LOCAL_TZ  # noqa: E402
from core.settings import Settings  # noqa: E402

DAY = date(2026, 6, 1)  # a Monday, the first of the month
OFFICES = 40


def seed(url: str, n: int) -> None:
    with psycopg.connect(url) as conn:
        bureau = conn.execute("INSERT INTO jurisdictions (level, name, code, path) VALUES ('bureau', '司法局', 'B1', '')"
                              " RETURNING id").fetchone()[0]
        conn.execute("UPDATE jurisdictions SET path = %s WHERE id = %s", (f"{bureau}/", bureau))
        offices = []
        for i in range(OFFICES):
            oid = conn.execute("INSERT INTO jurisdictions (parent_id, level, name, code, path)"
                               " VALUES (%s, 'office', %s, %s, '') RETURNING id",
                               (bureau, f"司法所{i + 1}", f"O{i + 1}")).fetchone()[0]
            conn.execute("UPDATE jurisdictions SET path = %s WHERE id = %s", (f"{bureau}/{oid}/", oid))
            offices.append(oid)
        tiers = ["strict"] * 2 + ["ordinary"] * 6 + ["lenient"] * 2
        with conn.cursor().copy("COPY supervisees (name, id_hash, id_last4, sentence_type, term_start, term_end, tier,"
                                " office_id, permitted_area_codes, status) FROM STDIN") as cp:
            for i in range(n):
                cp.write_row((f"对象{i}", secrets.token_hex(32), f"{i % 10000:04d}", "probation", date(2025, 1, 1),
                              date(2028, 1, 1), tiers[i % 10], offices[i % OFFICES], ["330803"], "active"))
        conn.commit()
        conn.execute("ANALYZE")


def scheduler_figures(n: int = 700_000, *, keep: bool = False) -> dict:
    """Time to materialise and judge one day of occurrences for ``n`` supervisees (real database)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.orm import Session

    url = create_scratch("zj_bench_ck")
    settings = Settings()
    settings.checkins.checkin_horizon_days = 0  # exactly the one day
    engine = create_engine(sqlalchemy_url(url))
    try:
        t = time.perf_counter()
        seed(url, n)
        seed_s = time.perf_counter() - t
        start = datetime.combine(DAY, datetime.min.time(), LOCAL_TZ)
        end = datetime.combine(date.fromordinal(DAY.toordinal() + 1), datetime.min.time(), LOCAL_TZ)
        with Session(engine) as db:
            t = time.perf_counter()
            ended, plans = ensure_plans(db, now=start, settings=settings)
            db.commit()
            plans_s = time.perf_counter() - t
        with Session(engine) as db:
            t = time.perf_counter()
            made = materialise(db, now=start, settings=settings)
            db.commit()
            materialise_s = time.perf_counter() - t
        with psycopg.connect(url) as conn:
            conn.execute("ANALYZE checkin_occurrences")
            # The simulated day: 98 % checked in (not timed; submissions are the API's work, benchmarked apart).
            conn.execute("UPDATE checkin_occurrences SET state = 'submitted', judged_at = closes_at"
                         " WHERE random() < 0.98")
            conn.commit()
        missed = alerts = 0
        t = time.perf_counter()
        with Session(engine) as db:
            opened = open_windows(db, now=end)
            db.commit()
            while True:
                r = judge_closed(db, now=end, settings=settings, last_run=None)
                db.commit()
                if not r.missed and not r.missed_outage:
                    break
                missed += r.missed
                alerts += r.alerts
        judge_s = time.perf_counter() - t
        with engine.connect() as c:
            by_kind = dict(c.execute(text("SELECT kind, count(*) FROM checkin_occurrences GROUP BY 1")).all())
    finally:
        engine.dispose()
        if not keep:
            drop_scratch(url)
    return {
        "scheduler_supervisees": n, "scheduler_seed_s": round(seed_s, 1), "scheduler_plans_s": round(plans_s, 2),
        "scheduler_plans": plans, "scheduler_occurrences": made, "scheduler_occurrences_by_kind": by_kind,
        "scheduler_materialise_s": round(materialise_s, 2), "scheduler_opened": opened,
        "scheduler_missed": missed, "scheduler_missed_alerts": alerts, "scheduler_judge_s": round(judge_s, 2),
        "scheduler_day_s": round(materialise_s + judge_s, 2),
        "scheduler_missed_per_s": round(missed / judge_s, 1) if judge_s else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--supervisees", type=int, default=700_000)
    args = parser.parse_args()
    out = {"machine": platform.machine(), "cpus": os.cpu_count(), **scheduler_figures(args.supervisees)}
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
