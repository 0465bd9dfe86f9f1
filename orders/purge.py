"""What the purge does with orders: nothing. They are the legal file (Law art. 29, 44).

An order records the legal ground, the approver and the period positioning
was lawful; it is what a later reader of the supervisee's file needs to know
that positioning data was collected lawfully, so it is kept after the end of
term with the other decisions. ``positioning_windows`` (geo's mirror of the
orders' windows, written only by orders.service) is declared here for the
same reason: it holds the same periods and no location.
"""
from __future__ import annotations

from core.retention import Retention

RETENTION = Retention(
    package="orders",
    legal_file=("positioning_orders", "positioning_order_extensions", "positioning_windows"),
)
