"""Markup reduced to the text a person reads: what the scorers see, whatever the platform.

Platforms send markup, not words: X escapes ``& < >`` as HTML entities, Steam reviews
are BBCode, Discourse's ``raw`` is Markdown with inline HTML (its ``cooked`` is HTML),
YouTube's ``textDisplay`` is HTML. Scored as they come, ``[h1]``, ``&amp;`` or
``<a href=…>`` are words to the lexical prior, the rules and the embedding, and a quote of
someone else's post counts against the person who quoted it.

Each reader below parses with a well-kept library (Beautiful Soup for HTML, markdown-it-py
for CommonMark, ``bbcode`` for BBCode) and ends in :func:`html_to_text`, so every platform
follows the same conventions:

- a link reads as its text (the address is not words a person wrote);
- an image reads as its ``alt``/``title`` text (Discourse's emoji ``:smile:``) or as
  :data:`IMAGE` when it has none;
- a quote of another post (``<blockquote>``, Discourse's ``<aside class="quote">``,
  BBCode ``[quote]``) is left out: those words are the quoted author's, not this one's;
- block elements and ``<br>`` end a line; runs of spaces collapse.

>>> html_to_text('<p>Tom &amp; Jerry <a href="https://x.test">here</a></p><p>two<br>lines</p>')
'Tom & Jerry here\\ntwo\\nlines'
>>> bbcode_to_text("[h1]Verdict[/h1][b]Great[/b] game. [spoiler]boss dies[/spoiler] [url=https://s.test]guide[/url]")
'Verdict\\nGreat game. boss dies guide'
>>> markdown_to_text("**Bold** claim, see [docs](https://d.test)\\n\\n> quoted troll\\n\\nmy reply")
'Bold claim, see docs\\nmy reply'
>>> unescape_entities("fish &amp; chips &lt;3")
'fish & chips <3'
"""

from __future__ import annotations

import html
import re
from functools import lru_cache

__all__ = ["IMAGE", "QUOTE", "html_to_text", "markdown_to_text", "bbcode_to_text",
           "unescape_entities", "media_placeholder"]

#: what an image without alternative text reads as
IMAGE = "[image]"
#: what a post that only quotes others reads as (quoted words are not the poster's)
QUOTE = "[quote]"

_BLOCK = ("p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table",
          "pre", "hr", "section", "article", "header", "footer", "details", "summary", "dd",
          "dt", "figure", "figcaption")
_SPACES = re.compile(r"[ \t\f\v\u00a0]+")
_MARKUP_HINT = re.compile(r"[<&]")


def unescape_entities(text: str) -> str:
    """HTML character references (``&amp;``, ``&#39;``, ``&lt;``) to characters."""
    return html.unescape(text) if "&" in text else text


def _is_quote(tag) -> bool:
    if tag.name == "blockquote":
        return True
    return tag.name == "aside" and "quote" in (tag.get("class") or ())


def html_to_text(markup: str, *, drop_quotes: bool = True) -> str:
    """The words of an HTML fragment as a person reads them (see the module's rules).

    >>> html_to_text('<aside class="quote"><blockquote>you idiot</blockquote></aside>')
    '[quote]'
    >>> html_to_text('<img src="/e/smile.png" class="emoji" title=":smile:" alt=":smile:"> ok')
    ':smile: ok'
    >>> html_to_text('<img src="/u/cat.png">')
    '[image]'
    """
    if not _MARKUP_HINT.search(markup):
        return _tidy(markup)
    from bs4 import BeautifulSoup  # imported on use: parsing HTML is the rare case

    soup = BeautifulSoup(markup, "html.parser")
    for tag in soup.find_all(["script", "style", "template"]):
        tag.decompose()
    quoted = False
    if drop_quotes:
        for tag in soup.find_all(_is_quote):
            if not tag.decomposed:
                tag.decompose()
                quoted = True
    for img in soup.find_all("img"):
        img.replace_with(f" {(img.get('alt') or img.get('title') or IMAGE).strip()} ")
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for cell in soup.find_all(["td", "th"]):  # cells of a row are words apart
        cell.insert_after(" ")
    for block in soup.find_all(_BLOCK):
        block.insert_before("\n")
        block.insert_after("\n")
    text = _tidy(soup.get_text())
    return text or (QUOTE if quoted else "")


@lru_cache(maxsize=1)
def _markdown():
    from markdown_it import MarkdownIt

    # CommonMark plus what Discourse and GitHub-style editors add (tables, ~~strike~~);
    # inline HTML is allowed because Discourse allows it, and html_to_text reads it
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def markdown_to_text(markdown: str) -> str:
    """CommonMark (with inline HTML) to plain text; BBCode quotes (Discourse's
    ``[quote="name, post:1, topic:2"]…[/quote]``) are dropped like Markdown ones.

    >>> markdown_to_text('[quote="sam, post:3, topic:9"]\\nyou are a clown\\n[/quote]\\n\\nNo, *you* are')
    'No, you are'
    >>> markdown_to_text('[quote="a"]x [quote="b"]y[/quote] z[/quote]ok')
    'ok'
    """
    markdown = _drop_bbcode_quotes(markdown)
    return html_to_text(_markdown().render(markdown))


# a quote with no quote inside it: the innermost, so nested quotes go from the inside out
_BBCODE_QUOTE = re.compile(r"\[quote(?:=[^\]]*)?\](?:(?!\[quote).)*?\[/quote\]",
                           re.IGNORECASE | re.DOTALL)


def _drop_bbcode_quotes(text: str) -> str:
    # innermost first, until none is left: quotes nest
    previous = None
    while previous != text and "[/quote]" in text.lower():
        previous, text = text, _BBCODE_QUOTE.sub("\n<blockquote></blockquote>\n", text)
    return text


@lru_cache(maxsize=1)
def _bbcode():
    import bbcode

    parser = bbcode.Parser(replace_links=False, replace_cosmetic=False, newline="<br>")
    # Steam's tags beyond the library's defaults (steamcommunity.com/comment/Guide/formattinghelp)
    for tag in ("h1", "h2", "h3"):
        parser.add_simple_formatter(tag, f"<{tag}>%(value)s</{tag}>")
    parser.add_simple_formatter("spoiler", "%(value)s")
    parser.add_simple_formatter("strike", "%(value)s")
    parser.add_simple_formatter("olist", "<ol>%(value)s</ol>", transform_newlines=False,
                                strip=True, swallow_trailing_newline=True)
    # the library's [*] is an item only inside [list]; Steam's [olist] has them too
    parser.add_formatter("*", lambda name, value, options, parent, context: f"<li>{value}</li>",
                         newline_closes=True, transform_newlines=False, same_tag_closes=True,
                         strip=True)
    parser.add_simple_formatter("noparse", "%(value)s", render_embedded=False)
    parser.add_simple_formatter("table", "<table>%(value)s</table>")
    for tag in ("tr", "th", "td"):
        parser.add_simple_formatter(tag, f"<{tag}>%(value)s</{tag}>")
    parser.add_simple_formatter("img", f"{IMAGE}", replace_links=False)
    parser.add_simple_formatter("previewyoutube", "[video]", replace_links=False)
    parser.add_simple_formatter("hr", "<hr>", standalone=True)
    return parser


def bbcode_to_text(text: str) -> str:
    """BBCode (Steam reviews, forum posts) to plain text.

    >>> bbcode_to_text("[quote=Gabe]worst game ever[/quote]Disagree.[list][*]fun[*]cheap[/list]")
    'Disagree.\\nfun\\ncheap'
    >>> bbcode_to_text("[noparse][b] is bold[/noparse]")
    '[b] is bold'
    >>> bbcode_to_text("[olist][*]one[*]two[/olist][table][tr][td]24[/td][td]Low[/td][/tr][/table]")
    'one\\ntwo\\n24 Low'
    """
    if "[" not in text:
        return _tidy(unescape_entities(text))
    # the parser escapes what is not markup, so "<3" stays words, not a tag
    return html_to_text(_bbcode().format(text))


def media_placeholder(kind: str, name: str | None = None) -> str:
    """The text a media-only post reads as: a post, not an empty one.

    >>> media_placeholder("photo"), media_placeholder("document", "rules.pdf")
    ('[photo]', '[document: rules.pdf]')
    """
    return f"[{kind}: {name}]" if name else f"[{kind}]"


def _tidy(text: str) -> str:
    lines = (_SPACES.sub(" ", line).strip() for line in text.replace("\r\n", "\n").split("\n"))
    return "\n".join(line for line in lines if line)
