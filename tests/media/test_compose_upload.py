"""The composer's upload handler streams each upload's spooled file and stores it off the event loop."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import reflex as rx
from sqlmodel import select

from socialhub.core.storage import get_storage
from socialhub.media import uploads
from socialhub.media.models import Media
from tests.identity.test_state import db_all
from tests.media.test_uploads import ChunkOnlyReader
from tests.schedule.test_state import ada, compose, fresh_realtime_registry, png  # noqa: F401  (fixtures)


def test_the_composer_streams_the_upload_file_in_a_worker_thread(ada, monkeypatch):  # noqa: F811
    state = compose(ada, "With a picture")
    seen = []
    real = uploads.upload_media

    def spy(session, **kwargs):
        seen.append((threading.current_thread() is threading.main_thread(), kwargs.get("data"), kwargs.get("file")))
        return real(session, **kwargs)

    monkeypatch.setattr(uploads, "upload_media", spy)
    data = png(64, 48)
    spooled = ChunkOnlyReader(data)
    result = asyncio.run(state.upload([rx.UploadFile(file=spooled, path=Path("photo.png"))]))

    (on_main_thread, passed_data, passed_file), = seen
    assert not on_main_thread and passed_data is None and passed_file is spooled
    (media,) = db_all(select(Media))
    assert (media.width, media.height, media.filename) == (64, 48, "photo.png")
    assert get_storage().get(media.storage_key) == data
    assert [m.name for m in state.media] == ["photo.png"] and state.upload_errors == []
    assert result

