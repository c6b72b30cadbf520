"""Chat's limits, and its rates registered with `core.ratelimit`.

`core.ratelimit.check` only knows the actions in its `RATES`; Chat adds its own there at import
(`setdefault`, so `RATE_LIMITS` in the environment still overrides them). A
`ratelimit.register(action, rate, what)` in core would be the cleaner seam.
"""

from __future__ import annotations

import re

from socialhub.core import ratelimit

MAX_CIPHERTEXT_CHARS = 65_536  # base64 of the encrypted JSON: about 16,000 characters of text
MAX_WRAPPED_KEY_CHARS = 200
MAX_GROUP_MEMBERS = 256
MAX_TITLE_CHARS = 100
PAGE = 50  # messages per load
ONLINE_SECONDS = 60  # seen this recently = online

RATES = {
    "chat_messages": "60/minute",  # sends and edits, per user
    "chat_conversations": "30/hour",  # new conversations, per user
    "chat_typing_signals": "30/minute",  # typing events, per user
}
for _action, _rate in RATES.items():
    ratelimit.RATES.setdefault(_action, _rate)

BASE64 = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")
