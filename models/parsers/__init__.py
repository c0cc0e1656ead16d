"""Every payload format Vigil reads, and the parser that maps it to canonical post fields.

A connector produces each payload to ``posts.raw`` exactly as the platform sent it, with
its format in the ``vigil-format`` header (a payload without one is ``vigil``).
:class:`models.normalize.Normalizer` looks the format up in :data:`FORMATS`, calls its
parser and then holds the result to the rules every platform shares (types, sizes,
timestamps, pseudonymisation).

A parser takes the payload's JSON object and returns the canonical fields
(:data:`~models.parsers.vigil.CANONICAL_FIELDS`; ``created_at`` in whatever form the
platform uses); for a valid platform event that is not a post (a deletion, a moderator's
action, a join) it returns ``{"event": kind, ...}`` with a kind of
:data:`models.normalize.PLATFORM_EVENTS`; for a payload it cannot read, ``{}`` or fields
that fail validation, so the normaliser dead-letters it with the reason. Parsers are pure
functions of the payload: they do no I/O, and nothing here imports ``connectors``,
``agents``, ``streams`` or a client library, so the normalisation logic can be used (and
tested) without them.

A new format is a module here and one line in :data:`FORMATS`.

>>> sorted(FORMATS)
['discord', 'discourse', 'reddit', 'steam', 'telegram', 'twitch', 'vigil', 'x', 'youtube']
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from models.parsers import (discord, discourse, reddit, steam, telegram, twitch, vigil, x,
                            youtube)
from models.parsers.vigil import CANONICAL_FIELDS

__all__ = ["FORMATS", "FormatParser", "CANONICAL_FIELDS"]

FormatParser = Callable[[Mapping[str, Any]], dict]

#: The ``vigil-format`` header's value -> the parser of that format.
FORMATS: Mapping[str, FormatParser] = {
    "vigil": vigil.parse_vigil,
    "reddit": reddit.parse_reddit,
    "discourse": discourse.parse_discourse,
    "discord": discord.parse_discord,
    "x": x.parse_x,
    "steam": steam.parse_steam,
    "youtube": youtube.parse_youtube,
    "twitch": twitch.parse_twitch,
    "telegram": telegram.parse_telegram,
}
