"""URL normalisation: one spelling per page, so one item per story link across every source.

`normalize_url` is deliberately conservative: it only removes differences that never change
which page a server returns (case of scheme and host, default ports, fragments, the order of
query parameters, tracking parameters, percent-encoding case, dot segments, a trailing slash).
It is idempotent: normalising a normalised URL returns it unchanged.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

# Query parameters that only say where a click came from. Compared case-insensitively.
TRACKING_PARAMS: frozenset[str] = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid",
        "ttclid", "li_fat_id", "igshid", "igsh", "mc_cid", "mc_eid", "ref", "ref_src", "ref_url",
        "referrer", "_hsenc", "_hsmi", "__hssc", "__hstc", "__hsfp", "hsctatracking", "mkt_tok",
        "_ga", "_gl", "oly_anon_id", "oly_enc_id", "vero_id", "vero_conv", "wickedid", "s_cid",
        "cmpid", "ocid", "sr_share", "spm", "scid", "ncid", "rb_clickid", "trk", "trkcampaign",
        "at_medium", "at_campaign", "cvid", "si", "share_id", "xtor",
    }
)
# Any parameter starting with one of these is tracking (utm_source, utm_medium, pk_campaign…).
TRACKING_PREFIXES: tuple[str, ...] = ("utm_", "pk_", "mtm_", "matomo_", "hmb_", "ga_", "itm_")

_DEFAULT_PORTS = {"http": 80, "https": 443}
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")


def is_tracking_param(name: str) -> bool:
    """True for query parameters that only track the click (utm_*, fbclid, gclid, ref…)."""
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def normalize_url(url: str) -> str:
    """Return the canonical spelling of an http(s) URL, used as the item's unique key.

    Lower-cases scheme and host (IDN hosts become punycode), drops default ports, the fragment
    and tracking parameters, sorts the remaining query parameters, upper-cases percent escapes
    and decodes the ones that need none, resolves `.`/`..` segments and removes the trailing
    slash (the bare host has an empty path). `//host/path` is taken as https. Other schemes
    (mailto:, urn:, tag:) are returned stripped of surrounding whitespace only.
    """
    url = url.strip()
    if url.startswith("//"):
        url = "https:" + url
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return url

    host = _normalize_host(parts.hostname)
    try:
        port = parts.port
    except ValueError:  # a port that is not a number: leave the URL alone rather than guess
        return url
    netloc = host
    if parts.username is not None:
        userinfo = parts.username + (f":{parts.password}" if parts.password is not None else "")
        netloc = f"{userinfo}@{host}"
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"

    path = _normalize_percent(_remove_dot_segments(parts.path or "/"))
    path = path.rstrip("/")

    query = ""
    if parts.query:
        pairs = [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if k and not is_tracking_param(k)
        ]
        pairs.sort()
        query = urlencode(pairs, quote_via=quote, safe="-._~!$'()*,;:@/?")
    return urlunsplit((scheme, netloc, path, query, ""))


def _normalize_host(host: str) -> str:
    host = host.lower().rstrip(".")
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def _normalize_percent(path: str) -> str:
    def fix(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else "%" + match.group(1).upper()

    return _PERCENT.sub(fix, path)


def _remove_dot_segments(path: str) -> str:
    if "." not in path:
        return path
    output: list[str] = []
    segments = path.split("/")
    for segment in segments:
        if segment == ".":
            continue
        if segment == "..":
            if len(output) > 1:
                output.pop()
            continue
        output.append(segment)
    result = "/".join(output)
    if segments[-1] in (".", ".."):
        result += "/"
    return result if result.startswith("/") else "/" + result
