"""The benchmark's corpus: realistic-looking posts written here (no real user data).

3–120 words, twelve communities on two platforms, ~3 % toxic (so escalations happen),
~5 % exact duplicates of earlier texts (spam and raids repeat themselves).
"""

from __future__ import annotations

import json
import random
import time

WORDS = ("the patch broke my saves again support never answers refund please love this "
         "update great work devs servers down lag spike raid incoming free skins thanks "
         "mods ridiculous game best community ever login screen crash after the new map "
         "matchmaking queue is slow tonight event rewards look amazing").split()
TOXIC = ("you fucking idiot", "shut up moron", "go fuck yourself loser",
         "what a pathetic little bitch", "you braindead clown")
# Twelve communities, three per partition of a 4-partition topic (murmur2 of the key), so
# that a second worker gets an equal share in the scale-out measurement.
COMMUNITIES = (("reddit", "r/acmegames"), ("reddit", "r/acmeart"), ("discord", "acme-discord/#help"),
               ("reddit", "r/acmecompetitive"), ("discord", "acme-discord/#bugs"),
               ("discord", "acme-discord/#art"), ("reddit", "r/acmesupport"),
               ("reddit", "r/acmelore"), ("reddit", "r/acmetrading"),
               ("discord", "acme-discord/#general"), ("discord", "acme-discord/#lfg"),
               ("discord", "acme-discord/#trading"))


def make_corpus(n: int, seed: int = 7, start: float | None = None) -> tuple[list[bytes], list[bytes]]:
    """(payloads in Vigil's JSON format, keys) for ``n`` posts one second apart."""
    rng = random.Random(seed)
    t0 = (start if start is not None else time.time()) - n
    texts: list[str] = []
    values, keys = [], []
    for i in range(n):
        platform, community = COMMUNITIES[i % len(COMMUNITIES)]
        roll = rng.random()
        if roll < 0.03:
            text = f"u/user{rng.randint(1, 50)} {rng.choice(TOXIC)}"
        elif roll < 0.08 and texts:
            text = rng.choice(texts)
        else:
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 120)))
        texts.append(text)
        values.append(json.dumps({
            "platform": platform, "community": community, "id": f"bench-{seed}-{i}",
            "author": f"user{rng.randint(1, 400)}", "created_at": t0 + i,
            "text": text}).encode())
        keys.append(community.encode())
    return values, keys


def texts_of(values: list[bytes]) -> list[str]:
    return [json.loads(v)["text"] for v in values]
