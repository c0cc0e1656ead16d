"""What a Telegram message says, as a person reads it in the app.

A Bot API Message carries its words in ``text`` or, under a photo, video, document or
voice note, in ``caption``; its markup (bold, links, mentions, custom emoji) is
``entities``/``caption_entities`` beside plain text, so the text needs no unescaping.
A message can be media alone: a photo, a voice note, a sticker, a location. That is
still someone posting something, so it reads as a placeholder (``[photo]``, ``[voice]``,
``[sticker: 😂]``), after the caption when there is one, never as empty text.

>>> message_text({"photo": [{"file_id": "a"}], "caption": "new map"})
('new map [photo]', 'photo')
>>> message_text({"animation": {"file_name": "x.mp4"}, "document": {"file_name": "x.mp4"}})
('[animation]', 'animation')
>>> message_text({"venue": {"title": "Main Hall"}, "location": {"latitude": 1.0}})
('[location: Main Hall]', 'venue')
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

from models.plain_text import media_placeholder

__all__ = ["MEDIA", "message_text", "entity_types"]

#: media kinds in the order they are looked for: ``animation`` and ``venue`` first,
#: because Telegram sends a GIF with a ``document`` too and a venue with a ``location``
MEDIA = ("animation", "photo", "video", "video_note", "voice", "audio", "document",
         "sticker", "venue", "location", "contact", "poll", "dice", "game", "story",
         "paid_media", "invoice", "checklist")
_LABEL = {"video_note": "video note", "paid_media": "paid media", "venue": "location"}


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _name(kind: str, media: Any) -> Optional[str]:
    """The part of a placeholder a person sees in the app (never a person's name or
    number: a shared contact reads as ``[contact]``)."""
    m = _mapping(media)
    if kind == "document":
        return m.get("file_name")
    if kind == "audio":
        return m.get("title") or m.get("file_name")
    if kind == "sticker":
        return m.get("emoji")  # what a sticker says: the emoji it was filed under
    if kind == "dice":
        return m.get("emoji")
    if kind in ("venue", "game"):
        return m.get("title")
    return None


def _poll(poll: Mapping[str, Any]) -> str:
    """A poll is the words its author typed: the question and the options."""
    options = [o.get("text") for o in poll.get("options") or () if isinstance(o, Mapping)]
    return "\n".join(str(t) for t in (poll.get("question"), *options) if t)


def _checklist(checklist: Mapping[str, Any]) -> str:
    tasks = [t.get("text") for t in checklist.get("tasks") or () if isinstance(t, Mapping)]
    return "\n".join(str(t) for t in (checklist.get("title"), *tasks) if t)


def message_text(msg: Mapping[str, Any]) -> tuple[Any, Optional[str]]:
    """(text, media kind) of a Message: its text, else its caption followed by the
    placeholder of its media. A ``text`` or ``caption`` of a type other than a string is
    returned as it is, so validation names it (``wrong_type``).

    >>> message_text({"text": "hi"})
    ('hi', None)
    >>> message_text({"voice": {"duration": 3}})
    ('[voice]', 'voice')
    >>> message_text({"poll": {"question": "Refund?", "options": [{"text": "yes"}]}})
    ('Refund?\\nyes', 'poll')
    """
    kinds = [k for k in MEDIA if k in msg]
    kind = kinds[0] if kinds else None
    if "text" in msg:
        return msg["text"], kind
    caption = msg.get("caption")
    if caption is not None and not isinstance(caption, str):
        return caption, kind
    if kind is None:
        return caption, None
    if kind == "poll":
        words = _poll(_mapping(msg["poll"]))
    elif kind == "checklist":
        words = _checklist(_mapping(msg["checklist"]))
    else:
        words = media_placeholder(_LABEL.get(kind, kind), _name(kind, msg[kind]))
    parts = [p for p in ((caption or "").strip(), words) if p]
    return " ".join(parts) if parts else media_placeholder(kind), kind


def entity_types(msg: Mapping[str, Any]) -> list[str]:
    """The kinds of markup in the text or caption (``url``, ``mention``, ``custom_emoji``):
    meta only, since the text already reads as the app shows it.

    >>> entity_types({"caption": "see t.me/x", "caption_entities": [
    ...     {"type": "url", "offset": 4, "length": 6}, {"type": "bold", "offset": 0, "length": 3}]})
    ['bold', 'url']
    """
    entities = msg.get("entities") if "text" in msg else msg.get("caption_entities")
    return sorted({str(e.get("type")) for e in entities or () if isinstance(e, Mapping)})

