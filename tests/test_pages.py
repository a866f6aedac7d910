"""The web pages: demo article, widget files, moderators' page, the no-JavaScript section."""

from __future__ import annotations

import re

import redis
from flask.testing import FlaskClient

from tests.helpers import keyspace_mentions, publish

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def test_demo_article_embeds_the_widget(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Washington Pledges NATO’s Readiness for Meaningful Dialogue With Russia" in page
    assert "Geneva will host the Russia-NATO Council" in page
    assert 'data-article-id="nato-dialogue"' in page
    assert '<script src="/embed.js" defer></script>' in page
    # The seed page's own comment section is drawn by the widget, not copied as text.
    assert "Be the first to comment" not in page
    assert "frame-ancestors 'self'" in response.headers["Content-Security-Policy"]


def test_widget_files_are_served(client: FlaskClient) -> None:
    with client.get("/embed.js") as script:
        assert script.status_code == 200
        assert script.mimetype in ("text/javascript", "application/javascript")
        assert "max-age=300" in script.headers["Cache-Control"]
        assert "body_html" in script.get_data(as_text=True)
    with client.get("/embed.css") as styles:
        assert styles.status_code == 200 and styles.mimetype == "text/css"


def test_moderators_page_is_locked_down(client: FlaskClient) -> None:
    response = client.get("/moderate")
    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"


def test_section_without_javascript(client: FlaskClient, moderator: dict[str, str]) -> None:
    empty = client.get("/articles/quiet/comments")
    assert empty.status_code == 200
    text = empty.get_data(as_text=True)
    assert "Be the first to comment" in text and "Leave a Reply" in text
    assert "Your email address will not be published. Required fields are marked *" in text

    publish(client, moderator, "quiet", name="<b>Bold</b> Reader", body="Hello <script>x</script>")
    shown = client.get("/articles/quiet/comments").get_data(as_text=True)
    assert "1 Comment" in shown
    assert "&lt;b&gt;Bold&lt;/b&gt; Reader" in shown
    assert "<script>x" not in shown and "&lt;script&gt;x&lt;/script&gt;" in shown


def test_html_form_post_redirects_back_with_the_notice(client: FlaskClient) -> None:
    response = client.post(
        "/api/v1/articles/quiet/comments",
        data={"name": "No Script", "email": "noscript@example.com", "body": "Plain form"},
        headers=HTML,
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/articles/quiet/comments?posted=1#respond"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your comment is awaiting moderation." in page
    assert "noscript@example.com" not in page


def test_html_form_errors_are_shown_in_the_page(
    client: FlaskClient, redis_client: redis.Redis
) -> None:
    response = client.post(
        "/api/v1/articles/quiet/comments",
        data={"name": "No Script", "email": "not-an-email", "body": "Kept text", "website": ""},
        headers=HTML,
    )
    assert response.status_code == 422
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert 'id="error-email"' in page and 'aria-invalid="true"' in page
    assert "Kept text" in page  # what the reader wrote is not lost
    assert keyspace_mentions(redis_client, "Kept text") == []


def test_json_clients_still_get_json_errors(client: FlaskClient) -> None:
    response = client.post(
        "/api/v1/articles/quiet/comments",
        data={"name": "Form", "email": "not-an-email", "body": "x"},
    )
    assert response.status_code == 422
    assert list(response.get_json()["errors"]["form"]) == ["email"]


def test_moderators_sign_in_never_puts_the_token_in_a_url(client: FlaskClient) -> None:
    page = client.get("/moderate").get_data(as_text=True)
    [sign_in] = re.findall(r'<form id="sign-in"[^>]*>', page)
    assert 'method="post"' in sign_in
    [token_input] = re.findall(r'<input id="token"[^>]*>', page)
    assert "name=" not in token_input
    # Enter before the script ran: the form posts (nothing named), and goes back to the page.
    posted = client.post("/moderate", data={})
    assert posted.status_code == 303
    assert posted.headers["Location"] == "/moderate"
    assert posted.headers["Cache-Control"] == "no-store"


def test_the_page_without_javascript_replies_to_a_comment(
    client: FlaskClient, moderator: dict[str, str], redis_client: redis.Redis, key_prefix: str
) -> None:
    parent = publish(client, moderator, "article-1", name="Pat Parent")
    page = client.get("/articles/article-1/comments").get_data(as_text=True)
    assert f'href="?page=1&amp;reply_to={parent["id"]}#respond"' in page
    assert 'name="parent_id"' not in page

    replying = client.get(f"/articles/article-1/comments?reply_to={parent['id']}")
    form = replying.get_data(as_text=True)
    assert f'<input type="hidden" name="parent_id" value="{parent["id"]}">' in form
    assert "Replying to Pat Parent." in form
    # An unknown comment opens the plain form.
    unknown = client.get("/articles/article-1/comments?reply_to=nope").get_data(as_text=True)
    assert 'name="parent_id"' not in unknown

    posted = client.post(
        "/api/v1/articles/article-1/comments",
        data={
            "name": "Rae",
            "email": "rae@example.com",
            "body": "A reply",
            "parent_id": parent["id"],
        },
        headers={"Accept": "text/html"},
    )
    assert posted.status_code == 303
    [queued] = client.get(
        "/api/v1/moderation/comments", headers=moderator, query_string={"status": "pending"}
    ).get_json()["comments"]
    assert queued["parent_id"] == parent["id"] and queued["body"] == "A reply"

    # A reply the service refuses comes back still a reply, with the error.
    refused = client.post(
        "/api/v1/articles/article-1/comments",
        data={"name": "Rae", "email": "bad", "body": "Again", "parent_id": parent["id"]},
        headers={"Accept": "text/html"},
    )
    assert refused.status_code == 422
    assert f'name="parent_id" value="{parent["id"]}"' in refused.get_data(as_text=True)


def test_the_demo_has_a_favicon(client: FlaskClient) -> None:
    with client.get("/favicon.ico") as icon:
        assert icon.status_code == 200
        assert icon.mimetype == "image/x-icon"
        assert icon.get_data()[:4] == b"\x00\x00\x01\x00"
