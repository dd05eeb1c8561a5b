"""Give each pytest-xdist worker its own broker and data folder, before Django reads settings.

`bin/test` runs the suite on two processes (`-n 2`). Each gets its own test database from
pytest-django (``test_prefroute_gw0``, ``_gw1``), but the Redis broker and ``VAR_DIR`` come from the
environment: two processes sharing one broker would let one process's Celery worker take the other
process's tasks and run them against the wrong database. Loaded with ``-p`` (pyproject's addopts),
so it runs before pytest-django imports the settings; without ``-n`` it changes nothing.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

REDIS_DATABASES = 16  # Redis's default `databases`
_REDIS_URL = re.compile(r"^(?P<server>rediss?://[^/]+)(?:/(?P<db>\d+))?$")


def isolate(environ: dict[str, str], worker: str) -> None:
    """Point ``environ``'s broker and VAR_DIR at worker ``worker``'s own ("gw0", "gw1", …)."""
    index = int(worker.removeprefix("gw"))
    broker = _REDIS_URL.match(environ.get("CELERY_BROKER_URL", ""))
    if broker:
        database = (int(broker["db"] or 0) - index) % REDIS_DATABASES
        environ["CELERY_BROKER_URL"] = f"{broker['server']}/{database}"
    if environ.get("VAR_DIR"):
        var_dir = Path(environ["VAR_DIR"]) / worker
        var_dir.mkdir(parents=True, exist_ok=True)
        environ["VAR_DIR"] = str(var_dir)


if worker_id := os.environ.get("PYTEST_XDIST_WORKER"):
    isolate(os.environ, worker_id)
