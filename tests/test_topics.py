"""OnlineTopics: the mechanics on constructed unit vectors, then real MiniLM embeddings
of written posts from a gaming community (three interleaved themes)."""

from __future__ import annotations

import collections
import json
import math
import random

import numpy as np
import pytest

from models.topics import OnlineTopics, TopicParams, TopicState

T0 = 1_793_606_400.0  # 2026-11-02T08:00:00Z
HOUR = 3600.0
DAY = 86400.0
NEVER = {"maintain_every": 10**9, "maintain_s": 1e12}  # maintenance only when called


# -- mechanics on constructed vectors -------------------------------------------------

def unit(*weights: float, dim: int = 16) -> np.ndarray:
    v = np.zeros(dim, dtype=np.float32)
    v[: len(weights)] = weights
    return v / np.linalg.norm(v)


def e(i: int, dim: int = 16) -> np.ndarray:
    v = np.zeros(dim, dtype=np.float32)
    v[i] = 1.0
    return v


def count_at(t: dict, term: str, now: float, half_life: float) -> float:
    """A topic's decayed count of ``term`` as of ``now`` (counts are stored relative to
    ``terms_ts``)."""
    return t["terms"].get(term, 0.0) * 2.0 ** (-(now - t["terms_ts"]) / half_life)


def test_join_moves_the_centroid_and_create_takes_a_fresh_id():
    m, s = OnlineTopics(TopicParams()), TopicState()
    a = m.observe(s, T0, e(0), "servers down", "p1")
    assert (a.topic_id, a.similarity, a.created) == ("t0", 1.0, True)
    x = unit(1.0, 0.5)
    b = m.observe(s, T0 + 60, x, "servers down login", "p2")
    assert (b.topic_id, b.created) == ("t0", False)
    assert b.similarity == pytest.approx(1 / math.sqrt(1.25), abs=1e-6)
    # weighted running mean of unit vectors, renormalised: w·c + x with w decayed by 60 s
    w = 2.0 ** (-60 / TopicParams().half_life_s)
    want = w * e(0) + x
    np.testing.assert_allclose(s.topics["t0"]["centroid"], want / np.linalg.norm(want),
                               atol=1e-6)
    assert s.topics["t0"]["weight"] == pytest.approx(w + 1.0)
    assert s.topics["t0"]["count"] == 2
    c = m.observe(s, T0 + 120, e(2), "love the new map", "p3")
    assert (c.topic_id, c.created) == ("t1", True)
    # unnormalised input is normalised; a post just under the threshold creates a topic
    d = m.observe(s, T0 + 180, 5 * unit(0.55, 0.0, 0.0, 0.84), "odd one", "p4")
    assert d.created and d.topic_id == "t2"
    assert m.label(s, "t0") == ["down", "servers", "login"]
    assert m.exemplars(s, "t0")[0] == ("p2", "servers down login")  # most central first
    with pytest.raises(ValueError):
        m.observe(s, T0, np.zeros(16), "empty", "p5")


def test_weights_and_terms_decay_in_event_time_with_late_posts_counted_decayed():
    hl = HOUR
    m, s = OnlineTopics(TopicParams(half_life_s=hl, **NEVER)), TopicState()
    m.observe(s, T0, e(0), "alpha beta", "p1")
    assert m.weight(s, "t0", T0 + hl) == pytest.approx(0.5)
    assert m.weight(s, "t0", T0 + 2 * hl) == pytest.approx(0.25)
    m.observe(s, T0 + hl, e(0), "alpha", "p2")
    t = s.topics["t0"]
    assert t["weight"] == pytest.approx(1.5) and t["last_ts"] == T0 + hl
    assert count_at(t, "alpha", T0 + hl, hl) == pytest.approx(1.5)
    assert count_at(t, "beta", T0 + hl, hl) == pytest.approx(0.5)
    # a post from half an hour before the topic's last post adds 2^-0.5, not 1
    m.observe(s, T0 + hl / 2, e(0), "alpha", "late")
    assert t["weight"] == pytest.approx(1.5 + 2 ** -0.5) and t["last_ts"] == T0 + hl
    assert count_at(t, "alpha", T0 + hl, hl) == pytest.approx(1.5 + 2 ** -0.5)
    # five half-lives later the stored counts are rescaled to a new reference time
    m.observe(s, T0 + 6 * hl, e(0), "gamma", "p3")
    assert t["terms_ts"] == T0 + 6 * hl
    assert count_at(t, "alpha", T0 + 6 * hl, hl) == pytest.approx((1.5 + 2 ** -0.5) / 32)
    assert count_at(t, "gamma", T0 + 6 * hl, hl) == pytest.approx(1.0)
    assert s.bg_ts == T0 + 6 * hl
    assert s.background["alpha"] == pytest.approx((1.5 + 2 ** -0.5) / 32)
    assert m.label(s, "t0", 1) == ["gamma"]  # the fresh term outweighs the faded ones


def test_eviction_drops_the_lowest_decayed_weight_beyond_max_topics():
    m = OnlineTopics(TopicParams(max_topics=3, half_life_s=HOUR, **NEVER))
    s = TopicState()
    for i in range(4):  # t0: four posts, but ten hours ago
        m.observe(s, T0 + i, e(0), "old busy topic", f"a{i}")
    m.observe(s, T0 + 10 * HOUR, e(1), "one post", "b")
    for i in range(2):
        m.observe(s, T0 + 10 * HOUR + i, e(2), "two posts", f"c{i}")
    a = m.observe(s, T0 + 10 * HOUR + 5, e(3), "a fourth topic", "d")
    assert (a.topic_id, a.created, a.dropped) == ("t3", True, ("t0",))
    assert list(s.topics) == ["t1", "t2", "t3"]
    assert m.resolve(s, "t0") is None and m.label(s, "t0") == [] and m.exemplars(s, "t0") == []
    a = m.observe(s, T0 + 10 * HOUR + 6, e(4), "a fifth", "f")
    assert a.dropped == ("t1",) and len(s.topics) == 3


def test_merge_keeps_the_older_id_records_it_and_expiry_drops_stale_topics():
    p = TopicParams(join_similarity=0.9, merge_similarity=0.7, expire_s=DAY, **NEVER)
    m, s = OnlineTopics(p), TopicState()
    m.observe(s, T0, e(0), "servers down", "p1")
    m.observe(s, T0 + 10, e(5), "new map", "p2")
    near = unit(1.0, 0.9)  # cos 0.74 to t0: under join, over merge
    a = m.observe(s, T0 + 20, near, "login down", "p3")
    assert a.created and a.topic_id == "t2"
    m.observe(s, T0 + 30, near, "login down", "p4")
    merged, dropped = m.maintain(s)
    assert merged == [("t2", "t0")] and dropped == []
    assert m.resolve(s, "t2") == "t0" and s.merged == {"t2": "t0"}
    t = s.topics["t0"]
    assert t["count"] == 3 and t["first_ts"] == T0 and t["last_ts"] == T0 + 30
    decay = lambda dt: 2.0 ** (-dt / p.half_life_s)  # noqa: E731
    w0, w2 = decay(30), decay(10) + 1.0
    assert t["weight"] == pytest.approx(w0 + w2)
    want = w0 * e(0) + w2 * near
    np.testing.assert_allclose(t["centroid"], want / np.linalg.norm(want), atol=1e-5)
    assert m.label(s, "t2", 3) == m.label(s, "t0", 3) == ["down", "login", "servers"]
    # posts go on to the surviving topic; the stale one expires at the next maintenance
    m.observe(s, T0 + DAY + 60, near, "login down", "p5")
    merged, dropped = m.maintain(s)
    assert merged == [] and dropped == ["t1"] and list(s.topics) == ["t0"]
    assert m.resolve(s, "t1") is None
    # ... and observe runs maintenance by itself every maintain_s of event time
    p2 = TopicParams(expire_s=DAY, maintain_s=HOUR)
    m2, s2 = OnlineTopics(p2), TopicState()
    m2.observe(s2, T0, e(0), "a", "1")
    m2.observe(s2, T0 + 60, e(1), "b", "2")
    assert m2.observe(s2, T0 + DAY - 30, e(1), "b", "3").dropped == ()  # ran, too early
    assert s2.maintained_ts == T0 + DAY - 30
    assert m2.observe(s2, T0 + DAY + 10, e(1), "b", "4").dropped == ()  # not due
    assert m2.observe(s2, T0 + DAY - 30 + HOUR, e(1), "b", "5").dropped == ("t0",)


def test_json_round_trip_is_exact_on_the_second_trip_and_continues_identically():
    rng = np.random.default_rng(3)
    base = rng.normal(size=(6, 16))
    m = OnlineTopics(TopicParams(max_topics=5, maintain_every=25))

    def post(i: int) -> tuple:
        v = base[i % 6] + 0.6 * rng.normal(size=16)
        return T0 + 30 * i, v / np.linalg.norm(v), f"word{i % 6} common x{i % 11}", f"p{i}"

    posts = [post(i) for i in range(300)]
    s = TopicState()
    for p in posts[:150]:
        m.observe(s, *p)
    d = json.loads(json.dumps(s.to_dict()))
    restored = TopicState.from_dict(d)
    assert json.loads(json.dumps(restored.to_dict())) == d
    assert TopicState.from_dict(None).topics == {} and TopicState.from_dict({}).next_id == 0
    a = [m.observe(s, *p) for p in posts[150:]]
    b = [m.observe(restored, *p) for p in posts[150:]]
    assert [(x.topic_id, x.created, x.merged, x.dropped) for x in a] == \
        [(x.topic_id, x.created, x.merged, x.dropped) for x in b]
    assert max(abs(x.similarity - y.similarity) for x, y in zip(a, b)) < 2e-3


# -- MiniLM on written posts ----------------------------------------------------------

OUTAGE = [
    "servers down again, can't even login",
    "is anyone else stuck at the login screen? servers seem dead",
    "EU servers are down for the third time this week",
    "login queue says 9999 players ahead of me, servers obviously crashed",
    "can't connect to the servers, error code 503",
    "servers went down during ranked and I lost my rank points",
    "the game keeps disconnecting me, servers must be overloaded",
    "status page says all green but the servers are down",
    "authentication servers are dead, nobody can login",
    "got kicked mid match, connection to server lost",
    "another outage, another evening wasted. fix your servers",
    "NA servers down? stuck on connecting",
    "login failed, please try again later... for two hours now",
    "servers crashed right after the patch went live",
    "can't log in on PS5 either, servers are down everywhere",
    "matchmaking is broken, the servers are not responding",
    "disconnected from the server again, this outage is ridiculous",
    "rubber banding for a minute and then a total server crash",
    "devs please fix the login servers, unplayable tonight",
    "error connecting to game servers, restarted my router three times",
    "servers still down? any ETA on a fix",
    "official account confirmed the outage, servers down for unannounced maintenance",
    "lost connection to host, the servers are dying under the load",
    "whole squad got disconnected at once, servers went down",
    "login servers timing out for everyone in my discord",
    "i paid for this game and the servers are down every single weekend",
    "server status: dead. login: impossible",
    "getting the 'unable to connect to server' error constantly",
    "they really need more servers, the login queue is insane",
    "third disconnect in an hour, these servers are a joke",
    "can't login, can't play, servers down yet again",
    "servers went down right when the event started",
    "connection timed out, game servers unreachable",
    "is the outage fixed yet? still can't log in",
    "a server crash wiped my match progress",
    "the login server is down, refunds when",
    "huge lag spikes and then the servers went offline completely",
    "downdetector shows thousands of reports, servers are down",
    "stuck on 'connecting to online services' forever, servers must be down",
    "they took the servers down for maintenance and didn't tell anyone",
]
MAP = [
    "the new map is gorgeous, love the lighting",
    "Harbor is easily the best map they've ever made",
    "the new map layout is so well designed, great flanking routes",
    "the verticality on the new map is amazing",
    "finally a map with good sightlines for snipers",
    "loving the night version of the new map",
    "whoever designed the new map deserves a raise",
    "the map's rooftops and alleys make every round feel different",
    "beautiful map, the waterfall area is stunning",
    "the new map feels balanced for both attackers and defenders",
    "this map is a masterpiece, great job devs",
    "the new map is so much fun in capture the flag",
    "the hidden paths on the new map are brilliant",
    "best map design in years, every corner has cover",
    "the map's art direction is incredible, the colors pop",
    "love how big the new map is without feeling empty",
    "the clock tower on the new map is my favorite spot",
    "such a fun map, the spawn points finally make sense",
    "the level design on Harbor is top tier",
    "the new map plays great in both small and large modes",
    "the details on this map are insane, look at the graffiti",
    "finally a map that rewards teamwork",
    "i could play the new map all day, it never gets old",
    "great map flow on Harbor, no more spawn camping",
    "the lighthouse on the new map is such a cool landmark",
    "gorgeous new map with tons of interesting routes",
    "the new map is the best thing in this update",
    "the map designers nailed the balance this time",
    "the new map looks amazing on ultra settings",
    "every match on the new map has been close and exciting",
    "love the weather effects on the new map",
    "the new map is the perfect size for 6v6",
    "the underground tunnels on the new map are so fun",
    "this new map made me fall in love with the game again",
    "beautiful environments, the new map is a work of art",
    "the new map has so many clever shortcuts",
    "props to the level designers for the new map",
    "the docks on the new map are perfect for close quarters fights",
    "Harbor is my favorite map now, the atmosphere is unreal",
    "the new map is fantastic, please make more maps like it",
]
TRADE = [
    "selling my dragon skin on the market, 500 gold or best offer",
    "WTB the legendary sword skin, paying 2k coins, anyone selling?",
    "market price of the neon knife skin doubled overnight",
    "trading my golden AK skin for the crimson set, any takers",
    "what's a fair price for a factory new glove skin on the market",
    "buying rare skins in bulk, DM me your trade offers",
    "skin prices on the marketplace are crashing after the update",
    "sold my whole skin inventory on the market for 300 bucks",
    "looking to trade my spare weapon skins for a knife",
    "is it a good time to sell skins or wait for market prices to rise",
    "the marketplace takes 15% of every sale, selling skins is barely worth it",
    "LF trade: my mythic skin for your legendary skin plus coins",
    "crate key prices went up again on the market",
    "flipped a rare knife skin for a nice profit on the market",
    "anyone know the current market value of the founder's skin",
    "trade offer: two epic skins for one legendary skin",
    "bots are buying up all the cheap skins on the market",
    "price check on the anniversary skin please, want to sell",
    "sold my crimson skin set for double what I paid",
    "how do I list my skins for sale on the community market",
    "trading up to a covert skin, need offers",
    "skin prices always peak on the market before a holiday sale",
    "buying cheap skins now and selling them when prices go up",
    "what are rare skins selling for on the market right now",
    "looking to buy the winter skins, paying market price",
    "auction prices for skins dropped after the new crate release",
    "best place to trade skins without getting scammed?",
    "offering coins for the limited edition skin, will pay over market",
    "my skin trade got held for 7 days before it went through",
    "gem skin prices tanked, should've sold last week",
    "selling 20 crate keys below market price",
    "collectors are paying crazy prices for the beta skins",
    "market is flooded with the new skins, prices falling fast",
    "who's buying dragon skins? selling three at market price",
    "traded my knife skin for two gloves, good deal or not?",
    "the skin market is so volatile this week, lost money on my trades",
    "anyone want to trade skins? I have duplicates of the event set",
    "price of the crimson set keeps rising, glad I bought early",
    "selling the neon rifle skin, taking offers in gold or coins",
    "the market value of old skins jumped after the announcement",
]
THEMES = {"outage": OUTAGE, "map": MAP, "trade": TRADE}
THEME_WORDS = {
    "outage": {"servers", "server", "down", "login", "outage", "connect", "crashed",
               "disconnected", "connection"},
    "map": {"map", "maps", "harbor", "design", "designed", "layout", "routes", "level",
            "love", "great", "fun", "gorgeous", "beautiful", "amazing"},
    "trade": {"skin", "skins", "market", "price", "prices", "trade", "trading", "selling",
              "sell", "buying", "offers"},
}
# Two near-identical themes: one login outage, complained about in two phrasings.
LOGIN_A = [
    "can't log in, the login servers are down",
    "login servers down again, nobody can sign in",
    "stuck at the login screen, servers not responding",
    "the login server is down for everyone",
    "login keeps failing, are the servers down?",
    "servers down, login impossible right now",
    "still can't log in, login servers dead",
    "login not working, server down message",
]
LOGIN_B = [
    "authentication servers are down, can't sign in to my account",
    "sign in keeps failing, the auth servers must be down",
    "account sign-in broken, authentication server not responding",
    "auth server outage? sign in just times out",
    "can't sign in to my account, authentication servers dead",
    "authentication failing for everyone, servers down?",
    "sign-in impossible, the authentication server is down",
    "my account won't sign in, auth servers are offline",
]
_SUBJECTS = """my cat|the weather|this pasta recipe|the election debate|our football team|the
new phone|my landlord|the jazz concert|this fantasy novel|morning traffic|my tomato garden|the
stock market|the night train|my boss|the horror movie|this history podcast|the hospital
waiting room|our school board|the beach cleanup|my old car|the city council|a job interview|
the wedding|my knitting project|the local bakery|quantum computing|the marathon|my dentist|
the art museum|a camping trip|the heat wave|the chess club|my sourdough starter|the bus
strike|the tax return|my puppy|the solar panels|a birthday party|the yoga class|the
flight delay|the science fair|the rent increase|my houseplants|the poetry reading|the
vaccine clinic|the ski resort|my guitar lessons|the farmers market|the power cut|the
mortgage rates""".replace("\n", " ").split("|")
_COMMENTS = ["is driving me crazy", "was better than expected", "needs a proper fix",
             "made my whole week", "cost way too much", "keeps getting worse",
             "surprised everyone", "is all anyone talks about", "went totally wrong",
             "deserves more attention"]
_TAILS = ["honestly", "today", "again", "according to my neighbour", "lol", "this year",
          "for some reason", "as usual", "right now", "if you ask me"]


def random_ish_texts(n: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    return [f"{rng.choice(_SUBJECTS).strip()} {rng.choice(_COMMENTS)} {rng.choice(_TAILS)}"
            for _ in range(n)]


RANDOM_ISH = random_ish_texts(500)


@pytest.fixture(scope="module")
def vec():
    """text -> MiniLM vector, every text of this module embedded once."""
    from models.embeddings import SentenceEmbedder

    texts = list(dict.fromkeys(OUTAGE + MAP + TRADE + LOGIN_A + LOGIN_B + RANDOM_ISH))
    vectors = SentenceEmbedder().embed(texts)
    return dict(zip(texts, vectors))


def interleaved(seed: int = 7) -> list[tuple[str, str]]:
    posts = [(theme, text) for theme, texts in THEMES.items() for text in texts]
    random.Random(seed).shuffle(posts)
    return posts


def run(m: OnlineTopics, s: TopicState, vec, posts, start: float, step: float,
        tag: str = "p") -> list:
    return [(theme, m.observe(s, start + i * step, vec[text], text, f"{tag}{i}"))
            for i, (theme, text) in enumerate(posts)]


def dominant(m: OnlineTopics, s: TopicState, assigned) -> dict:
    """theme -> (live topic id, share of the theme's posts in it, share of that topic's
    posts from the theme), following merges."""
    by_theme = collections.defaultdict(collections.Counter)
    by_topic = collections.defaultdict(collections.Counter)
    for theme, a in assigned:
        tid = m.resolve(s, a.topic_id)
        by_theme[theme][tid] += 1
        by_topic[tid][theme] += 1
    out = {}
    for theme, c in by_theme.items():
        tid, n = c.most_common(1)[0]
        purity = by_topic[tid][theme] / sum(by_topic[tid].values())
        out[theme] = (tid, n / sum(c.values()), purity)
    return out


def test_three_interleaved_themes_get_one_topic_each_with_telling_labels(vec):
    m, s = OnlineTopics(TopicParams()), TopicState()
    assigned = run(m, s, vec, interleaved(), T0, 60.0)
    m.maintain(s)
    dom = dominant(m, s, assigned)
    assert len({tid for tid, _, _ in dom.values()}) == 3, dom
    for theme, (tid, share, purity) in dom.items():
        assert share >= 0.8 and purity >= 0.95, (theme, dom)
        label = set(m.label(s, tid))
        others = set().union(*(w for t, w in THEME_WORDS.items() if t != theme))
        assert len(label & THEME_WORDS[theme]) >= 2, (theme, label)
        assert not label & others, (theme, label)
        ids = {pid for pid, _ in m.exemplars(s, tid)}
        assert len(ids) == 3
        assert all(assigned[int(pid[1:])][0] == theme for pid in ids)
    assert set(m.label(s, dom["outage"][0], 3)) & {"servers", "down", "login"}


def test_a_theme_that_stops_expires_while_the_others_live_on(vec):
    m, s = OnlineTopics(TopicParams()), TopicState()
    assigned = run(m, s, vec, interleaved(), T0, 60.0)
    m.maintain(s)
    dom = dominant(m, s, assigned)
    trade, outage, map_ = dom["trade"][0], dom["outage"][0], dom["map"][0]
    # four more days: outage and map keep talking every 20 minutes, trade is silent
    start = T0 + 2 * HOUR
    rest = [(t, x) for t, x in interleaved(8) if t != "trade"] * 4
    later = run(m, s, vec, rest[: int(4 * DAY / 1200)], start, 1200.0, tag="q")
    dropped = [tid for _, a in later for tid in a.dropped]
    assert trade in dropped and outage not in dropped and map_ not in dropped
    assert m.resolve(s, trade) is None and m.label(s, trade) == []
    # dropped once trade's last post was more than expire_s behind the event time
    last_trade = max(T0 + i * 60.0 for i, (t, _) in enumerate(interleaved()) if t == "trade")
    when = next(start + i * 1200.0 for i, (_, a) in enumerate(later) if trade in a.dropped)
    expire_s = TopicParams().expire_s
    assert last_trade + expire_s < when <= last_trade + expire_s + 2 * HOUR
    assert m.resolve(s, outage) and m.resolve(s, map_)
    assert all(t["last_ts"] >= when - expire_s for t in s.topics.values())


def test_two_near_identical_themes_merge_into_the_older_topic(vec):
    # At the default join (0.55) the second phrasing simply joins the first topic
    # (cosine 0.71-0.85 to its centroid). A strict join keeps them apart while they
    # arrive, as when one theme's first posts seed several topics; maintenance heals it.
    m, s = OnlineTopics(TopicParams(join_similarity=0.85, **NEVER)), TopicState()
    first = run(m, s, vec, [("a", x) for x in LOGIN_A], T0, 60.0, tag="a")
    second = run(m, s, vec, [("b", x) for x in LOGIN_B], T0 + HOUR, 60.0, tag="b")
    ta = collections.Counter(a.topic_id for _, a in first).most_common(1)[0][0]
    tb = collections.Counter(a.topic_id for _, a in second).most_common(1)[0][0]
    assert ta == "t0" and ta != tb  # the second phrasing seeded topics of its own ...
    assert any(a.created for _, a in second)
    merged, _ = m.maintain(s)
    assert tb in dict(merged)  # ... which merge into the older one (maybe via another)
    assert m.resolve(s, tb) == ta and s.merged[tb] == ta
    assert list(s.topics) == [ta]
    assert all(m.resolve(s, a.topic_id) == ta for _, a in first + second)
    t = s.topics[ta]
    assert t["count"] == len(LOGIN_A) + len(LOGIN_B) and t["first_ts"] == T0
    assert {"login", "servers", "sign", "authentication"} & set(m.label(s, ta, 3))


def test_round_trip_through_json_continues_with_identical_assignments(vec):
    m, s = OnlineTopics(TopicParams()), TopicState()
    posts = interleaved()
    run(m, s, vec, posts[:60], T0, 60.0)
    d = json.loads(json.dumps(s.to_dict()))
    restored = TopicState.from_dict(d)
    assert json.loads(json.dumps(restored.to_dict())) == d
    more = posts[60:] + interleaved(9)  # 180 posts: maintenance runs on both sides
    a = run(m, s, vec, more, T0 + 3600.0, 60.0)
    b = run(m, restored, vec, more, T0 + 3600.0, 60.0)
    assert [(x.topic_id, x.created, x.merged, x.dropped) for _, x in a] == \
        [(x.topic_id, x.created, x.merged, x.dropped) for _, x in b]
    assert list(s.topics) == list(restored.topics)
    assert all(m.label(s, t) == m.label(restored, t) for t in s.topics)


def test_max_topics_holds_under_500_random_ish_posts(vec):
    p = TopicParams()
    m, s = OnlineTopics(p), TopicState()
    created = dropped = 0
    for i, text in enumerate(RANDOM_ISH):
        a = m.observe(s, T0 + 30.0 * i, vec[text], text, f"r{i}")
        created += a.created
        dropped += len(a.dropped)
        assert len(s.topics) <= p.max_topics
        assert all(len(t["terms"]) <= p.max_terms and len(t["exemplars"]) <= p.exemplars
                   for t in s.topics.values())
    assert created > p.max_topics and dropped > 0 and s.next_id == created
    assert len(s.background) <= p.max_background and len(s.merged) <= p.max_merged
    assert all(m.label(s, t) for t in s.topics)
    assert len(json.dumps(s.to_dict())) < 400_000
