"""Request and response models. Inputs forbid unknown fields and NaN/Infinity."""
from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field, field_validator, model_validator

from core.schemas import AdminCode, Id, Input, Output
from geo.datum import DatumName
from supervision.models import DeviceKind, DeviceProtocol, JurisdictionLevel, Role, SentenceType, SuperviseeStatus, Tier


class PointIn(Input):
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    datum: DatumName = "wgs84"


class PointOut(BaseModel):
    lon: float
    lat: float


# --- jurisdictions -------------------------------------------------------------

class JurisdictionIn(Input):
    name: str = Field(min_length=1, max_length=200)
    level: JurisdictionLevel
    parent_id: Id | None = None
    code: str | None = Field(default=None, min_length=1, max_length=32, pattern=r"^[0-9A-Za-z_-]+$")


class JurisdictionUpdate(Input):
    not_null = frozenset({"name"})
    name: str | None = Field(default=None, min_length=1, max_length=200)
    code: str | None = Field(default=None, min_length=1, max_length=32, pattern=r"^[0-9A-Za-z_-]+$")


class JurisdictionOut(Output):
    id: int
    name: str
    level: str
    parent_id: int | None
    code: str | None
    has_boundary: bool = False


# --- users ---------------------------------------------------------------------

class UserIn(Input):
    """A new account. No password: the user sets their own with an activation code."""

    username: str = Field(min_length=3, max_length=64, pattern=r"^[a-zA-Z0-9_.-]+$")
    full_name: str = Field(min_length=1, max_length=200)
    role: Role
    jurisdiction_id: Id
    supervisee_id: Id | None = None

    @model_validator(mode="after")
    def _supervisee_link(self) -> "UserIn":
        if (self.role == Role.supervisee) != (self.supervisee_id is not None):
            raise ValueError("supervisee_id is required for role supervisee and forbidden otherwise")
        return self


class UserUpdate(Input):
    not_null = frozenset({"full_name", "password", "active", "bureau_head"})
    full_name: str | None = Field(default=None, min_length=1, max_length=200)
    password: str | None = Field(default=None, min_length=12, max_length=256)
    active: bool | None = None
    bureau_head: bool | None = Field(default=None, description=(
        "administrators only: this manager of a bureau is its head (局长), the approver of "
        "electronic-positioning orders (Law art. 29)"))


class UserOut(Output):
    id: int
    username: str
    full_name: str
    role: str
    jurisdiction_id: int
    bureau_head: bool = False
    supervisee_id: int | None
    active: bool


class UserActivation(UserOut):
    """An account with a fresh one-time activation code: shown once, to whoever hands it to the user."""

    activation_code: str = Field(description="Shown once; the user redeems it at POST /auth/activate.")
    activation_expires_at: datetime


class ActivateIn(Input):
    username: str = Field(min_length=1, max_length=64)
    code: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=12, max_length=256, description="the user's own new password")


class ActivatedOut(BaseModel):
    username: str
    activated: bool = True


class NoticeOut(Output):
    id: int
    kind: str
    message: str
    created_at: datetime
    seen_at: datetime | None


class MeOut(UserOut):
    notices: list[NoticeOut] = Field(default_factory=list, description="the latest notices about this account")


class AccountRequestOut(Output):
    """An admin's account request (new account or reset) waiting for, or decided by, a manager."""

    id: int
    kind: str
    status: str
    role: str
    username: str
    full_name: str
    jurisdiction_id: int
    supervisee_id: int | None
    user_id: int | None
    requested_by: int
    requested_at: datetime
    decided_by: int | None
    decided_at: datetime | None
    decision_reason: str | None


class DecisionIn(Input):
    reason: str = Field(min_length=1, max_length=2000)


class LoginIn(Input):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    notices: list[NoticeOut] = Field(default_factory=list, description="notices not shown before (e.g. a reset)")


# --- supervisees ---------------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def national_id_valid(value: str) -> bool:
    """GB 11643 check digit (ISO 7064 MOD 11-2)."""
    if len(value) != 18 or not value[:17].isdigit():
        return False
    total = sum(int(c) * w for c, w in zip(value[:17], _ID_WEIGHTS))
    return _ID_CHECK[total % 11] == value[17].upper()


class SuperviseeIn(Input):
    name: str = Field(min_length=1, max_length=100)
    national_id: str = Field(min_length=18, max_length=18, description="18-character resident ID; stored only as a keyed hash + last 4")
    sentence_type: SentenceType
    term_start: date
    term_end: date
    tier: Tier = Tier.strict
    office_id: Id
    officer_id: Id | None = None
    residence: PointIn | None = None
    residence_address: str | None = Field(default=None, max_length=300)
    permitted_area_codes: list[AdminCode] = Field(default_factory=list, max_length=20)

    @field_validator("national_id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not national_id_valid(value):
            raise ValueError("not a valid 18-character resident ID number (check digit mismatch or bad format)")
        return value.upper()

    @model_validator(mode="after")
    def _term(self) -> "SuperviseeIn":
        if self.term_end < self.term_start:
            raise ValueError("term_end must not be before term_start")
        return self


class SuperviseeUpdate(Input):
    not_null = frozenset({"name", "tier", "status", "term_end", "office_id", "permitted_area_codes"})
    name: str | None = Field(default=None, min_length=1, max_length=100)
    tier: Tier | None = None
    status: SuperviseeStatus | None = None
    term_end: date | None = None
    officer_id: Id | None = None
    office_id: Id | None = None
    residence: PointIn | None = None
    residence_address: str | None = Field(default=None, max_length=300)
    permitted_area_codes: list[AdminCode] | None = Field(default=None, max_length=20)


class SuperviseeOut(Output):
    id: int
    name: str
    id_last4: str
    sentence_type: str
    term_start: date
    term_end: date
    tier: str
    office_id: int
    officer_id: int | None
    residence: PointOut | None
    residence_address: str | None
    permitted_area_codes: list[str]
    status: str
    warnings: list[str] = Field(default_factory=list, description=(
        "what the record leaves unguarded, e.g. no permitted area in force: leaving the county raises no alert"))


# --- devices -------------------------------------------------------------------

class DeviceIn(Input):
    supervisee_id: Id
    name: str = Field(min_length=1, max_length=100)
    kind: DeviceKind
    protocol: DeviceProtocol
    positioning_grade: bool = Field(default=False, description=(
        "a phone the office uses for electronic positioning (Law art. 29): positioning data under an order, "
        "ordinary 信息化核查 data outside one. Trackers and wristbands are positioning devices whatever this says."))
    owntracks_user: str | None = Field(default=None, min_length=1, max_length=64)
    owntracks_device: str | None = Field(default=None, min_length=1, max_length=64)
    jt808_phone: str | None = Field(default=None, pattern=r"^[0-9]{1,20}$", description=(
        "JT/T 808 terminal phone number (the header's BCD digits; leading zeros are ignored)"))
    jt808_terminal_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9]{1,30}$", description=(
        "JT/T 808 terminal ID as on the device's label (0x0100's field: at most 7 characters for a 2013 "
        "terminal, 30 for 2019; letters are compared in upper case). A registration naming another is refused."))

    @model_validator(mode="after")
    def _owntracks(self) -> "DeviceIn":
        if self.protocol == DeviceProtocol.owntracks and not (self.owntracks_user and self.owntracks_device):
            raise ValueError("owntracks_user and owntracks_device are required for protocol owntracks")
        if (self.protocol == DeviceProtocol.jt808) != (self.jt808_phone is not None):
            raise ValueError("jt808_phone is required for protocol jt808, and only for it")
        if (self.protocol == DeviceProtocol.jt808) != (self.jt808_terminal_id is not None):
            raise ValueError("jt808_terminal_id is required for protocol jt808, and only for it")
        if self.jt808_terminal_id is not None:
            self.jt808_terminal_id = self.jt808_terminal_id.upper()
        if self.jt808_phone is not None:
            self.jt808_phone = self.jt808_phone.lstrip("0") or "0"
        return self


class DeviceUpdate(Input):
    not_null = frozenset({"name", "active", "rotate_secret"})
    name: str | None = Field(default=None, min_length=1, max_length=100)
    active: bool | None = None
    rotate_secret: bool = False


class DeviceOut(Output):
    id: int
    supervisee_id: int
    name: str
    kind: str
    protocol: str
    positioning_grade: bool = False
    owntracks_user: str | None
    owntracks_device: str | None
    jt808_phone: str | None = None
    jt808_terminal_id: str | None = None
    active: bool
    last_seen_at: datetime | None


class DeviceCreated(DeviceOut):
    secret: str = Field(description="Shown once: the device's credential (bearer token, OwnTracks password, or OsmAnd id; "
                        "for JT/T 808 it never leaves the server: the terminal gets an auth code derived from it).")


# --- registrations pending bureau review ----------------------------------------

class RegistrationPending(BaseModel):
    """The answer to a registration sent to bureau review: the same for every reason."""

    id: int
    status: str = "pending_bureau_review"
    message: str = "the registration was received and awaits review by the district bureau"


class RegistrationOut(Output):
    """A registration in the bureau's queue (managers only)."""

    id: int
    office_id: int
    reason: str
    status: str
    id_last4: str
    data: dict
    requested_by: int
    requested_at: datetime
    decided_by: int | None
    decided_at: datetime | None
    decision_reason: str | None
    supervisee_id: int | None
    matching_supervisee_id: int | None = Field(
        None, description="the record on file with the same national ID, when it is in your jurisdiction")
    match_elsewhere: bool = Field(False, description="the same national ID is on file outside your jurisdiction")
