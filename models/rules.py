"""Rule and lexicon categories for toxicity (what Perspective API's attributes used to give).

A :class:`RuleScorer` runs hand-written patterns and word lists over a post and returns,
for every category in :data:`CATEGORIES`, a score in [0, 1] plus the spans that fired, so
a moderator sees *which words* and *which rule* flagged the post. The lists live in
:mod:`models.lexicons`; slurs are stored only as sha256 digests.

Score scale (per category; documented here because thresholds elsewhere rely on it):

* ``0.0``        nothing fired.
* ``0.3-0.45``   a mention or a weak signal: an insult word with no target, "suicide" as a
  topic, "sex" alone, a PUBG "airdrop". Weak hits never add up to 0.5 on their own.
* ``0.55-0.7``   a clear but ambiguous pattern: a scam phrase, a link shortener, an
  insult about a third person, "gonna stab" with no one named.
* ``0.75-0.9``   a strong pattern: a second-person insult, an explicit threat, a
  Luhn-valid card number, first-person suicidal intent, a slur, a community deny term.
* each further, non-overlapping hit in the same category closes half its weight of
  the remaining gap to 1 (two 0.85 threats give 0.96); the score is capped at 0.99.

:data:`SEVERE` categories at 0.5 or more are what :attr:`RuleResult.severe` reports.

Known limits: the rules are English (links, e-mails, phone and card numbers work in any
language); zero-width characters and spaced-out letters ("k i l l") defeat them; threats
and insults in quoted speech or song lyrics fire like the real thing. ``t.co`` links are
not counted as shortened (Twitter/X wraps every link), and a bare "airdrop" is a
battle-royale crate (0.35) unless crypto words are near it.

>>> scorer = RuleScorer()
>>> text = "I will find you. I know where you live."
>>> result = scorer.score(text)
>>> result.explanation(text)
['threat: "I will find you" (rule threat:find-you)', 'threat: "I know where you live" (rule threat:know-where)']
>>> result.scores["threat"], result.severe
(0.938, ('threat',))
>>> scorer.score("I killed the boss, this game is killing me, kill streak!").scores["threat"]
0.0
>>> scorer.score("suicide prevention hotline: call 988").scores["self_harm"] < 0.5
True
>>> luhn_valid("4111 1111 1111 1111"), luhn_valid("4111 1111 1111 1112")
(True, False)
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Optional, Sequence

from models import lexicons as lx

__all__ = ["CATEGORIES", "SEVERE", "Span", "RuleResult", "RuleScorer", "luhn_valid",
           "term_digest", "MAX_COMMUNITY_TERMS"]

CATEGORIES = ("insult", "threat", "identity_attack", "sexual", "spam", "personal_data",
              "self_harm")
SEVERE = ("threat", "self_harm", "personal_data")
MAX_COMMUNITY_TERMS = 500
MAX_COMMUNITY_REGEX_LEN = 200
COMMUNITY_WEIGHT = 0.9


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    category: str
    rule: str  # short id, "threat:kill-you"
    # How strongly this span alone argues for its category; not part of identity so
    # that tests and callers can compare spans by position and rule only.
    weight: float = field(default=0.0, compare=False)


@dataclass(frozen=True)
class RuleResult:
    scores: dict[str, float]  # every category in CATEGORIES, in [0, 1]
    spans: tuple[Span, ...] = ()  # what fired, in text order

    def explanation(self, text: str) -> list[str]:
        """One line per span, quoting the text that fired (``text`` is the scored post)."""
        out = []
        for s in self.spans:
            snippet = " ".join(text[s.start:s.end].split())
            if len(snippet) > 80:
                snippet = snippet[:77] + "..."
            out.append(f'{s.category}: "{snippet}" (rule {s.rule})')
        return out

    @property
    def severe(self) -> tuple[str, ...]:
        return tuple(c for c in SEVERE if self.scores.get(c, 0.0) >= 0.5)


def luhn_valid(number: str) -> bool:
    """Luhn checksum over the digits of ``number`` (separators ignored).

    >>> luhn_valid("79927398713"), luhn_valid("79927398710")
    (True, False)
    """
    digits = [ord(c) - 48 for c in number if "0" <= c <= "9"]
    if not digits:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def term_digest(term: str) -> str:
    """The digest a slur is stored under: sha256 hex of its lowercase form."""
    return hashlib.sha256(term.strip().lower().encode("utf-8")).hexdigest()


# --- pattern templates -----------------------------------------------------------------
# Patterns are written readably: a space means "one or more whitespace" and <NAME> is a
# macro below. They always run on the lowercased post, except where noted. Lookbehinds
# need fixed width, so they spell whitespace as \s, never as a space.

def _alt(items: Iterable[str], plural: bool = False) -> str:
    # Longest first so "piece of shit" wins over "piece"; escaped because the lexicon
    # is data, not regex.
    words = sorted({re.escape(i).replace("\\ ", " ") for i in items}, key=len, reverse=True)
    return "(?:" + "|".join(words) + ")" + ("(?:s|es)?" if plural else "")


def _heads(items: Iterable[str], plural: bool = False) -> set[str]:
    """Trigger tokens: the first [a-z0-9] run of each item, which any match contains."""
    out = set()
    for item in items:
        head = re.findall(r"[a-z0-9]+", item.lower())[0]
        out.add(head)
        if plural and head == item:
            out.update((head + "s", head + "es"))
    return out


_MACROS = {
    "YOU_ARE": r"(?:you'?re|youre|you are|you r|u r|ur|your(?= (?:a|an|such|so|the)\b)"
               r"|are you|r u|are u)",
    "MODS": r"(?:<MODWORD> ){0,4}",
    "MODWORD": _alt(lx.INSULT_MODIFIERS),
    "NOUN": _alt(lx.INSULT_NOUNS, plural=True),
    "PNOUN": _alt(lx.INSULT_PREDICATE_NOUNS, plural=True),
    "ADJ": _alt(lx.INSULT_ADJECTIVES),
    "ALONE": _alt(lx.INSULT_ALONE, plural=True),
    # "losers bracket", "idiot-proof", "clown fiesta": compounds, not insults.
    "NOT_COMPOUND": r"(?![-'](?:proof|bracket)| (?:bracket|brackets|queue|side|round|pool|car"
                    r"|fiesta|emoji|costume|makeup|mode|show|world|town|college|school"
                    r"|around)\b)",
    # Intent needs a person behind it: "the boss will kill you" and "this combo is gonna
    # kill you" are advice. A bare "gonna" counts unless a non-person subject precedes it.
    "INTENT": r"(?:i'?ll|i will|i shall|i'?m (?:gonna|gunna|going to|about to|coming to)"
              r"|i am (?:gonna|going to|about to|coming to)|i'?ma|imma|we'?ll|we will"
              r"|we'?re (?:gonna|going to)|we are (?:gonna|going to)|we gonna"
              r"|(?:someone|somebody|some1)(?:'s| is)? (?:will|gonna|going to)|<BARE_INTENT>"
              r"|i want to|i wanna|i'?d love to|i'?m (?:really |so )?tempted to)",
    "BARE_INTENT": r"(?<!\bis\s)(?<!'s\s)(?<!\bare\s)(?<!\bwas\s)(?<!\bit\s)(?<!\bthat\s)"
                   r"(?<!\bthis\s)(?<!\bwhich\s)(?<!\bthey\s)(?<!\bhe\s)(?<!\bshe\s)"
                   r"(?:gonna|gunna|going to|finna)",
    "FILLER": r"(?:fucking|fkn|literally|actually|really|just|personally|seriously|come and"
              r"|come|go and|go|eventually|definitely|find (?:you|u) and|hunt (?:you|u) down"
              r" and)",
    "VIOLENT": _alt(lx.VIOLENT_VERBS),
    "TARGET": r"(?:you|u|ya|y'?all|him|her|them|all of (?:you|u|them)|(?:your|ur) (?:family"
              r"|kids?|mom|mum|dad|wife|husband|girlfriend|boyfriend|dog|cat|sister|brother))",
    # "I'm gonna kill you in ranked": competitive talk, not a threat.
    "GAME_CTX": r"(?:in|on|at) (?:ranked|pvp|1v1|duos|arena|game|in-game|this game|that game"
                r"|the (?:next )?(?:game|match|round|arena|final|finals|tournament|lobby"
                r"|server|map|ring|octagon|court|pitch|field|rematch))",
    "PERSON": _alt(lx.PERSON_NOUNS, plural=True),
    "GROUP_NOUN": _alt(lx.GROUP_NOUNS),
    "GROUP_ADJ": _alt(lx.GROUP_ADJECTIVES),
    "GROUP_PERSON": _alt(lx.GROUP_PERSON_NOUNS),
    "GROUP": r"(?:<GROUP_NOUN>|<GROUP_ADJ> <GROUP_PERSON>|the <GROUP_BARE>)",
    "GROUP_BARE": _alt(lx.GROUP_BARE_ADJECTIVES),
    "DEHUMAN": _alt(lx.DEHUMANISING),
    "ELIM": _alt(lx.ELIMINATION),
    "SEXLEX": _alt(lx.SEXUAL_EXPLICIT),
    "MYSELF": r"(?:my ?self|meself)",
}


def _expand(template: str) -> str:
    pattern = template
    for _ in range(5):  # macros nest at most a few levels
        pattern = re.sub(r"<([A-Z_]+)>", lambda m: _MACROS[m.group(1)], pattern)
    return pattern.replace(" ?", r"\s*").replace(" ", r"\s+")


@dataclass(frozen=True)
class _Rule:
    id: str
    category: str
    weight: float
    template: str
    # The rule runs only if the post has a token from ``triggers`` and, when ``also`` is
    # set, one from ``also`` too. Every match contains such tokens, so gating never loses
    # a match; it keeps a post from paying for rules whose words it lacks. (The one
    # exception is deliberate: insult:vocative uses ``also`` to ask that the *post*
    # talks to someone.)
    triggers: frozenset
    also: Optional[frozenset] = None
    # Drop a match whose sentence matches this (conditional advice, not a threat).
    veto: Optional[str] = None


def _R(rule_id: str, weight: float, template: str, triggers: Iterable[str],
       also: Optional[Iterable[str]] = None, veto: Optional[str] = None) -> _Rule:
    category = _CATEGORY_OF_PREFIX[rule_id.split(":", 1)[0]]
    return _Rule(rule_id, category, weight, template, frozenset(triggers),
                 frozenset(also) if also is not None else None, veto)


_CATEGORY_OF_PREFIX = {"insult": "insult", "threat": "threat", "identity": "identity_attack",
                       "sexual": "sexual", "spam": "spam", "pii": "personal_data",
                       "self_harm": "self_harm"}

_NOUN_T = _heads(lx.INSULT_NOUNS, plural=True)
_PNOUN_T = _heads(lx.INSULT_PREDICATE_NOUNS, plural=True)
_VIOLENT_T = _heads(lx.VIOLENT_VERBS)
# "the disabled" would make "the" a trigger; its second word is the one to look for.
_GROUP_T = ((_heads(lx.GROUP_NOUNS) | _heads(lx.GROUP_ADJECTIVES)
             | _heads(lx.GROUP_BARE_ADJECTIVES) | {"disabled", "deaf", "blind", "mentally"})
            - {"the"})
# Tokens as _TOKEN cuts them: "you're" is "you" + "re", "@name" is "#at".
_YOU_T = {"you", "u", "ya", "yu", "youre", "ur", "r", "y", "yall"}
_TARGET_T = _YOU_T | {"him", "her", "them", "your", "all"}
_THIRD_T = {"he", "she", "they", "theyre", "hes", "shes", "is", "are", "op", "mods", "devs"}

_RULES: tuple[_Rule, ...] = (
    # --- insult: aimed at the reader, or at a named user ---------------------------------
    _R("insult:you-are", 0.8,
       r"\b<YOU_ARE>(?: (?:such|just|really|literally|truly|honestly|still|always|clearly"
       r"|obviously|actually|officially|basically))? <MODS>(?:<NOUN>|<PNOUN>)\b<NOT_COMPOUND>",
       _NOUN_T | _PNOUN_T, also=_YOU_T | {"your", "are"}),
    _R("insult:you-noun", 0.75,
       r"(?<![\w'])(?:you|u|ya|yu) <MODS><NOUN>\b<NOT_COMPOUND>", _NOUN_T, also=_YOU_T),
    _R("insult:you-adjective", 0.7,
       r"\b(?:you'?re|youre|you are|u r|ur|you r|you look|you sound|you seem|you smell"
       r"|you act|are you|are u|r u)(?: (?:so|such|really|very|fucking|fkn|just|literally|truly|incredibly"
       r"|extremely|absolutely|completely|totally|utterly|pretty|too|the|a|an)){0,3} <ADJ>\b"
       r"(?!-| (?:good|great|fast|strong|lucky|op|broken|cracked|cute|hot|fun)\b)",
       _heads(lx.INSULT_ADJECTIVES), also=_YOU_T),
    _R("insult:what-an-you", 0.8,
       r"\bwhat (?:an?) <MODS><NOUN> (?:you are|you'?re|youre|u r|ur|you)\b", _NOUN_T,
       also={"what"}),
    _R("insult:mention", 0.75,
       r"(?:(?<![\w])@|\bu/)[\w.-]+[,:]? (?:is (?:such |the |a |an )?|you'?re |youre "
       r"|you are |ur |you |u )?<MODS><NOUN>\b<NOT_COMPOUND>", _NOUN_T, also={"#at", "u"}),
    _R("insult:third-person", 0.6,
       r"\b(?:he'?s|he is|she'?s|she is|they'?re|theyre|they are|(?:this|that) (?:guy|dude"
       r"|kid|clown|streamer|player) is|op is|the mods? (?:is|are)|mods are|admins? (?:is|are)"
       r"|the devs are|devs are)(?: (?:such|just|really|literally|truly|honestly|clearly"
       r"|obviously|actually|basically))? <MODS>(?:<NOUN>|<PNOUN>)\b<NOT_COMPOUND>",
       _NOUN_T | _PNOUN_T, also=_THIRD_T),
    _R("insult:what-an", 0.55, r"\bwhat (?:an?) <MODS><NOUN>\b<NOT_COMPOUND>", _NOUN_T,
       also={"what"}),
    # "..., dumbass." closing a post that talks to someone: a vocative insult.
    _R("insult:vocative", 0.7,
       r"(?:^|(?<=[,;:!?.]))\s*(?:you )?<MODS><NOUN>(?=\s*(?:[,.!?;:]|$))",
       _NOUN_T, also=_YOU_T | {"your", "#at"}),
    _R("insult:fuck-you", 0.7,
       r"\b(?:fuck (?:you|u|off|ya|yourself|urself)|go fuck (?:yourself|urself|off)"
       r"|screw you|eat shit|piss off|go to hell|gtfo|get the fuck out|stfu"
       r"|shut the fuck up)\b",
       {"fuck", "screw", "shit", "piss", "hell", "gtfo", "stfu"}),
    _R("insult:shut-up", 0.35, r"\bshut up\b(?! and (?:take|let)\b)", {"shut"}),
    _R("insult:word", 0.35, r"\b<ALONE>\b<NOT_COMPOUND>", _heads(lx.INSULT_ALONE, plural=True)),

    # --- threat: intent + violence + a person; never "kill the boss" ---------------------
    _R("threat:kill-you", 0.85,
       r"\b<INTENT> (?:<FILLER> )?<VIOLENT> <TARGET>\b"
       r"(?! (?:a|an|some|one|back|off|up|on|out|<GAME_CTX>)\b)", _VIOLENT_T, also=_TARGET_T),
    _R("threat:fuck-you-up", 0.75,
       r"\b<INTENT> (?:<FILLER> )?(?:fuck|mess|beat|rough|bash|smash) <TARGET> up\b"
       r"(?! (?:<GAME_CTX>)\b)", {"fuck", "mess", "beat", "rough", "bash", "smash"},
       also={"up"}),
    _R("threat:find-you", 0.75,
       r"\b<INTENT> (?:<FILLER> )?(?:find|hunt|hunt down|track down|track|come for"
       r"|come after) <TARGET>(?: down)?\b(?! (?:a|an|some|one|the|on|in|at|when|later"
       r"|tomorrow|online|there|after|first|again|back|tonight|next)\b)",
       {"find", "hunt", "track", "come"}, also=_TARGET_T),
    _R("threat:know-where", 0.9,
       r"\bi (?:know|found out|figured out) (?:where|what school|which school|what street)"
       r" (?:you|u|ya|he|she|they|(?:your|ur) (?:kids?|family|mom|mum|wife|husband"
       r"|girlfriend|boyfriend)) (?:live|lives|sleep|sleeps|work|works|go|goes|study"
       r"|studies)\b|\bi (?:know|have|got|found|found out) (?:your|ur) (?:home |real |irl "
       r"|house |exact )?(?:address|location|ip|ip address)\b",
       {"where", "school", "street", "address", "location", "ip"},
       also={"know", "found", "figured", "have", "got"}),
    _R("threat:youre-dead", 0.7,
       r"\b(?:you'?re|youre|you are|ur|u r|your(?= \w+(?:\s*[,.!?]|$| (?:bro|dude|man|mate|kid|lol"
       r"|lmao|now|meat)))|you will be|you'?ll be|you'?re (?:gonna|going to) be)"
       r" (?:so |fucking |already |literally )?(?:dead meat|a dead man"
       r"|done for|dead)\b(?! (?:inside|wrong|right|on|serious|set|tired|weight|last|to me|end|ass"
       r"|center|centre|silent|quiet|easy|cute|funny|lucky)\b)|\b(?:you'?re|you are|you)"
       r" (?:gonna|going to|will) die\b(?! (?:on|of|laughing|first|less|more|again|to"
       r"|<GAME_CTX>)\b)",
       {"dead", "die", "done"}, also=_YOU_T | {"your"},
       veto=r"\b(?:if|unless|when|whenever|once|until|before)\b"),
    _R("threat:watch-your-back", 0.65,
       r"\b(?:watch|better watch) (?:your|ur) back\b(?! (?:on|in|at|when|while|if|out there"
       r"|mid|with|from|against|for)\b)|\bsleep with one eye open\b|\byou (?:won'?t|will"
       r" not|wont) see (?:it|me|us) coming\b|\b(?:your|ur) days are numbered\b|\byou'?(?:ll"
       r"| will) pay for (?:this|that|what you did)\b|\bcount your days\b",
       {"watch", "eye", "see", "numbered", "pay", "count"}),
    _R("threat:incite", 0.85,
       r"\b(?:someone|somebody|some1|people|ppl|y'?all|you guys|they) (?:should|needs? to"
       r"|ought to|oughta|gotta|has to|have to|must|need to) (?:just |really |fucking "
       r"|seriously |go |come and |finally )?(?:<VIOLENT>|beat up) (?:him|her|them"
       r"|(?:this|that|the|these|those) <PERSON>)\b(?! (?:a|an|some|one|back|off|up|out"
       r"|<GAME_CTX>)\b)", _VIOLENT_T | {"beat"},
       also={"someone", "somebody", "some1", "people", "ppl", "yall", "y", "guys", "they"}),
    _R("threat:should-die", 0.8,
       r"\b(?:he|she|they|you|u|him|her|them|(?:this|that) <PERSON>) (?:should|deserves? to"
       r"|needs? to|ought to|oughta|must|gotta|has to|have to)(?: all)? (?:be |get )(?:shot|hanged|hung"
       r"|killed|murdered|executed|stabbed|lynched|beaten to death|gassed|burned alive"
       r"|burnt alive|put down|run over|raped)\b(?! (?:<GAME_CTX>|first)\b)"
       r"|\b(?:he|she|they|you|u|(?:this|that) <PERSON>) (?:deserves? to|should|needs? to"
       r"|ought to|must|gotta|has to|have to) (?:just )?die\b(?! (?:of|on|in|less|more|first"
       r"|last|to|once|twice|again|for|at|while|before|after)\b)",
       {"shot", "hanged", "hung", "killed", "murdered", "executed", "stabbed", "lynched",
        "beaten", "gassed", "burned", "burnt", "put", "run", "raped", "die"},
       also={"should", "deserve", "deserves", "need", "needs", "ought", "oughta", "must",
             "gotta", "has", "have"}),
    _R("threat:hope-you-die", 0.75,
       r"\b(?:hope|wish|pray) (?:you|u|he|she|they|(?:your|ur) (?:family|mom|mum|kids?))"
       r" (?:die|dies|gets? (?:shot|stabbed|killed|cancer|raped|hit by a (?:bus|car|truck"
       r"|train))|burns? (?:alive|in hell)|rots? in hell|chokes?)\b(?! (?:<GAME_CTX>|first"
       r"|less|more)\b)", {"hope", "wish", "pray"},
       also={"die", "dies", "get", "gets", "burn", "burns", "rot", "rots", "choke", "chokes"}),
    _R("threat:beat-you", 0.8,
       r"\b(?:beat|kick|knock|smack|slap|punch|choke) (?:the |all the )?(?:crap|shit|hell"
       r"|fuck|living daylights|life|snot|piss|stuffing|teeth) (?:out of|outta|outa) (?:you"
       r"|u|ya|him|her|them)\b|\bbeat (?:you|u|him|her|them) (?:up|to death|senseless"
       r"|bloody|to a pulp|black and blue)\b|\b(?:break|snap|smash|bash|cave|kick) (?:your|ur"
       r"|his|her) (?:fucking )?(?:neck|legs?|arms?|jaw|face|skull|bones|teeth|head|spine"
       r"|knees?)(?: in)?\b|\b(?:punch|stab|slap) (?:you|u|him|her) (?:in|through) (?:the"
       r"|your|ur|his|her) (?:face|mouth|throat|head|neck|chest|heart|gut|stomach)\b"
       r"|\bslit (?:your|ur|his|her) throat\b|\bput (?:a|one|two) (?:bullets?|rounds?)"
       r" (?:in|into|through) (?:your|ur|his|her) (?:head|skull|brain|face|chest)\b",
       {"beat", "kick", "knock", "smack", "slap", "punch", "choke", "break", "snap", "smash",
        "bash", "cave", "stab", "slit", "put"},
       also=_TARGET_T | {"his", "ur"}),
    _R("threat:weapon-intent", 0.6,
       r"\b(?:<BARE_INTENT>|i'?ll|i will|i'?ma|imma) (?:stab|shank|murder|strangle"
       r"|behead|lynch)\b(?! (?:this|that|it|the|my|these|those|through|past|up|down|some|a"
       r"|an|every|all|them|him|her|you|u|ya|your|ur)\b)",
       {"stab", "shank", "murder", "strangle", "behead", "lynch"}),
    _R("threat:attack-place", 0.9,
       r"\b(?:shoot|shooting|bomb|bombing|blow) up (?:the |a |my |our |your |this )?(?:school"
       r"|office|mall|mosque|church|synagogue|temple|concert|parade|con|convention|meetup"
       r"|stadium|workplace|campus|hq|headquarters|studio)\b|\b(?:bring|bringing|brought"
       r"|take|taking) (?:a|my|the|his|her|(?:my )?dad'?s) (?:gun|rifle|ar-?15|ak-?47|pistol"
       r"|knife|bomb|machete|shotgun) (?:to|into) (?:school|class|work|church|the (?:school"
       r"|office|meetup|con|convention|event|stream|mall|mosque|church|synagogue|temple"
       r"|parade|concert|studio|stadium))\b",
       {"shoot", "shooting", "bomb", "bombing", "blow", "bring", "bringing", "brought", "take",
        "taking"},
       also={"school", "office", "mall", "mosque", "church", "synagogue", "temple", "concert",
             "parade", "con", "convention", "meetup", "stadium", "workplace", "campus", "hq",
             "headquarters", "studio", "class", "work", "event", "stream"}),
    # Telling someone to kill themselves: harassment with a threat's severity.
    _R("threat:kys", 0.75,
       r"\b(?:kys|kill (?:your ?self|urself|yoself|ya ?self)|(?:neck|rope|unalive|hang)"
       r" (?:your ?self|urself)|(?:go )?drink bleach|go die(?! (?:to|on|at|in (?:the|ranked"
       r"|game)|again|first|less)\b))\b",
       {"kys", "yourself", "urself", "yoself", "self", "yaself", "bleach", "die"}),

    # --- identity attack: a protected group + dehumanising or eliminationist talk -------
    _R("identity:dehumanise", 0.85,
       r"\b(?:(?:all|most|these|those|the|fucking|filthy|dirty|damn|bloody) ){0,2}<GROUP>"
       r" (?:are|r|is|=)(?: (?:all|just|literally|nothing but|simply|basically|fucking|no"
       r" better than|like|a bunch of|a pack of|such|truly|naturally|inherently|genetically"
       r"|filthy|dirty|disgusting|dumb|stupid|smelly|lazy|worthless|violent)){0,3}"
       r" <DEHUMAN>\b", _GROUP_T, also={"are", "r", "is"}),
    _R("identity:eliminate", 0.9,
       r"\b(?:(?:all|the|these|those|fucking|filthy) ){0,2}<GROUP> (?:should|must|need to"
       r"|needs to|ought to|have to|has to|deserve to|gotta|shall|will)(?: all)?"
       r"(?: be| get)? <ELIM>\b", _GROUP_T, also=_heads(lx.ELIMINATION)),
    _R("identity:eliminate-verb", 0.9,
       r"\b(?:deport|exterminate|eradicate|gas|purge|sterilize|sterilise|genocide|cull)"
       r" (?:all |all the |all of the |the |these |those )?<GROUP>\b|\b(?:kill|ban|shoot"
       r"|hang|lynch|remove|expel|wipe out|get rid of|round up|lock up|burn) (?:all (?:the"
       r" |of the |these |those )?|these |those )<GROUP>\b(?! in (?:the|this|that) (?:camp"
       r"|base|fort|level|dungeon|game|mission|village|area|map|raid)\b)", _GROUP_T,
       also={"deport", "exterminate", "eradicate", "gas", "purge", "sterilize", "sterilise",
             "genocide", "cull", "kill", "ban", "shoot", "hang", "lynch", "remove", "expel",
             "wipe", "get", "round", "lock", "burn"}),
    _R("identity:go-back", 0.8,
       r"\bgo back to (?:(?:your|ur|their|yo) (?:own )?(?:country|countries|homeland|land"
       r"|village|jungle|desert|cave|hut|shithole|third world (?:country|shithole)|tribe"
       r"|reservation)|africa|mexico|china|india|pakistan|asia|the middle east|syria|poland"
       r"|romania|somalia|afghanistan|iraq|iran)\b|\b(?:send|ship|kick) (?:them|em|'em"
       r"|these people|those people|all of them|him|her|you) (?:all )?back (?:to (?:their"
       r"|your|his|her) (?:own )?(?:country|countries|homeland)|where (?:they|you|he|she)"
       r" (?:came|come) from)\b|\b(?:you|they|your kind|their kind|you people) (?:don'?t|do"
       r" not) belong (?:in (?:this|our) country|in (?:europe|america|britain|the uk|the us"
       r"|the west))\b", {"back", "belong"}),
    _R("identity:go-back-where", 0.6,
       r"\bgo back (?:to )?where (?:you|u|they) (?:came|come) from\b(?! and (?:take|try|turn"
       r"|go|use|grab|pick|head|get|respawn)\b)", {"came", "come"},
       also={"back"}),
    _R("identity:hate", 0.7,
       r"\bi (?:fucking |really |just |honestly |truly |absolutely )?(?:hate|despise"
       r"|can'?t stand|cant stand|loathe|detest) (?:(?:all|the|those|these|fucking|filthy)"
       r" ){0,2}(?:<GROUP_NOUN>|<GROUP_ADJ> <GROUP_PERSON>)\b",
       {"hate", "despise", "stand", "loathe", "detest"}, also=_GROUP_T),

    # --- sexual -----------------------------------------------------------------------
    _R("sexual:send-nudes", 0.9,
       r"\bsend (?:me )?(?:your |ur |some |sum |the |a |more )?(?:nudes|noods|nude (?:pics?"
       r"|pictures?|photos?)|naked (?:pics?|pictures?|photos?)|(?:tit|boob|dick|cock|pussy"
       r"|ass|feet|butt) (?:pics?|pictures?|photos?)|pics of (?:your|ur) (?:body|tits|boobs"
       r"|ass|dick|cock|pussy|feet))\b", {"send"},
       also={"nudes", "noods", "nude", "naked", "pic", "pics", "picture", "pictures", "photo",
             "photos"}),
    _R("sexual:explicit-pic", 0.85,
       r"\b(?:dick|cock|tit|titty|boob|pussy|nude|naked) (?:pics?|pictures?|photos?|vids?"
       r"|videos?|selfies?)\b",
       {"dick", "cock", "tit", "titty", "boob", "pussy", "nude", "naked"}),
    _R("sexual:proposition", 0.85,
       r"\b(?:wanna|want to|let'?s|lets|tryna|trying to|can i|could i|i'?d|i would|i will"
       r"|i'?ll|gonna|going to|come)(?: (?:love|like|really want|want) to)? (?:fuck|bang|rail"
       r"|sleep with|have sex with|hook ?up with"
       r"|sext|have sex|hook ?up)(?: (?:you|u|me|her|him))?\b(?! (?:up|over|out|around|this"
       r"|that|it|the|<GAME_CTX>)\b)",
       {"fuck", "bang", "rail", "sleep", "sex", "hook", "hookup", "sext"},
       also={"wanna", "want", "let", "lets", "tryna", "trying", "can", "could", "i", "d",
             "would", "will", "ll", "gonna", "going", "come"}),
    _R("sexual:body-act", 0.85,
       r"\b(?:suck|lick|sit on|ride|touch|grab|play with|jerk) (?:my|your|ur|his|her)"
       r" (?:dick|cock|balls|tits|boobs|pussy|clit|nipples|penis|vagina)\b|\bsit on my face\b",
       {"dick", "cock", "balls", "tits", "boobs", "pussy", "clit", "nipples", "penis",
        "vagina", "face"}),
    _R("sexual:solicit", 0.85,
       r"\b(?:dm|pm|message|msg|add|hmu|text|snap|kik) (?:me )?(?:for|4) (?:nudes|noods|pics"
       r"|sexy (?:pics|time|content|fun)|nsfw|lewds?|a good time|hookups?|sexting|sex"
       r"|private (?:pics|content|shows?))\b",
       {"nudes", "noods", "pics", "sexy", "nsfw", "lewd", "lewds", "good", "hookup", "hookups",
        "sexting", "sex", "private"},
       also={"dm", "pm", "message", "msg", "add", "hmu", "text", "snap", "kik"}),
    _R("sexual:solicit-ad", 0.85,
       r"\bhorny (?:singles|milfs|girls|women|moms) (?:in|near) (?:your|ur|you)\b|\bsexy"
       r" (?:pics|photos|videos|girls|singles) (?:in|at|on) (?:my|your|the) (?:bio|profile"
       r"|link|area)\b", {"horny", "sexy"}),
    _R("sexual:explicit", 0.6,
       r"\b<SEXLEX>\b(?!-up| up\b| ?cat| willow| about| retentive)"
       r"|(?<!magna\s)(?<!summa\s)\bcum\b(?! laude)"
       r"|(?<!blue\s)(?<!great\s)(?<!coal\s)(?<!marsh\s)(?<!willow\s)\btits\b"
       r"|(?<!food\s)(?<!earth\s)(?<!cable\s)(?<!sky\s)(?<!map\s)\bporn\b"
       r"|\banal\b(?! (?:about|retentive))",
       (_heads(lx.SEXUAL_EXPLICIT) - {"blow", "hand", "rule"})
       | {"job", "34", "cum", "tits", "porn", "anal"}),
    _R("sexual:mention", 0.4,
       r"\bsex\b(?! (?:education|ed|offender|offenders|ratio|trafficking|discrimination"
       r"|workers?|change|differences?|chromosomes?|selection|pistols)\b)|\bsexy\b|\bnsfw\b"
       r"|\blewd\b|\bnaked\b|\bnude\b|\bpenis\b|\bvagina\b|\bnipples?\b|\bfetish\b",
       {"sex", "sexy", "nsfw", "lewd", "naked", "nude", "penis", "vagina", "nipple",
        "nipples", "fetish"}),

    # --- spam phrases (links are checked by the URL detector) ---------------------------
    _R("spam:free-nitro", 0.7,
       r"\bfree (?:discord )?nitro\b|\bnitro (?:for free|giveaway|gift|free|generator)\b",
       {"nitro"}),
    _R("spam:claim-reward", 0.7,
       r"\bclaim (?:your |ur |the |a |free |my )?(?:reward|rewards|prize|prizes|gift|nitro"
       r"|skins?|bonus|airdrop|tokens?|free|giveaway|winnings|crypto|nft)\b", {"claim"}),
    _R("spam:double-crypto", 0.75,
       r"\bdouble your (?:bitcoin|btc|crypto|eth|money|investment|usdt|sol|coins)\b",
       {"double"}),
    _R("spam:dm-to-earn", 0.7,
       r"\b(?:dm|pm|message|msg|text|inbox|contact|whatsapp|telegram) (?:me )?(?:to|for|and"
       r"|now to|now for) (?:earn|make (?:money|\$)|invest|start earning|profit|get rich"
       r"|learn how|passive income|trading)\b",
       {"earn", "earning", "make", "invest", "profit", "rich", "learn", "passive", "trading"},
       also={"dm", "pm", "message", "msg", "text", "inbox", "contact", "whatsapp",
             "telegram"}),
    _R("spam:guaranteed", 0.7,
       r"\bguaranteed (?:profit|profits|returns?|income|roi|winnings|payout)\b"
       r"|\b100% (?:free|legit|guaranteed)\b", {"guaranteed", "100"}),
    _R("spam:limited-time", 0.7,
       r"\blimited[-\s]time (?:giveaway|offer|airdrop|promo)\b", {"limited"}),
    _R("spam:free-currency", 0.7,
       r"\b(?:free|giving away|unlimited) (?:robux|v-?bucks|steam (?:gift ?cards?|cards?"
       r"|keys?|codes?|wallet)|gift ?cards?|cs2 skins|csgo skins)\b",
       {"robux", "vbucks", "v", "steam", "gift", "giftcard", "giftcards", "cs2", "csgo"}),
    _R("spam:earn-per-day", 0.7,
       r"\bearn \$?[0-9][0-9,.]*k? (?:per|a|every|each) (?:day|hour|week)\b"
       r"|\bpassive income\b|\bget rich quick\b", {"earn", "passive", "rich"}),
    _R("spam:investment", 0.6,
       r"\binvestment (?:opportunity|plan|platform)\b|\bcrypto (?:signals|pump|giveaway)\b",
       {"investment", "crypto"}),
    _R("spam:wallet", 0.75,
       r"\bsend (?:me )?(?:your )?(?:btc|bitcoin|eth|usdt|seed phrase|recovery phrase)\b"
       r"|\bconnect your wallet\b|\b(?:seed|recovery|secret) phrase\b",
       {"btc", "bitcoin", "eth", "usdt", "phrase", "wallet"}),
    _R("spam:account-bait", 0.7,
       r"\bverify your (?:account|wallet|identity|steam|discord)\b|\byour (?:steam |discord )?"
       r"account (?:will be|has been|is being|is going to be) (?:suspended|banned|disabled"
       r"|terminated|locked|deleted)\b|\bi accidentally (?:reported|sent|banned)"
       r" (?:you|your|ur)\b",
       {"verify", "suspended", "banned", "disabled", "terminated", "locked", "deleted",
        "accidentally"}),
    _R("spam:click-to-claim", 0.65,
       r"\bclick (?:here|the link|this link|below|link) (?:to|and) (?:claim|get|receive|verify"
       r"|win|collect)\b|\bfirst [0-9]+ (?:people|users|members) (?:to|get|will)\b"
       r"|\bsteam gift (?:for you|card giveaway)\b|\bgift for you\b",
       {"click", "first", "gift"}),
    # In battle royales an airdrop is a supply crate; only crypto context makes it a scam.
    _R("spam:airdrop", 0.75,
       r"(?:\b(?:claim|free|token|tokens|crypto|nft|coin|eth|sol|wallet)\b|\$[a-z]{2,10}\b)"
       r"[^.!?\n]{0,40}\bairdrops?\b|\bairdrops?\b[^.!?\n]{0,40}\b(?:claim|token|tokens"
       r"|crypto|nft|coin|wallet|live now|eth|sol|eligible|connect)\b",
       {"airdrop", "airdrops"}),
    _R("spam:airdrop-mention", 0.35, r"\bairdrops?\b", {"airdrop", "airdrops"}),

    # --- self-harm: the poster's own intent weighs more than the topic ------------------
    _R("self_harm:kill-myself", 0.9,
       r"\b(?:kill(?:ing)?|hang(?:ing)?|off(?:ing)?|shoot(?:ing)?|unaliv(?:e|ing)"
       r"|end(?:ing)?) <MYSELF>\b(?! (?:laughing|with laughter|from laughing|at the gym|in the"
       r" gym|over (?:this|a|the)|in (?:the|this) (?:game|gym|match)|trying to|grinding)\b)",
       {"myself", "meself", "self"}),
    _R("self_harm:intent", 0.85,
       r"\b(?:i|i'?m|im|i am|i'?ve been|ive been|i was|been|i keep|keep)(?: (?:really"
       r"|seriously|honestly|constantly|always|just|still|kinda|literally|actually|often"
       r"|sometimes)){0,2} (?:want(?:ing)? to|wanna|going to|gonna|plan(?:ning)? (?:to|on)"
       r"|thinking (?:about|of)|think about|thought about|considering|contemplating|tempted to"
       r"|ready to|might|will|about to|trying to)(?: (?:just|finally))? (?:commit(?:ting)?"
       r" suicide|suicide|end(?:ing)? (?:it all|my life)|tak(?:e|ing) my (?:own )?life"
       r"|unaliv(?:e|ing) <MYSELF>)\b",
       {"suicide", "all", "life", "myself", "meself", "self"},
       also={"i", "im", "been", "keep"}),
    _R("self_harm:want-to-die", 0.85,
       r"\b(?:i|i'?m|im|i am|i just|part of me|sometimes i)(?: (?:just|really|honestly|kinda"
       r"|seriously|literally|so|genuinely|still|sometimes|often|always|actually)){0,3}"
       r" (?:want(?:ed)? to|wanna|wish i could|need to|deserve to|would rather) (?:just )?die"
       r"\b(?! (?:on|of|for|laughing|happy|old|alone|in|to|trying|a little|inside|with|when"
       r"|at|after|before|again|first|less|more)\b)|\bi wish i (?:was|were|had)(?: (?:just"
       r"|already))? (?:dead|never (?:been )?born)\b|\bi wish i (?:wasn'?t|was not|weren'?t"
       r"|were not|had never been) (?:alive|born)\b",
       {"die", "dead", "born", "alive"}, also={"i", "im", "me"}),
    _R("self_harm:end-it", 0.85,
       r"\b(?:end|ending|ended) (?:it all|my (?:own )?life|my suffering|my existence)\b"
       r"|\b(?:take|taking|took) my (?:own )?life\b(?! (?:savings|insurance|story|back|in"
       r"|more|away)\b)|\b(?:no|nothing|zero) (?:reason|point)"
       r" (?:to|in) (?:live|living|going on|being alive|staying alive)\b"
       r"(?! (?:with|about|and|in|to|like|at)\b)|\bnothing (?:left )?"
       r"to live for\b|\b(?:i'?d be|i would be|everyone(?:'?d| would) be|they'?d be|they"
       r" would be|world would be|i am|i'?m) better off (?:dead|without me)\b|\bcan'?t (?:go"
       r" on|keep going) (?:anymore|any more)\b",
       {"all", "life", "suffering", "existence", "reason", "point", "live", "living", "alive",
        "dead", "without", "anymore", "more"}),
    _R("self_harm:not-alive", 0.85,
       r"\b(?:don'?t|dont|do not|no longer|never) (?:want|wanna|wish) (?:to )?(?:be alive"
       r"|exist|wake up|be here anymore|be here any more|live)(?: (?:anymore|any more|any"
       r" longer|tomorrow))?\b(?! (?:in|with|like|near|there|on|without|through|under|next|at"
       r"|as|somewhere|here|if|until|long|forever|early|late|before|after|this|for|to)\b)",
       {"alive", "exist", "wake", "here", "live"},
       also={"don", "dont", "not", "longer", "never"}),
    _R("self_harm:self-injury", 0.8,
       r"\b(?:cut|cutting|burn|burning|hurt|hurting|harm|harming|starve|starving|punish"
       r"|punishing|bleed|bleeding) <MYSELF>\b(?! (?:on|while|by|accidentally|shaving|cooking"
       r"|slicing|chopping|playing|at|in|doing|lifting|running|skating|falling|with a|opening"
       r"|trying)\b)|\bi (?:self[-\s]?harm|(?:have|'ve|ve) been self[-\s]?harming|relapsed)\b"
       r"|\bmy (?:self[-\s]?harm|cuts|scars) (?:is|are|have been|has been) (?:getting )?"
       r"(?:worse|deeper|back)\b",
       {"myself", "meself", "self", "selfharm", "selfharming", "relapsed", "cuts", "scars"}),
    _R("self_harm:suicidal", 0.8,
       r"\b(?:i'?m|im|i am|feeling|i feel|i'?ve been|ive been|i get|i was|i keep getting"
       r"|i keep feeling|been feeling|been)(?: (?:so|really|very|pretty|kinda|extremely"
       r"|super|quite|a bit|a little|increasingly|fucking|lowkey|low-key)){0,2} suicidal\b"
       r"|\bi(?:'ve| have| had| keep having| am having|'m having| been having)? suicidal"
       r" (?:thoughts|ideation|feelings|urges)\b", {"suicidal"}),
    _R("self_harm:method", 0.85,
       r"\bhow (?:many|much) [a-z\s]{0,25}(?:pills|tablets|paracetamol|tylenol|ibuprofen"
       r"|insulin) (?:to|would it take to|does it take to|would i need to|do i need to)"
       r" (?:die|kill myself|od|overdose|end it|not wake up)\b|\bpainless(?:est)? ways? to"
       r" (?:die|go|kill myself|end it)\b|\bhow (?:to|do i|can i|should i) (?:kill|hang|off"
       r"|unalive|end) <MYSELF>\b|\b(?:tie|tying|tied|made|make|bought|buy) a noose\b"
       r"|\b(?:overdose|od) on (?:purpose|my (?:pills|meds))\b",
       {"pills", "tablets", "paracetamol", "tylenol", "ibuprofen", "insulin", "painless",
        "painlessest", "myself", "meself", "self", "noose", "overdose", "od"}),
    _R("self_harm:mention", 0.35,
       r"\bsuicid(?:e|es|al)\b|\bself[-\s]?harm(?:ing)?\b|\bself[-\s]?injur(?:y|ies|ing)\b"
       r"|\bkill(?:ed|s|ing)? (?:him|her|them)sel(?:f|ves)\b|\boverdos(?:e|ed|es|ing)\b",
       {"suicide", "suicides", "suicidal", "self", "selfharm", "selfharming", "selfinjury",
        "selfinjuries", "selfinjuring", "himself", "herself", "themselves", "themself",
        "overdose", "overdosed", "overdoses", "overdosing"}),
)


# --- detectors that are not one regex ----------------------------------------------------

_TOKEN = re.compile(r"[a-z0-9@$]+")  # ASCII tokens: rule triggers and slur candidates
_HAS_DIGIT = re.compile(r"[0-9]")
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u2032": "'",
                         "\uff07": "'"})
_SENTENCE_END = re.compile(r"[.!?\n]")

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,24}(?![\w-])")
_ROLE_MAILBOX = re.compile(
    r"(?:support|help|info|contact|admin|noreply|no-reply|press|sales|hello|team|abuse"
    r"|security|privacy|legal|billing|feedback|jobs|careers|webmaster|postmaster|community"
    r"|moderators?|mods)(?:[.+-]\w*)?")

# _CARD opens with a character class and checks the character before it in a lookbehind
# *after* it: sre then skips ahead to the next digit instead of trying the lookbehind at
# every position (5x faster on ordinary posts). _PHONE and _CARD only run on posts
# with a run of three digits at all.
_PHONE = re.compile(
    r"(?=[+(0-9])(?<![0-9a-z+.,/#-])(?:"
    r"(?P<intl>\+[0-9]{1,3}[ .-]?\(?[0-9]{1,4}\)?(?:[ .-]?[0-9]{2,5}){1,4})"
    r"|(?P<us>\([0-9]{3}\)[ .-]?[0-9]{3}[ .-][0-9]{4}|[0-9]{3}[.-][0-9]{3}[.-][0-9]{4})"
    r"|(?P<uk>0[1-9][0-9]{1,3}[ -]?[0-9]{3,4}[ -]?[0-9]{3,4})"
    r")(?![0-9]|[.,/-][0-9])")
_CARD = re.compile(r"[0-9](?<![0-9.,][0-9])(?<![0-9][ -][0-9])(?:[ -]?[0-9]){12,18}"
                   r"(?![0-9]|[ -][0-9])")
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(r"(?<![\w.])" + rf"(?:{_OCTET}\.){{3}}{_OCTET}" + r"(?![\w]|\.[0-9])")
_BUSINESS_LINE = re.compile(r"(?:\+?1)?8(?:00|88|77|66|55|44|33)[0-9]{7}$"
                            r"|(?:\+44|0)(?:80[08]|84[345]|87[0-3]|3[0-9]{2})")
_DIGIT_RUN3 = re.compile(r"[0-9]{3}")
_DOTTED_QUAD = re.compile(r"[0-9]\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]")
_DOMAINISH = re.compile(r"[a-z0-9]\.[a-z]|://")
_FANCY_QUOTES = re.compile("[\u2018\u2019\u02bc\u2032\uff07]")
_STREET_SUFFIX = ("street", "st", "avenue", "ave", "road", "rd", "lane", "ln", "drive", "dr",
                  "boulevard", "blvd", "court", "ct", "place", "pl", "terrace", "way",
                  "close", "crescent", "square", "sq", "highway", "hwy", "parkway", "pkwy")
# Run on the original text: a capitalised name ("221B Baker Street") is what tells an
# address from "3 more ways"; lowercase names only count with an unambiguous suffix.
_ADDRESS = re.compile(
    r"\b[0-9]{1,5}[A-Za-z]?(?:\s+[A-Z][a-zA-Z'.-]*){1,3}\s+(?i:" + "|".join(_STREET_SUFFIX)
    + r")\b(?!['-])")
_ADDRESS_LOWER = re.compile(
    r"\b[0-9]{1,5}[a-z]?\s+(?:(?!(?:the|a|an|of|on|in|to|down|up|miles?|km|kms|minutes?"
    r"|mins?|blocks?|hours?|more|other|this|that|my|your|our|their|his|her|from|off|across"
    r"|along|by|at|and|or|lane|lanes|way|ways|times?|laps?)\b)[a-z][a-z'-]*\s+){1,2}"
    r"(?:street|avenue|road|lane|drive|boulevard)\b", re.IGNORECASE)

_URL = re.compile(
    r"(?:https?://|www\.)[^\s<>\"'`]+"
    r"|(?<![\w@.\-/])(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+"
    r"(?:" + "|".join(sorted(lx.BARE_TLDS, key=len, reverse=True)) + r")(?![\w@-])"
    r"(?:[/?#:][^\s<>\"'`]*)?")
_IP_HOST = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")
_EVERYONE = re.compile(r"@(?:everyone|here)\b")

_LEET_I = str.maketrans("1304@$57|", "ieoaasstl")
_LEET_L = str.maketrans("1304@$57|", "leoaasstl")
_RUNS = re.compile(r"(.)\1+")
_RUNS3 = re.compile(r"(.)\1{2,}")
# Slur-shaped words inside idioms ("a ... in the armour").
_SLUR_IDIOM = re.compile(r"\s+in\s+(?:the|his|her|their|its|my|your|our)\s+arm(?:ou|o)r")
_SKELETON = str.maketrans("0134578@$|l", "oieastbasii")
_SKELETON_PAIRS = (("rn", "m"), ("vv", "w"), ("cl", "d"))
_CACHE_LIMIT = 100_000


def _slur_forms(token: str) -> set[str]:
    """Spellings a token may hide a slur under: leetspeak, stretched letters, plurals."""
    forms = {token}
    for table in (_LEET_I, _LEET_L):
        t = token.translate(table)
        forms.update((t, _RUNS3.sub(r"\1\1", t), _RUNS.sub(r"\1", t)))
    for f in list(forms):
        if f.endswith("ies"):
            forms.add(f[:-3] + "y")
        if f.endswith("es"):
            forms.add(f[:-2])
        if f.endswith("s"):
            forms.add(f[:-1])
    return forms


def _skeleton(label: str) -> str:
    s = label.translate(_SKELETON)
    for a, b in _SKELETON_PAIRS:
        s = s.replace(a, b)
    return s


def _osa_distance(a: str, b: str, limit: int) -> int:
    """Edit distance with adjacent transpositions; stops early once above ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


def _registrable(host: str) -> str:
    labels = host.split(".")
    if (len(labels) >= 3 and len(labels[-1]) == 2
            and labels[-2] in ("co", "com", "net", "org", "gov", "ac", "edu")):
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def _url_host(url: str) -> str:
    rest = url.split("://", 1)[1] if "://" in url else url
    host = re.split(r"[/?#]", rest, maxsplit=1)[0]
    host = host.rsplit("@", 1)[-1].split(":", 1)[0].strip(".")
    return host[4:] if host.startswith("www.") else host


def _combine(weights: Sequence[float]) -> float:
    ws = sorted(weights, reverse=True)
    score = ws[0]
    for w in ws[1:]:
        score += (1.0 - score) * w / 2
    if ws[0] < 0.5:  # mentions alone never reach the "act on it" half of the scale
        score = min(score, 0.45)
    return round(min(score, 0.99), 3)


# --- community terms ------------------------------------------------------------------

def _nested_quantifier(pattern: str) -> bool:
    """True if a repeat that can run long (unbounded or > 10) contains another repeat.

    That shape, as in ``(a+)+`` or ``(.*)*``, is what makes backtracking exponential.
    Alternations like ``(a|a)*`` are not caught; the length cap bounds the damage.
    """
    try:
        from re import _constants as c
        from re import _parser as p
    except ImportError:  # private modules; fall back to a textual check
        return re.search(r"\([^()]*[+*}][^()]*\)\s*[+*{]", pattern) is not None
    repeats = {c.MAX_REPEAT, c.MIN_REPEAT}

    def walk(node: Any, inside_long: bool) -> bool:
        if isinstance(node, (p.SubPattern, list)):
            return any(walk(item, inside_long) for item in node)
        if isinstance(node, tuple) and len(node) == 2 and node[0] in repeats:
            lo, hi, sub = node[1]
            if hi > 1 and inside_long:
                return True
            return walk(sub, inside_long or hi == c.MAXREPEAT or hi > 10)
        if isinstance(node, tuple):
            return any(walk(x, inside_long) for x in node
                       if isinstance(x, (tuple, list, p.SubPattern)))
        return False

    return walk(p.parse(pattern), False)


class _Terms:
    """Community word/phrase/regex terms, compiled once.

    Words made only of word characters are looked up by token (fast for hundreds of
    terms); other words and phrases share one alternation; regexes run one by one.
    """

    _WORD = re.compile(r"\w+")

    def __init__(self, terms: Sequence[Mapping[str, Any]], deny: bool):
        self.words: dict[str, tuple[Optional[str], str]] = {}
        self.literals: dict[str, tuple[Optional[str], str]] = {}
        self.regexes: list[tuple[re.Pattern, Optional[str], str]] = []
        literal_patterns = []
        for term in terms:
            kind, value, category = _validate_term(term, deny)
            meta = (category, "community:" + value[:32])
            if kind == "regex":
                self.regexes.append((re.compile(value, re.IGNORECASE), *meta))
                continue
            words = value.lower().split()
            if kind == "word" and self._WORD.fullmatch(words[0]) and len(words) == 1:
                self.words[words[0]] = meta
                continue
            key = " ".join(words)
            self.literals[key] = meta
            body = r"\s+".join(re.escape(w) for w in words)
            left = r"(?<!\w)" if re.match(r"\w", key) else ""
            right = r"(?!\w)" if re.search(r"\w$", key) else ""
            literal_patterns.append(left + body + right)
        literal_patterns.sort(key=len, reverse=True)
        self.literal_re = re.compile("|".join(literal_patterns)) if literal_patterns else None
        self.empty = not (self.words or self.literals or self.regexes)

    def find(self, low: str, text: str) -> list[tuple[int, int, Optional[str], str]]:
        out = []
        if self.words:
            for m in self._WORD.finditer(low):
                meta = self.words.get(m.group())
                if meta:
                    out.append((m.start(), m.end(), *meta))
        if self.literal_re is not None:
            for m in self.literal_re.finditer(low):
                meta = self.literals.get(" ".join(m.group().split()))
                if meta:
                    out.append((m.start(), m.end(), *meta))
        for rx, category, rule in self.regexes:
            for m in rx.finditer(text):
                if m.end() > m.start():
                    out.append((m.start(), m.end(), category, rule))
        return out


def _validate_term(term: Any, deny: bool) -> tuple[str, str, Optional[str]]:
    if not isinstance(term, Mapping):
        raise ValueError(f"community term {term!r}: must be a mapping with kind and value")
    kind, value, category = term.get("kind"), term.get("value"), term.get("category")
    name = f"community term {value!r}"
    if kind not in ("word", "phrase", "regex"):
        raise ValueError(f"{name}: kind must be 'word', 'phrase' or 'regex', got {kind!r}")
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name}: value must be a non-empty string")
    if deny and category not in CATEGORIES:
        raise ValueError(f"{name}: category must be one of {CATEGORIES}, got {category!r}")
    if not deny and category is not None and category not in CATEGORIES:
        raise ValueError(f"{name}: category must be one of {CATEGORIES} or absent")
    if len(value) > MAX_COMMUNITY_REGEX_LEN:
        raise ValueError(f"{name}: longer than {MAX_COMMUNITY_REGEX_LEN} characters")
    if kind == "regex":
        try:
            rx = re.compile(value, re.IGNORECASE)
        except re.error as exc:
            raise ValueError(f"{name}: invalid regex: {exc}") from None
        if _nested_quantifier(value):
            raise ValueError(f"{name}: nested quantifier (like (a+)+ or (.*)*) can "
                             f"backtrack catastrophically; rewrite without it")
        if rx.search("") is not None:
            raise ValueError(f"{name}: matches the empty string")
    if kind != "regex":
        value = " ".join(value.split())
    return kind, value.strip(), category


# --- the scorer ----------------------------------------------------------------------

_Hit = tuple  # (start, end, category, rule_id, weight)


class RuleScorer:
    """Scores posts against the built-in rules plus a community's own terms.

    A term is a mapping ``{"kind": "word"|"phrase"|"regex", "value": str, "category": ...}``.
    Deny terms need a category from :data:`CATEGORIES` and add a hit of weight 0.9 with
    rule id ``community:<value[:32]>``. Allow terms drop every hit that overlaps one of
    their matches (only hits of their category, if they name one): a gaming community
    can allow "you're dead". Words match whole words, phrases any whitespace between
    their words, regexes case-insensitively. Terms are checked here, so a bad one fails
    at start-up with a ValueError naming it, not on the first post: at most
    :data:`MAX_COMMUNITY_TERMS` in all, regexes at most 200 characters, compiling, not
    matching the empty string and without nested quantifiers.

    ``trusted_domains`` (the community's own sites) never count as suspicious links;
    ``extra_slur_hashes`` adds :func:`term_digest` digests, e.g. for other languages.

    Everything is compiled here, never at import. ``score`` is pure apart from two
    bounded caches (slur checks per token, URL verdicts per host), so one instance can
    be shared by threads. Rules are gated by trigger words, so a post pays only for
    the rules whose vocabulary it contains.
    """

    version = "rules-1"

    def __init__(self, deny_terms: Iterable[Mapping[str, Any]] = (),
                 allow_terms: Iterable[Mapping[str, Any]] = (), *,
                 trusted_domains: Iterable[str] = (), extra_slur_hashes: Iterable[str] = ()):
        deny_terms, allow_terms = list(deny_terms), list(allow_terms)
        if len(deny_terms) + len(allow_terms) > MAX_COMMUNITY_TERMS:
            raise ValueError(f"too many community terms: {len(deny_terms) + len(allow_terms)}"
                             f" > {MAX_COMMUNITY_TERMS}")
        self._deny = _Terms(deny_terms, deny=True)
        self._allow = _Terms(allow_terms, deny=False)

        self._rules = []
        self._index: dict[str, list[int]] = {}
        for rule in _RULES:
            i = len(self._rules)
            veto = re.compile(rule.veto) if rule.veto else None
            self._rules.append((rule, re.compile(_expand(rule.template)), veto))
            for token in rule.triggers:
                self._index.setdefault(token, []).append(i)

        extra = {h.strip().lower() for h in extra_slur_hashes}
        bad = [h for h in extra if not re.fullmatch(r"[0-9a-f]{64}", h)]
        if bad:
            raise ValueError(f"extra_slur_hashes: not sha256 hex digests: {bad[:3]}")
        self._slur_hashes = frozenset(lx.SLUR_SHA256) | extra
        self._slur_cache: dict[str, bool] = {}

        self._trusted = frozenset(lx.TRUSTED_DOMAINS) | {
            d.strip().lower().removeprefix("www.") for d in trusted_domains}
        self._official = frozenset(d for ds in lx.BRANDS.values() for d in ds)
        self._brands = tuple((name, _skeleton(name)) for name in lx.BRANDS)
        self._bait = tuple(lx.BAIT_WORDS)
        self._host_cache: dict[str, tuple[bool, tuple[tuple[str, float], ...]]] = {}

    # -- public API --

    def score(self, text: str) -> RuleResult:
        hits: list[_Hit] = []
        if text:
            norm = text.translate(_QUOTES) if _FANCY_QUOTES.search(text) else text
            low = norm.lower()
            if len(low) != len(norm):  # "İ" lowers to two code points; spans index text
                low = "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in norm)
            hits = self._hits(low, norm)
        return self._result(hits)

    def score_batch(self, texts: Iterable[str]) -> list[RuleResult]:
        return [self.score(t) for t in texts]

    # -- matching --

    def _hits(self, low: str, norm: str) -> list[_Hit]:
        tokens = set(_TOKEN.findall(low))
        if "@" in low:
            tokens.add("#at")
        has_digit = _HAS_DIGIT.search(low) is not None
        hits: list[_Hit] = []

        selected: set[int] = set()
        index = self._index
        for tok in tokens:
            ids = index.get(tok)
            if ids:
                selected.update(ids)
        for i in sorted(selected):
            rule, rx, veto = self._rules[i]
            if rule.also is not None and tokens.isdisjoint(rule.also):
                continue
            for m in rx.finditer(low):
                if veto is not None and veto.search(_sentence(low, m.start(), m.end())):
                    continue
                hits.append((m.start(), m.end(), rule.category, rule.id, rule.weight))

        if _DOMAINISH.search(low):
            self._urls(low, hits)
        if "@" in low:
            for m in _EMAIL.finditer(low):
                local = m.group().split("@", 1)[0]
                w = 0.35 if _ROLE_MAILBOX.fullmatch(local) else 0.7
                hits.append((m.start(), m.end(), "personal_data", "pii:email", w))
        if has_digit:
            self._numbers(low, norm, tokens, hits)
        self._slurs(low, tokens, hits)

        if not self._deny.empty:
            for start, end, category, rule in self._deny.find(low, norm):
                hits.append((start, end, category, rule, COMMUNITY_WEIGHT))
        if hits and not self._allow.empty:
            allowed = self._allow.find(low, norm)
            hits = [h for h in hits
                    if not any(a_start < h[1] and h[0] < a_end and (cat is None or cat == h[2])
                               for a_start, a_end, cat, _ in allowed)]
        return hits

    def _numbers(self, low: str, norm: str, tokens: set[str], hits: list[_Hit]) -> None:
        taken: list[tuple[int, int]] = []
        # Every card and phone shape has a run of three digits; most posts with digits
        # ("patch 2.3", "3-1") have none, and skip both scans.
        runs = _DIGIT_RUN3.search(low) is not None
        for m in _CARD.finditer(low) if runs else ():
            if _plausible_card(m.group()):
                hits.append((m.start(), m.end(), "personal_data", "pii:card", 0.9))
                taken.append(m.span())
        for m in _PHONE.finditer(low) if runs else ():
            digits = sum(ch.isdigit() for ch in m.group())
            kind = m.lastgroup
            ok = ((kind == "intl" and 8 <= digits <= 15) or (kind == "us" and digits == 10)
                  or (kind == "uk" and digits in (10, 11)))
            if ok and not any(s < m.end() and m.start() < e for s, e in taken):
                # A toll-free or shared-cost line is a business's, not a person's.
                w = 0.35 if _BUSINESS_LINE.match(re.sub(r"[^0-9+]", "", m.group())) else 0.75
                hits.append((m.start(), m.end(), "personal_data", "pii:phone", w))
        if _DOTTED_QUAD.search(low):
            for m in _IPV4.finditer(low):
                if low[max(0, m.start() - 3):m.start()].endswith(("//", "@")):
                    continue  # the host of a URL: a server, handled as a link
                w = 0.7 if ipaddress.ip_address(m.group()).is_global else 0.35
                hits.append((m.start(), m.end(), "personal_data", "pii:ip-address", w))
        if not tokens.isdisjoint(_STREET_SUFFIX):
            seen = set()
            for rx in (_ADDRESS, _ADDRESS_LOWER):
                for m in rx.finditer(norm):
                    if m.span() not in seen:
                        seen.add(m.span())
                        hits.append((m.start(), m.end(), "personal_data", "pii:address", 0.7))

    def _urls(self, low: str, hits: list[_Hit]) -> None:
        untrusted = []
        for m in _URL.finditer(low):
            url = m.group().rstrip(".,!?;:)]}'\"")
            host = _url_host(url)
            if not host:
                continue
            trusted, verdicts = self._host_verdict(host)
            end = m.start() + len(url)
            for rule, weight in verdicts:
                hits.append((m.start(), end, "spam", rule, weight))
            if not trusted:
                untrusted.append((m.start(), end))
        if len(untrusted) >= 3:
            w = min(0.6 + 0.05 * (len(untrusted) - 3), 0.8)
            hits.append((untrusted[0][0], untrusted[-1][1], "spam", "spam:many-links", w))
        if untrusted:
            m = _EVERYONE.search(low)
            if m:
                hits.append((m.start(), m.end(), "spam", "spam:everyone-link", 0.6))

    def _host_verdict(self, host: str) -> tuple[bool, tuple[tuple[str, float], ...]]:
        cached = self._host_cache.get(host)
        if cached is not None:
            return cached
        reg = _registrable(host)
        trusted = reg in self._trusted or host in self._trusted
        official = reg in self._official or host in self._official
        verdicts = []
        if _IP_HOST.fullmatch(host):
            verdicts.append(("spam:ip-url", 0.7))
        elif not trusted:
            if host in lx.SHORTENERS or reg in lx.SHORTENERS:
                verdicts.append(("spam:shortener", 0.6))
            if host.rsplit(".", 1)[-1] in lx.SUSPICIOUS_TLDS:
                verdicts.append(("spam:suspicious-tld", 0.6))
            if not official and self._lookalike(host, reg):
                verdicts.append(("spam:lookalike", 0.85))
        result = (trusted or official, tuple(verdicts))
        if len(self._host_cache) >= _CACHE_LIMIT:
            self._host_cache.clear()
        self._host_cache[host] = result
        return result

    def _lookalike(self, host: str, reg: str) -> bool:
        labels = host.split(".")[:-1]
        if reg.count(".") == 2:  # "steamcommunity.com.ru": com is part of the suffix
            labels = labels[:-1]
        parts = set(labels)
        for label in labels:
            parts.update(label.split("-"))
        skeletons = {_skeleton(p) for p in parts if p}
        joined = _skeleton("".join(labels))
        bait = any(b in host for b in self._bait)
        for brand, skel in self._brands:
            for s in skeletons:
                if s == skel:  # the brand itself (or a leetspeak spelling) off its domains
                    return True
                # One or two typos; short brands only exact, "finance" is not "binance".
                limit = 1 if len(skel) < 10 else 2
                if len(skel) >= 7 and brand != "binance" and _osa_distance(s, skel, limit) <= limit:
                    return True
            if bait and skel in joined:  # "discordnitro", "steampowered-gift"
                return True
        return "nitro" in host and any(b in host for b in ("free", "gift", "claim", "promo",
                                                            "drop"))

    def _slurs(self, low: str, tokens: set[str], hits: list[_Hit]) -> None:
        cache, hashes = self._slur_cache, self._slur_hashes
        found = []
        for tok in tokens:
            hit = cache.get(tok)
            if hit is None:
                hit = (2 < len(tok) < 30 and not tok.isdigit()
                       and any(hashlib.sha256(f.encode()).hexdigest() in hashes
                               for f in _slur_forms(tok)))
                if len(cache) >= _CACHE_LIMIT:
                    cache.clear()
                cache[tok] = hit
            if hit:
                found.append(tok)
        for tok in found:
            for m in re.finditer(r"(?<![a-z0-9@$])" + re.escape(tok) + r"(?![a-z0-9@$])", low):
                if not _SLUR_IDIOM.match(low, m.end()):
                    hits.append((m.start(), m.end(), "identity_attack", "identity:slur", 0.9))

    # -- scoring --

    @staticmethod
    def _result(hits: list[_Hit]) -> RuleResult:
        scores = dict.fromkeys(CATEGORIES, 0.0)
        if not hits:
            return RuleResult(scores, ())
        kept: list[_Hit] = []
        # Overlapping hits in one category are one piece of evidence: keep the strongest
        # ("you're a pathetic loser" is an insult once, not once per rule that saw it).
        for h in sorted(hits, key=lambda h: (-h[4], h[0], h[1] - h[0])):
            if not any(k[2] == h[2] and k[0] < h[1] and h[0] < k[1] for k in kept):
                kept.append(h)
        by_category: dict[str, list[float]] = {}
        for h in kept:
            by_category.setdefault(h[2], []).append(h[4])
        for category, weights in by_category.items():
            scores[category] = _combine(weights)
        spans = tuple(Span(s, e, c, r, w) for s, e, c, r, w in
                      sorted(kept, key=lambda h: (h[0], h[1], h[2], h[3])))
        return RuleResult(scores, spans)


def _sentence(low: str, start: int, end: int) -> str:
    left = max(low.rfind(c, 0, start) for c in ".!?\n") + 1
    m = _SENTENCE_END.search(low, end)
    return low[left:m.start() if m else len(low)]


def _plausible_card(candidate: str) -> bool:
    digits = "".join(ch for ch in candidate if ch.isdigit())
    if not 13 <= len(digits) <= 19 or digits[0] not in "23456":
        return False
    groups = re.split(r"[ -]+", candidate)
    if len(groups) > 1:
        lengths = [len(g) for g in groups]
        if lengths not in ([4, 6, 5], [4, 6, 4]) and not (
                all(n == 4 for n in lengths[:-1]) and 1 <= lengths[-1] <= 4):
            return False
        if all(len(g) == 4 and "1900" <= g <= "2099" for g in groups):
            return False  # a list of years
    return len(set(digits)) > 1 and luhn_valid(digits)
