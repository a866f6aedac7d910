"""Article ids for imported comments: one rule for every source's addresses, and a site's map.

The rule (README, "Moving data in and out"): take the article's address; for a URL keep only its
path and query; cut the path at `/` and the query at `&` and `=`; in each piece keep
`A-Z a-z 0-9 - _ . ~ :`, turn anything else into `-`, and join the pieces with `-`. `/` alone is
`home`. When a character had to be replaced, or the id would pass 100 characters, the id ends
with `-` and 8 hex digits of the address's SHA-256, so two addresses never share an id.
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from service.migration import UnreadableExport
from service.schemas import ARTICLE_ID_PATTERN

MAX_ARTICLE_ID = 100
HOME = "home"
_VALID = re.compile(ARTICLE_ID_PATTERN)
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://")
_OUTSIDE = re.compile(r"[^A-Za-z0-9\-_.~:]+")
_QUERY_SEPARATORS = re.compile(r"[&=;]")


def address_parts(address: str) -> tuple[str, str]:
    """Give an address's path and query, percent-decoded (a URL loses its scheme and host)."""
    text = address.strip()
    if _URL.match(text):
        parts = urlsplit(text)
        path, query = parts.path, parts.query
    else:
        path, _, query = text.partition("#")[0].partition("?")
    return unquote(path), unquote(query)


def article_id_from(address: str) -> str:
    """Turn any slug, identifier, path or URL into a valid, stable article id (see the module)."""
    path, query = address_parts(address)
    pieces = [*path.split("/"), *_QUERY_SEPARATORS.split(query)]
    kept = [_OUTSIDE.sub("-", piece).strip("-.") for piece in pieces]
    joined = "-".join(piece for piece in kept if piece)
    article_id = re.sub(r"-{2,}", "-", joined) or HOME
    # Anything replaced, dropped or squeezed: the id alone would no longer tell addresses apart.
    lossy = kept != pieces or (joined != "" and article_id != joined)
    if lossy or len(article_id) > MAX_ARTICLE_ID:
        digest = hashlib.sha256(f"{path}?{query}".encode()).hexdigest()[:8]
        article_id = f"{article_id[: MAX_ARTICLE_ID - 9].rstrip('-')}-{digest}"
    return article_id


def _map_keys(address: str) -> list[str]:
    """The forms under which a map's row (or an article's address) is looked up."""
    text = address.strip()
    path, query = address_parts(text)
    forms = [text, f"{path}?{query}" if query else path]
    if path.endswith("/") and len(path) > 1:
        forms.append(f"{path.rstrip('/')}?{query}" if query else path.rstrip("/"))
    return [form for form in forms if form]


@dataclass
class ArticleMap:
    """A site's own article ids for a source's addresses, read from `source,article_id` rows."""

    ids: dict[str, str] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> ArticleMap:
        """Read a CSV of `source,article_id` rows (a header row of those names is allowed)."""
        mapping = cls()
        try:
            with path.open(encoding="utf-8-sig", newline="") as rows:
                for number, row in enumerate(csv.reader(rows), start=1):
                    if not row or not "".join(row).strip():
                        continue
                    if len(row) != 2:
                        raise UnreadableExport(
                            path, f"line {number}: expected 2 columns, source and article_id"
                        )
                    source, article_id = (cell.strip() for cell in row)
                    if number == 1 and (source, article_id) == ("source", "article_id"):
                        continue
                    if not _VALID.fullmatch(article_id) or len(article_id) > MAX_ARTICLE_ID:
                        raise UnreadableExport(
                            path, f"line {number}: {article_id!r} is not a valid article id"
                        )
                    for key in _map_keys(source):
                        mapping.ids.setdefault(key, article_id)
        except (OSError, UnicodeDecodeError, csv.Error) as error:
            raise UnreadableExport(path, f"cannot read the map ({error})") from error
        return mapping

    def article_id(self, *addresses: str) -> str | None:
        """Give the mapped id of the first address the map knows, else the rule's id of the
        first non-empty address (None when every address is empty)."""
        present = [address.strip() for address in addresses if address and address.strip()]
        for address in present:
            for key in _map_keys(address):
                if key in self.ids:
                    return self.ids[key]
        return article_id_from(present[0]) if present else None
