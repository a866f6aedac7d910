"""Readers report a comment in Chromium: in the widget (a confirm step, then the thanks), on the
page without JavaScript (a form), and moderators work the Reported view of /moderate.

One gunicorn serves the module; its keys are removed before each test.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import DEMO_ARTICLE_ID, LiveService, NewContext, sign_in

THANKS = "Thank you, a moderator will look at it."
QUESTION = "Report this comment to the moderators?"


def test_the_widget_reports_a_comment_after_a_confirm_step(
    service: LiveService, page: Page
) -> None:
    comment = service.publish(DEMO_ARTICLE_ID, name="Sam Spammer", body="Cheap watches here")
    page.goto(service.url("/"))
    item = page.get_by_role("listitem").filter(has_text="Cheap watches here").last
    report = item.get_by_role("button", name="Report", exact=True)
    expect(report).to_be_visible()

    # The first click only asks; Cancel closes the question and sends nothing.
    report.click()
    question = item.get_by_role("group", name=QUESTION)
    expect(question).to_be_visible()
    expect(report).to_have_attribute("aria-expanded", "true")
    item.get_by_role("button", name="Cancel").click()
    expect(question).to_have_count(0)
    expect(report).to_be_focused()
    assert service.moderation_item(comment["id"])["reports"] is None

    report.click()
    item.get_by_label("Abusive or hateful").check()
    item.get_by_label("Note for the moderators (optional)").fill("Insults another reader")
    item.get_by_role("button", name="Report comment").click()

    expect(item.get_by_text(THANKS, exact=True)).to_be_visible()
    expect(question).to_have_count(0)
    expect(report).to_be_hidden()
    reports = service.moderation_item(comment["id"])["reports"]
    assert (reports["count"], reports["reasons"]) == (1, {"abusive": 1})
    assert reports["entries"][0]["note"] == "Insults another reader"
    # One report: the comment stays published.
    assert service.published(DEMO_ARTICLE_ID)["count"] == 1


def test_the_page_without_javascript_reports_through_a_form(
    service: LiveService, new_context: NewContext
) -> None:
    article = "plain-report"
    comment = service.publish(article, name="Pat Poster", body="Off on a tangent")
    page = new_context(java_script_enabled=False).new_page()
    page.goto(service.url(f"/articles/{article}/comments"))

    page.get_by_role("link", name="Report the comment of Pat Poster").click()
    assert f"report={comment['id']}" in page.url
    form = page.get_by_role("group", name=QUESTION)
    expect(form).to_be_visible()
    form.get_by_label("Off topic").check()
    with page.expect_navigation() as navigation:
        form.get_by_role("button", name="Report comment").click()
    final = navigation.value
    assert final is not None and final.status == 200
    redirect = final.request.redirected_from
    assert redirect is not None and redirect.response() is not None
    assert redirect.response().status == 303  # type: ignore[union-attr]

    expect(page.get_by_text(THANKS, exact=True)).to_be_visible()
    expect(page.get_by_role("group", name=QUESTION)).to_have_count(0)
    reports = service.moderation_item(comment["id"])["reports"]
    assert (reports["count"], reports["reasons"]) == (1, {"off_topic": 1})

    # The same reader again: nothing changes, and the page thanks them all the same.
    page.goto(service.url(f"/articles/{article}/comments?report={comment['id']}"))
    with page.expect_navigation():
        page.get_by_role("button", name="Report comment").click()
    expect(page.get_by_text(THANKS, exact=True)).to_be_visible()
    assert service.moderation_item(comment["id"])["reports"]["count"] == 1

    # Cancel goes back to the comment, with no form open.
    page.goto(service.url(f"/articles/{article}/comments?report={comment['id']}"))
    page.get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("group", name=QUESTION)).to_have_count(0)


def test_moderators_see_reported_comments_and_dismiss_the_reports(
    service: LiveService, page: Page
) -> None:
    comment = service.publish("reported-article", name="Rae Reported", body="Is this spam?")
    service.publish("reported-article", name="Quiet Reader", body="Nobody reported me")
    status, answer = service.call(
        "POST",
        f"/api/v1/articles/reported-article/comments/{comment['id']}/reports",
        {"reason": "spam", "note": "Looks like an advert"},
    )
    assert status == 202, answer

    sign_in(page, service)
    page.get_by_label("Status").select_option("reported")
    expect(page.get_by_role("heading", name="Reported comments")).to_be_visible()
    items = page.locator("#queue-list > li")
    expect(items).to_have_count(1)
    item = items.first
    expect(item.get_by_role("heading", name="Rae Reported")).to_be_visible()
    expect(item.get_by_text("by 1 reader: spam 1")).to_be_visible()
    expect(item.get_by_text("spam: Looks like an advert")).to_be_visible()

    item.get_by_role("button", name="Dismiss reports").click()
    expect(items).to_have_count(0)
    expect(page.get_by_text("No reported comments.")).to_be_visible()
    assert service.moderation_item(comment["id"])["reports"] is None
    assert service.published("reported-article")["count"] == 2
