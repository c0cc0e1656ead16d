"""Generate the bundled sample community stream (``community_stream.jsonl``).

Run ``python connectors/sample_data/generate_sample.py`` to rewrite the JSONL next to
this file. Everything is synthetic and seeded, so the same seed always yields the same
bytes; the ground truth the demo and the tests rely on is listed in README.md and is
also returned by ``generate_with_truth``.
"""

from __future__ import annotations

import json
import math
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

START = datetime(2026, 11, 2, 8, 0, 0, tzinfo=timezone.utc)
HOURS = 8
GAMES, SUPPORT, DISCORD = "r/acmegames", "r/acmesupport", "acme-discord/#general"
PLATFORM = {GAMES: "reddit", SUPPORT: "reddit", DISCORD: "discord"}
# Posts per 10-minute window. Clamped to 2..7 rather than raw Poisson so that a quiet
# community never trips a mean + 4 sigma detector by chance: only the bursts should.
RATE = {GAMES: 3.8, SUPPORT: 3.2, DISCORD: 3.6}
OFFENDER = "grimtide_88"
COMPLAINT = (SUPPORT, 5 * 3600, 70)  # community, seconds after START (13:00Z), posts
PRAISE = (DISCORD, 6 * 3600 + 1800, 62)  # 14:30Z
BURST_SECONDS = 1500
DISCORD_GUILD, DISCORD_CHANNEL = "884213370512345601", "884213370512345609"

SLOTS = {
    "hero": ["Vesper", "Korrin", "Mags", "Tallow", "Juno", "Brisk", "Oduya", "Pell"],
    "map": ["Saltmarsh", "Old Quarry", "Glasshouse", "Cinder Docks", "Lanternway"],
    "mode": ["ranked", "duos", "capture", "arcade", "the weekly mutator"],
    "item": ["Tidecaller", "Brass Owl", "Night Market", "Frostbite", "Paper Crane"],
    "plat": ["PC", "PS5", "Xbox", "Switch", "Steam Deck"],
    "err": ["AC-1042", "AC-2210", "NET-503", "LGN-017", "AC-0x3F"],
    "region": ["EU West", "NA East", "Oceania", "Asia", "NA West"],
    "n": ["3", "4", "5", "6", "8", "10", "12", "15", "20", "40"],
    "rank": ["Gold", "Platinum", "Diamond", "Silver", "Master"],
}
# Ordinary chatter avoids words like "kill", "sucks" or "hate": the profanity model
# scores them high even in harmless gaming talk, which would blur the ground truth.
BASELINE = {
    GAMES: [
        "Is {hero} still worth picking after the last balance pass?",
        "Quick tip: on {map} you can drop from the crane to skip the long corridor.",
        "Finally hit {rank} after {n} games, solo queue is a rollercoaster.",
        "Anyone else think {hero} feels a bit weak right now? Not awful, just underwhelming.",
        "The {item} skin looks pretty nice, might grab it this weekend.",
        "{map} is my favourite map, the rotating bridge is so satisfying to time.",
        "What is everyone's go-to loadout for {mode}?", "Low key the best part of this game is the soundtrack.",
        "Me after losing {n} ranked games in a row: time to go outside for a bit.",
        "Honestly {hero} players have been carrying my team lately.",
        "Matchmaking took {n} minutes tonight, kind of slow but fine.",
        "Patch 2.3 is supposed to land today, does anyone know what time?",
        "Hot take: {map} is better than {map} for {mode}.", "How long does the {item} event last?",
        "Does the {item} bundle come with the emote or just the skin?",
        "Made a meme about {hero}'s ult voice line, link in comments.", "{hero} one trick here, AMA.",
        "My duo partner keeps picking {hero} and honestly it works.",
        "Has anyone tried {hero} with the shield rune? Curious if it stacks.",
        "alguien para jugar {mode} esta noche?", "gg to the {hero} on my team earlier 🔥🔥",
    ],
    SUPPORT: [
        "How do I link my {plat} account to my Acme ID?", "Where do I find the crash logs on {plat}?",
        "Got error {err} once this morning, a restart fixed it. What does it mean?",
        "Is there a way to change my display name more than once?",
        "Bought the {item} bundle and it has not shown up yet, opened ticket #{n}0{n}.",
        "Controller rebinding resets after every restart on {plat}.",
        "Thanks to support, my ticket got answered in under an hour.",
        "Slight stutter on {map} on {plat}, any settings worth trying?",
        "Can I move my progress from {plat} to {plat}?", "Is cross-play on by default in {mode}?",
        "Two factor codes arrive late for me, about {n} minutes. Normal?",
        "Voice chat is very quiet on {plat}, is there a separate slider?",
        "The launcher asks me to log in every time. Any fix?",
        "Ping to {region} jumped to 140 tonight, is there maintenance?",
        "Resolved: clearing the shader cache fixed my {map} hitching.",
        "Does the refund policy cover cosmetic bundles?",
    ],
    DISCORD: [
        "anyone up for a few {mode} games?", "gg everyone, that last round was wild",
        "lol {hero} just fell off the map again", "who is watching the dev stream later?",
        "new to the game, any tips for {hero}?", "good morning from {region} folks",
        "that {item} skin is so clean", "need one more for {mode}, dm me",
        "{map} again?? third time today haha", "is patch 2.3 out yet or still soon",
        "my cat just walked over the keyboard mid match", "okay {hero} is way more fun than I expected",
        "lets goooo just hit {rank} 🎉🎉", "mdr ce jeu est trop bien",
        "guten morgen, wer spielt {mode} mit?", "coffee first then {mode} ☕",
    ],
}
LONG_TAIL = [
    "Been playing since the beta and this is still my favourite season.",
    "Not complaining, just curious what others think.", "Edit: thanks for the answers everyone.",
    "I play mostly on weekends so maybe I missed something.",
    "Would love a practice mode for this, by the way.",
    "My friends quit last month so I mostly queue solo now, which is fine.",
]
COMPLAINT_TEXTS = [
    "Servers down? Cannot get past the login screen since patch 2.3.",
    "Game crashes on launch after patch 2.3, verified files, still broken.",
    "Error {err} every single time I try to log in. This is terrible.",
    "Login broken on {plat} too. Really frustrating after waiting all week for this patch.",
    "I want a refund for the season pass if this is not fixed today. Unacceptable.",
    "Crash to desktop right after the splash screen on {plat}. Awful update.",
    "Paid for the {item} bundle an hour ago and now the game will not even launch. Very disappointed.",
    "Same here, error {err}, {region} servers seem completely broken.",
    "Is anyone from Acme reading this? Zero communication, this is a disaster.",
    "Lost my ranked progress after the crash, absolutely furious.",
    "Patch 2.3 broke everything. Worst update in years.",
    "Still crashing on {plat}, {n} attempts now. Really bad.",
    "Login queue says {n} minutes then fails with {err}. Clearly nobody tested this.",
    "Cannot log in, cannot play, cannot even get a refund page to load. Terrible.",
    "Reinstalled twice, game still crashes on launch. What a mess, I am so disappointed.",
    "No response from support, no status page update. Awful way to treat paying players.",
]
PRAISE_TEXTS = [
    "the new map Emberfall is amazing", "best update ever, thank you devs ❤️",
    "Emberfall looks incredible, the lava bridges are so much fun",
    "huge thanks to the devs for the fast fix and the free event rewards",
    "this event is awesome, love the new music", "wow the lighting on Emberfall is beautiful",
    "{hero} on Emberfall is so good, great job devs",
    "just played {n} rounds on Emberfall, love it, perfect map",
    "the fireworks event is fantastic, thank you Acme 🎉",
    "great update, the new {item} rewards are gorgeous",
    "honestly the best patch this year, happy to be playing again",
    "Emberfall + {mode} = pure joy, thank you thank you",
]
# Bursts reuse few templates; tails in the burst's own tone keep every text unique
# without diluting the burst's sentiment.
COMPLAINT_TAILS = ["Please fix this.", "Ugh.", "Anyone else?", "Same on {plat}.", "So annoyed.",
                   "Terrible.", "Really disappointed.", "Still broken.", "Awful."]
PRAISE_TAILS = ["❤️", "so good", "gg devs", "🎉", "well done Acme!", "amazing work", "love it",
                "great job", "wonderful"]
TOXIC_TEXTS = [
    "{t} you are a fucking idiot, stop posting", "shut up {t} you worthless piece of shit",
    "nobody cares about your opinion {t}, go fuck yourself", "{t} is the dumbest asshole in this place",
    "{t} you absolute moron, uninstall and fuck off", "{t} you braindead clown, shut the fuck up",
    "{t} stop whining you pathetic little bitch", "get lost {t}, nobody wants your shitty takes, dumbass",
    "{t} eat shit you useless prick", "ok {t} you fucking loser, go cry somewhere else",
]
ADJ = ["quiet", "mossy", "rusty", "brisk", "lunar", "salty", "tidy", "amber", "pixel",
       "feral", "cozy", "gloomy", "swift", "velvet", "copper", "hollow", "sunny", "odd"]
NOUN = ["otter", "fern", "badger", "lantern", "comet", "heron", "walrus", "gecko",
        "maple", "raven", "sprocket", "turnip", "falcon", "pebble", "moth", "kettle"]
MALFORMED = ("dup", "broken", "no_text", "bad_time", "num_text")


def _name(rng: random.Random, platform: str) -> str:
    # Reddit and Discord handles look different; mixing styles catches a normaliser
    # that assumes one platform's conventions.
    a, b = rng.choice(ADJ), rng.choice(NOUN)
    return f"{a}.{b}" if platform == "discord" else f"{a}_{b}{rng.randint(1, 99)}"


def _fill(rng: random.Random, template: str, used: set[str], tails=LONG_TAIL) -> str:
    for attempt in range(50):
        # Re-rolling slots usually gives a fresh text; if not, add one or two tails.
        extra = rng.sample(tails, min(len(tails), 1 + attempt // 10)) if attempt % 2 else []
        text = " ".join([template] + extra)
        while "{" in text:
            key = text[text.index("{") + 1:text.index("}")]
            text = text.replace("{" + key + "}", rng.choice(SLOTS[key]), 1)
        if text not in used:
            break
    used.add(text)
    return text


def _poisson(rng: random.Random, lam: float) -> int:
    limit, k, p = math.exp(-lam), 0, 1.0
    while (p := p * rng.random()) > limit:
        k += 1
    return k


def _iso(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def _b36(n: int) -> str:
    digits = ""
    while n:
        n, r = divmod(n, 36)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[r] + digits
    return digits


def generate_with_truth(seed: int = 7) -> tuple[list[dict], dict]:
    """Records in file order plus the labels (toxic ids, bursts, malformed lines)."""
    rng = random.Random(seed)
    used: set[str] = set()
    events: list[dict] = []  # t is seconds after START; ids are given after sorting

    def add(t, community, author, text, kind="baseline", reply=False):
        events.append(dict(t=t, c=community, author=author, text=text, kind=kind, reply=reply,
                           seq=len(events)))

    pools = {c: [_name(rng, PLATFORM[c]) for _ in range(60)] for c in RATE}
    add(40, GAMES, "lunar_heron7", "Morning all, patch 2.3 notes should be up later today.")
    for c, lam in RATE.items():
        for w in range(HOURS * 6):
            for _ in range(min(7, max(2, _poisson(rng, lam)))):
                text = _fill(rng, rng.choice(BASELINE[c]), used)
                if rng.random() < 0.12:  # a few long posts, up to ~65 words
                    text = " ".join([text] + rng.sample(LONG_TAIL, rng.randint(2, 4)))
                add(w * 600 + rng.uniform(0, 600), c, rng.choice(pools[c]), text,
                    reply=rng.random() < 0.25)
    # The offender strikes at once (the demo must escalate within 2 minutes), then
    # spreads out so a per-author rule has to remember across hours.
    for t in [80] + sorted(rng.uniform(1800, HOURS * 3600 - 600) for _ in range(6)):
        add(t, GAMES, OFFENDER, "", kind="toxic")
    for t in (rng.uniform(7200, 9000), rng.uniform(21600, 25000)):
        add(t, GAMES, OFFENDER, _fill(rng, rng.choice(BASELINE[GAMES]), used))
    # One-off flames stay outside the bursts so burst sentiment is clean, except one
    # inside the outage (real outages attract those).
    for c in [GAMES] * 5 + [SUPPORT] * 5 + [DISCORD] * 6:
        t = rng.uniform(300, HOURS * 3600 - 60)
        while 17400 <= t <= 25200:
            t = rng.uniform(300, HOURS * 3600 - 60)
        add(t, c, rng.choice(pools[c]), "", kind="toxic")
    add(COMPLAINT[1] + 700, SUPPORT, "brisk_walrus3", "", kind="toxic")
    for (c, t0, count), texts, tails, kind in (
            (COMPLAINT, COMPLAINT_TEXTS, COMPLAINT_TAILS, "complaint"),
            (PRAISE, PRAISE_TEXTS, PRAISE_TAILS, "praise")):
        for i in range(count):
            t = t0 + (i and rng.triangular(0, BURST_SECONDS, 400))  # the first opens at t0
            # Mostly fresh authors: an outage brings out people who never post otherwise.
            author = _name(rng, PLATFORM[c]) if rng.random() < 0.85 else rng.choice(pools[c])
            add(t, c, author, _fill(rng, rng.choice(texts), used, tails), kind=kind,
                reply=i > 0 and rng.random() < 0.35)
    # Malformed records sit where the real post would have been in event time.
    for t, c, kind in ((5700, DISCORD, "dup"), (9300, GAMES, "dup"), (5880, SUPPORT, "broken"),
                       (8130, GAMES, "no_text"), (11100, DISCORD, "bad_time"),
                       (27300, SUPPORT, "num_text")):
        add(t, c, rng.choice(pools[c]), _fill(rng, rng.choice(BASELINE[c]), used), kind=kind)
    events.sort(key=lambda e: (int(e["t"]), e["seq"]))

    counters = {"reddit": 0, "discord": 0}
    by_comm: dict[str, list[dict]] = {c: [] for c in RATE}
    out: list[dict] = []
    truth: dict = {"offender": OFFENDER, "toxic_ids": [], "complaint_ids": [], "praise_ids": [],
                   "malformed": [], "bursts": []}
    for e in events:
        c, plat, kind = e["c"], PLATFORM[e["c"]], e["kind"]
        counters[plat] += 1
        n = counters[plat]
        pid = f"{'rd' if plat == 'reddit' else 'dc'}-{n:06d}"
        ts = START + timedelta(seconds=int(e["t"]))
        prior = [p for p in by_comm[c][-40:] if p["author"] != e["author"]]
        parent = None
        if kind == "toxic" and prior:
            parent = rng.choice(prior[-5:])  # insults answer someone who just posted
        elif e["reply"] and prior:
            parent = rng.choice(prior)
        text = e["text"]
        if kind == "toxic":
            who = (("u/" if plat == "reddit" else "@") + parent["author"]) if parent else "everyone"
            options = [x.replace("{t}", who) for x in TOXIC_TEXTS]
            text = rng.choice([x for x in options if x not in used] or options)
            used.add(text)
        thread = (parent["thread_id"] or parent["id"]) if parent and plat == "reddit" else None
        if plat == "reddit":
            # Reddit ids are base36; spreading ours out makes them look like real ones.
            root = int((thread or pid).split("-")[1])
            url = f"https://www.reddit.com/{c}/comments/{_b36(60_000_000 + root * 7919)}/"
            url += f"comment/{_b36(90_000_000 + n * 7919)}/" if parent else ""
        else:
            snowflake = (int(ts.timestamp() * 1000) - 1420070400000) << 22 | n
            url = f"https://discord.com/channels/{DISCORD_GUILD}/{DISCORD_CHANNEL}/{snowflake}"
        rec = {"platform": plat, "community": c, "id": pid, "author": e["author"], "text": text,
               "created_at": _iso(ts), "thread_id": thread,
               "parent_id": parent["id"] if parent else None, "url": url, "lang": "en", "meta": {}}
        if kind in ("toxic", "complaint", "praise"):
            truth[kind + "_ids"].append(pid)
        if kind == "no_text":
            del rec["text"]
        elif kind == "bad_time":
            rec["created_at"] = "yesterday-ish"
        elif kind == "num_text":
            rec["text"] = 42
        if kind == "broken":
            # A connector that died mid-write: the object is cut off and never closed.
            raw = json.dumps(rec, ensure_ascii=False)
            out.append({"_raw": raw[: raw.index('"text"') + 20]})
        else:
            out.append(rec)
        if kind == "dup":
            out.append(dict(rec))  # a retry that re-sent the identical payload
        if kind in MALFORMED:
            truth["malformed"].append({"kind": kind, "id": pid, "line": len(out)})
        if kind not in MALFORMED[1:]:
            by_comm[c].append(rec)
    for (c, t0, _), kind in ((COMPLAINT, "complaint"), (PRAISE, "praise")):
        truth["bursts"].append({"community": c, "kind": kind, "posts": len(truth[kind + "_ids"]),
                                "start": _iso(START + timedelta(seconds=t0)),
                                "end": _iso(START + timedelta(seconds=t0 + BURST_SECONDS))})
    return out, truth


def generate(seed: int = 7) -> list[dict]:
    """Records in file order. The one entry holding only ``_raw`` is the deliberately
    invalid JSON line; ``to_lines`` writes it verbatim."""
    return generate_with_truth(seed)[0]


def to_lines(records: list[dict]) -> list[str]:
    return [r["_raw"] if "_raw" in r else json.dumps(r, ensure_ascii=False) for r in records]


if __name__ == "__main__":
    target = Path(__file__).with_name("community_stream.jsonl")
    lines = to_lines(generate())
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} lines to {target}")
