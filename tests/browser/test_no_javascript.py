"""The comment section without JavaScript: a plain HTML page whose form posts and redirects.

One gunicorn serves the module; its keys are removed before each test.
"""

from __future__ import annotations

from playwright.sync_api import Page, Response, expect

from tests.browser.conftest import AWAITING_MODERATION, LiveService, NewContext

NOTES = "Your email address will not be published. Required fields are marked *"


def plain_page(new_context: NewContext) -> Page:
    """Open a page in a context where JavaScript is off."""
    return new_context(java_script_enabled=False).new_page()


def fill_form(page: Page, body: str, name: str, email: str) -> None:
    """Fill the plain form by its labels."""
    page.get_by_label("Comment *", exact=True).fill(body)
    page.get_by_label("Name *", exact=True).fill(name)
    page.get_by_label("Email *", exact=True).fill(email)


def submit(page: Page) -> list[Response]:
    """Press the form's button; give the responses of the navigation, redirects first."""
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Post Comment").click()
    final = navigation.value
    assert final is not None
    chain = [final]
    request = final.request.redirected_from
    while request is not None:
        earlier = request.response()
        assert earlier is not None
        chain.insert(0, earlier)
        request = request.redirected_from
    return chain


def test_scripts_are_really_off(service: LiveService, new_context: NewContext) -> None:
    """The context of these tests runs no script: the widget's page shows its fallback link."""
    page = plain_page(new_context)
    page.goto(service.url("/"))
    link = page.get_by_role("link", name="Read the comments and leave a reply")
    expect(link).to_be_visible()
    expect(page.get_by_role("button", name="Post Comment")).to_have_count(0)
    link.click()
    expect(page).to_have_url(service.url("/articles/nato-dialogue/comments"))
    expect(page.get_by_role("heading", name="Be the first to comment")).to_be_visible()


def test_form_posts_and_comes_back_awaiting_moderation(
    service: LiveService, new_context: NewContext
) -> None:
    """The plain form posts; a 303 brings the reader back to the page with the notice."""
    article = "plain-article"
    page = plain_page(new_context)
    page.goto(service.url(f"/articles/{article}/comments"))
    expect(page.get_by_role("heading", name="Leave a Reply")).to_be_visible()
    expect(page.get_by_text(NOTES)).to_be_visible()

    fill_form(page, "Posted without scripts.", "Nora Noscript", "nora@example.com")
    page.get_by_label("Website", exact=True).fill("https://nora.example.org/")
    chain = submit(page)

    assert [response.status for response in chain] == [303, 200]
    assert chain[0].request.method == "POST"
    assert chain[0].url == service.url(f"/api/v1/articles/{article}/comments")
    assert page.url.split("?")[0] == service.url(f"/articles/{article}/comments")
    expect(page.get_by_text(AWAITING_MODERATION)).to_be_visible()
    (queued,) = service.queue(article_id=article)
    assert (queued["name"], queued["email"], queued["website"], queued["body"]) == (
        "Nora Noscript",
        "nora@example.com",
        "https://nora.example.org/",
        "Posted without scripts.",
    )
    assert service.published(article)["count"] == 0


def test_bad_email_shows_the_error_and_stores_nothing(
    service: LiveService, new_context: NewContext
) -> None:
    """A refused email comes back as a 422 page with the error and the typed values kept."""
    article = "plain-bad-email"
    _, answer = service.call(
        "POST",
        f"/api/v1/articles/{article}/comments",
        {"name": "Ann", "email": "not-an-email", "body": "Hello"},
    )
    (message,) = answer["errors"]["json"]["email"]
    page = plain_page(new_context)
    page.goto(service.url(f"/articles/{article}/comments"))

    fill_form(page, "Keep my words.", "Ed Error", "not-an-email")
    chain = submit(page)

    assert [response.status for response in chain] == [422]
    expect(page.get_by_text(message, exact=True)).to_be_visible()
    email = page.get_by_label("Email *", exact=True)
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_have_value("not-an-email")
    expect(page.get_by_label("Comment *", exact=True)).to_have_value("Keep my words.")
    expect(page.get_by_text(AWAITING_MODERATION)).to_have_count(0)
    assert service.keys() == []


def test_published_thread_reads_without_javascript(
    service: LiveService, new_context: NewContext
) -> None:
    """Approved comments show threaded, with markup in them as plain text."""
    article = "plain-thread"
    parent = service.publish(article, name="Pat Parent", body="<b>Not bold</b>")
    service.publish(article, name="Rae Reply", body="A reply", parent_id=parent["id"])
    page = plain_page(new_context)
    page.goto(service.url(f"/articles/{article}/comments"))

    expect(page.get_by_role("heading", name="2 Comments", exact=True)).to_be_visible()
    expect(page.get_by_text("<b>Not bold</b>", exact=True)).to_be_visible()
    expect(page.locator("b", has_text="Not bold")).to_have_count(0)
    parent_item = page.get_by_role("listitem").filter(has_text="Pat Parent")
    expect(parent_item).to_have_count(1)
    expect(parent_item).to_contain_text("Rae Reply")


def test_a_reply_link_replies_without_javascript(
    service: LiveService, new_context: NewContext
) -> None:
    """Each comment's Reply link opens the form as a reply to it; the reply waits, threaded."""
    article = "plain-reply"
    parent = service.publish(article, name="Pat Parent", body="Start here")
    page = plain_page(new_context)
    page.goto(service.url(f"/articles/{article}/comments"))

    page.get_by_role("link", name="Reply to Pat Parent").click()
    assert f"reply_to={parent['id']}" in page.url
    expect(page.get_by_text("Replying to Pat Parent.")).to_be_visible()
    fill_form(page, "A reply without scripts.", "Rae Reply", "rae@example.com")
    chain = submit(page)

    assert [response.status for response in chain] == [303, 200]
    expect(page.get_by_text(AWAITING_MODERATION)).to_be_visible()
    (queued,) = service.queue(article_id=article)
    assert (queued["parent_id"], queued["body"]) == (parent["id"], "A reply without scripts.")

    # Cancel reply goes back to a plain comment form.
    page.goto(service.url(f"/articles/{article}/comments?reply_to={parent['id']}"))
    page.get_by_role("link", name="Cancel reply").click()
    expect(page.get_by_text("Replying to Pat Parent.")).to_have_count(0)
