"""The composer's media: uploading files to a post, their alt text, and taking them off it.

A state mixin (`ComposeMedia`) that `ComposeState` inherits, with the rows the composer shows
for attached media (`media_rows`). The handlers use the composer's saving and loading
(`_save_or_signin`, `_load_post`, `_rebuild`, `_url_script`), which `ComposeState` owns.
"""

from __future__ import annotations

import asyncio
import io

import reflex as rx

from socialhub.core.db import session_scope
from socialhub.core.errors import ServiceError
from socialhub.media import uploads
from socialhub.schedule import posts
from socialhub.schedule.state.rows import MediaRow, size_label

MAX_UPLOAD_FILES = 10
MAX_UPLOAD_BYTES = uploads.MAX_VIDEO_BYTES


def media_rows(items) -> list[MediaRow]:
    """The composer's rows for a post's media (`reading.MediaView`s), in order."""
    return [MediaRow(id=m.id, url=m.url, is_video=m.kind == "video", name=m.filename or f"{m.kind} #{m.id}",
                     info=" · ".join(x for x in (f"{m.width}×{m.height}" if m.width else "",
                                                 f"{m.duration_seconds:.0f} s" if m.duration_seconds else "",
                                                 size_label(m.size_bytes)) if x),
                     alt=m.alt_text) for m in items]


def _store_upload(team_id: int, actor_id: int, file, name: str) -> int:
    with session_scope() as session:
        media = uploads.upload_media(session, team_id=team_id, actor_id=actor_id, file=file, filename=name)
        return media.id


class ComposeMedia(rx.State, mixin=True):
    media: list[MediaRow] = []
    upload_errors: list[str] = []

    @rx.event
    async def upload(self, files: list[rx.UploadFile]):
        user, stop = self._save_or_signin()
        if stop:
            return stop
        if not self.can_edit:
            return rx.toast.error(self.read_only_reason)
        errors, new_ids = [], []
        if len(files) > MAX_UPLOAD_FILES:
            errors.append(f"Attach at most {MAX_UPLOAD_FILES} files at a time; the first {MAX_UPLOAD_FILES} were taken.")
        for upload in files[:MAX_UPLOAD_FILES]:
            name = uploads.clean_filename(upload.name or "") or "file"
            # The upload's spooled file, streamed by upload_media (which stops past the size limit);
            # anything without one is read up to the limit only.
            file = getattr(upload, "file", None)
            if file is None:
                data = await upload.read(MAX_UPLOAD_BYTES + 1)
                if len(data) > MAX_UPLOAD_BYTES:
                    errors.append(f"{name}: larger than {MAX_UPLOAD_BYTES // uploads.MB} MB, the most SocialHub accepts.")
                    continue
                file = io.BytesIO(data)
            try:
                # Hashing, checking and storing up to 512 MB is slow: off the event loop.
                new_ids.append(await asyncio.to_thread(_store_upload, self._team_id, user.id, file, name))
            except ServiceError as exc:
                errors.append(f"{name}: {exc}")
        self.upload_errors = errors
        if new_ids:
            try:
                with session_scope() as session:
                    posts.update_post(session, team_id=self._team_id, actor_id=user.id, post_id=self.post_id,
                                      media_ids=[m.id for m in self.media] + new_ids)
                    self._load_post(session, user.id, self.post_id, remount=False)
            except ServiceError as exc:
                self.upload_errors = [*errors, str(exc)]
            self._rebuild()
        events = [rx.clear_selected_files("compose-media"), self._url_script()]
        if errors:
            events.append(rx.toast.error("Some files were not attached; see why below the media."))
        return events

    @rx.event
    def set_alt(self, media_id: int, value: str):
        user = self._signed_in_user()
        if user is None:
            return self._to_signin()
        current = next((m for m in self.media if m.id == int(media_id)), None)
        if current is None or current.alt == str(value) or not self.can_edit:
            return
        try:
            with session_scope() as session:
                uploads.set_alt_text(session, team_id=self._team_id, actor_id=user.id, media_id=int(media_id),
                                     alt_text=str(value)[:uploads.MAX_ALT_TEXT + 1])
            with session_scope() as session:
                self._load_post(session, user.id, self.post_id, remount=False)
        except ServiceError as exc:
            return rx.toast.error(str(exc))
        self._rebuild()
        return rx.toast.success("Alt text saved.")

    @rx.event
    def remove_media(self, media_id: int):
        user, stop = self._save_or_signin()
        if stop:
            return stop
        try:
            with session_scope() as session:
                posts.update_post(session, team_id=self._team_id, actor_id=user.id, post_id=self.post_id,
                                  media_ids=[m.id for m in self.media if m.id != int(media_id)])
                self._load_post(session, user.id, self.post_id, remount=False)
        except ServiceError as exc:
            return rx.toast.error(str(exc))
        self._rebuild()
