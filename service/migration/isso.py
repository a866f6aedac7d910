"""Read comments from an Isso SQLite database: `threads` and `comments`, read-only.

Each thread gives one group, read on its own (memory stays flat). The article id comes from the
thread's `uri` (`/`, `/?p=4`, `/2014/test/`…) by the rule of `service.migration.addresses` (or the
site's map). Isso's modes: 1 published, 2 waiting for moderation, 4 deleted (kept for replies).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from service.migration import Report, SourceComment, UnreadableExport
from service.migration.addresses import ArticleMap
from service.models import Status

SOURCE = "isso"
_MODES: dict[int, Status | None] = {1: Status.APPROVED, 2: Status.PENDING, 4: None}
_COLUMNS = "id, parent, created, mode, remote_addr, text, author, email, website"


def count_isso(path: Path) -> int:
    """Count an Isso database's comments (0 when it cannot be read)."""
    try:
        with _connect(path) as connection:
            return int(connection.execute("SELECT COUNT(*) FROM comments").fetchone()[0])
    except (sqlite3.Error, UnreadableExport):
        return 0


def _connect(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise UnreadableExport(path, "no such file")
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def read_isso(path: Path, report: Report, articles: ArticleMap) -> Iterator[list[SourceComment]]:
    """Stream an Isso database's comments, one thread at a time."""
    connection = _connect(path)
    try:
        try:
            threads = connection.execute("SELECT id, uri FROM threads ORDER BY id").fetchall()
            orphans = connection.execute(
                "SELECT id FROM comments WHERE tid IS NULL OR tid NOT IN (SELECT id FROM threads)"
            ).fetchall()
            total = connection.execute("SELECT COUNT(*) FROM comments").fetchone()[0]
        except sqlite3.Error as error:
            raise UnreadableExport(path, f"not an Isso database ({error})") from error
        if not total:
            raise UnreadableExport(path, "no comments found (the comments table is empty)")
        for (comment_id,) in orphans:
            report.skip(f"{SOURCE} comment {comment_id}", "its thread is not in the database")
        for thread_id, uri in threads:
            try:
                rows = connection.execute(
                    f"SELECT {_COLUMNS} FROM comments WHERE tid = ? ORDER BY created, id",
                    (thread_id,),
                ).fetchall()
            except sqlite3.Error as error:
                raise UnreadableExport(path, f"not an Isso database ({error})") from error
            if rows:
                yield list(_thread_comments(str(uri or ""), rows, report, articles))
    finally:
        connection.close()


def _thread_comments(
    uri: str, rows: list[tuple[object, ...]], report: Report, articles: ArticleMap
) -> Iterator[SourceComment]:
    article_id = articles.article_id(uri)
    if article_id is not None:
        report.article(article_id, uri)
    for comment_id, parent, created, mode, ip, body, author, email, website in rows:
        label = f"{SOURCE} comment {comment_id}"
        if article_id is None:
            report.skip(label, "its thread has no URI")
            continue
        status = _MODES.get(mode if isinstance(mode, int) else -1, Status.PENDING)
        if mode not in _MODES:
            report.remarks[f"{SOURCE} comment(s) of an unknown mode came in pending"] += 1
        try:
            moment = datetime.fromtimestamp(float(str(created)), UTC)
        except (TypeError, ValueError, OverflowError, OSError):
            report.skip(label, f"date {created!r}", article_id)
            continue
        yield SourceComment(
            source_id=str(comment_id),
            article_id=article_id,
            parent_source_id=str(parent) if parent is not None else None,
            name=str(author or ""),
            email=str(email or ""),
            website=str(website) if website else None,
            body=str(body or ""),
            created=moment,
            status=status,
            ip=str(ip or ""),
        )
