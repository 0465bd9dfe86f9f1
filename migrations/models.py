"""Every model module of the app, imported so Base.metadata knows all tables (Alembic, tests).

The composition of the schema lives here, above every package, so no lower
package has to import the ones above it to see the whole schema.
"""
from alerts import models as alert_models  # noqa: F401
from core import audit  # noqa: F401
from geo import models as geo_models  # noqa: F401
from geo.ingest import models as ingest_models  # noqa: F401
from supervision import models  # noqa: F401
from leave import models as leave_models  # noqa: F401
from alerts import tickets as ws_tickets  # noqa: F401,E402
from core import jobs as job_models  # noqa: F401,E402  (job_runs)
from supervision import login_throttle  # noqa: F401,E402  (login_throttle)
from checkins import models as checkin_models  # noqa: F401,E402  (check-ins)
from core.media import models as media_models  # noqa: F401,E402  (media)
from cameras import models as camera_models  # noqa: F401,E402  (cameras, camera_snapshots)
from cameras import health_models as camera_health_models  # noqa: F401,E402  (camera_health, camera_outages)
