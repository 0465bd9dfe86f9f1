"""Leave settings (``ZHIJIAO_LEAVE_*``), kept with the leave package and
carried by ``core.settings.Settings`` as ``settings.leave``."""
from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class LeaveSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ZHIJIAO_", extra="ignore", env_file=None)

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
