"""The moderators' page (`/moderate`) in Chromium, against the service and Redis.

One gunicorn serves the module; its keys are removed before each test, so the queue holds only
what the test put there.
"""

from __future__ import annotations

import time

from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import MODERATOR_TOKEN, LiveService, PageWatch, sign_in

ARTICLE = "moderation-article"
TITLE = "Moderation — News comments"


def queue_item(page: Page, comment_id: str) -> Locator:
    """Find a comment of the queue by its id."""
    return page.locator(f'#queue .queue-item[data-comment-id="{comment_id}"]')


def queue_ids(page: Page) -> list[str]:
    """Give the ids of the queue's items, top to bottom."""
    ids: list[str] = page.locator("#queue .queue-item").evaluate_all(
        "items => items.map(item => item.dataset.commentId)"
    )
    return ids


def submit_several(service: LiveService, count: int) -> list[dict[str, object]]:
    """Submit replies one after another, a little apart, so their order is certain."""
    comments = []
    for number in range(count):
        comments.append(
            service.submit(
                ARTICLE,
                name=f"Reader {number}",
                email=f"reader{number}@example.com",
                body=f"Comment number {number}",
            )
        )
        time.sleep(0.01)
    return comments


def test_wrong_token_is_refused(service: LiveService, page: Page) -> None:
    """A token the service does not know shows an error and keeps the queue hidden."""
    service.submit(ARTICLE, body="Not for strangers' eyes")
    sign_in(page, service, token="not-the-right-token-0123")

    expect(page.locator("#live")).to_contain_text("not accepted")
    expect(page.locator("#token")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#sign-in")).to_be_visible()
    expect(page.locator("#queue")).to_be_hidden()
    expect(page.locator("#sign-out")).to_be_hidden()
    expect(page.get_by_text("Not for strangers' eyes")).to_have_count(0)


def test_queue_lists_pending_oldest_first_with_email_and_ip(
    service: LiveService, page: Page
) -> None:
    """Signed in, the moderator sees the pending comments oldest first, with email and IP."""
    comments = submit_several(service, 3)
    published = service.publish(ARTICLE, body="Already published")
    sign_in(page, service)

    expect(page).to_have_title(TITLE)
    expect(page.locator("#queue .queue-item")).to_have_count(3)
    assert queue_ids(page) == [str(comment["id"]) for comment in comments]
    for number, comment in enumerate(comments):
        item = queue_item(page, str(comment["id"]))
        expect(item).to_contain_text(f"Comment number {number}")
        expect(item).to_contain_text(f"reader{number}@example.com")
        expect(item).to_contain_text("127.0.0.1")
    expect(queue_item(page, published["id"])).to_have_count(0)
    expect(page.locator("#sign-out")).to_be_visible()


def test_reject_with_a_reason_records_it(service: LiveService, page: Page) -> None:
    """Rejecting with a reason takes the comment off the queue and stores the reason."""
    comment = service.submit(ARTICLE, body="Buy cheap watches")
    kept = service.submit(ARTICLE, body="A real comment")
    sign_in(page, service)

    item = queue_item(page, comment["id"])
    item.locator(".reason").fill("advertising")
    item.locator(".reject").click()

    expect(item).to_have_count(0)
    expect(queue_item(page, kept["id"])).to_be_visible()
    decided = service.moderation_item(comment["id"])
    assert (decided["status"], decided["reason"], decided["decided_by"]) == (
        "rejected",
        "advertising",
        "alice",
    )
    assert service.moderation_item(kept["id"])["status"] == "pending"


def test_shortcut_a_approves_the_current_comment(service: LiveService, page: Page) -> None:
    """`j` makes the first comment current and `a` approves it, and only it."""
    first, second = submit_several(service, 2)
    sign_in(page, service)
    expect(page.locator("#queue .queue-item")).to_have_count(2)

    page.keyboard.press("j")
    expect(queue_item(page, str(first["id"]))).to_have_attribute("aria-current", "true")
    page.keyboard.press("a")

    expect(queue_item(page, str(first["id"]))).to_have_count(0)
    assert service.moderation_item(str(first["id"]))["status"] == "approved"
    assert service.moderation_item(str(second["id"]))["status"] == "pending"
    assert service.published(ARTICLE)["count"] == 1


def test_bulk_approve_of_selected_comments(service: LiveService, page: Page) -> None:
    """Selecting two of three comments and approving them publishes exactly those two."""
    first, second, third = submit_several(service, 3)
    sign_in(page, service)
    expect(page.locator("#queue .queue-item")).to_have_count(3)

    queue_item(page, str(first["id"])).locator(".select").check()
    queue_item(page, str(third["id"])).locator(".select").check()
    page.locator("#bulk-approve").click()

    expect(page.locator("#queue .queue-item")).to_have_count(1)
    expect(queue_item(page, str(second["id"]))).to_be_visible()
    statuses = [service.moderation_item(str(c["id"]))["status"] for c in (first, second, third)]
    assert statuses == ["approved", "pending", "approved"]
    assert service.published(ARTICLE)["count"] == 2


def test_select_all_then_bulk_approve_empties_the_queue(service: LiveService, page: Page) -> None:
    """`Select all` picks every comment shown; approving them all empties the queue."""
    comments = submit_several(service, 3)
    sign_in(page, service)
    expect(page.locator("#queue .queue-item")).to_have_count(3)

    page.locator("#select-all").check()
    expect(page.locator("#queue .select:checked")).to_have_count(3)
    page.locator("#bulk-approve").click()

    expect(page.locator("#queue .queue-item")).to_have_count(0)
    assert service.queue() == []
    assert all(service.moderation_item(str(c["id"]))["status"] == "approved" for c in comments)


def test_page_refuses_framing_and_runs_under_its_csp(
    service: LiveService, page: Page, watch: PageWatch
) -> None:
    """The page forbids framing, allows only its own resources, and breaks none of its rules."""
    comment = service.submit(ARTICLE, body="Checking the headers")
    response = page.goto(service.url("/moderate"))
    assert response is not None and response.status == 200
    headers = response.headers
    policy = [part.strip() for part in headers["content-security-policy"].split(";")]
    assert "frame-ancestors 'none'" in policy
    assert "script-src 'self'" in policy
    assert not any("unsafe-inline" in part or "unsafe-eval" in part for part in policy)
    assert headers["x-frame-options"] == "DENY"

    sign_in(page, service, MODERATOR_TOKEN)
    expect(queue_item(page, comment["id"])).to_contain_text("Checking the headers")
    page.locator("#sign-out").click()
    expect(page.locator("#sign-in")).to_be_visible()
    expect(queue_item(page, comment["id"])).to_have_count(0)
    assert watch.csp_violations == []
    assert watch.page_errors == []


def test_a_held_comment_shows_why(service: LiveService, page: Page) -> None:
    """A comment the rules held for review shows the rule's reason to the moderator."""
    held = service.submit(
        ARTICLE, body="See https://one.example/a and https://two.example/b for more."
    )
    sign_in(page, service)
    item = queue_item(page, str(held["id"]))
    expect(item.locator(".rule-reasons")).to_contain_text("2 links")
