"""The matrix world's roll-call objects, in scope (supervisee a, office A) and out (x, office X):
a camera each (the cameras' world objects when they are there), a face enrolment each, a
finished roll-call with one evidence frame each (for reads and decisions) and a waiting one
each (for cancels). Written directly: the roll-call routes are what the matrix tests."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from cameras.models import Camera

from checkins.face_check import template_aad
from checkins.models import FaceEnrolment
from core import media
from rollcall.grabbing import FRAME_KIND, FRAME_PURPOSE
from rollcall.models import Rollcall, RollcallFrame
from tests.rollcall.helpers import add_camera
from tests.video.faces import photo
from video.face import analyse, descriptors_bytes


def seed_rollcalls(db: Session, w, settings, now: datetime) -> None:
    officer = w.base.users["officer_a"].id
    templates = descriptors_bytes([analyse(photo(n)).descriptor for n in ("a-2", "a-3")])
    kinds: dict[str, list[int]] = {"camera": [], "rollcall": [], "rollcall_waiting": [], "rollcall_frame": []}
    cameras = w.objects.get("camera")
    for i, key in enumerate(("a", "x")):
        sup = w.base.supervisees[key]
        camera = db.get(Camera, cameras[i]) if cameras else add_camera(db, sup.office_id, name=f"{key}村口")
        db.add(FaceEnrolment(supervisee_id=sup.id, version=1, active=True, media_ids=[], enrolled_by=officer,
                             templates=media.seal(templates, aad=template_aad(sup.id), settings=settings),
                             enrolled_at=now))
        rows = []
        for state, outcome in (("done", "match"), ("waiting", None)):
            row = Rollcall(supervisee_id=sup.id, office_id=sup.office_id, camera_id=camera.id, camera_name=camera.name,
                           camera_lon=camera.lon, camera_lat=camera.lat, gesture="wave", requested_by=officer,
                           requested_at=now - timedelta(minutes=5), deadline_at=now + timedelta(minutes=30),
                           state=state, attempts=1 if outcome else 0, outcome=outcome,
                           distance=0.38 if outcome else None, finished_at=now if outcome else None, evidence=[])
            db.add(row)
            rows.append(row)
        db.flush()
        media_id = media.store(db, data=photo("a-1"), content_type="image/jpeg", kind=FRAME_KIND, purpose=FRAME_PURPOSE,
                               supervisee_id=sup.id, settings=settings)
        frame = RollcallFrame(rollcall_id=rows[0].id, supervisee_id=sup.id, media_id=media_id, attempt=1,
                              grabbed_at=now, faces=1, distance=0.38, outcome="match")
        db.add(frame)
        db.flush()
        for kind, value in (("camera", camera.id), ("rollcall", rows[0].id), ("rollcall_waiting", rows[1].id),
                            ("rollcall_frame", frame.id)):
            kinds[kind].append(value)
    w.objects.update({kind: tuple(ids) for kind, ids in kinds.items()})
