"""langid.py's language model, run on a batch of posts at once.

py3langid identifies a text by walking its UTF-8 bytes through a DFA (one Python step
per byte) to count byte n-gram features, then scores them by naive Bayes against a
float16 table. Per post that cost 0.3 ms on a 360-byte post, the largest share of a
non-ML worker's CPU: the walk (80 us), widening the table's rows to float32 for the
product (50 us), and ranking 97 languages in a sorted dict (90 us) when Vigil needs two
numbers: the first language and English's probability.

:class:`BatchLanguageModel` gives the same two numbers, to the bit (tests compare them
with ``LanguageIdentifier.rank``):

* the DFA is walked for every post of a batch together, one numpy step per byte
  position (posts sorted by length, so little padding is walked);
* features are counted in the order the walk first meets them, as ``Counter`` does, so
  the product adds the same floats in the same order;
* the table is widened to float32 once (58 MB, against 29 MB as float16);
* only the argmax and English's column are read.

>>> model = BatchLanguageModel.load()
>>> [first for first, _ in model.first_and_english(["the servers are down again tonight",
...                                                  "los servidores no funcionan otra vez"])]
['en', 'es']
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["BatchLanguageModel"]

#: posts walked together; the step's fixed cost is shared by this many posts
WALK_BATCH = 64
#: fewer posts than this are walked byte by byte in Python (measured: below about 20 posts
#: the numpy step's fixed cost outweighs what it saves)
MIN_VECTOR_WALK = 24


class BatchLanguageModel:
    """``first_and_english(texts) -> [(first language, P(English))]``, as
    ``LanguageIdentifier(norm_probs=True).rank`` orders them."""

    def __init__(self, identifier) -> None:
        self._identifier = identifier
        # the library's transition table as it is (a view: 39 MB not copied); row offsets
        # and letters fit in 32 bits (104,583 states << 8)
        self._next = np.frombuffer(identifier.tk_nextmove, dtype=identifier.tk_nextmove.typecode)
        self._rowbase = np.asarray(identifier._rowbase, dtype=np.int32)
        self._output = np.asarray(identifier.tk_output, dtype=np.int32)
        self._table = np.asarray(identifier.nb_ptc, dtype=np.float32)
        self._prior = identifier.nb_pc
        self._classes = list(identifier.nb_classes)
        self._english = self._classes.index("en")
        self._aliases = list(identifier._alias_pairs)

    @classmethod
    def load(cls) -> "BatchLanguageModel":
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        return cls(LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True))

    def first_and_english(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        encoded = [self._identifier._encode(t) for t in texts]
        out: list = [None] * len(texts)
        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
        for start in range(0, len(order), WALK_BATCH):
            chunk = order[start:start + WALK_BATCH]
            batch = [encoded[i] for i in chunk]
            for i, decided in zip(chunk, self._decide(batch, self._walk(batch))):
                out[i] = decided if decided is not None else self._alone(texts[i])
        return out

    def _walk(self, batch: list[bytes]) -> np.ndarray:
        """The feature (or -1) the DFA emits after each byte of each post: a row per post,
        -1 after its end."""
        width = max(len(b) for b in batch)
        if len(batch) < MIN_VECTOR_WALK:
            return self._walk_each(batch, width)
        letters = np.zeros((width, len(batch)), dtype=np.int32)  # a row per byte position
        for col, b in enumerate(batch):
            letters[:len(b), col] = np.frombuffer(b, dtype=np.uint8)
        states = np.empty((width, len(batch)), dtype=np.uint32)
        state = np.zeros(len(batch), dtype=np.uint32)
        nxt, rowbase = self._next, self._rowbase
        for pos in range(width):
            state = nxt[rowbase[state] + letters[pos]]
            states[pos] = state
        emitted = self._output[states].T
        emitted[np.arange(width)[None, :] >= np.array([len(b) for b in batch])[:, None]] = -1
        return emitted

    def _walk_each(self, batch: list[bytes], width: int) -> np.ndarray:
        nxt, rowbase, output = (self._identifier.tk_nextmove, self._identifier._rowbase,
                                self._identifier.tk_output)
        emitted = np.full((len(batch), width), -1, dtype=np.int32)
        for row, b in enumerate(batch):
            state, found = 0, []
            for letter in b:
                state = nxt[rowbase[state] + letter]
                found.append(output[state])
            emitted[row, :len(b)] = found
        return emitted

    def _decide(self, batch: list[bytes], emitted: np.ndarray) -> list:
        """(first, P(English)) per post, None for a post without any feature."""
        # each post's features in the order the walk first met them, with their counts:
        # keys (post, feature) in reading order, grouped by a stable sort, whose group's
        # first member is the first sighting
        width, n_features = emitted.shape[1], len(self._table)
        flat = emitted.ravel()
        where = np.flatnonzero(flat >= 0)
        keys = (where // width) * n_features + flat[where].astype(np.int64)
        if not len(keys):
            return [None] * len(batch)
        order = np.argsort(keys, kind="stable")
        grouped = keys[order]
        starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]])
        first_sighting = np.zeros(len(keys), dtype=bool)
        first_sighting[order[starts]] = True
        counts_at = np.zeros(len(keys), dtype=np.float32)
        counts_at[order[starts]] = np.diff(np.r_[starts, len(keys)])
        post, feature = np.divmod(keys[first_sighting], n_features)
        counts = counts_at[first_sighting]
        bounds = np.searchsorted(post, np.arange(len(batch) + 1))
        scores = np.zeros((len(batch), len(self._classes)), dtype=np.float32)
        weights = np.log1p(counts)
        for row in range(len(batch)):
            lo, hi = bounds[row], bounds[row + 1]
            if hi > lo:  # one product per post: the same additions in the same order
                scores[row] = weights[lo:hi] @ self._table[feature[lo:hi]] + self._prior
        # softmax at temperature sqrt(bytes), as the library calibrates it
        lengths = np.maximum([len(b) for b in batch], 1)
        scores *= (1.0 / np.sqrt(lengths))[:, None].astype(np.float32)
        np.exp(scores - scores.max(axis=1, keepdims=True), out=scores)
        scores /= scores.sum(axis=1, keepdims=True)
        for i, j in self._aliases:  # a script alias (srl -> sr) folds into its label
            scores[:, i] += scores[:, j]
            scores[:, j] = 0.0
        firsts = scores.argmax(axis=1)
        return [(self._classes[first], float(scores[row, self._english]))
                if bounds[row + 1] > bounds[row] else None
                for row, first in enumerate(firsts.tolist())]

    def _alone(self, text: str) -> tuple[str, float]:
        # nothing to count: the library's own fallback
        ranked = self._identifier.rank(text)
        return ranked[0][0], next(p for code, p in ranked if code == "en")
