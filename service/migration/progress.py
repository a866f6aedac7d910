"""Open an export for its importer, with a progress bar on a terminal (tqdm)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from tqdm import tqdm

from service.migration import Report, SourceComment, UnreadableExport
from service.migration.addresses import ArticleMap
from service.migration.disqus import read_disqus
from service.migration.isso import count_isso, read_isso
from service.migration.wordpress import read_wordpress

Groups = Iterable[Sequence[SourceComment]]
GroupsOf = Callable[[Report, ArticleMap], Groups]
Progress = Callable[[int], None]


class _CountingReader:
    """A binary file that moves a byte bar as the XML parser reads it."""

    def __init__(self, raw: BinaryIO, bar: tqdm[Any] | None) -> None:
        self.raw = raw
        self.bar = bar

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        if self.bar is not None:
            self.bar.update(len(data))
        return data


def _bar(total: int, unit: str) -> tqdm[Any] | None:
    """A bar on standard error when it is a terminal; None otherwise."""
    if not sys.stderr.isatty():
        return None
    scale = unit == "B"
    bar: tqdm[Any] = tqdm(
        total=total or None, unit=unit, unit_scale=scale, file=sys.stderr, leave=False
    )
    return bar


@contextlib.contextmanager
def import_progress(kind: str, path: Path) -> Iterator[tuple[GroupsOf, Progress | None]]:
    """Give the reader of `kind` bound to the file, and what to call as comments are written."""
    if kind == "isso":
        bar = _bar(count_isso(path), "comment")

        def advance(count: int) -> None:
            if bar is not None:
                bar.update(count)

        try:
            yield (lambda report, articles: read_isso(path, report, articles)), advance
        finally:
            if bar is not None:
                bar.close()
        return
    readers = {"wordpress": read_wordpress, "disqus": read_disqus}
    try:
        raw = path.open("rb")
    except OSError as error:
        raise UnreadableExport(path, f"cannot be read ({error.strerror or error})") from error
    bar = _bar(path.stat().st_size, "B")
    written = 0

    def progress(count: int) -> None:
        nonlocal written
        written += count
        if bar is not None:
            bar.set_postfix_str(f"{written} comments", refresh=False)

    source = _CountingReader(raw, bar)
    try:
        yield (lambda report, articles: readers[kind](source, path, report, articles)), progress
    finally:
        raw.close()
        if bar is not None:
            bar.close()
