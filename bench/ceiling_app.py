"""The ceiling for this machine: a minimal Flask app under the service's gunicorn settings.

`bench/run.py` serves it with `gunicorn -c config/gunicorn.conf.py ceiling_app:app` from bench/.
"""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    """Answer a fixed greeting: no Redis, no schema, no JSON."""
    return "Hello, World!"
