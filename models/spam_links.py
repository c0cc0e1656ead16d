"""Link checks for :class:`models.rules.RuleScorer`: shorteners, suspicious TLDs, IP
URLs, brand look-alikes ("disc0rd-nitro.gift") and link floods.

A link's verdict depends only on its host and on the scorer's trusted domains, so it is
cached per host in a :class:`LinkChecker`; each scorer owns one. Hits are
``(start, end, category, rule_id, weight)`` tuples, as in :mod:`models.rules`.
"""

from __future__ import annotations

import re
from typing import Iterable

from models import lexicons as lx

_DOMAINISH = re.compile(r"[a-z0-9]\.[a-z]|://")
_URL = re.compile(
    r"(?:https?://|www\.)[^\s<>\"'`]+"
    r"|(?<![\w@.\-/])(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+"
    r"(?:" + "|".join(sorted(lx.BARE_TLDS, key=len, reverse=True)) + r")(?![\w@-])"
    r"(?:[/?#:][^\s<>\"'`]*)?")
_IP_HOST = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")
_EVERYONE = re.compile(r"@(?:everyone|here)\b")
_SKELETON = str.maketrans("0134578@$|l", "oieastbasii")
_SKELETON_PAIRS = (("rn", "m"), ("vv", "w"), ("cl", "d"))


def _skeleton(label: str) -> str:
    s = label.translate(_SKELETON)
    for a, b in _SKELETON_PAIRS:
        s = s.replace(a, b)
    return s


def _osa_distance(a: str, b: str, limit: int) -> int:
    """Edit distance with adjacent transpositions; stops early once above ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


def _registrable(host: str) -> str:
    labels = host.split(".")
    if (len(labels) >= 3 and len(labels[-1]) == 2
            and labels[-2] in ("co", "com", "net", "org", "gov", "ac", "edu")):
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def _url_host(url: str) -> str:
    rest = url.split("://", 1)[1] if "://" in url else url
    host = re.split(r"[/?#]", rest, maxsplit=1)[0]
    host = host.rsplit("@", 1)[-1].split(":", 1)[0].strip(".")
    return host[4:] if host.startswith("www.") else host


class LinkChecker:
    """Per-scorer link state: trusted and official domains, brand skeletons and a bounded
    cache of host verdicts (cleared when it reaches ``cache_limit``)."""

    def __init__(self, trusted_domains: Iterable[str], cache_limit: int):
        self._trusted = frozenset(lx.TRUSTED_DOMAINS) | {
            d.strip().lower().removeprefix("www.") for d in trusted_domains}
        self._official = frozenset(d for ds in lx.BRANDS.values() for d in ds)
        self._brands = tuple((name, _skeleton(name)) for name in lx.BRANDS)
        self._bait = tuple(lx.BAIT_WORDS)
        self._host_cache: dict[str, tuple[bool, tuple[tuple[str, float], ...]]] = {}
        self._cache_limit = cache_limit

    def find(self, low: str, hits: list[tuple]) -> None:
        """Append spam hits for the links in ``low`` to ``hits``."""
        untrusted = []
        for m in _URL.finditer(low):
            url = m.group().rstrip(".,!?;:)]}'\"")
            host = _url_host(url)
            if not host:
                continue
            trusted, verdicts = self._host_verdict(host)
            end = m.start() + len(url)
            for rule, weight in verdicts:
                hits.append((m.start(), end, "spam", rule, weight))
            if not trusted:
                untrusted.append((m.start(), end))
        if len(untrusted) >= 3:
            w = min(0.6 + 0.05 * (len(untrusted) - 3), 0.8)
            hits.append((untrusted[0][0], untrusted[-1][1], "spam", "spam:many-links", w))
        if untrusted:
            m = _EVERYONE.search(low)
            if m:
                hits.append((m.start(), m.end(), "spam", "spam:everyone-link", 0.6))

    def _host_verdict(self, host: str) -> tuple[bool, tuple[tuple[str, float], ...]]:
        cached = self._host_cache.get(host)
        if cached is not None:
            return cached
        reg = _registrable(host)
        trusted = reg in self._trusted or host in self._trusted
        official = reg in self._official or host in self._official
        verdicts = []
        if _IP_HOST.fullmatch(host):
            verdicts.append(("spam:ip-url", 0.7))
        elif not trusted:
            if host in lx.SHORTENERS or reg in lx.SHORTENERS:
                verdicts.append(("spam:shortener", 0.6))
            if host.rsplit(".", 1)[-1] in lx.SUSPICIOUS_TLDS:
                verdicts.append(("spam:suspicious-tld", 0.6))
            if not official and self._lookalike(host, reg):
                verdicts.append(("spam:lookalike", 0.85))
        result = (trusted or official, tuple(verdicts))
        if len(self._host_cache) >= self._cache_limit:
            self._host_cache.clear()
        self._host_cache[host] = result
        return result

    def _lookalike(self, host: str, reg: str) -> bool:
        labels = host.split(".")[:-1]
        if reg.count(".") == 2:  # "steamcommunity.com.ru": com is part of the suffix
            labels = labels[:-1]
        parts = set(labels)
        for label in labels:
            parts.update(label.split("-"))
        skeletons = {_skeleton(p) for p in parts if p}
        joined = _skeleton("".join(labels))
        bait = any(b in host for b in self._bait)
        for brand, skel in self._brands:
            for s in skeletons:
                if s == skel:  # the brand itself (or a leetspeak spelling) off its domains
                    return True
                # One or two typos; short brands only exact, "finance" is not "binance".
                limit = 1 if len(skel) < 10 else 2
                if len(skel) >= 7 and brand != "binance" and _osa_distance(s, skel, limit) <= limit:
                    return True
            if bait and skel in joined:  # "discordnitro", "steampowered-gift"
                return True
        return "nitro" in host and any(b in host for b in ("free", "gift", "claim", "promo",
                                                            "drop"))
