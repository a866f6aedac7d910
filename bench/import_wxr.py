"""Generate a large WordPress export (WXR) and import it; print comments per second and peak RSS.

    REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/import_wxr.py --comments 1000000

The file is written to disk as it is generated (nothing held in memory), 20 comments a post,
one in four a reply, some without email, a few pingbacks, HTML in some texts. The import runs in
this process under its own key prefix (removed afterwards unless --keep), with the same code as
`news-comments import-wordpress`.
"""

from __future__ import annotations

import argparse
import os
import resource
import secrets
import sys
import tempfile
import time
from pathlib import Path

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:wp="https://wordpress.org/export/1.2/"
  xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>Bench</title><wp:wxr_version>1.2</wp:wxr_version>
"""
COMMENT = """  <wp:comment>
    <wp:comment_id>{cid}</wp:comment_id>
    <wp:comment_author><![CDATA[Reader {cid}]]></wp:comment_author>
    <wp:comment_author_email>{email}</wp:comment_author_email>
    <wp:comment_author_url>https://reader{cid}.example</wp:comment_author_url>
    <wp:comment_author_IP>192.0.2.{ip}</wp:comment_author_IP>
    <wp:comment_date_gmt>{date}</wp:comment_date_gmt>
    <wp:comment_content><![CDATA[{body}]]></wp:comment_content>
    <wp:comment_approved>{state}</wp:comment_approved>
    <wp:comment_type>{kind}</wp:comment_type>
    <wp:comment_parent>{parent}</wp:comment_parent>
  </wp:comment>
"""
BODIES = (
    "I read this twice. Comment number {cid} says the council got it right.",
    '<p>Two paragraphs here.</p><p>See <a href="https://news.example/a/{cid}">the source</a>'
    " and <em>think</em> again.</p>",
    "Line one of {cid}\nline two, with a link https://example.org/{cid}.",
)
PER_POST = 20


def generate(path: Path, comments: int) -> None:
    """Write a WXR file with `comments` comments, streamed to disk."""
    with path.open("w", encoding="utf-8") as out:
        out.write(HEAD)
        cid = 0
        post = 0
        while cid < comments:
            post += 1
            out.write(
                f"<item><title>Post {post}</title>"
                f"<link>https://news.example/{2000 + post % 20}/story-{post}/</link>"
                f"<wp:post_id>{post}</wp:post_id><wp:post_name>story-{post}</wp:post_name>\n"
            )
            first = cid + 1
            for _ in range(min(PER_POST, comments - cid)):
                cid += 1
                seconds = 1_500_000_000 + cid * 7
                out.write(
                    COMMENT.format(
                        cid=cid,
                        email="" if cid % 10 == 0 else f"reader{cid % 5000}@example.com",
                        ip=cid % 250,
                        date=time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds)),
                        body=BODIES[cid % 3].format(cid=cid),
                        state="spam" if cid % 50 == 0 else ("0" if cid % 17 == 0 else "1"),
                        kind="pingback" if cid % 200 == 0 else "",
                        parent=cid - 1 if cid % 4 == 0 and cid - 1 >= first else 0,
                    )
                )
            out.write("</item>\n")
        out.write("</channel></rss>\n")


def peak_rss_mb() -> float:
    """Peak resident memory of this process, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--comments", type=int, default=1_000_000)
    parser.add_argument("--file", type=Path, default=None, help="reuse or keep this WXR file")
    parser.add_argument("--keep", action="store_true", help="keep the imported keys")
    arguments = parser.parse_args()
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    prefix = f"bench-import-{secrets.token_hex(4)}"
    os.environ["COMMENTS_KEY_PREFIX"] = prefix
    os.environ.setdefault("COMMENTS_SECRET_KEY", secrets.token_urlsafe(48))
    os.environ.setdefault("COMMENTS_MODERATOR_TOKENS", "bench:" + secrets.token_urlsafe(24))

    folder = tempfile.TemporaryDirectory(prefix="import-wxr-")
    path = arguments.file or Path(folder.name) / "export.xml"
    if not path.exists():
        started = time.perf_counter()
        generate(path, arguments.comments)
        print(
            f"Generated {arguments.comments} comments, {path.stat().st_size / 2**20:.0f} MiB, "
            f"in {time.perf_counter() - started:.1f} s; peak RSS {peak_rss_mb():.0f} MiB",
            file=sys.stderr,
        )

    from service.cli import import_file

    started = time.perf_counter()
    status = import_file("wordpress", str(path))
    elapsed = time.perf_counter() - started
    from service.cli import command_services

    with command_services() as services:
        store = services.store
        counts, _ = store.state_counts()
        written = sum(counts.values())
        if not arguments.keep:
            pipe = store.client.pipeline(transaction=False)
            for number, key in enumerate(store.client.scan_iter(match=f"{prefix}:*", count=10_000)):
                pipe.unlink(key)
                if number % 10_000 == 9_999:
                    pipe.execute()
            pipe.execute()
    print(
        f"Imported {written} comments in {elapsed:.1f} s: {written / elapsed:,.0f} comments/s; "
        f"peak RSS {peak_rss_mb():.0f} MiB (exit status {status})"
    )
    folder.cleanup()
    return status


if __name__ == "__main__":
    sys.exit(main())
