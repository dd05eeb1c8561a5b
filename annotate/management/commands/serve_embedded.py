"""Serve the web app and a real Celery worker side by side (the embedded quick start).

Both run as child processes; Ctrl-C (or SIGTERM) stops both, and if either one exits the
other is stopped too, so nothing is left running in the background.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the development web server and a Celery worker (all queues) together."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--concurrency", type=int, default=2, help="worker processes")

    def handle(self, *args, host: str, port: int, concurrency: int, **options):
        manage_py = str(settings.BASE_DIR / "manage.py")
        worker = [
            sys.executable, "-m", "celery", "-A", "config", "worker",
            "--queues", "default,llm,gpu",
            "--concurrency", str(concurrency),
            "--hostname", "embedded@%h",
            "--loglevel", "INFO",
            # Beat inside the one worker sends the periodic job reaper (CELERY_BEAT_SCHEDULE);
            # a deployment with several workers runs one `celery beat` instead.
            "--beat",
        ]
        web = [sys.executable, manage_py, "runserver", f"{host}:{port}", "--noreload"]
        self.stdout.write(
            f"Broker: {settings.CELERY_BROKER_URL}  Database: {settings.DATABASES['default']['ENGINE']}"
        )
        self.stdout.write(self.style.SUCCESS(f"Serving on http://{host}:{port}/ — Ctrl-C stops web and worker"))
        children = [subprocess.Popen(worker), subprocess.Popen(web)]

        def stop_children(*_):
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 15
            for child in children:
                remaining = max(0.1, deadline - time.monotonic())
                try:
                    child.wait(timeout=remaining)
                except subprocess.TimeoutExpired:
                    child.kill()

        signal.signal(signal.SIGTERM, lambda *_: (stop_children(), sys.exit(0)))
        # Ctrl-C stops both even when a launcher started us with SIGINT ignored.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
        except KeyboardInterrupt:
            self.stdout.write("Stopping web server and worker…")
            stop_children()
            return
        stopped = next(child for child in children if child.poll() is not None)
        name = "worker" if stopped is children[0] else "web server"
        stop_children()
        raise SystemExit(f"The {name} exited with status {stopped.returncode}; stopped the other.")
