"""Sentiment of a post: VADER's compound score in [-1, 1].

VADER is a lexicon and rule model built for social media text (emoji, caps, "!!!").
Trend classification uses it to tell a complaint burst from a praise burst.

vaderSentiment 3.3 is written for clarity, not speed: it lower-cases the post again for
every word it looks at (its negation and idiom checks made the cost grow with the square
of the post's length), runs each word through five function calls even when the word is
not in its lexicon (most words are not), and copies the text character by character to
find emoji. On the bench corpus (3-120 words) it held 40 % of a non-ML worker's CPU.
:class:`FastVader` computes the same compound score (tests compare it exactly with the
library's on thousands of posts) in one pass over one lower-cased copy, visiting only
the words the lexicon knows; the library's own lexicon, emoji table and constants are
used, so an upgrade of vaderSentiment is tested, not silently forked.

>>> s = SentimentScorer()
>>> s.score_batch(["best update ever, thank you devs!", "servers down again, refund me"])[0] > 0.5
True
>>> FastVader().compound("The movie was NOT good at all!!")  # as the library scores it
-0.457
"""

from __future__ import annotations

import string
from typing import Optional, Sequence

__all__ = ["SentimentScorer", "FastVader"]

_PUNCTUATION = string.punctuation


class SentimentScorer:
    version = "vader-3.3"

    def __init__(self) -> None:
        self._analyzer = None

    def load(self) -> "SentimentScorer":
        if self._analyzer is None:
            self._analyzer = FastVader()
        return self

    def score_batch(self, texts: Sequence[str]) -> list[float]:
        self.load()
        compound = self._analyzer.compound
        return [compound(t) for t in texts]


class FastVader:
    """``compound(text)``: vaderSentiment's ``polarity_scores(text)["compound"]``.

    Loads the library's lexicon (about 0.1 s) when built, never at import.
    """

    def __init__(self) -> None:
        from vaderSentiment import vaderSentiment as vs

        self._vs = vs
        self._analyzer = analyzer = vs.SentimentIntensityAnalyzer()
        self.lexicon: dict = analyzer.lexicon
        self.emojis: dict = analyzer.emojis
        self._emoji_chars = frozenset(k for k in self.emojis if len(k) == 1)
        self._booster: dict = vs.BOOSTER_DICT
        self._special: dict = vs.SPECIAL_CASES
        self._negate = frozenset(vs.NEGATE)
        self._n_scalar, self._c_incr = vs.N_SCALAR, vs.C_INCR
        self._but_check = vs.SentimentIntensityAnalyzer._but_check
        # Words that can change a lexicon word's valence within three words of it: the
        # modifiers (negations, boosters, "no", "least", "never so"...) and every word of
        # a multi-word idiom or booster phrase. A lexicon word with none of them around
        # it scores its lexicon value (and the capitals rule), which is most of them.
        phrases = [k for k in [*self._special, *self._booster] if " " in k]
        self._modifiers = frozenset(
            [*self._negate, *self._booster, *(w for k in phrases for w in k.split()),
             "no", "least", "so", "this", "never", "without", "doubt"])

    def compound(self, text: str) -> float:
        if not self._emoji_chars.isdisjoint(text):
            text = self._describe_emoji(text)
        text = text.strip()
        # trailing and leading punctuation goes, unless that leaves an emoticon's stub
        words = [w if len(s := w.strip(_PUNCTUATION)) <= 2 else s for w in text.split()]
        if not words:
            return 0.0
        lower = [w.lower() for w in words]
        lexicon, booster, modifiers = self.lexicon, self._booster, self._modifiers
        n = len(words)
        cap_diff = self._vs.allcap_differential(words)
        hit: Optional[list] = None  # per word: a modifier or phrase word
        # (position, valence) of the words VADER scores; every other word scores 0
        valences = []
        for i, low in enumerate(lower):
            if low in lexicon and low not in booster and not (
                    low == "kind" and i < n - 1 and lower[i + 1] == "of"):
                if hit is None:
                    hit = [w in modifiers or "n't" in w for w in lower]
                # words i-3 .. i+2 are every word the library's checks of word i read
                if low == "no" or any(hit[max(0, i - 3):i + 3]):
                    valences.append((i, self._valence(i, words, lower, cap_diff)))
                else:
                    valences.append((i, self._shouted(lexicon[low], words[i], cap_diff)))
        if "but" in lower:  # the library's contrastive rule, quirks included, on its list
            sentiments: list = [0] * n
            for i, v in valences:
                sentiments[i] = v
            total = float(sum(self._but_check(words, sentiments)))
        else:
            total = float(sum(v for _, v in valences))
        if total:
            emphasis = self._analyzer._punctuation_emphasis(text)
            total = total + emphasis if total > 0 else total - emphasis
        return round(self._vs.normalize(total), 4)

    # -- one lexicon word, as SentimentIntensityAnalyzer.sentiment_valence -----------------
    def _valence(self, i: int, words: list, lower: list, cap_diff: bool) -> float:
        lexicon, n_scalar = self.lexicon, self._n_scalar
        low = lower[i]
        valence = lexicon[low]
        if low == "no" and i != len(words) - 1 and lower[i + 1] in lexicon:
            valence = 0.0
        if ((i > 0 and lower[i - 1] == "no") or (i > 1 and lower[i - 2] == "no")
                or (i > 2 and lower[i - 3] == "no" and lower[i - 1] in ("or", "nor"))):
            valence = lexicon[low] * n_scalar
        valence = self._shouted(valence, words[i], cap_diff)
        for start in range(3):
            j = i - (start + 1)
            if i > start and lower[j] not in lexicon:
                s = self._vs.scalar_inc_dec(words[j], valence, cap_diff)
                if start == 1 and s != 0:
                    s = s * 0.95
                if start == 2 and s != 0:
                    s = s * 0.9
                valence = self._negation(valence + s, lower, start, i)
                if start == 2:
                    valence = self._idioms(valence, lower, i)
        return self._analyzer._least_check(valence, words, i)

    def _negated(self, low: str) -> bool:
        return low in self._negate or "n't" in low

    def _shouted(self, valence: float, word: str, cap_diff: bool) -> float:
        # a word in capitals among words that are not: stronger either way
        if cap_diff and word.isupper():
            return valence + self._c_incr if valence > 0 else valence - self._c_incr
        return valence

    # The library's own negation and idiom checks lower-case the whole post on every call
    # (the cost that grew with the square of the post's length); these two read the one
    # lower-cased copy. The other checks are the library's functions, called as they are.
    def _negation(self, valence: float, w: list, start: int, i: int) -> float:
        n_scalar = self._n_scalar
        if start == 0:
            if self._negated(w[i - 1]):
                valence = valence * n_scalar
        elif start == 1:
            if w[i - 2] == "never" and (w[i - 1] == "so" or w[i - 1] == "this"):
                valence = valence * 1.25
            elif w[i - 2] == "without" and w[i - 1] == "doubt":
                pass
            elif self._negated(w[i - 2]):
                valence = valence * n_scalar
        else:
            # the library's operator precedence, kept: (never and (so|this)) or (so|this)
            if (w[i - 3] == "never" and (w[i - 2] == "so" or w[i - 2] == "this")
                    or (w[i - 1] == "so" or w[i - 1] == "this")):
                valence = valence * 1.25
            elif w[i - 3] == "without" and (w[i - 2] == "doubt" or w[i - 1] == "doubt"):
                pass
            elif self._negated(w[i - 3]):
                valence = valence * n_scalar
        return valence

    def _idioms(self, valence: float, w: list, i: int) -> float:
        special, booster = self._special, self._booster
        onezero = f"{w[i - 1]} {w[i]}"
        twoonezero = f"{w[i - 2]} {w[i - 1]} {w[i]}"
        twoone = f"{w[i - 2]} {w[i - 1]}"
        threetwoone = f"{w[i - 3]} {w[i - 2]} {w[i - 1]}"
        threetwo = f"{w[i - 3]} {w[i - 2]}"
        for seq in (onezero, twoonezero, twoone, threetwoone, threetwo):
            if seq in special:
                valence = special[seq]
                break
        if len(w) - 1 > i:
            zeroone = f"{w[i]} {w[i + 1]}"
            if zeroone in special:
                valence = special[zeroone]
        if len(w) - 1 > i + 1:
            zeroonetwo = f"{w[i]} {w[i + 1]} {w[i + 2]}"
            if zeroonetwo in special:
                valence = special[zeroonetwo]
        for n_gram in (threetwoone, threetwo, twoone):
            if n_gram in booster:
                valence = valence + booster[n_gram]
        return valence

    def _describe_emoji(self, text: str) -> str:
        # the library's rule: each emoji becomes its description, a space before it
        # unless one is already there, none after it
        out, prev_space = [], True
        for ch in text:
            description = self.emojis.get(ch)
            if description is not None:
                if not prev_space:
                    out.append(" ")
                out.append(description)
                prev_space = False
            else:
                out.append(ch)
                prev_space = ch == " "
        return "".join(out)
