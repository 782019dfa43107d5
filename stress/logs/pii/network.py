"""E-mail addresses, IP addresses (v4 and v6), MAC addresses, and the personal parts of
URLs (path segments after a user/profile segment, query values)."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import parse_qsl

from stress.logs.pii.common import Span

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}\b")
_IPV4 = re.compile(r"(?<![0-9])(?<![0-9]\.)(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?![0-9])(?!\.[0-9])")
_IPV6 = re.compile(
    r"(?<![\w:.])(?=[0-9A-Fa-f:.]*::|(?:[0-9A-Fa-f]{1,4}:){2})[0-9A-Fa-f:.]{2,44}[0-9A-Fa-f](?![\w:]|\.\w)"
)
_MAC = re.compile(
    r"(?<![\w:-])[0-9A-Fa-f]{2}([:-])(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}(?![\w:-])"
    r"|(?<![\w.])[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}(?![\w.])"
)
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"'`]+[^\s<>\"'`.,;:!?)\]]")
# Path segments after one of these name a person or an account.
_PERSONAL_SEGMENT = re.compile(
    r"^(?:u|user|users|profile|profiles|people|person|member|members|customer|customers|"
    r"account|accounts|patient|patients|employee|employees|staff|author|@.*|~.*)$",
    re.IGNORECASE,
)
_PERSONAL_KEY = re.compile(
    r"(?:user|username|login|name|email|mail|phone|tel|uid|userid|id|token|session|sid|"
    r"account|customer|member|profile|ref|q|query|search|address|dob)$",
    re.IGNORECASE,
)
# Query values that are not personal: short words and numbers a site uses for paging.
_HARMLESS_VALUE = re.compile(r"^(?:[a-z]{1,12}|[0-9]{1,3}|true|false)$")

DOCUMENTATION_NETS = tuple(
    ipaddress.ip_network(net)
    for net in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
)


def emails(text: str) -> list[Span]:
    if "@" not in text:
        return []
    return [Span(m.start(), m.end(), "email") for m in _EMAIL.finditer(text)]


def ips(text: str) -> list[Span]:
    spans = []
    if "." in text:
        for m in _IPV4.finditer(text):
            if _personal_ip(m.group(0)):
                spans.append(Span(m.start(), m.end(), "ip", "4"))
    if ":" in text:
        for m in _IPV6.finditer(text):
            written = m.group(0)
            if _personal_ip(written):
                spans.append(Span(m.start(), m.end(), "ip", "6"))
    return spans


def _personal_ip(written: str) -> bool:
    try:
        address = ipaddress.ip_address(written)
    except ValueError:
        return False
    if address.is_unspecified or address.is_loopback:
        return False
    return not any(address in net for net in DOCUMENTATION_NETS if net.version == address.version)


def macs(text: str) -> list[Span]:
    if ":" not in text and "-" not in text and "." not in text:
        return []
    return [Span(m.start(), m.end(), "mac") for m in _MAC.finditer(text)]


def urls(text: str) -> list[Span]:
    """The personal parts of each URL: one span per path segment after a personal segment
    and per query or fragment value that is more than a short word or number."""
    if "http" not in text and "www." not in text:
        return []
    spans = []
    for m in _URL.finditer(text):
        url, base = m.group(0), m.start()
        rest = url.split("//", 1)[1] if "//" in url else url
        offset = len(url) - len(rest)
        host_end = next((i for i, c in enumerate(rest) if c in "/?#"), len(rest))
        host = rest[:host_end]
        if "@" in host:  # user:password@host
            spans.append(Span(base + offset, base + offset + host.index("@"), "url"))
        position = offset + host_end
        path, _, query = url[position:].partition("?")
        personal = False
        index = position
        for segment in path.split("/"):
            if segment and (personal or segment[0] in "@~"):
                spans.append(Span(base + index, base + index + len(segment), "url"))
            personal = bool(segment) and _PERSONAL_SEGMENT.match(segment) is not None
            index += len(segment) + 1
        if query:
            index = position + len(path) + 1
            for pair in re.split(r"[&#;]", query):
                key, _, value = pair.partition("=")
                start = index + len(key) + 1
                index += len(pair) + 1
                personal_key = _PERSONAL_KEY.match(key) is not None
                if value and parse_qsl(pair) and (personal_key or not _HARMLESS_VALUE.match(value)):
                    spans.append(Span(base + start, base + start + len(value), "url"))
    return spans
