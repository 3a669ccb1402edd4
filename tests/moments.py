"""The fixed moments tests run at, so no test depends on the day it runs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

IST = timezone(timedelta(hours=5, minutes=30), "IST")

# A Monday in session: the paper broker's clock starts here in every test that starts one
# alone, and restarts here at each admin reset.
PAPER_CLOCK_START = datetime(2026, 3, 2, 10, 0, tzinfo=IST)
