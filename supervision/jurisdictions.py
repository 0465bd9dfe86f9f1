"""Jurisdiction tree: bureau → office → grid."""
from __future__ import annotations

import json

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core.context import Ctx
from core.errors import Invalid, NotFound
from supervision.models import Jurisdiction, JurisdictionLevel
from core.schemas import Page
from supervision.schemas import JurisdictionIn, JurisdictionOut, JurisdictionUpdate
from supervision.scope import ACCOUNT_ADMINS, STAFF_READERS, jurisdiction_clause, require_role

_CHILD_LEVEL = {JurisdictionLevel.bureau: JurisdictionLevel.office, JurisdictionLevel.office: JurisdictionLevel.grid}


def ancestor_chain(db: Session, jurisdiction_id: int) -> list[int]:
    """Ids from the jurisdiction up to the root, nearest first (for settings inherited down the tree)."""
    path = db.scalar(select(Jurisdiction.path).where(Jurisdiction.id == jurisdiction_id))
    if path is None:
        return []
    return [int(p) for p in path.strip("/").split("/")][::-1]


def to_out(j: Jurisdiction) -> JurisdictionOut:
    return JurisdictionOut(id=j.id, name=j.name, level=j.level, parent_id=j.parent_id, code=j.code,
                           has_boundary=j.boundary is not None)


def list_jurisdictions(*, ctx: Ctx, limit: int, offset: int) -> Page[JurisdictionOut]:
    where = jurisdiction_clause(ctx.principal)
    total = ctx.db.scalar(select(func.count()).select_from(Jurisdiction).where(where)) or 0
    rows = ctx.db.scalars(select(Jurisdiction).where(where).order_by(Jurisdiction.path).limit(limit).offset(offset))
    return Page(items=[to_out(j) for j in rows], total=total, limit=limit, offset=offset)


def get_scoped(ctx: Ctx, jurisdiction_id: int) -> Jurisdiction:
    row = ctx.db.scalar(select(Jurisdiction).where(Jurisdiction.id == jurisdiction_id, jurisdiction_clause(ctx.principal)))
    if row is None:
        raise NotFound()
    return row


def get_jurisdiction(*, ctx: Ctx, jurisdiction_id: int) -> JurisdictionOut:
    return to_out(get_scoped(ctx, jurisdiction_id))


def create_jurisdiction(*, ctx: Ctx, data: JurisdictionIn) -> JurisdictionOut:
    require_role(ctx.principal, ACCOUNT_ADMINS, "create jurisdictions")
    if data.parent_id is None:
        raise Invalid("parent_id is required: new jurisdictions are created under the caller's own tree", field="parent_id")
    parent = get_scoped(ctx, data.parent_id)
    if _CHILD_LEVEL.get(JurisdictionLevel(parent.level)) != data.level:
        raise Invalid(f"a {parent.level} can only contain a {_CHILD_LEVEL.get(JurisdictionLevel(parent.level), 'nothing')}",
                      field="level")
    row = add_jurisdiction(ctx.db, name=data.name, level=data.level, parent=parent, code=data.code)
    ctx.record("jurisdiction.create", "jurisdiction", row.id, detail={"name": row.name, "level": row.level})
    return to_out(row)


def update_jurisdiction(*, ctx: Ctx, jurisdiction_id: int, data: JurisdictionUpdate) -> JurisdictionOut:
    require_role(ctx.principal, ACCOUNT_ADMINS, "change jurisdictions")
    row = get_scoped(ctx, jurisdiction_id)
    changes = data.model_dump(exclude_unset=True)
    for name, value in changes.items():
        setattr(row, name, value)
    ctx.db.flush()
    ctx.record("jurisdiction.update", "jurisdiction", row.id, detail={"fields": sorted(changes)})
    return to_out(row)


def add_jurisdiction(db, *, name: str, level: str, parent: Jurisdiction | None, code: str | None = None,
                     boundary=None) -> Jurisdiction:
    """Insert a node and fill in its materialised path (needs the new id)."""
    row = Jurisdiction(name=name, level=str(level), parent_id=parent.id if parent else None, code=code,
                       boundary=boundary, path="")
    db.add(row)
    db.flush()
    row.path = f"{parent.path if parent else ''}{row.id}/"
    db.flush()
    return row




OUTLINE_TOLERANCE_DEG = 0.0002  # ~20 m: a map outline, not a legal boundary (that stays exact in the table)


def outlines(*, ctx: Ctx) -> list[dict]:
    """The administrative outlines for the staff map: the caller's jurisdiction, what is under
    it and what it lies in (the district). Geography, not anyone's data, so ancestors are included;
    simplified for drawing, WGS-84 as stored."""
    require_role(ctx.principal, STAFF_READERS, "read jurisdiction outlines")
    chain = ancestor_chain(ctx.db, ctx.principal.jurisdiction_id)
    where = or_(jurisdiction_clause(ctx.principal), Jurisdiction.id.in_(chain))
    shape = func.ST_AsGeoJSON(func.ST_SimplifyPreserveTopology(Jurisdiction.boundary, OUTLINE_TOLERANCE_DEG), 6)
    rows = ctx.db.execute(select(Jurisdiction.id, Jurisdiction.name, Jurisdiction.level, shape)
                          .where(where, Jurisdiction.boundary.is_not(None)).order_by(Jurisdiction.path)).all()
    return [{"jurisdiction_id": r[0], "name": r[1], "level": str(r[2]), "geometry": json.loads(r[3])} for r in rows]
