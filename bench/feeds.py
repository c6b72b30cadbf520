"""Feed refresh benchmark: N local feeds of M items through the real service and database.

    python -m bench.feeds --feeds 1000 --items 50 [--json OUT] [--dup-rate 0.1] [--workers W]

What it does:
1. Starts a scratch database (DATABASE_URL's server, or the embedded PostgreSQL), migrated.
2. Serves N RSS feeds from a separate process on 127.0.0.1 (several ports, so several "hosts"
   for the per-host limit), each with an ETag, answering 304 when it matches. Stories are
   generated text; `--dup-rate` of the items repeat another feed's story, half with the same link
   (plus tracking parameters), half reworded under another link (near-duplicates).
3. Follows them all through `sources.import_opml` for one reader, then times one full refresh
   (`refresh.refresh_due_sources`, exactly what the scheduler runs), makes every source
   due again, and times a second refresh in which nothing changed.
4. Times the reader's first page (scores computed), a search, and "best first".

Prints JSON last (and writes it to --json): feeds, items_new, duplicates_merged,
first_refresh_s, second_refresh_s, not_modified, items_per_s, and more.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape


SYLLABLES = ["ka", "lo", "mi", "ren", "tos", "va", "qui", "dra", "pel", "son", "tri", "bel", "cor", "dun", "fen",
             "gal", "hir", "jun", "lex", "mor", "nad", "pix", "rus", "sil", "tam", "ulo", "ver", "wen", "yar", "zor"]


# ---- the feed server (runs in its own process) ---------------------------------------------------

class _Corpus:
    """Deterministic stories: feed i, item j -> (title, link, body, date)."""

    def __init__(self, feeds: int, items: int, dup_rate: float, seed: int = 7) -> None:
        self.feeds, self.items, self.dup_rate, self.seed = feeds, items, dup_rate, seed
        rng = random.Random(seed)
        self.words = sorted({"".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in range(6000)})
        self.now = datetime.now(UTC).replace(microsecond=0)

    def _story(self, feed: int, item: int) -> tuple[str, str]:
        rng = random.Random(self.seed * 1_000_003 + feed * 10_007 + item)
        title = " ".join(rng.choice(self.words) for _ in range(rng.randint(6, 10))).capitalize()
        sentences = []
        for _ in range(rng.randint(3, 5)):
            sentences.append(" ".join(rng.choice(self.words) for _ in range(rng.randint(10, 18))).capitalize() + ".")
        return title, " ".join(sentences)

    def entry(self, feed: int, item: int) -> tuple[str, str, str, datetime]:
        rng = random.Random(self.seed * 7919 + feed * 31 + item)
        when = self.now - timedelta(minutes=item * 37 + feed % 60)
        roll = rng.random()
        if feed > 0 and roll < self.dup_rate:
            other = rng.randrange(0, feed)
            title, body = self._story(other, item)
            if roll < self.dup_rate / 2:  # the same story, the same link, other tracking parameters
                return title, f"https://site{other}.example/story/{item}?utm_source=feed{feed}&utm_medium=rss", body, when
            words = body.split(" ")  # reworded under another link: a near-duplicate
            for n in range(0, len(words), 9):
                words[n] = rng.choice(self.words)
            title_words = title.split(" ")
            title_words[-1] = rng.choice(self.words)
            return " ".join(title_words), f"https://site{feed}.example/news/{item}", " ".join(words), when
        title, body = self._story(feed, item)
        return title, f"https://site{feed}.example/story/{item}", body, when

    def rss(self, feed: int) -> bytes:
        parts = [f"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel>"
                 f"<title>Bench feed {feed}</title><link>https://site{feed}.example/</link>"
                 f"<description>Generated</description>"]
        for item in range(self.items):
            title, link, body, when = self.entry(feed, item)
            parts.append(f"<item><title>{escape(title)}</title><link>{escape(link)}</link>"
                         f"<guid isPermaLink=\"false\">feed{feed}-item{item}</guid>"
                         f"<pubDate>{format_datetime(when)}</pubDate><category>Topic {item % 7}</category>"
                         f"<description>{escape('<p>' + body + '</p>')}</description></item>")
        parts.append("</channel></rss>")
        return "".join(parts).encode()


def _serve(ports_queue, feeds: int, items: int, dup_rate: float, hosts: int) -> None:
    corpus = _Corpus(feeds, items, dup_rate)
    cache: dict[int, bytes] = {}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            try:
                feed = int(self.path.strip("/").split("/")[-1].split(".")[0])
            except ValueError:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            etag = f'"v1-{feed}"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            with lock:
                body = cache.get(feed)
            if body is None:
                body = corpus.rss(feed)
                with lock:
                    cache[feed] = body
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 256

    servers = [Server(("127.0.0.1", 0), Handler) for _ in range(hosts)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    ports_queue.put([s.server_address[1] for s in servers])
    threading.Event().wait()


# ---- the benchmark --------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--dup-rate", type=float, default=0.1)
    parser.add_argument("--hosts", type=int, default=20, help="ports the feeds are spread over")
    parser.add_argument("--workers", type=int, default=None, help="parsing processes (0: parse in-process)")
    parser.add_argument("--json", dest="out")
    parser.add_argument("--keep-db", action="store_true", help="keep the scratch database (for EXPLAIN)")
    args = parser.parse_args(argv)

    from bench.common import report, scratch_database

    context = multiprocessing.get_context("spawn")
    ports_queue = context.Queue()
    server = context.Process(target=_serve, args=(ports_queue, args.feeds, args.items, args.dup_rate,
                                                  max(1, min(args.hosts, args.feeds))), daemon=True)
    server.start()
    try:
        ports = ports_queue.get(timeout=60)
        with scratch_database(keep=args.keep_db):
            results = _run(args, ports)
    finally:
        server.kill()
    return report(results, args.out)


def _run(args, ports: list[int]) -> dict:
    from sqlalchemy import text as sql

    from socialhub.core.db import session_scope
    from socialhub.feed.ingest import build_opml, OpmlOutline
    from socialhub.identity import users
    from socialhub.feed import refresh, sources, stories

    urls = [f"http://127.0.0.1:{ports[i % len(ports)]}/feed/{i}.xml" for i in range(args.feeds)]
    with session_scope() as session:
        user = users.sign_up(session, name="Bench reader", email="bench@example.com",
                                password="timing many feed refreshes")
        user_id = user.id
    with session_scope() as session:
        opml = build_opml([OpmlOutline(title=f"Bench feed {i}", xml_url=url) for i, url in enumerate(urls)])
        report = sources.import_opml(session, user_id=user_id, data=opml)
    assert report.added == args.feeds, report

    started = time.perf_counter()
    first = refresh.refresh_due_sources(time_budget_s=3600, workers=args.workers)
    first_s = time.perf_counter() - started

    with session_scope() as session:  # make every source due again (not timed)
        session.execute(sql("UPDATE feed_sources SET next_fetch_at = now() - interval '1 second'"))
    started = time.perf_counter()
    second = refresh.refresh_due_sources(time_budget_s=3600, workers=args.workers)
    second_s = time.perf_counter() - started

    timings = {}
    with session_scope() as session:
        started = time.perf_counter()
        page = stories.list_stories(session, user_id=user_id)
        timings["first_page_ms"] = round((time.perf_counter() - started) * 1000, 1)
        started = time.perf_counter()
        stories.list_stories(session, user_id=user_id, cursor=page.next_cursor)
        timings["next_page_ms"] = round((time.perf_counter() - started) * 1000, 1)
        word = page.stories[0].title.split()[0] if page.stories else "bench"
        started = time.perf_counter()
        found = stories.list_stories(session, user_id=user_id, filters=stories.StoryFilter(query=word))
        timings["search_ms"] = round((time.perf_counter() - started) * 1000, 1)
        started = time.perf_counter()
        stories.list_stories(session, user_id=user_id, filters=stories.StoryFilter(sort="best"))
        timings["best_page_ms"] = round((time.perf_counter() - started) * 1000, 1)
        started = time.perf_counter()
        sources.list_sources(session, user_id=user_id)
        timings["sources_with_counts_ms"] = round((time.perf_counter() - started) * 1000, 1)
        story_count, _ = stories.counts(session, user_id=user_id)
    total_items = args.feeds * args.items
    return {
        "benchmark": "feeds",
        "feeds": args.feeds,
        "items_per_feed": args.items,
        "items_total": total_items,
        "items_new": first.items_new,
        "entries_new": first.entries_new,
        "duplicates_merged": first.duplicates_merged,
        "near_duplicates": first.near_duplicates,
        "stories": story_count,
        "failed": first.failed + second.failed,
        "first_refresh_s": round(first_s, 3),
        "second_refresh_s": round(second_s, 3),
        "not_modified": second.not_modified,
        "second_refresh_fetched": second.fetched,
        "items_per_s": round(total_items / first_s, 1),
        "search_hits_first_page": len(found.stories),
        **timings,
        "cpus": os.cpu_count(),
    }


if __name__ == "__main__":
    raise SystemExit(main())
