"""The built-in rule table of :class:`models.rules.RuleScorer`: what each rule matches.

Each rule is a readable regex template (macros like ``<YOU_ARE>`` expand to lexicon
alternations from :mod:`models.lexicons`), a category, a weight on the scale documented
in :mod:`models.rules`, and the trigger tokens that gate it. This module is mostly data
and stays long (~500 lines) on purpose: the rules are read and tuned side by side, and
splitting the table by category would scatter the shared macros and trigger sets.
Nothing here compiles a regex at import; :class:`~models.rules.RuleScorer` does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Optional

from models import lexicons as lx

# Defined next to the table whose rule-id prefixes map onto them (and so that
# models.community_terms can check categories without importing models.rules);
# models.rules re-exports it.
CATEGORIES = ("insult", "threat", "identity_attack", "sexual", "spam", "personal_data",
              "self_harm")


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
