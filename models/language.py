"""Which language a post is written in, and whether Vigil's English-only scorers can read it.

The lexical prior (alt-profanity-check), the rule patterns, VADER sentiment and the
prototype sentences are English. A post in another language gets low scores from all of
them because they find no word they know, not because it is harmless: scoring it as if
it were English under-scores it silently. So each post gets a language, and a post in a
language outside :data:`SUPPORTED` is *marked* (``lang_supported = false`` on
``posts.scored``, an explanation, the ``vigil_posts_scored_total`` count by language)
for a person who reads it, instead of being passed as clean.

Where the language comes from:

1. the platform, when it says (X's ``lang``, Steam's review language): authoritative,
   except X's pseudo-codes for "no language" (``und``, ``zxx``, ``art``, ``qme``…);
2. otherwise langid.py's model (``py3langid``: offline, bundled; run a batch at a time by
   :mod:`models.langid_batch`, 0.09 ms a post in batches of 64, 0.3 ms with the library's
   own per-post call), on the text without links, mentions and hashtag signs (which are
   words of no language).
   What matters is "can the English scorers read it?", so a post is English when English
   is the model's first choice, another language when English is nearly excluded
   (probability <= :data:`MAX_ENGLISH_PROBABILITY`; the code is then the model's first
   choice), and :data:`UNDETERMINED` otherwise or with too few letters to tell ("gg ez",
   "lol"): scored as English, the best Vigil has, and counted as ``und``.

Measured with ``python -m bench.languages`` on ``../shared/data`` (labelled English
tweets: Davidson et al., 24,783; TweetEval hate, 9,000; and CrisisLexT26 events in
Spain, Italy, Brazil and Guatemala, 1,000-1,050 tweets each, mostly Spanish, Italian and
Portuguese): 0.5 % and 0.3 % of the English tweets are called another language (7.3 %
and 2.6 % undetermined); of the four events' tweets 59-81 % are called another language
and 1.2-3.6 % undetermined. Requiring the model's own confidence (>= 0.9) instead left
43-76 % of those events' tweets undetermined, so they would have been scored as English.

>>> detector = LanguageDetector()
>>> detector.language("Das ist wirklich ein schlechtes Spiel, ihr seid alle Idioten")
'de'
>>> detector.language("gg ez")
'und'
>>> detector.language("anything", given="es"), detector.language("https://t.co/x", given="zxx")
('es', 'und')
>>> is_supported("en"), is_supported("und"), is_supported("de")
(True, True, False)
"""

from __future__ import annotations

import re
from typing import Optional, Sequence

__all__ = ["LanguageDetector", "SUPPORTED", "UNDETERMINED", "MIN_LETTERS", "MAX_ENGLISH_PROBABILITY",
           "is_supported", "normalize_code"]

#: languages every scorer reads (rules, lexical prior, VADER, prototypes)
SUPPORTED = frozenset({"en"})
#: too short, mixed or unsure: scored as English, counted as its own value
UNDETERMINED = "und"
#: fewer letters than this and the model guesses (measured: see the module docstring)
MIN_LETTERS = 12
#: another language only when the model gives English at most this probability
MAX_ENGLISH_PROBABILITY = 0.02

# X: und (undetermined), zxx (no linguistic content), art (emoji, "artificial"), and
# qme/qht/qam/qct/qst (only media, hashtags, mentions, cashtags, very short)
_NO_LANGUAGE = re.compile(r"^(und|zxx|art|mis|mul|q[a-t][a-z])$")
_NOT_WORDS = re.compile(r"https?://\S+|www\.\S+|[@#]\w+|\bRT\b|&\w+;|\[[^\]]{0,40}\]")


def normalize_code(code: Optional[str]) -> Optional[str]:
    """A platform's language tag as a lower-case primary subtag; None for "no language".

    >>> normalize_code("pt-BR"), normalize_code("EN"), normalize_code("qme"), normalize_code("")
    ('pt', 'en', None, None)
    """
    if not code or not isinstance(code, str):
        return None
    primary = code.strip().replace("_", "-").split("-", 1)[0].lower()
    if not primary.isalpha() or not 2 <= len(primary) <= 3 or _NO_LANGUAGE.match(primary):
        return None
    return primary


def is_supported(lang: str) -> bool:
    """Whether the English-only scorers can be trusted on a post of this language."""
    return lang in SUPPORTED or lang == UNDETERMINED


class LanguageDetector:
    """Language of a post's text: ``language(text, given=None) -> code``, or
    ``languages(texts, given)`` for a batch (the model runs on the batch at once:
    :mod:`models.langid_batch`).

    The model loads on first use (about a second), never at import.
    """

    def __init__(self, min_letters: int = MIN_LETTERS,
                 max_english_probability: float = MAX_ENGLISH_PROBABILITY):
        self.min_letters = min_letters
        self.max_english_probability = max_english_probability
        # min_letters letters with anything between them: found without listing them all
        more = r"(?:[\W\d_]*[^\W\d_]){%d}" % (min_letters - 1) if min_letters > 1 else ""
        self._enough_letters = re.compile(r"[^\W\d_]" + more)
        self._model = None

    def load(self) -> None:
        if self._model is None:
            from models.langid_batch import BatchLanguageModel

            self._model = BatchLanguageModel.load()

    def language(self, text: str, given: Optional[str] = None) -> str:
        return self.languages([text], [given])[0]

    def languages(self, texts: Sequence[str], given: Sequence[Optional[str]]) -> list[str]:
        out: list = [None] * len(texts)
        todo, words = [], []
        for i, (text, platform) in enumerate(zip(texts, given)):
            platform_says = normalize_code(platform)
            if platform_says:
                out[i] = platform_says
                continue
            cleaned = _NOT_WORDS.sub(" ", text)
            if self.min_letters > 0 and not self._enough_letters.search(cleaned):
                out[i] = UNDETERMINED
                continue
            todo.append(i)
            words.append(cleaned)
        if todo:
            self.load()
            for i, (first, english) in zip(todo, self._model.first_and_english(words)):
                if first == "en":
                    out[i] = "en"
                else:
                    out[i] = first if english <= self.max_english_probability else UNDETERMINED
        return out
