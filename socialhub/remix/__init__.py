"""Remix: brands upload image and video ads, people remix them with a prompt, remixes form
threads, prompts become signals, brands see a dashboard.

Modules: `models` (tables), `config` (REMIX_* settings), `text` (cleaning), `assets` (upload
checks, image copies, ffmpeg probe/frames, all-or-nothing storing), `brands`, `ads` (upload,
listing with keyset pages), `reactions` (likes, comments), `edits` (the offline instruction
editor), `providers` (local, Gemini, OpenAI image edit), `video` (offline clip), `generate`
(requests, limits, the SKIP LOCKED job queue, cancel, retry), `threads` (prompt diffs, tree,
compare, share to Schedule), `signals`, `dashboard`, `jobs`; `state/` and `pages/`.

Other packages may call: `ads.list_ads`, `ads.get_ad`, `threads.remix_tree`,
`generate.request_remix`, `dashboard.leaderboard` (read-only or acting for a signed-in user).
"""
