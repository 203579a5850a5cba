"""The framework's ceiling: a hello-world Flask app, served by gunicorn beside Consult Hub."""

from flask import Flask

app = Flask(__name__)


@app.route("/")
def hello() -> str:
    return "Hello, world!"
