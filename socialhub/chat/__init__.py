"""Chat: end-to-end encrypted direct and group conversations between the people of this SocialHub.

Modules: `models` (tables), `config` (limits, rates), `access` (membership checks, the block hook,
events to members), `conversations` (create, members, roles, flags, the list with unread counts),
`keys` (devices, epochs, wrapped keys), `messages` (send, list / re-sync since an id, edit, delete,
reactions), `receipts` (delivered/read watermarks, typing, presence, privacy settings); `state/`
and `pages/`. The browser half of the encryption is `assets/chat-crypto.js`; its format is pinned
by tests/chat/test_format.py (a Python implementation, and the module itself run under Node).

What end-to-end encryption protects here: message text is encrypted in the browser (AES-256-GCM
with a per-conversation content key, itself wrapped per device with ECDH P-256 + HKDF-SHA-256 +
AES-KW; private keys are non-extractable in IndexedDB). A database dump, a backup, a curious
operator or a compromised database sees ciphertext only, and a member who left or was removed
gets no key for later messages (a new epoch).

What it does not protect (beside Signal's model, honestly):
- Metadata is in the clear: who talks to whom and when, group names, membership, message sizes,
  reaction emoji, receipts, typing and presence.
- There is no forward secrecy or post-compromise security inside an epoch: whoever obtains a
  device's private key (or a content key) reads the whole epoch, past and future, until the
  next member leaves. Signal's double ratchet renews keys with every message; we do not.
- The server hands out public keys and is not verified against them (no safety numbers yet):
  a malicious server could add a device of its own to a user and receive wrapped keys.
- The JavaScript comes from the same server: an operator who ships a changed `chat-crypto.js`
  can read everything typed after that. E2E here protects stored data, not against the host.
- A new browser sees nothing until another browser of the user wraps the keys for it; key
  backup with a passphrase is not built yet.

Other packages may call: `conversations.create_direct`, `conversations.list_conversations`
(acting for a signed-in user) and `access.on_block_check` (the Social package's blocks).
"""
