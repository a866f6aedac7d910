"""Where a request's time goes: the bench scenarios in one process, with the Flask test client.

Run with `.venv/bin/python bench/profile_scenarios.py` (`--help` for options). It seeds a
throwaway Redis as bench/run.py does (fewer articles), then sends each scenario's request N times
in a loop, single-threaded, while timing the outermost call of each phase:

  Redis (the Store methods: commands, round trips, decoding), request parsing (webargs and
  marshmallow load), marshmallow dump, ETag hashing, JSON encoding of the response (Flask's, or
  the page cache's encoder), Fernet and HMAC, the HTML rendering of a body, flask-cors, and
  app logging. "list, new version" sets a new list version before each request, as a
  moderator's decision does, so the article's cached page is rendered again each time.

What is left ("framework") is Flask, Werkzeug, flask-smorest dispatch and the test client. The
gunicorn share (HTTP parsing, access log, threads) is not in this picture: compare the ceiling in
bench/run.py, or record live workers with py-spy. `--cprofile NAME` adds cProfile's top functions.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import inspect
import itertools
import logging
import os
import pstats
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import flask_cors.extension
import marshmallow
import webargs.core
from flask import Flask
from flask.json.provider import DefaultJSONProvider
from flask.testing import FlaskClient
from flask_smorest.etag import EtagMixin
from run import (
    HOT_ARTICLE,
    POST_ARTICLE,
    TOKEN,
    app_settings,
    seed,
    server_env,
    throwaway_redis,
)
from werkzeug.test import TestResponse

import service.comments
import service.spam_learning
from service import EXTENSION, create_app
from service.json_provider import OrjsonProvider
from service.offensive import OffensiveLanguage
from service.privacy import Privacy
from service.spam_filter_store import SpamFilterStore
from service.store import Store

SCENARIOS = ("list", "list, new version", "counts", "post", "approve")
# A submission's spam-filter read (its slots scored in Redis) rides in the round trip of the
# rules' facts, counted in the Store's time; parsing its reply is counted here.
SPAM_FILTER_READ = "spam filter: its read's reply parsed"
SPAM_FILTER_CPU = "spam filter: features and score (CPU)"
SPAM_FILTER_LEARN = "spam filter: learning (its Lua step, then the comment read back)"
FRAMEWORK = "Flask, Werkzeug, flask-smorest dispatch, test client, service glue"
# A reader's prose, to lengthen posted comments (`--body-chars`).
PROSE = (
    "I have lived in this town for thirty years and the council has promised a new bridge at "
    "every election since. The article is right that the money was set aside in the budget, but "
    "nobody asks where it went. Last winter the old road was closed for six weeks and the buses "
    "took an hour to reach the hospital. If the mayor reads these comments, please publish the "
    "figures before the vote, not after it, and let residents see the plans."
).split()
BENCH_OVERHEAD = "(not service time) SET of a new list version by this script"


class PhaseClock:
    """Add up the time spent in the outermost call of each instrumented phase."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = {}
        self.active: str | None = None

    def wrap(self, phase: str, function: Callable[..., Any]) -> Callable[..., Any]:
        """Time `function` as `phase`, unless another phase is already running."""

        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if self.active is not None:
                return function(*args, **kwargs)
            self.active = phase
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - started
                self.totals[phase] = self.totals.get(phase, 0.0) + elapsed
                self.active = None

        return timed

    def patch(self, owner: Any, name: str, phase: str) -> None:
        """Replace `owner.name` with its timed version, keeping a staticmethod static."""
        original = inspect.getattr_static(owner, name)
        if isinstance(original, staticmethod):
            setattr(owner, name, staticmethod(self.wrap(phase, original.__func__)))
        else:
            setattr(owner, name, self.wrap(phase, getattr(owner, name)))


def instrument(clock: PhaseClock) -> None:
    """Time each phase; must run before the app is created (flask-cors binds at init)."""
    for name, member in vars(Store).items():
        if callable(member) and not name.startswith("_"):
            clock.patch(Store, name, "Redis (Store: commands, round trips, decoding)")
    clock.patch(webargs.core.Parser, "parse", "request parsing (webargs + marshmallow load)")
    clock.patch(marshmallow.Schema, "dump", "marshmallow dump (response schema)")
    clock.patch(EtagMixin, "_generate_etag", "ETag (json.dumps sort_keys + sha1)")
    clock.patch(DefaultJSONProvider, "response", "JSON encoding of the response")
    clock.patch(OrjsonProvider, "response", "JSON encoding of the response")
    # The page cache serializes the page itself.
    clock.patch(service.comments, "encode_json", "JSON encoding of the response")
    for name in ("encrypt", "decrypt", "email_hash", "avatar_seed"):
        clock.patch(Privacy, name, "Fernet + HMAC (privacy)")
    clock.patch(service.comments, "render_body", "render body to HTML")
    clock.patch(logging.Logger, "handle", "app logging")
    clock.patch(SpamFilterStore, "parse_score", SPAM_FILTER_READ)
    for name in ("replace", "replace_and_read"):
        clock.patch(SpamFilterStore, name, SPAM_FILTER_LEARN)
    for name in ("features", "probability"):
        clock.patch(service.spam_learning, name, SPAM_FILTER_CPU)
    clock.patch(OffensiveLanguage, "score", "offensive-language model (alt-profanity-check)")
    make_after_request = flask_cors.extension.make_after_request_function

    def timed_factory(*args: Any, **kwargs: Any) -> Callable[..., Any]:
        return clock.wrap("flask-cors", make_after_request(*args, **kwargs))

    flask_cors.extension.make_after_request_function = timed_factory


def padded(text: str, chars: int) -> str:
    """Lengthen a comment to about `chars` characters with a reader's prose."""
    if len(text) >= chars:
        return text
    prose = " ".join(PROSE * (chars // len(PROSE) + 1))
    return f"{text} {prose}"[:chars].rsplit(" ", 1)[0]


def requests(
    client: FlaskClient,
    clock: PhaseClock,
    counted: list[str],
    pending: list[str],
    body_chars: int = 0,
) -> dict[str, Any]:
    """One callable per scenario, sending the request bench/run.py loads."""
    counts_path = "/api/v1/counts?" + "&".join(f"article_id={a}" for a in counted)
    numbers = itertools.count()
    ids = iter(pending)
    bearer = {"Authorization": f"Bearer {TOKEN}"}

    def post() -> TestResponse:
        number = next(numbers)
        body = {
            "name": f"Reader {number}",
            "email": f"reader-{number}@example.com",
            "body": padded(
                f"Comment {number} of the benchmark. Worth reading: https://example.com/{number}.",
                body_chars,
            ),
        }
        return client.post(f"/api/v1/articles/{POST_ARTICLE}/comments", json=body)

    list_path = f"/api/v1/articles/{HOT_ARTICLE}/comments"

    def list_new_version() -> TestResponse:
        # As after a moderator's decision on the article: the list's cached page is stale.
        new_version()
        return client.get(list_path)

    store: Store = client.application.extensions[EXTENSION].store
    version_key = getattr(store.keys, "version", None)  # the page cache's key, where it exists

    def bump_version() -> None:
        if version_key is not None:
            store.client.set(version_key(HOT_ARTICLE), secrets.token_hex(8))

    new_version = clock.wrap(BENCH_OVERHEAD, bump_version)
    return {
        "list": lambda: client.get(list_path),
        "list, new version": list_new_version,
        "counts": lambda: client.get(counts_path),
        "post": post,
        "approve": lambda: client.post(
            f"/api/v1/moderation/comments/{next(ids)}/approve", headers=bearer
        ),
        "healthz (floor)": lambda: client.get("/healthz"),
    }


def hello_client() -> FlaskClient:
    """A test client of the same minimal app bench/run.py uses as the ceiling."""
    from ceiling_app import app

    return app.test_client()


def timed_loop(send: Callable[[], TestResponse], count: int) -> float:
    """Send `count` requests; answer seconds per request, checking every status."""
    started = time.perf_counter()
    for _ in range(count):
        response = send()
        if response.status_code >= 300:
            sys.exit(f"unexpected {response.status_code}: {response.get_data()[:300]!r}")
    return (time.perf_counter() - started) / count


def report(name: str, per_request: float, phases: dict[str, float], count: int) -> None:
    """Print one scenario's phases in ms per request."""
    print(f"\n{name}: {per_request * 1000:.3f} ms per request ({count} requests)")
    accounted = 0.0
    for phase, seconds in sorted(phases.items(), key=lambda item: -item[1]):
        share = seconds / count
        accounted += share
        print(f"  {share * 1000:7.3f} ms  {share / per_request:6.1%}  {phase}")
    rest = per_request - accounted
    print(f"  {rest * 1000:7.3f} ms  {rest / per_request:6.1%}  the rest: {FRAMEWORK}")


def train_spam_filter(app: Flask) -> None:
    """Teach the spam filter the YouTube Spam Collection's four files, when they are there, so
    "post" pays for its score (else it abstains, and the figures show the filter idle)."""
    from spam_filter_quality import DATASET, read_video

    files = sorted(DATASET.glob("*.csv"))
    examples = [example for path in files for example in read_video(path)]
    if examples:
        report = app.extensions[EXTENSION].spam_filter.train(examples)
        print(f"spam filter taught {report.spam} spam, {report.legitimate} legitimate comments")
    else:
        print(f"no labelled files in {DATASET}: the spam filter abstains in these figures")


def main(argv: list[str] | None = None) -> int:
    """Seed, then time each scenario in-process."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--requests", type=int, default=1000, help="per scenario (1000)")
    parser.add_argument("--cprofile", choices=SCENARIOS, action="append", default=[])
    parser.add_argument("--top", type=int, default=25, help="cProfile rows to print (25)")
    parser.add_argument(
        "--body-chars",
        type=int,
        default=0,
        help="lengthen each posted comment to about this many characters (a news reader's "
        "comment runs to a few hundred; the form takes 5000)",
    )
    arguments = parser.parse_args(argv)
    count = arguments.requests

    clock = PhaseClock()
    instrument(clock)
    with tempfile.TemporaryDirectory(prefix="news-comments-profile-") as temp:
        with throwaway_redis(Path(temp)) as redis_url:
            pool = 2 * count + 10
            seeded = seed(redis_url, [0], pool, other_articles=20)
            env = server_env(redis_url)
            settings = app_settings(redis_url) | {
                "log_level": "INFO",
                "cors_origins": env["COMMENTS_CORS_ORIGINS"],
            }
            app: Flask = create_app(settings)
            train_spam_filter(app)
            # The seeding app configured logging first (at WARNING); serve INFO as gunicorn does.
            logging.getLogger().setLevel(settings["log_level"])
            with open(os.devnull, "w") as devnull:
                for handler in logging.getLogger().handlers:
                    if isinstance(handler, logging.StreamHandler):
                        handler.setStream(devnull)
                client = app.test_client()
                sends = requests(
                    client,
                    clock,
                    seeded.counted_articles,
                    seeded.approve_pools[0],
                    arguments.body_chars,
                )
                floor = timed_loop(hello_client().get, count)
                print(f"hello-world Flask app via the test client: {floor * 1000:.3f} ms/request")
                for name, send in sends.items():
                    timed_loop(send, 5)  # warm up: first-request work is not the steady state
                    clock.totals.clear()
                    per_request = timed_loop(send, count)
                    report(name, per_request, clock.totals.copy(), count)
                for name in arguments.cprofile:
                    profiler = cProfile.Profile()
                    profiler.runcall(timed_loop, sends[name], min(count, 500))
                    print(f"\ncProfile of {name} (top {arguments.top} by own time):")
                    stats = pstats.Stats(profiler, stream=sys.stdout)
                    stats.sort_stats("tottime").print_stats(arguments.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
