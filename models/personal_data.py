"""Personal-data detectors for :class:`models.rules.RuleScorer`: e-mail, phone, card,
IPv4 and street-address shapes.

These are not one regex each, unlike the rules in :mod:`models.rule_patterns`: cards need
a Luhn check and a plausible grouping, phones a digit count per numbering plan, and
business lines, role mailboxes and private IPs weigh less than a person's own. Hits are
``(start, end, category, rule_id, weight)`` tuples, as in :mod:`models.rules`.
"""

from __future__ import annotations

import ipaddress
import re


def luhn_valid(number: str) -> bool:
    """Luhn checksum over the digits of ``number`` (separators ignored).

    >>> luhn_valid("79927398713"), luhn_valid("79927398710")
    (True, False)
    """
    digits = [ord(c) - 48 for c in number if "0" <= c <= "9"]
    if not digits:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,24}(?![\w-])")
_ROLE_MAILBOX = re.compile(
    r"(?:support|help|info|contact|admin|noreply|no-reply|press|sales|hello|team|abuse"
    r"|security|privacy|legal|billing|feedback|jobs|careers|webmaster|postmaster|community"
    r"|moderators?|mods)(?:[.+-]\w*)?")

# _CARD opens with a character class and checks the character before it in a lookbehind
# *after* it: sre then skips ahead to the next digit instead of trying the lookbehind at
# every position (5x faster on ordinary posts). _PHONE and _CARD only run on posts
# with a run of three digits at all.
_PHONE = re.compile(
    r"(?=[+(0-9])(?<![0-9a-z+.,/#-])(?:"
    r"(?P<intl>\+[0-9]{1,3}[ .-]?\(?[0-9]{1,4}\)?(?:[ .-]?[0-9]{2,5}){1,4})"
    r"|(?P<us>\([0-9]{3}\)[ .-]?[0-9]{3}[ .-][0-9]{4}|[0-9]{3}[.-][0-9]{3}[.-][0-9]{4})"
    r"|(?P<uk>0[1-9][0-9]{1,3}[ -]?[0-9]{3,4}[ -]?[0-9]{3,4})"
    r")(?![0-9]|[.,/-][0-9])")
_CARD = re.compile(r"[0-9](?<![0-9.,][0-9])(?<![0-9][ -][0-9])(?:[ -]?[0-9]){12,18}"
                   r"(?![0-9]|[ -][0-9])")
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(r"(?<![\w.])" + rf"(?:{_OCTET}\.){{3}}{_OCTET}" + r"(?![\w]|\.[0-9])")
_BUSINESS_LINE = re.compile(r"(?:\+?1)?8(?:00|88|77|66|55|44|33)[0-9]{7}$"
                            r"|(?:\+44|0)(?:80[08]|84[345]|87[0-3]|3[0-9]{2})")
_DIGIT_RUN3 = re.compile(r"[0-9]{3}")
_DOTTED_QUAD = re.compile(r"[0-9]\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]")
_STREET_SUFFIX = ("street", "st", "avenue", "ave", "road", "rd", "lane", "ln", "drive", "dr",
                  "boulevard", "blvd", "court", "ct", "place", "pl", "terrace", "way",
                  "close", "crescent", "square", "sq", "highway", "hwy", "parkway", "pkwy")
# Run on the original text: a capitalised name ("221B Baker Street") is what tells an
# address from "3 more ways"; lowercase names only count with an unambiguous suffix.
_ADDRESS = re.compile(
    r"\b[0-9]{1,5}[A-Za-z]?(?:\s+[A-Z][a-zA-Z'.-]*){1,3}\s+(?i:" + "|".join(_STREET_SUFFIX)
    + r")\b(?!['-])")
_ADDRESS_LOWER = re.compile(
    r"\b[0-9]{1,5}[a-z]?\s+(?:(?!(?:the|a|an|of|on|in|to|down|up|miles?|km|kms|minutes?"
    r"|mins?|blocks?|hours?|more|other|this|that|my|your|our|their|his|her|from|off|across"
    r"|along|by|at|and|or|lane|lanes|way|ways|times?|laps?)\b)[a-z][a-z'-]*\s+){1,2}"
    r"(?:street|avenue|road|lane|drive|boulevard)\b", re.IGNORECASE)


def number_hits(low: str, norm: str, tokens: set[str], hits: list[tuple]) -> None:
    """Append card, phone, IPv4 and street-address hits in ``low``/``norm`` to ``hits``."""
    taken: list[tuple[int, int]] = []
    # Every card and phone shape has a run of three digits; most posts with digits
    # ("patch 2.3", "3-1") have none, and skip both scans.
    runs = _DIGIT_RUN3.search(low) is not None
    for m in _CARD.finditer(low) if runs else ():
        if _plausible_card(m.group()):
            hits.append((m.start(), m.end(), "personal_data", "pii:card", 0.9))
            taken.append(m.span())
    for m in _PHONE.finditer(low) if runs else ():
        digits = sum(ch.isdigit() for ch in m.group())
        kind = m.lastgroup
        ok = ((kind == "intl" and 8 <= digits <= 15) or (kind == "us" and digits == 10)
              or (kind == "uk" and digits in (10, 11)))
        if ok and not any(s < m.end() and m.start() < e for s, e in taken):
            # A toll-free or shared-cost line is a business's, not a person's.
            w = 0.35 if _BUSINESS_LINE.match(re.sub(r"[^0-9+]", "", m.group())) else 0.75
            hits.append((m.start(), m.end(), "personal_data", "pii:phone", w))
    if _DOTTED_QUAD.search(low):
        for m in _IPV4.finditer(low):
            if low[max(0, m.start() - 3):m.start()].endswith(("//", "@")):
                continue  # the host of a URL: a server, handled as a link
            w = 0.7 if ipaddress.ip_address(m.group()).is_global else 0.35
            hits.append((m.start(), m.end(), "personal_data", "pii:ip-address", w))
    if not tokens.isdisjoint(_STREET_SUFFIX):
        seen = set()
        for rx in (_ADDRESS, _ADDRESS_LOWER):
            for m in rx.finditer(norm):
                if m.span() not in seen:
                    seen.add(m.span())
                    hits.append((m.start(), m.end(), "personal_data", "pii:address", 0.7))


def _plausible_card(candidate: str) -> bool:
    digits = "".join(ch for ch in candidate if ch.isdigit())
    if not 13 <= len(digits) <= 19 or digits[0] not in "23456":
        return False
    groups = re.split(r"[ -]+", candidate)
    if len(groups) > 1:
        lengths = [len(g) for g in groups]
        if lengths not in ([4, 6, 5], [4, 6, 4]) and not (
                all(n == 4 for n in lengths[:-1]) and 1 <= lengths[-1] <= 4):
            return False
        if all(len(g) == 4 and "1900" <= g <= "2099" for g in groups):
            return False  # a list of years
    return len(set(digits)) > 1 and luhn_valid(digits)
