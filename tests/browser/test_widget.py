"""The comment widget on the demo article, in Chromium, against the service and Redis.

Every test runs its own gunicorn with a fresh key prefix, so the demo article `nato-dialogue`
starts empty each time.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import (
    AWAITING_MODERATION,
    DEMO_ARTICLE_ID,
    LiveService,
    NewContext,
    PageWatch,
    sign_in,
)

COUNT_HEADING = re.compile(r"^(Be the first to comment|\d+ Comments?)$")
REMEMBER = "Save my name, email, and website in this browser for the next time I comment."
NOTES = "Your email address will not be published. Required fields are marked *"
XSS_NAME = "<img src=x onerror=window.__xss=1>"
XSS_BODY = "<script>window.__xss=1</script><img src=x onerror=window.__xss=1>"
XSS_WEBSITE = 'https://example.com/"><script>window.__xss=1</script>'


def open_article(page: Page, service: LiveService) -> None:
    """Open the demo article and wait for the widget to show its count heading."""
    page.goto(service.url("/"))
    expect(page.get_by_role("heading", name=COUNT_HEADING)).to_be_visible()


def field(page: Page, label: str) -> Locator:
    """Find one of the form's fields by its exact label."""
    return page.get_by_label(label, exact=True)


def fill_form(page: Page, body: str, name: str, email: str, website: str = "") -> None:
    """Fill the reply form by its labels."""
    field(page, "Comment *").fill(body)
    field(page, "Name *").fill(name)
    field(page, "Email *").fill(email)
    field(page, "Website").fill(website)


def post(page: Page) -> None:
    """Press the form's button."""
    page.get_by_role("button", name="Post Comment").click()


def comment_item(page: Page, text: str) -> Locator:
    """Find the innermost list item of the comment list that shows this text."""
    return page.get_by_role("listitem").filter(has_text=text).last


def expect_field_error(page: Page, input_: Locator, message: str) -> None:
    """Check a field is marked invalid and its error is visible right beside it."""
    expect(input_).to_have_attribute("aria-invalid", "true")
    error = page.get_by_text(message, exact=True)
    expect(error).to_be_visible()
    described: str = input_.evaluate(
        """input => (input.getAttribute("aria-describedby") || "").split(/\\s+/)
             .map(id => document.getElementById(id)).filter(Boolean)
             .map(node => node.textContent).join(" ")"""
    )
    assert message in described, f"the field's description is {described!r}"
    field_box, error_box = input_.bounding_box(), error.bounding_box()
    assert field_box is not None and error_box is not None
    # Beside the field: overlapping its rows, or within a line's height above or below it.
    assert error_box["y"] < field_box["y"] + field_box["height"] + 48
    assert error_box["y"] + error_box["height"] > field_box["y"] - 48


def rejection_of(service: LiveService, **fields: Any) -> str:
    """Ask the API why it refuses a submission; give the first field message."""
    reply = {"name": "Ann", "email": "ann@example.com", "body": "Hello", **fields}
    status, answer = service.call("POST", f"/api/v1/articles/{DEMO_ARTICLE_ID}/comments", reply)
    assert status == 422, answer
    (messages,) = answer["errors"]["json"].values()
    message: str = messages[0]
    return message


def test_empty_article_invites_the_first_comment(fresh_service: LiveService, page: Page) -> None:
    """An article without comments invites one and shows the labelled reply form."""
    open_article(page, fresh_service)

    expect(page.get_by_role("heading", name="Be the first to comment")).to_be_visible()
    expect(page.get_by_role("heading", name="Leave a Reply")).to_be_visible()
    expect(page.get_by_text(NOTES)).to_be_visible()
    expect(field(page, "Comment *")).to_be_editable()
    expect(field(page, "Comment *")).to_have_js_property("tagName", "TEXTAREA")
    for label, kind in (("Name *", "text"), ("Email *", "email"), ("Website", "url")):
        expect(field(page, label)).to_be_editable()
        expect(field(page, label)).to_have_attribute("type", kind)
    remember = page.get_by_role("checkbox", name=REMEMBER, exact=True)
    expect(remember).to_be_visible()
    expect(remember).not_to_be_checked()
    expect(page.get_by_role("button", name="Post Comment", exact=True)).to_be_enabled()
    expect(page.get_by_role("listitem")).to_have_count(0)


def test_bad_email_is_shown_by_the_field_and_nothing_is_stored(
    fresh_service: LiveService, page: Page
) -> None:
    """An email the service refuses is explained next to its field; Redis stays empty."""
    message = rejection_of(fresh_service, email="not-an-email")
    open_article(page, fresh_service)

    fill_form(page, "A fine comment.", "Ann Reader", "not-an-email")
    post(page)

    expect_field_error(page, field(page, "Email *"), message)
    expect(field(page, "Name *")).not_to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text(AWAITING_MODERATION)).to_have_count(0)
    assert fresh_service.keys() == []


def test_good_reply_awaits_moderation(fresh_service: LiveService, page: Page) -> None:
    """A valid reply is accepted, shown as awaiting moderation and queued, not published."""
    open_article(page, fresh_service)
    body = f"Dialogue beats silence {secrets.token_hex(3)}."

    fill_form(page, body, "Ann Reader", "ann@example.com", "https://ann.example.org/")
    post(page)

    mine = comment_item(page, body)
    expect(mine.get_by_text(AWAITING_MODERATION)).to_be_visible()
    expect(field(page, "Comment *")).to_have_value("")
    (queued,) = fresh_service.queue(article_id=DEMO_ARTICLE_ID)
    assert (queued["body"], queued["email"], queued["status"]) == (
        body,
        "ann@example.com",
        "pending",
    )
    assert fresh_service.published(DEMO_ARTICLE_ID)["count"] == 0


def test_moderator_approves_on_the_moderation_page(fresh_service: LiveService, page: Page) -> None:
    """A reply approved on the moderators' page shows under the article after a reload."""
    open_article(page, fresh_service)
    body = f"Talks in Geneva are a start {secrets.token_hex(3)}."
    fill_form(page, body, "Ann Reader", "ann@example.com")
    post(page)
    expect(comment_item(page, body).get_by_text(AWAITING_MODERATION)).to_be_visible()
    (queued,) = fresh_service.queue(article_id=DEMO_ARTICLE_ID)

    moderation = page.context.new_page()
    sign_in(moderation, fresh_service)
    item = moderation.locator(f'.queue-item[data-comment-id="{queued["id"]}"]')
    expect(item).to_contain_text(body)
    item.locator(".approve").click()
    expect(item).to_have_count(0)
    assert fresh_service.moderation_item(queued["id"])["status"] == "approved"

    page.reload()
    expect(page.get_by_role("heading", name="1 Comment", exact=True)).to_be_visible()
    published = comment_item(page, body)
    expect(published).to_be_visible()
    expect(published.get_by_text("Ann Reader")).to_be_visible()
    expect(published.get_by_text(AWAITING_MODERATION)).to_have_count(0)


def test_reply_nests_under_its_parent(fresh_service: LiveService, page: Page) -> None:
    """A reply made with the comment's Reply button is threaded under it once approved."""
    parent_body = f"Parent comment {secrets.token_hex(3)}"
    fresh_service.publish(DEMO_ARTICLE_ID, name="Bea Parent", body=parent_body)
    open_article(page, fresh_service)
    expect(page.get_by_role("heading", name="1 Comment", exact=True)).to_be_visible()

    comment_item(page, parent_body).get_by_role("button", name="Reply", exact=True).click()
    reply_body = f"Child reply {secrets.token_hex(3)}"
    fill_form(page, reply_body, "Carl Child", "carl@example.com")
    post(page)
    expect(comment_item(page, reply_body).get_by_text(AWAITING_MODERATION)).to_be_visible()
    (queued,) = fresh_service.queue(article_id=DEMO_ARTICLE_ID)
    assert queued["body"] == reply_body
    fresh_service.decide(queued["id"], "approve")

    page.reload()
    expect(page.get_by_role("heading", name="2 Comments", exact=True)).to_be_visible()
    parent = page.get_by_role("listitem").filter(has_text=parent_body)
    child = comment_item(page, reply_body)
    expect(parent).to_have_count(1)
    expect(parent).to_contain_text(reply_body)
    expect(child).not_to_contain_text(parent_body)
    assert parent.evaluate("(parent, child) => parent.contains(child)", child.element_handle())
    assert queued["parent_id"] == fresh_service.published(DEMO_ARTICLE_ID)["comments"][0]["id"]


def test_markup_in_a_reply_stays_text(
    fresh_service: LiveService, page: Page, watch: PageWatch
) -> None:
    """Markup in name, website and text is shown literally and never runs."""
    open_article(page, fresh_service)
    fill_form(page, XSS_BODY, XSS_NAME, "mallory@example.com", "javascript:window.__xss=1")
    post(page)

    website = field(page, "Website")
    expect_field_error(page, website, rejection_of(fresh_service, website="javascript:x"))
    assert fresh_service.keys() == []

    website.fill(XSS_WEBSITE)
    post(page)
    expect(comment_item(page, XSS_NAME).get_by_text(AWAITING_MODERATION)).to_be_visible()
    assert page.evaluate("typeof window.__xss") == "undefined"
    (queued,) = fresh_service.queue(article_id=DEMO_ARTICLE_ID)
    assert queued["website"] == XSS_WEBSITE
    fresh_service.decide(queued["id"], "approve")

    page.reload()
    expect(page.get_by_role("heading", name="1 Comment", exact=True)).to_be_visible()
    item = comment_item(page, XSS_NAME)
    expect(item.get_by_text(XSS_NAME, exact=True)).to_be_visible()
    expect(item.get_by_text(XSS_BODY, exact=True)).to_be_visible()
    expect(item.locator("script, img, iframe, object, embed, [onerror]")).to_have_count(0)
    author = item.get_by_role("link", name=XSS_NAME, exact=True)
    expect(author).to_have_attribute("href", page.evaluate("url => new URL(url).href", XSS_WEBSITE))
    page.wait_for_load_state("load")
    assert page.evaluate("typeof window.__xss") == "undefined"
    scripts = page.evaluate("Array.from(document.scripts, script => script.src)")
    assert scripts == [fresh_service.url("/embed.js")]
    assert (watch.dialogs, watch.page_errors, watch.csp_violations) == ([], [], [])


def press_tab_until(page: Page, target: Locator, limit: int = 40) -> None:
    """Press Tab until the target has the focus; fail if it never gets it."""
    for _ in range(limit):
        if target.evaluate("node => node === document.activeElement"):
            return
        page.keyboard.press("Tab")
    expect(target).to_be_focused(timeout=1000)


def test_reader_posts_with_the_keyboard_alone(fresh_service: LiveService, page: Page) -> None:
    """Tab to each field, type, Tab to the button and press Enter: the reply is accepted."""
    open_article(page, fresh_service)
    body = f"Typed without a mouse {secrets.token_hex(3)}."

    press_tab_until(page, field(page, "Comment *"))
    page.keyboard.type(body)
    press_tab_until(page, field(page, "Name *"), limit=1)
    page.keyboard.type("Kim Keys")
    press_tab_until(page, field(page, "Email *"), limit=1)
    page.keyboard.type("kim@example.com")
    press_tab_until(page, page.get_by_role("button", name="Post Comment"), limit=5)
    page.keyboard.press("Enter")

    expect(comment_item(page, body).get_by_text(AWAITING_MODERATION)).to_be_visible()
    (queued,) = fresh_service.queue(article_id=DEMO_ARTICLE_ID)
    assert (queued["name"], queued["email"], queued["body"]) == (
        "Kim Keys",
        "kim@example.com",
        body,
    )


def test_narrow_phone_screen_has_no_horizontal_scroll(
    fresh_service: LiveService, new_context: NewContext
) -> None:
    """At 375 px wide, long URLs, long words and nested replies all fit the screen."""
    long_word = "Pneumonoultramicroscopicsilicovolcanoconiosis" * 3
    long_url = "https://example.com/" + "very-long-path-segment-" * 8 + "end"
    first = fresh_service.publish(
        DEMO_ARTICLE_ID, name="Lena Longurl", body=f"See {long_url} for the text."
    )
    fresh_service.publish(DEMO_ARTICLE_ID, name="W" * 60, body=long_word, website=long_url[:200])
    reply = fresh_service.publish(DEMO_ARTICLE_ID, body=long_word, parent_id=first["id"])
    fresh_service.publish(DEMO_ARTICLE_ID, body="Short and sweet.", parent_id=reply["id"])

    page = new_context(viewport={"width": 375, "height": 812}).new_page()
    open_article(page, fresh_service)
    expect(page.get_by_role("heading", name="4 Comments", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name=long_url)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375

    # The form moves under the deepest comment when replying to it: it must still fit.
    comment_item(page, "Short and sweet.").get_by_role("button", name="Reply").click()
    expect(field(page, "Comment *")).to_be_focused()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def test_long_threads_page_with_older_and_newer(fresh_service: LiveService, page: Page) -> None:
    """More than one page of threads: "Newer comments" and "Older comments" move between them."""
    for number in range(52):
        fresh_service.publish(DEMO_ARTICLE_ID, body=f"Thread number {number:02d}.")
    open_article(page, fresh_service)
    expect(page.get_by_role("heading", name="52 Comments", exact=True)).to_be_visible()
    expect(page.get_by_text("Thread number 00.")).to_be_visible()
    expect(page.get_by_text("Thread number 51.")).to_have_count(0)
    expect(page.get_by_role("button", name="Older comments")).to_be_hidden()

    page.get_by_role("button", name="Newer comments").click()
    expect(page.get_by_text("Thread number 51.")).to_be_visible()
    expect(page.get_by_text("Thread number 00.")).to_have_count(0)
    expect(page.get_by_role("button", name="Newer comments")).to_be_hidden()

    page.get_by_role("button", name="Older comments").click()
    expect(page.get_by_text("Thread number 00.")).to_be_visible()


def test_details_are_remembered_only_when_asked(fresh_service: LiveService, page: Page) -> None:
    """The name, email and website stay in this browser only while the box is ticked."""
    open_article(page, fresh_service)
    fill_form(page, "Remember me.", "Ann Reader", "ann@example.com", "https://ann.example.org/")
    page.get_by_label(REMEMBER).check()
    post(page)
    expect(comment_item(page, "Remember me.").get_by_text(AWAITING_MODERATION)).to_be_visible()

    page.reload()
    expect(field(page, "Name *")).to_have_value("Ann Reader")
    expect(field(page, "Email *")).to_have_value("ann@example.com")
    expect(field(page, "Website")).to_have_value("https://ann.example.org/")
    expect(page.get_by_label(REMEMBER)).to_be_checked()

    field(page, "Comment *").fill("Forget me.")
    page.get_by_label(REMEMBER).uncheck()
    post(page)
    expect(comment_item(page, "Forget me.").get_by_text(AWAITING_MODERATION)).to_be_visible()
    stored = page.evaluate("() => JSON.stringify(window.localStorage)")
    assert "ann@example.com" not in stored
    page.reload()
    expect(field(page, "Email *")).to_have_value("")
    assert page.context.cookies() == []


def test_a_bot_filling_the_hidden_field_is_filed_as_spam(
    fresh_service: LiveService, page: Page
) -> None:
    """The hidden field stays out of readers' way; a bot that fills it sees the usual notice."""
    open_article(page, fresh_service)
    trap = page.locator("input[name=subject]")
    expect(trap).to_have_attribute("tabindex", "-1")
    assert trap.evaluate("input => input.closest('[aria-hidden=true]') !== null")
    fill_form(page, "Cheap watches here.", "Bot", "bot@example.com")
    trap.fill("Buy now")
    post(page)
    expect(
        comment_item(page, "Cheap watches here.").get_by_text(AWAITING_MODERATION)
    ).to_be_visible()
    assert fresh_service.queue(article_id=DEMO_ARTICLE_ID) == []
    (spam,) = fresh_service.queue(status="spam", article_id=DEMO_ARTICLE_ID)
    assert spam["body"] == "Cheap watches here."
    assert any("honeypot" in reason for reason in spam["reasons"])


def test_field_errors_are_summarised_focused_and_cleared_once_fixed(
    fresh_service: LiveService, page: Page
) -> None:
    """Field errors are listed in an alert, the first invalid field gets the focus, and each
    error goes as soon as the reader changes its field."""
    name_message = rejection_of(fresh_service, name="")
    email_message = rejection_of(fresh_service, email="not-an-email")
    open_article(page, fresh_service)

    fill_form(page, "A fine comment.", "", "not-an-email")
    post(page)

    summary = page.get_by_role("alert").filter(has_text="Please correct the errors in the form.")
    expect(summary).to_be_visible()
    expect(summary.get_by_role("listitem")).to_have_text(
        [f"Name: {name_message}", f"Email: {email_message}"]
    )
    expect(field(page, "Name *")).to_be_focused()
    expect_field_error(page, field(page, "Email *"), email_message)

    field(page, "Name *").fill("Ann Reader")
    expect(field(page, "Name *")).not_to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text(name_message, exact=True)).to_have_count(0)
    expect(summary.get_by_role("listitem")).to_have_text([f"Email: {email_message}"])
    expect(field(page, "Email *")).to_have_attribute("aria-invalid", "true")

    summary.get_by_role("link", name=f"Email: {email_message}").click()
    expect(field(page, "Email *")).to_be_focused()
    field(page, "Email *").fill("ann@example.com")
    expect(page.get_by_text(email_message, exact=True)).to_have_count(0)
    expect(page.locator(".nc-error-summary")).to_be_hidden()
    assert fresh_service.keys() == []

    post(page)
    # In the list (the live region says it too, for screen readers).
    expect(comment_item(page, "A fine comment.").get_by_text(AWAITING_MODERATION)).to_be_visible()
    (queued,) = fresh_service.queue(article_id=DEMO_ARTICLE_ID)
    assert (queued["name"], queued["email"]) == ("Ann Reader", "ann@example.com")


def test_own_pending_comment_is_not_under_be_the_first(
    fresh_service: LiveService, page: Page
) -> None:
    """Once the reader's own comment awaits moderation, the heading no longer asks for a first."""
    open_article(page, fresh_service)
    expect(page.get_by_role("heading", name="Be the first to comment")).to_be_visible()
    body = f"My first words {secrets.token_hex(3)}."
    fill_form(page, body, "Ann Reader", "ann@example.com")
    post(page)

    expect(comment_item(page, body).get_by_text(AWAITING_MODERATION)).to_be_visible()
    expect(page.get_by_role("heading", name="Comments", exact=True)).to_be_visible()
    expect(page.get_by_text("Be the first to comment")).to_have_count(0)
    assert fresh_service.published(DEMO_ARTICLE_ID)["count"] == 0
    assert len(fresh_service.queue(article_id=DEMO_ARTICLE_ID)) == 1


def test_the_demo_serves_its_favicon(fresh_service: LiveService, page: Page) -> None:
    """A browser's request for /favicon.ico (headless Chromium makes none) finds an icon."""
    open_article(page, fresh_service)
    icon = page.request.get(fresh_service.url("/favicon.ico"))
    assert icon.status == 200
    assert icon.headers["content-type"] == "image/x-icon"
    assert icon.body()[:4] == b"\x00\x00\x01\x00"
