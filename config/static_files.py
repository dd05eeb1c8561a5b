"""A web process with DEBUG off refuses to start without collected static files.

With DEBUG off, static URLs come from WhiteNoise's manifest (hashed names); without the manifest
every template that links a stylesheet raises, so every full page would answer 500. Failing at
start, naming the command to run, is kinder than serving 500s.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def ensure_static_files_collected() -> None:
    if settings.DEBUG or "Manifest" not in settings.STORAGES["staticfiles"]["BACKEND"]:
        return
    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    if not manifest.is_file():
        raise ImproperlyConfigured(
            f"DEBUG is off but {manifest} does not exist: run `python manage.py collectstatic "
            "--noinput` first (the Docker image does it when it is built). Without it every page "
            "would answer 500."
        )
