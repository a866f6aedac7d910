"""Read comments from an Isso SQLite database: `threads` and `comments`."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from service.migration import Report, SourceComment, article_id_from
from service.models import Status

# Isso's modes: 1 published, 2 waiting for moderation, 4 deleted (kept for its replies).
_MODES: dict[int, Status | None] = {1: Status.APPROVED, 2: Status.PENDING, 4: None}


def read_isso(path: Path, report: Report) -> list[SourceComment]:
    """Read an Isso database's comments, read-only."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        threads = dict(connection.execute("SELECT id, uri FROM threads").fetchall())
        rows = connection.execute(
            "SELECT tid, id, parent, created, mode, remote_addr, text, author, email, website"
            " FROM comments ORDER BY created, id"
        ).fetchall()
    finally:
        connection.close()
    articles = {thread_id: article_id_from(str(uri or "")) for thread_id, uri in threads.items()}
    comments: list[SourceComment] = []
    for tid, comment_id, parent, created, mode, ip, text, author, email, website in rows:
        article_id = articles.get(tid)
        if article_id is None:
            report.skipped.append(f"isso comment {comment_id}: no usable article id")
            continue
        if mode not in _MODES:
            report.skipped.append(f"isso comment {comment_id}: mode {mode!r}")
            continue
        comments.append(
            SourceComment(
                source_id=str(comment_id),
                article_id=article_id,
                parent_source_id=str(parent) if parent is not None else None,
                name=author or "",
                email=email or "",
                website=website or None,
                body=text or "",
                created=datetime.fromtimestamp(float(created), UTC),
                status=_MODES[mode],
                ip=ip or "",
            )
        )
    return comments
