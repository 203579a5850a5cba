"""WSGI entry point: ``gunicorn wsgi:app``."""

from consult_hub import create_app
from consult_hub.core.workers import freeze_loaded_objects

app = create_app()
# Each worker builds its own app (no preload): what it loaded lives as long as the worker, so
# the garbage collector's full collections need not walk it (core/workers.py says why).
freeze_loaded_objects()
