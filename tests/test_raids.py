"""RaidDetector on constructed event-time streams."""

from __future__ import annotations

import json
import random

import pytest

from models.raids import (RaidDetector, RaidParams, RaidState, jaccard, normalise_text,
                          shingles)

T0 = 1_793_606_400.0  # 2026-11-02T08:00:00Z
DAY = 86400.0
PARAMS = RaidParams()
T_EVENT = T0 + 2 * DAY + 3600.0  # the constructed event, after two days of history

WORDS = """
patch server lag ranked queue match team build map update season skin drop rate
event boss raid guild trade price market gold craft quest level grind loot chest
weapon armor shield sword bow magic spell heal tank support jungle mid lane top
bot carry nerf buff meta tier list guide tips stream clip highlight replay bug
crash fix login error refund ticket support mod rules ban report toxic chat voice
friend invite group party clan war score rank elo mmr placement reset weekend
morning tonight yesterday finally again still never always maybe honestly really
great awful funny weird broken amazing boring solid fair unfair smooth laggy
""".split()


def chatter(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 14)))


def ordinary(rng: random.Random, start: float, end: float, pool: int = 200,
             mean_gap: float = 90.0, newcomers_per_day: int = 0, tag: str = "o") -> list:
    """Posts from a stable author pool, plus a trickle of organic newcomers."""
    posts, t, i = [], start, 0
    while True:
        t += rng.expovariate(1 / mean_gap)
        if t >= end:
            break
        posts.append((t, f"{tag}{i}", f"u{rng.randrange(pool)}", chatter(rng)))
        i += 1
    n_new = int(newcomers_per_day * (end - start) / DAY)
    for k in range(n_new):
        t0 = rng.uniform(start, end)
        for j in range(rng.randint(1, 3)):
            posts.append((t0 + j * rng.uniform(30, 600), f"{tag}n{k}-{j}", f"{tag}new{k}",
                          chatter(rng)))
    return posts


EMOJI = ["🔥", "🔥🔥", "🚀", "💯", "👉", "😂", "❤️", "", ""]


def slogan(rng: random.Random) -> str:
    """One copy of a spam slogan, with the small edits raiders make to dodge filters."""
    words = "join our discord server now free nitro for everyone who joins today".split()
    if rng.random() < 0.3:  # a word dropped
        del words[rng.randrange(len(words))]
    if rng.random() < 0.3:  # a word added
        words.insert(rng.randrange(len(words)), rng.choice(["guys", "pls", "fr", "asap"]))
    if rng.random() < 0.3:  # a stretched word
        k = rng.randrange(len(words))
        words[k] += words[k][-1] * rng.randint(1, 4)
    words = [w.upper() if rng.random() < 0.3 else w for w in words]
    code = "".join(rng.choice("abcdefghjkmnpqrstuvwxyz0123456789") for _ in range(6))
    k = rng.randrange(2, len(words))
    words.insert(k, rng.choice(["discord.gg/", "https://discord.gg/"]) + code)
    mention = rng.choice(["", "@everyone ", "<@1234567> ", "@mods "])
    return (mention + rng.choice(EMOJI) + " ".join(words) + "!" * rng.randint(0, 4)
            + " " + rng.choice(EMOJI) + (str(rng.randint(1, 999)) if rng.random() < 0.3 else ""))


def raid(rng: random.Random, start: float, accounts: int = 30, span: float = 600.0,
         authors: list | None = None, text=slogan, tag: str = "r") -> list:
    """Each account posts once or twice within ``span`` seconds of ``start``."""
    authors = authors or [f"{tag}acct{i}" for i in range(accounts)]
    posts = []
    for i, a in enumerate(authors):
        for j in range(rng.choice([1, 1, 2])):
            posts.append((start + rng.uniform(0, span), f"{tag}{i}-{j}", a, text(rng)))
    return posts


def run(posts, state=None, detector=None):
    detector = detector or RaidDetector(PARAMS)
    state = state if state is not None else RaidState()
    out = []
    for ts, pid, author, text in posts:
        out += [(ts, s) for s in detector.observe(state, ts, pid, author, text)]
    return out, state


def history(seed: int, end: float = T_EVENT + 3 * 3600.0) -> tuple[random.Random, list]:
    rng = random.Random(seed)
    return rng, ordinary(rng, T0, end, newcomers_per_day=20)


# -- normalisation --------------------------------------------------------------------

def test_normalisation_matches_edited_copies():
    a = normalise_text("JOIN discord.gg/xyz NOW!!!")
    assert a == normalise_text("join  discord.gg/abc now!") == normalise_text(
        "Join https://discord.gg/Q9x7 NOWWW ‼️ @everyone 42")
    assert normalise_text("🔥🔥🔥 free NITRO 🔥") == normalise_text("🔥️ free nitro 🔥🏻")
    rng = random.Random(0)
    copies = [shingles(normalise_text(slogan(rng))) for _ in range(50)]
    sims = [jaccard(copies[0], c) for c in copies[1:]]
    assert sum(s >= PARAMS.similarity for s in sims) >= 40
    chats = [shingles(normalise_text(chatter(rng))) for _ in range(50)]
    assert max(jaccard(chats[0], c) for c in chats[1:]) < PARAMS.similarity


# -- (a) ordinary traffic ----------------------------------------------------------------

@pytest.mark.parametrize("seed", [1, 2, 3])
def test_ordinary_traffic_is_silent(seed):
    _, posts = history(seed)
    posts.sort()
    signals, state = run(posts)
    assert signals == []
    assert state.warm and len(state.authors) > 200  # pool plus organic newcomers


# -- (b) a raid -----------------------------------------------------------------------

@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_raid_one_rising_then_resolved(seed):
    rng, posts = history(seed)
    attack = raid(rng, T_EVENT)
    posts = sorted(posts + attack)
    signals, state = run(posts)
    assert [s.state for _, s in signals] == ["rising", "resolved"]
    (t_rise, rising), (t_res, resolved) = signals
    raid_end = max(t for t, *_ in attack)
    assert T_EVENT <= t_rise <= T_EVENT + 600.0
    assert rising.first_seen == t_rise and T_EVENT <= rising.window_start <= t_rise
    assert rising.posts >= PARAMS.min_posts and rising.authors >= PARAMS.min_authors
    assert rising.similarity >= PARAMS.similarity
    assert all(pid.startswith("r") for pid in rising.exemplar_post_ids)
    assert "discord" in rising.exemplar_text.lower()
    assert 0.5 < rising.new_author_share <= 1.0
    # resolved: the first post more than a window after the raid's last matching post
    assert resolved.last_seen + PARAMS.window_s < t_res < raid_end + PARAMS.window_s + 1800.0
    assert raid_end - 300.0 <= resolved.last_seen <= raid_end
    assert resolved.raid_id == rising.raid_id and resolved.window_start == rising.window_start
    assert 0.6 * len(attack) <= resolved.posts <= len(attack)
    assert 20 <= resolved.authors <= 30
    assert not state.active


def test_raid_id_is_stable_and_community_independent():
    rng = random.Random(7)
    posts = sorted(ordinary(rng, T0, T_EVENT + 3600.0) + raid(rng, T_EVENT))
    a, _ = run(posts)
    b, _ = run(posts)  # another community, same stream: same id
    assert a[0][1].raid_id == b[0][1].raid_id and a[0][1].raid_id.startswith("raid-")


def test_two_raids_two_ids():
    rng = random.Random(8)
    posts = ordinary(rng, T0, T_EVENT + 6 * 3600.0)
    posts = sorted(posts + raid(rng, T_EVENT, tag="r") + raid(rng, T_EVENT + 3 * 3600.0, tag="s"))
    signals, _ = run(posts)
    assert [s.state for _, s in signals] == ["rising", "resolved", "rising", "resolved"]
    assert signals[0][1].raid_id != signals[2][1].raid_id


def test_silent_authors_count_as_new():
    """Dormant accounts woken up for a brigade look like newcomers."""
    p = RaidParams(silent_s=2 * DAY, warmup_s=DAY / 2)
    rng = random.Random(9)
    sleepers = [f"sleeper{i}" for i in range(30)]
    posts = [(T0 + 60.0 * i, f"z{i}", a, chatter(rng)) for i, a in enumerate(sleepers)]
    posts += ordinary(rng, T0, T0 + 4 * DAY, pool=100)
    posts += raid(rng, T0 + 3 * DAY, authors=sleepers)
    signals, _ = run(sorted(posts), detector=RaidDetector(p))
    assert [s.state for _, s in signals] == ["rising", "resolved"]


# -- (c), (d): look-alikes that are not raids ---------------------------------------------

def meme(rng: random.Random) -> str:
    return rng.choice(["this is fine 🔥", "This is fine!!", "this is fine. 🔥🔥"]) + \
        " dog in the burning room again" + rng.choice(["", " lol", " 😂"])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_known_authors_sharing_an_in_joke_is_not_a_raid(seed):
    rng, posts = history(seed)
    regulars = [f"u{i}" for i in rng.sample(range(200), 30)]
    posts = sorted(posts + raid(rng, T_EVENT, authors=regulars, text=meme, tag="m"))
    signals, _ = run(posts)
    assert signals == []


GREETING = ["hi everyone", "hello all", "hey folks", "good evening from berlin",
            "first post here", "long time lurker", "just joined", "howdy", "greetings",
            "hey there", "yo", "hello from brazil"]
REASON = ["the new release looks amazing", "a friend told me about the update",
          "saw the trailer on youtube", "bought the game on sale yesterday",
          "my brother plays this every night", "the patch notes got me curious",
          "came over from the old forum", "heard the ranked mode finally got fixed",
          "streamers keep talking about the new map", "got it as a birthday gift",
          "the soundtrack convinced me", "read a review in a magazine"]
QUESTION = ["any tips for beginners?", "which class should I pick?",
            "is solo queue friendly?", "where do I find the guides?",
            "are there any EU guilds recruiting?", "how long is the campaign?",
            "is controller support good?", "what settings for a laptop?",
            "do you recommend the tutorial?", "can I play with friends on console?",
            "what's the best starter weapon?", "is the discord active?"]


def welcome(rng: random.Random) -> str:
    return f"{rng.choice(GREETING)}! {rng.choice(REASON)}, {rng.choice(QUESTION)}"


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_newcomers_with_varied_welcomes_are_not_a_raid(seed):
    rng, posts = history(seed)
    posts = sorted(posts + raid(rng, T_EVENT, text=welcome, tag="w"))
    signals, _ = run(posts)
    assert signals == []


def test_short_generic_newcomer_posts_are_not_clustered():
    rng, posts = history(4)
    posts = sorted(posts + raid(rng, T_EVENT, text=lambda r: r.choice(["hi!", "hello", "hey all"]),
                                tag="h"))
    signals, _ = run(posts)
    assert signals == []


# -- (e) cold start ---------------------------------------------------------------------

@pytest.mark.parametrize("seed", [1, 2])
def test_cold_start_raid_is_not_signalled(seed):
    rng = random.Random(seed)
    posts = sorted(raid(rng, T0) + ordinary(rng, T0, T0 + 2 * DAY))
    signals, state = run(posts)
    assert signals == []
    assert state.warm  # and once warm, raiders seen during the warm-up are members


def test_warm_up_needs_time_and_posts():
    d, s = RaidDetector(PARAMS), RaidState()
    for i in range(1000):  # 1000 posts in ten minutes: busy, but no history yet
        d.observe(s, T0 + i * 0.6, f"p{i}", f"a{i}", "hello")
    assert not s.warm
    d.observe(s, T0 + DAY, "late", "a0", "hello")
    assert s.warm


# -- (f) persistence --------------------------------------------------------------------

@pytest.mark.parametrize("cut_offset", [-1800.0, 120.0, 400.0, 900.0, 2000.0])
def test_json_round_trip_mid_stream_gives_identical_signals(cut_offset):
    rng, posts = history(11)
    posts = sorted(posts + raid(rng, T_EVENT) + raid(rng, T_EVENT, text=welcome, tag="w"))
    reference, _ = run(posts)
    assert [s.state for _, s in reference] == ["rising", "resolved"]
    cut = next(i for i, p in enumerate(posts) if p[0] >= T_EVENT + cut_offset)
    detector = RaidDetector(PARAMS)
    first, state = run(posts[:cut], detector=detector)
    restored = RaidState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert restored.to_dict() == state.to_dict()
    second, _ = run(posts[cut:], state=restored, detector=RaidDetector(PARAMS))
    assert first + second == reference


def test_from_dict_empty():
    assert RaidState.from_dict(None).to_dict() == RaidState().to_dict()
    assert RaidState.from_dict({}).active is False


# -- (g) bounded memory ----------------------------------------------------------------

def test_tracked_authors_stay_bounded():
    p = RaidParams()
    d, s = RaidDetector(p), RaidState()
    rng = random.Random(5)
    topics = [chatter(rng) for _ in range(20)]
    for i in range(100_000):
        d.observe(s, T0 + i * 2.0, f"p{i}", f"a{i}", topics[i % 20] + f" #{i}")
        assert len(s.authors) <= p.max_authors_tracked
    assert len(s.authors) == p.max_authors_tracked
    assert "a99999" in s.authors and "a0" not in s.authors  # the stalest went first
    assert len(s.newcomers) <= p.max_authors_tracked
    assert len(s.recent) <= p.max_window_posts and len(s.clusters) <= p.max_window_posts
    assert len(s.buckets) <= 15


def test_window_posts_and_clusters_stay_bounded():
    p = RaidParams(max_window_posts=50, warmup_posts=10, warmup_s=60.0)
    d, s = RaidDetector(p), RaidState()
    rng = random.Random(6)
    for i in range(3000):  # a flood of distinct newcomer posts, 10 a second
        d.observe(s, T0 + i * 0.1, f"p{i}", f"a{i}", chatter(rng))
        assert len(s.recent) <= 50 and len(s.clusters) <= 50
    assert len(s._shingles) <= 51
