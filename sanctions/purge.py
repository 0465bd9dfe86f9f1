"""End of term: everything here is legal file (Law art. 44, DOMAIN "End of term"): the sanctions and
praise with their decisions and evidence ids, the monthly assessments and the obligation hours they
rest on are kept whole; nothing to delete, so no purge function."""
from __future__ import annotations

from core.retention import Retention

RETENTION = Retention(package="sanctions", legal_file=("sanctions", "monthly_assessments", "obligation_entries"))
