"""Digest benchmark: U readers, each with a feed of recent stories, one digest each, offline AI.

    python -m bench.digest --users 20 [--items 30] [--json OUT]

Each reader follows one generated feed (stored through the same ingest the refresh uses, no
HTTP), has topics set, and gets `digests.build_digest`: scoring, choosing the top stories,
the offline provider's summaries, key points, hashtags, title card, and the e-mail to the
outbox. Reports seconds per digest (median and p95) and prints JSON last.
Uses DATABASE_URL's server, or the embedded PostgreSQL, in a scratch database it drops, and a
temporary media folder it removes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time

from bench.common import percentile



def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--items", type=int, default=30, help="stories in each reader's feed")
    parser.add_argument("--json", dest="out")
    args = parser.parse_args(argv)

    from bench.common import report, scratch_database
    from socialhub.core import config

    with scratch_database():
        media = tempfile.mkdtemp(prefix="sh-bench-digest-")  # title cards land here, then go
        os.environ["SOCIALHUB_DATA_DIR"] = media
        config.get_settings.cache_clear()
        try:
            results = _run(args)
        finally:
            shutil.rmtree(media, ignore_errors=True)
    return report(results, args.out)


def _run(args) -> dict:
    from bench.feeds import _Corpus
    from socialhub.core.db import session_scope
    from socialhub.core.models import utcnow
    from socialhub.feed.models import Digest, FeedSource
    from socialhub.identity import users
    from socialhub.feed import digests, settings, store
    from socialhub.feed.prepare import prepare_body, PreparedFeed

    corpus = _Corpus(args.users, args.items, dup_rate=0.0)
    user_ids = []
    for n in range(args.users):
        now = utcnow()
        url = f"https://site{n}.example/feed.xml"
        prepared = prepare_body(corpus.rss(n), "application/rss+xml", url, url, now)
        assert isinstance(prepared, PreparedFeed)
        with session_scope() as session:
            user = users.sign_up(session, name=f"Reader {n}", email=f"reader{n}@example.com",
                                    password="timing many digests here")
            source = FeedSource(user_id=user.id, url=url, title=f"Bench feed {n}", next_fetch_at=now)
            session.add(source)
            session.flush()
            store.ingest_items(session, [(store.SourceRef(source.id, user.id, url), prepared.items)],
                                       now=now)
            topic = prepared.items[0].title.split()[0]
            settings.update_settings(
                session, user_id=user.id, digest_time="07:00", max_items=8, min_score=0, topics=topic,
                weights={"relevance": 0.4, "recency": 0.3, "reliability": 0.15, "engagement": 0.15},
                auto_generate=True, auto_email=True, auto_post=False, email_notifications=True)
            user_ids.append(user.id)

    seconds = []
    for user_id in user_ids:
        started = time.perf_counter()
        digest_id = digests.build_digest(user_id=user_id)
        seconds.append(time.perf_counter() - started)
        with session_scope() as session:
            assert session.get(Digest, digest_id).status == "delivered"
    ordered = sorted(seconds)
    return {
        "benchmark": "digest",
        "provider": "local",
        "users": args.users,
        "stories_per_feed": args.items,
        "stories_per_digest": 8,
        "seconds_per_digest_median": round(statistics.median(ordered), 4),
        "seconds_per_digest_p95": round(percentile(ordered, 95), 4),
        "seconds_total": round(sum(ordered), 3),
        "cpus": os.cpu_count(),
    }


if __name__ == "__main__":
    raise SystemExit(main())
