"""Fixtures of the browser tests: Debian's Chromium through Playwright, the service under gunicorn.

The service is the real one, run by gunicorn with the deployment's settings against the suite's
Redis, with a key prefix of its own and its own origin allowed for CORS. Each test gets a fresh
browser context; uncaught page errors, dialogs and Content-Security-Policy violations fail it.
"""

from __future__ import annotations

import json
import secrets
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Dialog,
    Error,
    Page,
    Playwright,
    expect,
    sync_playwright,
)
from port_for import get_port

from service.keys import Keys
from service.topology import Timeouts, connect
from tests.conftest import MODERATOR_TOKENS, start_gunicorn, stop_gunicorn, wait_until_answers

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DESKTOP = {"width": 1280, "height": 900}
MODERATOR_TOKEN = MODERATOR_TOKENS["alice"]
DEMO_ARTICLE_ID = "nato-dialogue"
AWAITING_MODERATION = "Your comment is awaiting moderation."
# Assertions and actions wait this long (ms) for the page before failing.
TIMEOUT_MS = 10_000
# Reports every Content-Security-Policy violation on the console, where the watch sees it.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`securitypolicyviolation: ${event.violatedDirective} blocked ${event.blockedURI}`);
});
"""


@dataclass
class LiveService:
    """The service running under gunicorn, with a client for its HTTP API and its Redis keys."""

    base: str
    key_prefix: str
    redis: redis.Redis
    log: Path

    def url(self, path: str) -> str:
        """Give the absolute URL of a path on the service."""
        return f"{self.base}{path}"

    def call(
        self, method: str, path: str, body: dict[str, Any] | None = None, *, moderator: bool = False
    ) -> tuple[int, Any]:
        """Call the JSON API; give the status and the decoded body (None when empty)."""
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if moderator:
            headers["Authorization"] = f"Bearer {MODERATOR_TOKEN}"
        request = urllib.request.Request(self.url(path), data, headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                status, raw = answer.status, answer.read()
        except urllib.error.HTTPError as error:
            with error:
                status, raw = error.code, error.read()
        return status, json.loads(raw) if raw else None

    def submit(self, article_id: str, **fields: Any) -> dict[str, Any]:
        """Submit a reply through the API; give its public view."""
        number = secrets.token_hex(3)
        reply = {"name": "Ann Reader", "email": f"ann-{number}@example.com", **fields}
        reply.setdefault("body", f"Comment {number}")
        status, answer = self.call("POST", f"/api/v1/articles/{article_id}/comments", reply)
        assert status == 202, answer
        comment: dict[str, Any] = answer["comment"]
        return comment

    def decide(self, comment_id: str, action: str, reason: str | None = None) -> dict[str, Any]:
        """Take a moderation decision through the API; give the updated item."""
        body = {"reason": reason} if reason is not None else None
        path = f"/api/v1/moderation/comments/{comment_id}/{action}"
        status, item = self.call("POST", path, body, moderator=True)
        assert status == 200, item
        decided: dict[str, Any] = item
        return decided

    def publish(self, article_id: str, **fields: Any) -> dict[str, Any]:
        """Submit and approve a reply; give its public view."""
        comment = self.submit(article_id, **fields)
        self.decide(comment["id"], "approve")
        return comment

    def moderation_item(self, comment_id: str) -> dict[str, Any]:
        """Read one comment with its private data, as moderators see it."""
        status, item = self.call("GET", f"/api/v1/moderation/comments/{comment_id}", moderator=True)
        assert status == 200, item
        found: dict[str, Any] = item
        return found

    def queue(self, status: str = "pending", article_id: str | None = None) -> list[dict[str, Any]]:
        """Read the first page of the moderation queue of one state."""
        query = {"status": status, **({"article_id": article_id} if article_id else {})}
        path = f"/api/v1/moderation/comments?{urllib.parse.urlencode(query)}"
        answer_status, answer = self.call("GET", path, moderator=True)
        assert answer_status == 200, answer
        items: list[dict[str, Any]] = answer["comments"]
        return items

    def published(self, article_id: str) -> dict[str, Any]:
        """Read an article's first page of published comments."""
        status, page = self.call("GET", f"/api/v1/articles/{article_id}/comments")
        assert status == 200, page
        found: dict[str, Any] = page
        return found

    def keys(self) -> list[str]:
        """Name every Redis key under the service's prefix that holds what readers sent (not
        the key check value the service seals the store with when it starts)."""
        seal = Keys(self.key_prefix).key_check()
        return [key for key in self._all_keys() if key != seal]

    def _all_keys(self) -> list[str]:
        return sorted(self.redis.scan_iter(match=f"{self.key_prefix}:*", count=1000))

    def wipe(self) -> None:
        """Delete every Redis key under the service's prefix."""
        for key in self._all_keys():
            self.redis.delete(key)

    def log_tail(self, lines: int = 40) -> str:
        """Give the end of gunicorn's log, for failure messages."""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@contextmanager
def running_service(redis_url: str, key_prefix: str, log_dir: Path) -> Iterator[LiveService]:
    """Run the service under gunicorn, as deployed, with its own origin allowed for CORS."""
    port = get_port(None)
    base = f"http://127.0.0.1:{port}"
    log = log_dir / f"gunicorn-{key_prefix}.log"
    server = start_gunicorn(redis_url, key_prefix, port, log, cors_origins=base)
    client: Any = connect(redis_url, Timeouts(), decode_responses=True)
    service = LiveService(base=base, key_prefix=key_prefix, redis=client, log=log)
    try:
        wait_until_answers(base, server, log)
        yield service
    finally:
        stop_gunicorn(server)
        service.wipe()
        client.close()


def fresh_prefix() -> str:
    """Give a key prefix nothing else uses."""
    return f"test-browser-{secrets.token_hex(4)}"


@pytest.fixture(scope="module")
def shared_service(
    redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveService]:
    """Run one gunicorn for a whole test module."""
    with running_service(redis_url, fresh_prefix(), tmp_path_factory.mktemp("gunicorn")) as live:
        yield live


@pytest.fixture
def service(shared_service: LiveService) -> LiveService:
    """Give the module's service with an empty store (its keys removed before the test)."""
    shared_service.wipe()
    return shared_service


@pytest.fixture
def fresh_service(redis_url: str, tmp_path: Path) -> Iterator[LiveService]:
    """Run a gunicorn of the test's own, with a fresh key prefix: every article starts empty."""
    with running_service(redis_url, fresh_prefix(), tmp_path) as live:
        yield live


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    """Start Playwright's driver once for the whole session."""
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Launch Debian's Chromium, headless, once for the whole session."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests drive Debian's Chromium. "
            "Install it with `apt-get install -y chromium` (never `playwright install`)."
        )
    launched = playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    yield launched
    launched.close()


@dataclass
class PageWatch:
    """What the pages of one test reported: uncaught errors, console errors, dialogs."""

    page_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def on_console(self, message: ConsoleMessage) -> None:
        """Keep console errors; tell Content-Security-Policy violations apart."""
        text = message.text
        if "Content Security Policy" in text or text.startswith("securitypolicyviolation:"):
            self.csp_violations.append(text)
        elif message.type == "error":
            self.console_errors.append(text)

    def on_page_error(self, error: Error) -> None:
        """Keep an uncaught exception of a page."""
        self.page_errors.append(f"{error.name}: {error.message}")

    def on_dialog(self, dialog: Dialog) -> None:
        """Keep and dismiss a dialog (alert, confirm, prompt): nothing here should open one."""
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def attach(self, page: Page) -> None:
        """Listen to a page."""
        page.on("console", self.on_console)
        page.on("pageerror", self.on_page_error)
        page.on("dialog", self.on_dialog)

    def problems(self) -> list[str]:
        """Name what should fail the test: uncaught errors, CSP violations, dialogs."""
        return (
            [f"uncaught page error: {text}" for text in self.page_errors]
            + [f"CSP violation: {text}" for text in self.csp_violations]
            + [f"dialog opened: {text}" for text in self.dialogs]
        )


@pytest.fixture
def watch() -> PageWatch:
    """Collect what the test's pages report; the run hook below fails the test on problems."""
    return PageWatch()


NewContext = Callable[..., BrowserContext]


@pytest.fixture
def new_context(browser: Browser, watch: PageWatch) -> Iterator[NewContext]:
    """Make browser contexts (desktop-sized unless told) whose pages are all watched."""
    contexts: list[BrowserContext] = []

    def make(**options: Any) -> BrowserContext:
        options.setdefault("viewport", DESKTOP)
        context = browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        context.add_init_script(REPORT_CSP_VIOLATIONS)
        context.on("page", watch.attach)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_context: NewContext) -> Page:
    """Give a fresh page in a fresh desktop-sized context."""
    return new_context().new_page()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Fail a browser test on uncaught page errors, CSP violations or dialogs."""
    funcargs: dict[str, Any] = getattr(item, "funcargs", {})
    watch = funcargs.get("watch")
    try:
        result = yield
    except BaseException as failure:
        if isinstance(watch, PageWatch) and (watch.problems() or watch.console_errors):
            failure.add_note("pages reported:\n" + "\n".join(watch.problems()))
            failure.add_note("console errors:\n" + "\n".join(watch.console_errors))
        raise
    if isinstance(watch, PageWatch) and watch.problems():
        pytest.fail(
            "the pages reported problems:\n"
            + "\n".join(watch.problems())
            + "\nconsole errors:\n"
            + "\n".join(watch.console_errors)
        )
    return result


def sign_in(page: Page, service: LiveService, token: str = MODERATOR_TOKEN) -> None:
    """Open the moderators' page and sign in with a token; wait for the queue when it works."""
    page.goto(service.url("/moderate"))
    page.locator("#token").fill(token)
    page.locator("#sign-in").get_by_role("button", name="Sign in").click()
    if token == MODERATOR_TOKEN:
        expect(page.locator("#queue")).to_be_visible()
        expect(page.locator("#queue")).to_have_attribute("aria-busy", "false")
