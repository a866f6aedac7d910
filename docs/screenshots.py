"""Take the README's screenshots: the demo article with comments, and the moderators' page.

`make screenshots` runs this. It starts the service under gunicorn against a throwaway embedded
Redis (or the Redis at REDIS_URL, under a key prefix of its own, removed afterwards), seeds a few
comments through the HTTP API and drives Debian's Chromium (/usr/bin/chromium) with Playwright
to save docs/demo-article.png and docs/moderation.png.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import redis
from playwright.sync_api import Browser, expect, sync_playwright

from service.cli import GUNICORN_CONFIG, free_port, start_embedded_redis

DOCS = Path(__file__).resolve().parent
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
ARTICLE_ID = "nato-dialogue"
TOKEN = secrets.token_urlsafe(24)


class Service:
    """The running service and a small client for its JSON API."""

    def __init__(self, base: str) -> None:
        self.base = base

    def call(self, path: str, body: dict[str, Any] | None = None, moderator: bool = False) -> Any:
        """POST (with a body) or GET a JSON API path; give the decoded answer."""
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if moderator:
            headers["Authorization"] = f"Bearer {TOKEN}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.base}{path}", data, headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return json.loads(answer.read())
        except urllib.error.HTTPError as error:
            with error:
                sys.exit(f"{path}: {error.code} {error.read().decode(errors='replace')}")

    def submit(self, article_id: str, **fields: str) -> str:
        """Submit a reply; give its id."""
        answer = self.call(f"/api/v1/articles/{article_id}/comments", fields)
        comment_id: str = answer["comment"]["id"]
        time.sleep(0.02)  # distinct times, so the order shown is the order written here
        return comment_id

    def approve(self, comment_id: str) -> None:
        """Publish a reply."""
        self.call(f"/api/v1/moderation/comments/{comment_id}/approve", {}, moderator=True)


@contextmanager
def redis_url(workdir: Path) -> Iterator[str]:
    """Give the Redis to use: REDIS_URL when set, else an embedded one for this run only."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    process, url = start_embedded_redis(workdir / "redis")
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def running_service(url: str, key_prefix: str, workdir: Path) -> Iterator[Service]:
    """Run the service under gunicorn, as deployed; remove its keys afterwards."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "REDIS_URL": url,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "COMMENTS_KEY_PREFIX": key_prefix,
        "COMMENTS_SECRET_KEY": secrets.token_urlsafe(48),
        "COMMENTS_MODERATOR_TOKENS": f"editor:{TOKEN}",
        "COMMENTS_LOG_LEVEL": "WARNING",
        "COMMENTS_FLOOD_INTERVAL": "0",
        "COMMENTS_RATE_LIMITS": "",
    }
    log = workdir / "gunicorn.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONFIG), "service.wsgi:app"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        for _ in range(400):
            if server.poll() is not None:
                sys.exit(f"gunicorn exited early:\n{log.read_text()}")
            try:
                with urllib.request.urlopen(f"{base}/readyz", timeout=1):
                    break
            except (urllib.error.URLError, OSError):
                time.sleep(0.05)
        else:
            sys.exit(f"gunicorn did not answer:\n{log.read_text()}")
        yield Service(base)
    finally:
        server.terminate()
        server.wait(timeout=30)
        client = redis.Redis.from_url(url)
        for key in client.scan_iter(match=f"{key_prefix}:*", count=1000):
            client.delete(key)
        client.close()


def seed(service: Service) -> None:
    """Three published comments, one of them answered, and three waiting for a moderator."""
    published = [
        (
            "Margaret Ellis",
            "margaret@example.com",
            "",
            "A meeting in Geneva is better than no meeting at all. Whether anything comes of it "
            "depends on what both sides are willing to put on the table.",
        ),
        (
            "Tomasz Nowak",
            "tomasz@example.org",
            "https://tomasz.example.org/",
            "The article leaves out the OSCE talks planned for the same week; see "
            "https://www.osce.org/ for their schedule.",
        ),
        (
            "Priya Raman",
            "priya@example.net",
            "",
            "Dialogue is welcome, but the statement says very little about what NATO would "
            "actually offer.",
        ),
    ]
    ids = []
    for name, email, website, body in published:
        fields = {"name": name, "email": email, "body": body}
        if website:
            fields["website"] = website
        ids.append(service.submit(ARTICLE_ID, **fields))
        service.approve(ids[-1])
    # A reply is accepted once its parent is published.
    answer = service.submit(
        ARTICLE_ID,
        name="Daniel Okafor",
        email="daniel@example.com",
        body="Agreed. Expectations should stay low, but talking is how these things start.",
        parent_id=ids[0],
    )
    service.approve(answer)

    service.submit(
        ARTICLE_ID,
        name="Jean Martin",
        email="jean.martin@example.fr",
        body="Does anyone know whether the Geneva talks will be broadcast?",
    )
    service.submit(
        "eu-energy-prices",
        name="Chris Doe",
        email="chris@example.com",
        website="https://chris.example.com/",
        body="Prices were already falling before the announcement.",
    )
    service.submit(
        ARTICLE_ID,
        name="Best Deals 24",
        email="deals@example.biz",
        website="https://deals.example.biz/",
        body="Cheap watches here!!! Visit our shop for the best prices.",
    )


def shoot(browser: Browser, service: Service) -> None:
    """Save the two screenshots."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{service.base}/")
    expect(page.get_by_role("heading", name="4 Comments", exact=True)).to_be_visible()
    page.screenshot(path=DOCS / "demo-article.png", full_page=True)

    page.goto(f"{service.base}/moderate")
    page.locator("#token").fill(TOKEN)
    page.locator("#sign-in").get_by_role("button", name="Sign in").click()
    expect(page.locator("#queue .queue-item")).to_have_count(3)
    page.locator("#token").evaluate("node => node.blur()")
    page.screenshot(path=DOCS / "moderation.png", full_page=True)
    context.close()


def main() -> int:
    """Run the service, seed it, take the screenshots."""
    if not CHROMIUM.exists():
        sys.exit(f"{CHROMIUM} is missing: apt-get install -y chromium (never `playwright install`)")
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        url = stack.enter_context(redis_url(workdir))
        key_prefix = f"screenshots-{secrets.token_hex(4)}"
        service = stack.enter_context(running_service(url, key_prefix, workdir))
        seed(service)
        playwright = stack.enter_context(sync_playwright())
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        stack.callback(browser.close)
        shoot(browser, service)
    for name in ("demo-article.png", "moderation.png"):
        print(f"saved {DOCS / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
