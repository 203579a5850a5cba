"""WSGI entry point: ``gunicorn wsgi:app``."""

from consult_hub import create_app

app = create_app()
