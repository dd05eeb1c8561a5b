import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

from config.static_files import ensure_static_files_collected  # noqa: E402 (needs settings)

ensure_static_files_collected()
