from __future__ import annotations

import os

# The Celery worker the suite starts is another process: it reads this from its environment.
# Only local test servers on 127.0.0.1 become reachable; every other private address stays
# refused.
os.environ["OUTBOUND_ALLOW_HTTP_LOCALHOST"] = "1"
