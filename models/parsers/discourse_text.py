"""What a Discourse post says, as a reader of the topic sees it.

A post's ``raw`` is what its author typed: Markdown with inline HTML, BBCode quotes of
other posts (``[quote="sam, post:3, topic:7"]``) and uploads written as
``![name|690x388](upload://hash.png)`` (an image; ``|video``/``|audio`` for those) or
``[report.pdf|attachment](upload://hash.pdf)``. It is read with
:func:`models.plain_text.markdown_to_text` after each upload becomes a placeholder
(``[image]``, ``[video]``, ``[attachment: report.pdf]``): an image's alt text is its
file name, not words. Without ``raw`` (a ``/t/{id}.json`` post stream), ``cooked`` (the
HTML Discourse rendered) is read the same way: a lightbox (an uploaded image with its
file name and size beneath) is ``[image]``, an emoji its ``:name:``, a onebox (a link's
preview: another site's words) and a quote are left out.

>>> raw_text('![image|690x388](upload://a1b2.png)')
'[image]'
>>> raw_text('[quote="sam, post:2, topic:7"]\\nyou clown\\n[/quote]\\n\\n**No** <b>you</b> :smile:')
'No you :smile:'
>>> cooked_text('<div class="lightbox-wrapper"><a class="lightbox" href="/u/a.png">'
...     '<img src="/u/a.png" alt="image" width="690"><div class="meta">'
...     '<span class="filename">image</span><span class="informations">690×388 12 KB'
...     '</span></div></a></div>')
'[image]'
"""

from __future__ import annotations

import re

from models.plain_text import IMAGE, html_to_text, markdown_to_text, media_placeholder

__all__ = ["raw_text", "cooked_text", "quote_count"]

# ![alt|690x388](upload://x.png), ![alt|video](upload://x.mp4), [f.pdf|attachment](upload://y)
_UPLOAD = re.compile(r"(!?)\[([^\]|]*)((?:\|[^\]]*)?)\]\(upload://[^)]*\)")
_QUOTE_OPEN = re.compile(r"\[quote(?:=[^\]]*)?\]", re.I)


def _upload(m: re.Match) -> str:
    bang, name, options = m.group(1), m.group(2).strip(), m.group(3).lower()
    if "video" in options:
        return media_placeholder("video")
    if "audio" in options:
        return media_placeholder("audio")
    if bang:
        return IMAGE
    return media_placeholder("attachment", name or None)


def raw_text(raw: str) -> str:
    """A post's ``raw`` Markdown as the words its author wrote."""
    return markdown_to_text(_UPLOAD.sub(_upload, raw))


def cooked_text(cooked: str) -> str:
    """A post's ``cooked`` HTML as the words its author wrote."""
    if "<" not in cooked:
        return html_to_text(cooked)
    from bs4 import BeautifulSoup  # as plain_text does: only when there is markup

    soup = BeautifulSoup(cooked, "html.parser")
    for box in soup.find_all("aside", class_="onebox"):
        box.decompose()
    for wrapper in soup.select("div.lightbox-wrapper"):
        wrapper.replace_with(f" {IMAGE} ")  # the image, its file name and its size
    for video in soup.select("div.video-placeholder-container, video"):
        if not video.decomposed:
            video.replace_with(f" {media_placeholder('video')} ")
    for img in soup.find_all("img"):
        if "emoji" not in (img.get("class") or ()):
            img.replace_with(f" {IMAGE} ")  # an upload's alt is its file name
    return html_to_text(str(soup))


def quote_count(raw: str) -> int:
    """How many posts a ``raw`` quotes (BBCode quotes, nested ones included).

    >>> quote_count('[quote="a, post:1, topic:2"][quote="b"]x[/quote][/quote] y')
    2
    """
    return len(_QUOTE_OPEN.findall(raw))
