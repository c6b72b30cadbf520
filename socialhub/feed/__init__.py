"""Feed: the reader's news. Follow RSS, Atom and JSON feeds (or websites), read their stories
with near-duplicates grouped, filter them with rules, see them scored for you, and get a daily
digest written by AI by e-mail or as a post.

Modules (services are plain Python: `verb_noun(session, *, user_id, …)`):
- `models`: the tables; `ingest/`: the feed integration (fetch, parse, discover, OPML, SimHash),
  no database.
- `sources`: follow, import/export OPML, suggestions, edit, delete, refresh now.
- `stories`: read a page of stories, counts, read/unread, bookmark, rate, open, share.
- `refresh` (with `prepare`, `grouping`, `primary`): claim, fetch, parse, store.
- `rules`, `scoring`, `settings`, `digests`, `ai_models`: what their names say.
- `jobs` (scheduler jobs), `routes` (digest e-mail tracking), `state/` and `pages/` (the UI).

What other packages may use: `jobs.JOBS` (the scheduler process), `routes.routes` (the HTTP
app), `models` (socialhub/schema.py, for Alembic), `pages` (the app registers it), and, for
anything else that needs feed data (the benchmarks do), the public functions of `sources`,
`stories`, `refresh`, `digests` and `settings`. No other product calls Feed: Feed sits above
Schedule and calls its services (`schedule.posts.create_post`, `schedule.timing.publish_now`)
to share a story and to post a digest.

Glossary (code name: what it is)
- source (`FeedSource`, table `feed_sources`): one feed one reader follows, with that reader's
  title, category, enabled switch and the fetch state. Two readers of one feed have two sources.
- item (`FeedItem`, table `feed_items`): one post of one source's feed, identified by its guid
  within that source (`source_id`, `guid_key`), holding what *that* feed says (title, text,
  picture), rewritten when the feed changes it. Two readers of one feed have their own items;
  items of different feeds with the same normalised link (`link_key`) are one story, nothing
  more is shared. `item_id` always means a `feed_items.id`.
- entry (`FeedEntry`, table `feed_item_sources`, the table's older name): "this source of this
  reader carried this item" (one per item). It copies `user_id` and `story_id` so a reader's
  feed is one indexed scan; `blocked` is what the reader's rules decided and `is_primary` marks
  the one copy of a story the reader sees (see `primary`): always one of their own items.
- story: a group of items telling one story (the same link in several feeds, or the same news
  under other links: near-duplicates). The reader sees
  and acts on stories, never on single items.
- story_id: the id of a story = the id of its first item (`FeedItem.story_id == FeedItem.id`
  for that item). Everything a reader does or sees is keyed by it: read/bookmark/rating
  (`FeedItemState.story_id`), scores (`FeedScore.story_id`), digest stories
  (`DigestItem.story_id`), and every `story_id` argument of the services. It is a
  `feed_items.id`, so those columns reference `feed_items`.
"""
