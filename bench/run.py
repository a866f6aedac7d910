"""Load the service and a hello-world ceiling with wrk, under the same server and settings.

Run with `make bench` (or `.venv/bin/python bench/run.py --help`). It needs `wrk`.

1. Starts a throwaway Redis-compatible server on a free port (no persistence).
2. Seeds it through the service's own use cases: one article with 50 published comments
   (some of them replies), 1000 articles with 5 each, and a pool of pending comments.
3. Serves bench/ceiling_app.py, then the service, with config/gunicorn.conf.py (or both under
   granian with `--server granian`, the same number of workers, to compare servers).
4. Loads each scenario with wrk at 1, 16 and 64 connections.
5. Prints req/s, p50, p99, error counts and the server's CPU time per request (its processes'
   user and system time over the run, divided by the requests: steadier than req/s on a shared
   machine), each req/s as a ratio to the ceiling at the same connections, and PASS/MISS per
   target.
6. With `--scale N`, first stores N more comments over N / 20 other articles (nine in ten
   published, one in five a reply, the rest rejected), in batches through `Store.add_many` as the
   importers do, so the figures at 10,000 and at 1,000,000 stored comments can be compared.
7. With `--topology both` (the default) or `cluster`, seeds and loads the service again on a
   local three-master Redis Cluster (tests/servers.py), prints each scenario's req/s beside the
   one-server run, and counts the round trips per node of the moderators' queue page and of the
   counts of 100 articles.

It prints figures and is not a test: its exit status is 0 unless the run itself failed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import runpy
import secrets
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))  # tests/servers.py starts the local cluster

from service import EXTENSION, Services, create_app  # noqa: E402
from service.admission import duplicate_fingerprint  # noqa: E402
from service.cli import free_port, redis_executable  # noqa: E402
from service.comments import Submission, new_comment_id, rfc3339  # noqa: E402
from service.keys import BUCKETS, Keys  # noqa: E402
from service.models import Comment, Decision, PrivateData, Status  # noqa: E402
from service.privacy import Privacy  # noqa: E402
from service.store import Locator  # noqa: E402
from service.text import render_body  # noqa: E402
from service.topology import Timeouts, connect  # noqa: E402
from tests.servers import Cluster  # noqa: E402

BENCH_DIR = PROJECT_DIR / "bench"
WRK_SCRIPTS = BENCH_DIR / "wrk"
RESULTS_DIR = BENCH_DIR / "results"
GUNICORN_CONFIG = PROJECT_DIR / "config" / "gunicorn.conf.py"

MODERATOR = "editor"
TOKEN = "bench-token-" + secrets.token_hex(12)
SECRET_KEY = secrets.token_urlsafe(48)
KEY_PREFIX = "bench"
HOT_ARTICLE = "hot-article"
POST_ARTICLE = "post-article"
HOT_ROOTS, HOT_REPLIES = 40, 10
OTHER_ARTICLES, OTHER_COMMENTS = 1000, 5
COUNTED_ARTICLES = 10
# --scale: comments per extra article, one in this many a reply, comments per add_many batch.
SCALE_PER_ARTICLE = 20
SCALE_REPLY_EVERY = 5
SCALE_BATCH = 1000
POOL_ARTICLES = 100
# Enough distinct pending ids that an approve run on this kind of machine rarely cycles.
APPROVALS_PER_SECOND = 1200

SETTLE_SECONDS = 1.0
# Required req/s as a share of the ceiling's at the same connections, per scenario.
# At TARGET_CONNECTIONS: req/s as a share of the ceiling's, and p99 at most this many times the
# ceiling's p99 in the same run.
RATIO_TARGETS = {"list": 0.60, "counts": 0.60, "post": 0.30, "approve": 0.30}
P99_TARGET_TIMES_CEILING = 2.0
TARGET_CONNECTIONS = 16

_BODY = (
    "I read this twice and still think the second half of the piece undersells the point "
    "about local budgets. The figures from last year told a different story, and the council's "
    "own report (see https://example.com/report-2024) says as much. Comment {n}."
)


@dataclass(frozen=True)
class Scenario:
    """One wrk load: a path, optional headers and Lua script, and the status it must answer."""

    name: str
    path: str
    expected_status: int = 200
    method: str = "GET"
    headers: tuple[str, ...] = ()
    script: Path | None = None
    script_args: tuple[str, ...] = ()
    smoke_body: bytes | None = None
    smoke_path: str | None = None


@dataclass
class Result:
    """What wrk measured for one scenario at one number of connections."""

    server: str
    scenario: str
    connections: int
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    spread: str = "?"
    cpu_ms: float = 0.0
    worker_threads: int = 1
    ratio: float | None = None
    note: str = ""

    @property
    def uneven(self) -> bool:
        """Tell whether a worker got under half the connections it needed to be kept busy.

        A worker is kept busy by as many connections as it has threads, or by its fair share
        when there are fewer: 15+1 at 16 connections is uneven, 12+4 is not.
        """
        counts = [int(part) for part in self.spread.split("+") if part.isdigit()]
        if len(counts) < 2:
            return False
        needed = min(self.worker_threads, self.connections // len(counts))
        return min(counts) < needed / 2


@dataclass(frozen=True)
class ApprovePool:
    """Files of distinct pending comment ids, one per connection count, and their Redis."""

    redis_url: str
    id_files: dict[int, Path]


@dataclass
class Seeded:
    """What the seeding wrote that the scenarios need."""

    counted_articles: list[str]
    approve_pools: dict[int, list[str]]
    smoke_pending_id: str
    seconds: float = 0.0
    published: int = 0
    pending: int = 0


# --- processes ----------------------------------------------------------------------------------
def log(message: str) -> None:
    """Print a progress line at once."""
    print(message, flush=True)


def flatten(options: Mapping[str, str]) -> list[str]:
    """Turn {"--option": "value"} into ["--option", "value"] for a command line."""
    return [item for pair in options.items() for item in pair]


@contextlib.contextmanager
def throwaway_redis(work_dir: Path) -> Iterator[str]:
    """Run a Redis-compatible server with no persistence on a free port; yield its URL."""
    port = free_port()
    options = {
        "--bind": "127.0.0.1",
        "--port": str(port),
        "--dir": str(work_dir),
        "--save": "",
        "--appendonly": "no",
        "--maxmemory-policy": "noeviction",
        "--logfile": str(work_dir / "redis.log"),
    }
    process = subprocess.Popen([redis_executable(), *flatten(options)])
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
        for _ in range(100):
            with contextlib.suppress(redis.RedisError):
                client.ping()
                break
            if process.poll() is not None:
                sys.exit(f"The Redis server exited; see {work_dir / 'redis.log'}.")
            time.sleep(0.1)
        else:
            sys.exit("The Redis server did not answer within 10 s.")
        client.close()
        yield url
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Ask a child process to stop, and kill it if it does not within 30 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass(frozen=True)
class Server:
    """A running server (gunicorn or granian): where it answers, and its main process id."""

    base_url: str
    port: int
    pid: int

    def workers(self) -> list[int]:
        """List the worker process ids (from Linux /proc); empty where that cannot be read."""
        try:
            return [
                int(pid)
                for pid in Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
            ]
        except OSError:
            return []

    def cpu_seconds(self) -> float:
        """Add up the user and system CPU time of the main process and its workers (Linux
        /proc); 0.0 where that cannot be read."""
        total = 0
        for pid in (self.pid, *self.workers()):
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / os.sysconf("SC_CLK_TCK")

    def connection_spread(self) -> str:
        """Count established client connections per worker, most first ("9+7"); "?" if unknown.

        gthread workers keep a keep-alive connection for good, so a run whose connections all
        landed on one worker measures one process: this makes such runs visible.
        """
        workers = self.workers()
        if not workers or shutil.which("ss") is None:
            return "?"
        listing = subprocess.run(
            ["ss", "-tnpH", "state", "established", f"( sport = :{self.port} )"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        counts = Counter(int(pid) for pid in re.findall(r"pid=(\d+)", listing))
        return "+".join(
            str(count) for count in sorted((counts[pid] for pid in workers), reverse=True)
        )


def server_command(
    kind: str, app: str, port: int, extra_args: list[str], env: Mapping[str, str]
) -> list[str]:
    """Give the command serving `app`: gunicorn with the project's settings, or granian with
    as many workers and GRANIAN_THREADS (2) blocking threads each."""
    if kind == "gunicorn":
        return [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONFIG), *extra_args, app]
    workers = gunicorn_settings(env)["workers"]
    return [
        *(sys.executable, "-m", "granian", "--interface", "wsgi"),
        *("--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)),
        *("--blocking-threads", os.environ.get("GRANIAN_THREADS", "2"), *extra_args, app),
    ]


@contextlib.contextmanager
def serving(
    app: str,
    cwd: Path,
    env: Mapping[str, str],
    log_file: Path,
    ready_path: str,
    extra_args: list[str] | None = None,
    kind: str = "gunicorn",
) -> Iterator[Server]:
    """Serve `app` under `kind` on a free port; yield it once it answers."""
    port = free_port()
    child_env = {**env, "HOST": "127.0.0.1", "PORT": str(port)}
    if kind == "granian":
        # What config/gunicorn.conf.py does for gunicorn: metrics shared by the workers.
        child_env.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="bench-metrics-"))
    command = server_command(kind, app, port, extra_args or [], child_env)
    with log_file.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=cwd, env=child_env, stdout=output, stderr=subprocess.STDOUT
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                sys.exit(f"{kind} serving {app} exited; see {log_file}.")
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(base_url + ready_path, timeout=1) as response:
                    if response.status == 200:
                        break
            if time.monotonic() > deadline:
                sys.exit(f"{kind} serving {app} did not answer within 30 s; see {log_file}.")
            time.sleep(0.2)
        yield Server(base_url, port, process.pid)
    finally:
        stop(process)


def gunicorn_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """Read the effective worker settings from config/gunicorn.conf.py under `env`."""
    saved = dict(os.environ)
    try:
        os.environ.update(env)
        values = runpy.run_path(str(GUNICORN_CONFIG))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return {name: values.get(name) for name in ("worker_class", "workers", "threads", "keepalive")}


# --- seeding --------------------------------------------------------------------------------------
def app_settings(redis_url: str) -> dict[str, Any]:
    """Settings for the in-process app that seeds: the same secret and prefix as the server."""
    return {
        "env": "production",
        "redis_url": redis_url,
        "key_prefix": KEY_PREFIX,
        "secret_key": SECRET_KEY,
        "moderator_tokens": f"{MODERATOR}:{TOKEN}",
        "log_level": "WARNING",
        # A load test posts from one address: the flood and rate-limit rules, and the cap on
        # one network's share of the queue, would refuse it.
        "flood_interval": 0,
        "rate_limits": "",
        "max_pending_per_network": 0,
        "durability": "none",
        # Production needs the host names it answers to; wrk calls it on loopback, always answered.
        "trusted_hosts": "comments.example.com",
    }


def server_env(redis_url: str) -> dict[str, str]:
    """The environment gunicorn runs the service with: production settings, our Redis."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("COMMENTS_") and name != "REDIS_URL"
    }
    env.update(
        COMMENTS_ENV="production",
        REDIS_URL=redis_url,
        COMMENTS_SECRET_KEY=SECRET_KEY,
        COMMENTS_MODERATOR_TOKENS=f"{MODERATOR}:{TOKEN}",
        COMMENTS_KEY_PREFIX=KEY_PREFIX,
        COMMENTS_CORS_ORIGINS="https://www.example-news.com",
        COMMENTS_FLOOD_INTERVAL="0",
        COMMENTS_RATE_LIMITS="",
        COMMENTS_MAX_PENDING_PER_NETWORK="0",
        # The servers here keep no append-only file: writes are answered from memory on both.
        COMMENTS_DURABILITY="none",
        COMMENTS_TRUSTED_HOSTS="comments.example.com",
    )
    return env


def submission(number: int, parent_id: str | None = None) -> Submission:
    """A plausible reader's reply, different for each number."""
    return Submission(
        name=f"Reader {number}",
        email=f"reader{number}@example.com",
        website="https://example.org/blog" if number % 7 == 0 else None,
        body=_BODY.format(n=number),
        parent_id=parent_id,
        ip=f"203.0.113.{number % 250 + 1}",
        user_agent="Mozilla/5.0 (X11; Linux x86_64) bench/1.0",
    )


def seed(
    redis_url: str,
    connection_levels: list[int],
    pool_per_level: int,
    other_articles: int = OTHER_ARTICLES,
) -> Seeded:
    """Write the data set through the service's own use cases."""
    started = time.monotonic()
    app = create_app(app_settings(redis_url))
    services: Services = app.extensions[EXTENSION]
    comments, moderation = services.comments, services.moderation
    number = 0

    def publish(article_id: str, parent_id: str | None = None) -> str:
        nonlocal number
        number += 1
        answer = comments.submit(article_id, submission(number, parent_id))
        comment_id: str = answer["comment"]["id"]
        moderation.decide(comment_id, Decision.APPROVE, MODERATOR, None)
        return comment_id

    roots = [publish(HOT_ARTICLE) for _ in range(HOT_ROOTS)]
    replies: list[str] = []
    for index in range(HOT_REPLIES):
        # Half answer a top-level comment, half answer an earlier reply (nested threads).
        parent = roots[index * 3] if index % 2 == 0 or not replies else replies[-1]
        replies.append(publish(HOT_ARTICLE, parent))
    articles = [f"article-{index:04d}" for index in range(other_articles)]
    for article_id in articles:
        for _ in range(OTHER_COMMENTS):
            publish(article_id)
    published = number

    def pending(article_id: str) -> str:
        nonlocal number
        number += 1
        comment_id: str = comments.submit(article_id, submission(number))["comment"]["id"]
        return comment_id

    pools = {
        level: [pending(f"pool-{index % POOL_ARTICLES:03d}") for index in range(pool_per_level)]
        for level in connection_levels
    }
    smoke_id = pending("pool-smoke")
    services.store.client.close()
    return Seeded(
        counted_articles=articles[:COUNTED_ARTICLES],
        approve_pools=pools,
        smoke_pending_id=smoke_id,
        seconds=time.monotonic() - started,
        published=published,
        pending=number - published,
    )


def seed_scale(redis_url: str, count: int) -> float:
    """Store `count` more comments over articles of their own, in batches through
    `Store.add_many` (one pipeline of atomic steps per batch, as the importers write); answer
    the seconds it took. Nine in ten are published, the rest rejected: none pending, so the
    queue's cap never refuses the scenarios' submissions."""
    started = time.monotonic()
    app = create_app(app_settings(redis_url))
    store = app.extensions[EXTENSION].store
    privacy = Privacy(SECRET_KEY)
    bodies = [_BODY.format(n=index) for index in range(100)]
    rendered = [render_body(body) for body in bodies]
    first_ms = int(time.time() * 1000) - count * 1000
    decided_at = rfc3339(datetime.now(UTC))
    batch: list[tuple[Comment, bytes, Locator]] = []
    root: Comment | None = None
    for number in range(count):
        article_id = f"scale-{number // SCALE_PER_ARTICLE:07d}"
        position = number % SCALE_PER_ARTICLE
        created_ms = first_ms + number * 1000
        comment_id = new_comment_id(created_ms, article_id)
        email = f"scale{number}@example.com"
        email_hash = privacy.email_hash(email)
        status = Status.REJECTED if position % 10 == 9 else Status.APPROVED
        parent = root if position % SCALE_REPLY_EVERY == SCALE_REPLY_EVERY - 1 else None
        parent_id = parent.comment_id if parent else None
        body = bodies[number % len(bodies)]
        comment = Comment(
            comment_id=comment_id,
            article_id=article_id,
            parent_id=parent_id,
            root_id=parent.comment_id if parent else comment_id,
            anchor_id=parent.comment_id if parent else None,
            depth=2 if parent else 1,
            name=f"Reader {number}",
            website=None,
            body=body,
            body_html=rendered[number % len(bodies)],
            created_at=rfc3339(datetime.fromtimestamp(created_ms / 1000, UTC)),
            created_ms=created_ms,
            avatar=privacy.avatar_seed(email),
            status=status,
            decided_by=MODERATOR,
            decided_at=decided_at,
            email_hash=email_hash,
            fingerprint=duplicate_fingerprint(article_id, parent_id, email_hash, body),
        )
        if position == 0:
            root = comment  # published: replies in this article hang under it
        locator = Locator.of(comment)
        sealed = privacy.encrypt(PrivateData(email, "198.51.100.7", "bench/1.0"))
        batch.append((comment, sealed, locator))
        if len(batch) == SCALE_BATCH or number == count - 1:
            outcomes = store.add_many(batch)
            refused = [outcome for outcome in outcomes if outcome.verdict != "created"]
            if refused:
                sys.exit(f"--scale: the store refused a comment: {refused[0]}")
            batch.clear()
            if (number + 1) % (SCALE_BATCH * 100) == 0:
                rate = (number + 1) / (time.monotonic() - started)
                log(f"  {number + 1:>10,} extra comments stored, {rate:,.0f}/s")
    store.client.close()
    return time.monotonic() - started


def stored_total(redis_url: str) -> int:
    """Count every stored comment, in every state."""
    client = connect(redis_url, Timeouts())
    keys = Keys(KEY_PREFIX)
    try:
        return sum(
            int(client.zcard(keys.queue(bucket, status)))
            for bucket in range(BUCKETS)
            for status in Status.indexed()
        )
    finally:
        client.close()


def approved_total(redis_url: str) -> int:
    """Count every approved comment, to tell how many approve requests changed something."""
    client = connect(redis_url, Timeouts())
    keys = Keys(KEY_PREFIX)
    try:
        return sum(int(client.zcard(keys.queue(b, Status.APPROVED))) for b in range(BUCKETS))
    finally:
        client.close()


def round_trips(redis_url: str) -> list[str]:
    """Count the round trips, per node, of the moderators' queue page and of the counts of 100
    articles, in process: each sendall of a connection is one round trip."""
    sent: Counter[tuple[str, int]] = Counter()
    original = redis.connection.AbstractConnection.send_packed_command

    def counted(self: Any, command: Any, check_health: bool = True) -> None:
        sent[(getattr(self, "host", "?"), getattr(self, "port", 0))] += 1
        original(self, command, check_health)

    app = create_app(app_settings(redis_url))
    services: Services = app.extensions[EXTENSION]
    articles = [f"article-{index:04d}" for index in range(100)]
    services.moderation.queue(Status.PENDING, None, 50, None)  # connections opened, scripts known
    services.comments.counts(articles)
    lines = []
    redis.connection.AbstractConnection.send_packed_command = counted  # type: ignore[method-assign]
    try:
        for label, action in (
            (
                "moderators' queue page (50, oldest first)",
                lambda: services.moderation.queue(Status.PENDING, None, 50, None),
            ),
            ("counts of 100 articles", lambda: services.comments.counts(articles)),
        ):
            sent.clear()
            action()
            per_node = ", ".join(f"{port}: {count}" for (_, port), count in sorted(sent.items()))
            lines.append(f"{label}: {sum(sent.values())} round trips ({per_node})")
    finally:
        redis.connection.AbstractConnection.send_packed_command = original  # type: ignore[method-assign]
        services.store.client.close()
    return lines


# --- wrk ----------------------------------------------------------------------------------------
_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_PERCENTILE = re.compile(r"^\s*(\d+)%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.MULTILINE)
_REQUESTS = re.compile(r"^\s*(\d+) requests in ", re.MULTILINE)
_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


def parse_wrk(output: str) -> dict[str, float]:
    """Read requests, req/s, p50, p99 and error counts from `wrk --latency` output."""
    percentiles = {
        int(match[1]): float(match[2]) * _UNITS_MS[match[3]]
        for match in _PERCENTILE.finditer(output)
    }
    requests, rps = _REQUESTS.search(output), _RPS.search(output)
    if requests is None or rps is None or 50 not in percentiles or 99 not in percentiles:
        raise ValueError(f"unexpected wrk output:\n{output}")
    non_2xx = _NON_2XX.search(output)
    socket_errors = _SOCKET_ERRORS.search(output)
    return {
        "requests": int(requests[1]),
        "rps": float(rps[1]),
        "p50_ms": percentiles[50],
        "p99_ms": percentiles[99],
        "non_2xx": int(non_2xx[1]) if non_2xx else 0,
        "socket_errors": sum(map(int, socket_errors.groups())) if socket_errors else 0,
    }


def wrk(
    server: Server, scenario: Scenario, connections: int, seconds: int, threads: int
) -> tuple[dict[str, float], str]:
    """Run wrk once; answer its parsed figures and how its connections spread over workers."""
    options = {
        "-t": str(min(threads, connections)),
        "-c": str(connections),
        "-d": f"{seconds}s",
        "--timeout": "5s",
    }
    command = ["wrk", "--latency", *flatten(options)]
    for header in scenario.headers:
        command += ["-H", header]
    if scenario.script is not None:
        command += ["-s", str(scenario.script)]
    command.append(server.base_url + scenario.path)
    if scenario.script_args:
        command += ["--", *scenario.script_args]
    cpu_before = server.cpu_seconds()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(min(1.0, seconds / 2))
    spread = server.connection_spread()
    stdout, stderr = process.communicate()
    cpu_used = server.cpu_seconds() - cpu_before
    if process.returncode != 0:
        sys.exit(f"wrk failed ({process.returncode}):\n{stdout}{stderr}")
    # Requests wrk left in flight are still being served: let them drain before the next run.
    time.sleep(SETTLE_SECONDS)
    figures = parse_wrk(stdout)
    figures["cpu_ms"] = cpu_used * 1000 / figures["requests"] if figures["requests"] else 0.0
    return figures, spread


def smoke(server: Server, scenario: Scenario) -> None:
    """Send one request as the scenario does and stop the run if the status is not the expected."""
    headers = dict(header.split(": ", 1) for header in scenario.headers)
    if scenario.smoke_body is not None:
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(
        server.base_url + (scenario.smoke_path or scenario.path),
        data=scenario.smoke_body,
        headers=headers,
        method=scenario.method,
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    if status != scenario.expected_status:
        sys.exit(
            f"{scenario.name}: expected {scenario.expected_status}, got {status}: {body[:500]!r}"
        )


# --- scenarios ----------------------------------------------------------------------------------
CEILING = Scenario("hello (ceiling)", "/")


def service_scenarios(seeded: Seeded) -> list[Scenario]:
    """The service's scenarios, in the order they run (reads before writes)."""
    counts_query = "&".join(f"article_id={article}" for article in seeded.counted_articles)
    bearer = f"Authorization: Bearer {TOKEN}"
    post_body = {"name": "Smoke Reader", "email": "smoke@example.com", "body": "Smoke test."}
    return [
        Scenario("list", f"/api/v1/articles/{HOT_ARTICLE}/comments"),
        Scenario("counts", f"/api/v1/counts?{counts_query}"),
        Scenario(
            "post",
            f"/api/v1/articles/{POST_ARTICLE}/comments",
            expected_status=202,
            method="POST",
            script=WRK_SCRIPTS / "post_comment.lua",
            smoke_body=json.dumps(post_body).encode(),
        ),
        Scenario(
            "approve",
            "/api/v1/moderation/comments",
            method="POST",
            headers=(bearer,),
            script=WRK_SCRIPTS / "approve.lua",
            # Its script arguments (a file of pending ids) are set per connection count.
            smoke_path=f"/api/v1/moderation/comments/{seeded.smoke_pending_id}/approve",
        ),
    ]


def measure(
    name: str,
    server: Server,
    scenario: Scenario,
    levels: list[int],
    arguments: argparse.Namespace,
    worker_threads: int,
    pool: ApprovePool | None = None,
) -> list[Result]:
    """Run one scenario at each connection count; with a pool, each gets its own pending ids."""
    smoke(server, scenario)
    if scenario.method == "GET" and arguments.warmup > 0:
        wrk(server, scenario, max(levels), arguments.warmup, arguments.threads)
    results = []
    for connections in levels:
        run = scenario
        before = 0
        if pool is not None:
            threads = str(min(arguments.threads, connections))
            run = replace(scenario, script_args=(str(pool.id_files[connections]), threads))
            before = approved_total(pool.redis_url)
        figures, spread = wrk(server, run, connections, arguments.duration, arguments.threads)
        result = Result(
            server=name,
            scenario=scenario.name,
            connections=connections,
            requests=int(figures["requests"]),
            rps=figures["rps"],
            p50_ms=figures["p50_ms"],
            p99_ms=figures["p99_ms"],
            cpu_ms=figures["cpu_ms"],
            non_2xx=int(figures["non_2xx"]),
            socket_errors=int(figures["socket_errors"]),
            spread=spread,
            worker_threads=worker_threads,
        )
        if pool is not None:
            changed = approved_total(pool.redis_url) - before
            result.note = (
                f"{changed} comments went pending->approved; wrk counted {result.requests} "
                f"requests (pool of {arguments.approve_pool})"
            )
        log(
            f"  {scenario.name:<16} c={connections:<3} {result.rps:>9.1f} req/s  "
            f"p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:6.2f} ms  "
            f"non-2xx {result.non_2xx}  socket errors {result.socket_errors}  "
            f"server cpu {result.cpu_ms:.3f} ms/req  "
            f"conns/worker {spread}" + (f"  ({result.note})" if result.note else "")
        )
        results.append(result)
    return results


# --- report -------------------------------------------------------------------------------------
def table(results: list[Result]) -> str:
    """Format the results as a fixed-width table."""
    header = (
        f"{'scenario':<16} {'conns':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'non-2xx':>8} {'sock err':>8} {'conns/worker':>12} {'vs ceiling':>10} "
        f"{'cpu ms/req':>10}"
    )
    lines = [header, "-" * len(header)]
    for result in results:
        ratio = f"{result.ratio:.0%}" if result.ratio is not None else "-"
        name = f"{result.scenario} (cluster)" if result.server == "cluster" else result.scenario
        lines.append(
            f"{name:<16} {result.connections:>5} {result.rps:>9.1f} "
            f"{result.p50_ms:>8.2f} {result.p99_ms:>8.2f} {result.non_2xx:>8} "
            f"{result.socket_errors:>8} {result.spread + ('!' if result.uneven else ''):>12} "
            f"{ratio:>10} {result.cpu_ms:>10.3f}"
        )
    return "\n".join(lines)


def targets(results: list[Result]) -> list[tuple[str, bool]]:
    """Check each target; a figure measured on error responses never passes."""
    uneven_ceiling = {r.connections for r in results if r.server == "ceiling" and r.uneven}
    ceiling_p99 = {r.connections: r.p99_ms for r in results if r.server == "ceiling"}
    checks = []
    for result in results:
        if result.server != "service" or result.connections != TARGET_CONNECTIONS:
            continue  # the targets are the one-server run's; the cluster's are shown beside it
        clean = result.non_2xx == 0 and result.socket_errors == 0
        suffix = "" if clean else " (errors in run)"
        if result.uneven:
            suffix += " (uneven workers)"
        if result.connections in uneven_ceiling:
            suffix += " (uneven workers in the ceiling run)"
        share = RATIO_TARGETS.get(result.scenario)
        if share is not None and result.ratio is not None:
            label = (
                f"{result.scenario} c={result.connections}: req/s >= {share:.0%} of ceiling "
                f"(is {result.ratio:.1%}){suffix}"
            )
            checks.append((label, clean and result.ratio >= share))
        if result.connections in ceiling_p99:
            limit = P99_TARGET_TIMES_CEILING * ceiling_p99[result.connections]
            label = (
                f"{result.scenario} c={result.connections}: p99 <= {P99_TARGET_TIMES_CEILING:g} x "
                f"the ceiling's = {limit:.2f} ms (is {result.p99_ms:.2f} ms){suffix}"
            )
            checks.append((label, clean and result.p99_ms <= limit))
    return checks


def load_service(
    name: str,
    env: dict[str, str],
    seeded: Seeded,
    pool: ApprovePool,
    levels: list[int],
    arguments: argparse.Namespace,
    threads: int,
    out_dir: Path,
    extra: list[str],
) -> list[Result]:
    """Serve the service under the chosen server on `env`'s Redis and run every scenario."""
    results: list[Result] = []
    with serving(
        "service.wsgi:app",
        PROJECT_DIR,
        env,
        out_dir / f"{arguments.server}-{name}.log",
        "/readyz",
        extra,
        arguments.server,
    ) as server:
        for scenario in service_scenarios(seeded):
            approve_pool = pool if scenario.name == "approve" else None
            results += measure(name, server, scenario, levels, arguments, threads, approve_pool)
    return results


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=8, help="seconds per wrk run (8)")
    parser.add_argument("--warmup", type=int, default=1, help="seconds of warm-up (1)")
    parser.add_argument(
        "--connections", default="1,16,64", help="comma-separated connection counts (1,16,64)"
    )
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (1)")
    parser.add_argument(
        "--approve-pool",
        type=int,
        default=None,
        help=f"pending comments seeded per approve run ({APPROVALS_PER_SECOND} x duration)",
    )
    parser.add_argument(
        "--topology",
        choices=("single", "cluster", "both"),
        default="both",
        help="the Redis the service runs on: one server, a 3-master cluster, or both (both)",
    )
    parser.add_argument(
        "--scale",
        type=int,
        default=0,
        help="extra comments stored before the scenarios, over articles of their own (0)",
    )
    parser.add_argument(
        "--server",
        choices=("gunicorn", "granian"),
        default="gunicorn",
        help="serve the ceiling and the service with gunicorn (config/gunicorn.conf.py, as "
        "deployed) or granian (as many workers, GRANIAN_THREADS threads each) (gunicorn)",
    )
    parser.add_argument(
        "--server-args",
        default="",
        help="extra server options for the ceiling and the service alike, to try a setting",
    )
    arguments = parser.parse_args(argv)
    if arguments.scale < 0:
        parser.error("--scale must be 0 or more")
    if arguments.approve_pool is None:
        arguments.approve_pool = APPROVALS_PER_SECOND * arguments.duration
    return arguments


def scale(redis_url: str, count: int) -> None:
    """Store `count` extra comments (with --scale) and say how many the store holds."""
    if count > 0:
        log(f"Storing {count:,} extra comments over articles of their own (--scale) ...")
        seconds = seed_scale(redis_url, count)
        log(f"  stored in {seconds:.0f} s ({count / seconds:,.0f}/s).")
    log(f"The store holds {stored_total(redis_url):,} comments.")


def main(argv: list[str] | None = None) -> int:
    """Seed, serve, load and report."""
    arguments = parse_arguments(argv)
    levels = [int(part) for part in arguments.connections.split(",") if part.strip()]
    extra = shlex.split(arguments.server_args)
    if shutil.which("wrk") is None:
        print("wrk is not installed. Install it with:  apt-get install -y wrk", file=sys.stderr)
        return 1

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out_dir = RESULTS_DIR / stamp
    out_dir.mkdir(parents=True, exist_ok=True)
    version = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    log(
        f"Machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{(version.stdout or version.stderr).splitlines()[0]}"
    )
    started = time.monotonic()
    results: list[Result] = []
    trips: list[str] = []
    with tempfile.TemporaryDirectory(prefix="news-comments-bench-") as temp:
        work_dir = Path(temp)
        with throwaway_redis(work_dir) as redis_url:
            env = server_env(redis_url)
            settings = gunicorn_settings(env)
            threads = int(settings["threads"] or 1)
            log(f"gunicorn settings: {settings}  (config/gunicorn.conf.py)")
            if arguments.server == "granian":
                log(
                    f"Serving with granian: {settings['workers']} workers, "
                    f"{os.environ.get('GRANIAN_THREADS', '2')} threads each"
                )
            if extra:
                log(f"  plus {' '.join(extra)}: NOT the project's settings")
            log(f"Redis on {redis_url}; seeding through the service's use cases ...")
            seeded = seed(redis_url, levels, arguments.approve_pool)
            log(
                f"Seeded {seeded.published} published comments "
                f"({HOT_ROOTS + HOT_REPLIES} on {HOT_ARTICLE}, {HOT_REPLIES} of them replies; "
                f"{OTHER_COMMENTS} on each of {OTHER_ARTICLES} articles) and "
                f"{seeded.pending} pending, in {seeded.seconds:.1f} s."
            )
            scale(redis_url, arguments.scale)
            pool = ApprovePool(redis_url, {})
            for level, ids in seeded.approve_pools.items():
                pool.id_files[level] = work_dir / f"approve-ids-{level}.txt"
                pool.id_files[level].write_text("\n".join(ids) + "\n")

            log("Ceiling: bench/ceiling_app.py")
            with serving(
                "ceiling_app:app",
                BENCH_DIR,
                env,
                out_dir / f"{arguments.server}-ceiling.log",
                "/",
                extra,
                arguments.server,
            ) as server:
                results += measure("ceiling", server, CEILING, levels, arguments, threads)

            if arguments.topology in ("single", "both"):
                log("Service: service.wsgi:app on one Redis server")
                results += load_service(
                    "service", env, seeded, pool, levels, arguments, threads, out_dir, extra
                )
        if arguments.topology in ("cluster", "both"):
            with Cluster(work_dir / "cluster", masters=3) as cluster:
                log(f"\nRedis Cluster of 3 masters at {cluster.url}; seeding ...")
                seeded = seed(cluster.url, levels, arguments.approve_pool)
                scale(cluster.url, arguments.scale)
                pool = ApprovePool(cluster.url, {})
                for level, ids in seeded.approve_pools.items():
                    pool.id_files[level] = work_dir / f"cluster-approve-ids-{level}.txt"
                    pool.id_files[level].write_text("\n".join(ids) + "\n")
                trips = round_trips(cluster.url)
                log("Service: service.wsgi:app on the cluster")
                results += load_service(
                    "cluster",
                    server_env(cluster.url),
                    seeded,
                    pool,
                    levels,
                    arguments,
                    threads,
                    out_dir,
                    extra,
                )

    ceiling = {result.connections: result.rps for result in results if result.server == "ceiling"}
    for result in results:
        if ceiling.get(result.connections):
            result.ratio = result.rps / ceiling[result.connections]

    log(
        f"\nResults (wrk -t {arguments.threads}, {arguments.duration:g} s per run"
        + (f", --scale {arguments.scale:,}" if arguments.scale else "")
        + "):\n"
    )
    log(table(results))
    if arguments.topology == "both":
        log("\nOne server against the 3-master cluster (req/s):")
        single = {(r.scenario, r.connections): r.rps for r in results if r.server == "service"}
        for result in results:
            if result.server == "cluster":
                alone = single.get((result.scenario, result.connections), 0.0)
                log(
                    f"  {result.scenario:<8} c={result.connections:<3} one server "
                    f"{alone:>8.1f}  cluster {result.rps:>8.1f}"
                    + (f"  ({result.rps / alone:.0%})" if alone else "")
                )
    if arguments.topology in ("cluster", "both"):
        log("\nRound trips on the cluster (at most one per node is the aim):")
        for line in trips:
            log(f"  {line}")
    notes = [f"{r.scenario} c={r.connections}: {r.note}" for r in results if r.note]
    if notes:
        log("\n" + "\n".join(notes))
    if any(result.uneven for result in results):
        log(
            "\n! uneven: a worker got under half the connections it needed to be kept busy "
            "(gthread keeps\n  each keep-alive connection on the worker that accepted it), "
            "so the run measured\n  less than all workers. Try --server-args=--reuse-port."
        )
    errors = [r for r in results if r.non_2xx or r.socket_errors]
    if errors:
        log(
            "\nWARNING: some runs had non-2xx responses or socket errors: "
            + ", ".join(f"{r.scenario} c={r.connections}" for r in errors)
        )
    log("\nTargets:")
    checks = targets(results)
    for label, passed in checks:
        log(f"  {'PASS' if passed else 'MISS'}  {label}")
    passed_count = sum(passed for _, passed in checks)
    elapsed = time.monotonic() - started
    log(f"\n{passed_count} of {len(checks)} targets met; total time {elapsed:.0f} s.")
    (out_dir / "results.json").write_text(
        json.dumps([asdict(result) for result in results], indent=2) + "\n"
    )
    log(f"Raw figures and server logs in {out_dir.relative_to(PROJECT_DIR)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
