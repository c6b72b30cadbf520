"""The Chat page's state (/chat): the conversation list, the open conversation's messages as
ciphertext rows, ticks and read-by, typing, people search, new direct chats and groups, and the
user's chat privacy settings.

Plaintext never reaches this state: `assets/chat-crypto.js` reads the composer, encrypts and
hands `send_encrypted` a ciphertext; message rows carry ciphertext that the module decrypts into
the page with `textContent`. Handlers that need the module return `rx.call_script` with only
ids and server data in the code, and a callback. Live updates come from the event bus: the
`chat` refresher re-reads through the services (membership checked again), so an id in an
event tells a browser nothing it may not know.
"""

from __future__ import annotations

import json

import reflex as rx

from socialhub.chat import conversations, keys, messages, receipts
from socialhub.chat.messages import ALLOWED_REACTIONS
from socialhub.core.db import session_scope
from socialhub.core.errors import ServiceError
from socialhub.ui import clients
from socialhub.ui.state import AppState, local_time

MAX_ROWS = 200


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


class ChatState(AppState):
    conversations: list[dict[str, str]] = []
    open_id: int = 0
    open_title: str = ""
    open_kind: str = ""
    open_role: str = ""
    epoch: int = 0
    rows: list[dict[str, str]] = []
    members: list[dict[str, str]] = []
    read_by: str = ""
    key_blob: str = ""
    typing_line: str = ""
    typing_key: int = 0
    device_id: int = 0
    error: str = ""
    people: list[dict[str, str]] = []
    picks: list[dict[str, str]] = []
    read_receipts: bool = True
    show_last_seen: bool = True
    reactions: list[str] = list(ALLOWED_REACTIONS)

    _last_id: int = 0
    _send_after_key: bool = False

    # ---- loading --------------------------------------------------------------------------------

    @rx.event
    def load(self):
        def action(session, user_id):
            receipts.touch_presence(session, user_id=user_id)
            receipts.mark_delivered(session, user_id=user_id)
            settings = receipts.get_settings(session, user_id=user_id)
            self.read_receipts, self.show_last_seen = settings.read_receipts, settings.show_last_seen
            self._fill_list(session, user_id)
            wanted = _int(self.router.url.query_parameters.get("c", "")) or self.open_id
            if wanted:
                self._open(session, user_id, wanted)
        result = self._act(action)
        if self._user_id:  # signed in (AppState.guard registered this browser for live updates)
            return [rx.call_script("SocialHubChat.ensureDevice()", callback=ChatState.device_ready)]
        return result

    def _fill_list(self, session, user_id: int) -> None:
        self.conversations = [
            {"id": str(c.id), "title": c.title, "kind": c.kind, "unread": str(c.unread) if c.unread else "",
             "when": local_time(c.last_message_at, self._timezone) if c.last_message_at else "",
             "pinned": "1" if c.pinned else "", "muted": "1" if c.muted else "",
             "active": "1" if c.id == self.open_id else ""}
            for c in conversations.list_conversations(session, user_id=user_id)]

    def _open(self, session, user_id: int, conversation_id: int) -> None:
        summary = next((c for c in conversations.list_conversations(session, user_id=user_id)
                        if c.id == conversation_id), None)
        title = conversations.title_of(session, user_id=user_id, conversation_id=conversation_id)  # NotFound if not a member
        self.open_id, self.open_title = conversation_id, title
        self.open_kind, self.open_role = (summary.kind, summary.role) if summary else ("", "")
        self.epoch = summary.epoch if summary else 0
        self.members = [{"id": str(m.user_id), "name": m.name, "role": m.role}
                        for m in conversations.list_members(session, user_id=user_id, conversation_id=conversation_id)]
        views = messages.list_messages(session, user_id=user_id, conversation_id=conversation_id)
        self._last_id = views[-1].id if views else 0
        receipts.mark_read(session, user_id=user_id, conversation_id=conversation_id)
        self._set_rows(session, user_id, views)
        self._fill_keys(session, user_id)
        self.typing_line = ""

    def _set_rows(self, session, user_id: int, views) -> None:
        state = receipts.read_state(session, user_id=user_id, conversation_id=self.open_id)
        rows = []
        for m in views[-MAX_ROWS:]:
            mine = m.sender_id == user_id
            tick = "" if not mine else ("read" if m.id <= state.read_upto else
                                        "delivered" if m.id <= state.delivered_upto else "sent")
            rows.append({"id": str(m.id), "mine": "1" if mine else "", "sender": m.sender_name,
                         "when": local_time(m.created_at, self._timezone, "%H:%M"), "ct": m.ciphertext, "iv": m.iv,
                         "epoch": str(m.epoch), "conv": str(self.open_id), "edited": "1" if m.edited else "",
                         "deleted": "1" if m.deleted else "", "tick": tick,
                         "tick_label": {"read": "Read", "delivered": "Delivered", "sent": "Sent"}.get(tick, ""),
                         "reactions": " ".join(f"{e} {n}" for e, n in m.reactions.items())})
        self.rows = rows
        mine_ids = [int(r["id"]) for r in rows if r["mine"]]
        names = [name for _, name, upto in state.readers if mine_ids and upto >= mine_ids[-1]]
        self.read_by = ("Read by " + ", ".join(names)) if self.open_kind == "group" and names else ""

    def _fill_keys(self, session, user_id: int) -> None:
        if not (self.device_id and self.open_id):
            self.key_blob = ""
            return
        found = keys.keys_for_device(session, user_id=user_id, conversation_id=self.open_id, device_id=self.device_id)
        self.key_blob = json.dumps([{"epoch": k.epoch, "wrapped_key": k.wrapped_key,
                                     "wrapped_by_public_key": k.wrapped_by_public_key} for k in found])

    def _key_work(self, session, user_id: int):
        """A script making the current epoch's key (none yet) or wrapping it for devices that lack it."""
        if not (self.device_id and self.open_id):
            return None
        held = {k.epoch for k in keys.keys_for_device(session, user_id=user_id, conversation_id=self.open_id,
                                                       device_id=self.device_id)}
        missing = keys.devices_missing_key(session, user_id=user_id, conversation_id=self.open_id)
        if self.epoch not in held and not missing:
            targets, fresh = keys.member_devices(session, user_id=user_id, conversation_id=self.open_id), True
        elif self.epoch in held and missing:
            targets, fresh = missing, False
        else:
            return None
        devices = json.dumps([{"device_id": d.device_id, "public_key": d.public_key} for d in targets])
        return rx.call_script(f"SocialHubChat.makeWraps({self.open_id}, {self.epoch}, {devices}, {str(fresh).lower()})",
                              callback=ChatState.post_keys)

    # ---- the device and its keys ----------------------------------------------------------------

    @rx.event
    def device_ready(self, info: dict):
        public_key = str((info or {}).get("public_key", ""))

        def action(session, user_id):
            self.device_id = keys.register_device(session, user_id=user_id, public_key=public_key, label="Browser").id
            self._fill_keys(session, user_id)
            return self._key_work(session, user_id)
        work = self._act(action, success=lambda w: w, error_field="error")
        events = [rx.call_script(f"SocialHubChat.setDeviceId({self.device_id})")] if self.device_id else []
        return events + ([work] if work is not None else [])

    @rx.event
    def post_keys(self, result: dict):
        if not isinstance(result, dict) or not self.device_id:
            return None
        conv, epoch, fresh = _int(result.get("conversation_id")), _int(result.get("epoch")), bool(result.get("fresh"))
        wraps = {_int(k): str(v) for k, v in (result.get("wraps") or {}).items()}

        def action(session, user_id):
            keys.post_epoch_keys(session, user_id=user_id, conversation_id=conv, epoch=epoch,
                                 device_id=self.device_id, wraps=wraps, fresh=fresh)
            self._fill_keys(session, user_id)
        failed = self._act(action, error_field="error")
        if self.error:
            return failed
        out = [rx.call_script(f"SocialHubChat.keyAccepted({conv}, {epoch})")] if fresh else []
        if self._send_after_key:
            self._send_after_key = False
            out.append(self._send_script())
        return out

    # ---- conversations --------------------------------------------------------------------------

    @rx.event
    def open_conversation(self, conversation_id: str):
        def action(session, user_id):
            self._open(session, user_id, _int(conversation_id))
            self._fill_list(session, user_id)
            return self._key_work(session, user_id)
        return self._act(action, success=lambda work: work, error_field="error")

    @rx.event
    def search_people(self, form: dict):
        query = str((form or {}).get("query", ""))
        def action(session, user_id):
            self.people = [{"id": str(u.id), "name": u.name, "email": u.email}
                           for u in conversations.find_people(session, user_id=user_id, query=query)]
        return self._act(action, error_field="error")

    @rx.event
    def start_direct(self, other_id: str):
        def action(session, user_id):
            conversation = conversations.create_direct(session, user_id=user_id, other_id=_int(other_id))
            session.flush()
            self._open(session, user_id, conversation.id)
            self._fill_list(session, user_id)
            self.people = []
            return self._key_work(session, user_id)
        return self._act(action, success=lambda work: work, error_field="error")

    @rx.event
    def toggle_pick(self, other_id: str):
        if any(p["id"] == other_id for p in self.picks):
            self.picks = [p for p in self.picks if p["id"] != other_id]
        else:
            self.picks = self.picks + [p for p in self.people if p["id"] == other_id][:1]

    @rx.event
    def create_group(self, form: dict):
        title = str((form or {}).get("title", ""))
        def action(session, user_id):
            conversation = conversations.create_group(session, user_id=user_id, title=title,
                                                      member_ids=[_int(p["id"]) for p in self.picks])
            session.flush()
            self._open(session, user_id, conversation.id)
            self._fill_list(session, user_id)
            self.picks, self.people = [], []
            return self._key_work(session, user_id)
        return self._act(action, success=lambda work: work, error_field="error")

    @rx.event
    def leave_group(self):
        def action(session, user_id):
            conversations.leave(session, user_id=user_id, conversation_id=self.open_id)
        result = self._act(action, error_field="error")
        if not self.error:
            self.open_id, self.rows, self.open_title, self.key_blob = 0, [], "", ""
            return self._act(lambda session, user_id: self._fill_list(session, user_id))
        return result

    @rx.event
    def set_privacy(self, name: str, value: bool):
        if name not in ("read_receipts", "show_last_seen"):
            return None
        def action(session, user_id):
            settings = receipts.update_settings(session, user_id=user_id, **{name: bool(value)})
            self.read_receipts, self.show_last_seen = settings.read_receipts, settings.show_last_seen
        return self._act(action, "Saved.")

    # ---- messages -------------------------------------------------------------------------------

    def _send_script(self):
        return rx.call_script(f"SocialHubChat.sendComposer('chat-composer', {self.open_id}, {self.epoch})",
                              callback=ChatState.send_encrypted)

    @rx.event
    def send(self):
        if not (self.open_id and self.device_id):
            self.error = "This browser is still setting up its chat key. Try again in a moment."
            return None
        def action(session, user_id):
            return self._key_work(session, user_id)
        work = self._act(action, success=lambda w: w, error_field="error")
        if work is not None:
            self._send_after_key = True
            return work
        return self._send_script()

    @rx.event
    def send_encrypted(self, payload: dict | None):
        if not isinstance(payload, dict):
            return None  # nothing typed, or no key yet (the module said so in the page)

        def action(session, user_id):
            messages.send_message(session, user_id=user_id, conversation_id=self.open_id, device_id=self.device_id,
                                  epoch=_int(payload.get("epoch")), ciphertext=str(payload.get("ciphertext", "")),
                                  iv=str(payload.get("iv", "")))
            self._reload_open(session, user_id)
            self._fill_list(session, user_id)
        return self._act(action, error_field="error")

    def _reload_open(self, session, user_id: int) -> None:
        views = messages.list_messages(session, user_id=user_id, conversation_id=self.open_id)
        self._last_id = views[-1].id if views else 0
        self._set_rows(session, user_id, views)

    @rx.event
    def typing(self):
        if not self.open_id or not self._user_id:
            return None
        try:
            with session_scope() as session:
                receipts.signal_typing(session, user_id=self._user_id, conversation_id=self.open_id)
        except ServiceError:
            pass  # typing is best effort: over the rate, or no longer a member
        return None

    @rx.event
    def react(self, message_id: str, emoji: str):
        def action(session, user_id):
            messages.toggle_reaction(session, user_id=user_id, conversation_id=self.open_id,
                                     message_id=_int(message_id), emoji=emoji)
            self._reload_open(session, user_id)
        return self._act(action, error_field="error")

    @rx.event
    def delete(self, message_id: str, for_everyone: bool):
        def action(session, user_id):
            messages.delete_message(session, user_id=user_id, conversation_id=self.open_id,
                                    message_id=_int(message_id), for_everyone=bool(for_everyone))
            self._reload_open(session, user_id)
        return self._act(action, error_field="error")

    # ---- live updates (ui/realtime.py) ----------------------------------------------------------

    def _on_chat_event(self, data: dict) -> None:
        """Another member did something: re-read through the services, as this user."""
        if not self._user_id or not (self.router.url.path or "").startswith("/chat"):
            return
        conv = _int(data.get("conversation_id"))
        try:
            with session_scope() as session:
                if data.get("what") == "typing":
                    if conv == self.open_id:
                        who = next((m["name"] for m in self.members if m["id"] == str(_int(data.get("user_id")))), "")
                        if who:
                            self.typing_line, self.typing_key = f"{who} is typing…", self.typing_key + 1
                    return
                receipts.mark_delivered(session, user_id=self._user_id)
                if conv == self.open_id:
                    if data.get("what") == "members":
                        self._open(session, self._user_id, conv)
                    else:
                        self._reload_open(session, self._user_id)
                        receipts.mark_read(session, user_id=self._user_id, conversation_id=conv)
                        self._fill_keys(session, self._user_id)
                    if data.get("what") == "message":
                        self.typing_line = ""
                self._fill_list(session, self._user_id)
        except ServiceError:  # no longer a member: close it
            if conv == self.open_id:
                self.open_id, self.rows, self.open_title, self.key_blob = 0, [], "", ""


clients.on_event("chat", ChatState, "_on_chat_event")
