"""Per-community configuration (``config/communities.toml``), validated at start.

A ``[defaults]`` table applies to every community; ``[communities."<name>"]`` tables
override it key by key. Term lists (``deny_terms``, ``allow_terms``) add up: a community
gets the defaults' terms followed by its own. A community's ``ladder`` table overrides
the defaults' ladder key by key (``steps`` as a whole). Every other key, lists included
(``exempt_authors``, ``exempt_roles``), replaces the default.

Everything is checked when Vigil starts, and the first problem stops it with a
:class:`ConfigError` naming the file, the community and the key:

>>> parse_communities({"communities": {"r/x": {"ladder": {"steps": [
...     {"strikes": 1, "within": "24h", "action": "jail"}]}}}})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
config.communities.ConfigError: communities.toml: communities.'r/x'.ladder.steps[0].action: ...
>>> try:
...     parse_communities({"defaults": {"toxicity_treshold": 0.9}})
... except ConfigError as exc:
...     print(exc)
communities.toml: defaults.toxicity_treshold: unknown key; did you mean 'toxicity_threshold'?
>>> cfg = parse_communities({"communities": {"r/x": {"toxicity_threshold": 0.9}}})
>>> cfg.for_community("r/x").toxicity_threshold, cfg.for_community("r/y").toxicity_threshold
(0.9, 0.8)
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

from models.conduct import ACTIONS, Ladder, LadderStep

__all__ = ["ConfigError", "CommunityConfig", "CommunitiesConfig", "load_communities",
           "parse_communities", "parse_duration", "SHIPPED_PATH", "DENY_CATEGORIES",
           "TERM_KINDS", "MAX_TERMS", "MAX_REGEX_CHARS", "BUILTIN_DEFAULTS"]

SHIPPED_PATH = Path(__file__).with_name("communities.toml")
DENY_CATEGORIES = ("insult", "threat", "identity_attack", "sexual", "spam", "personal_data",
                   "self_harm", "profanity")
TERM_KINDS = ("word", "phrase", "regex")
MAX_TERMS = 500  # per list, per community, after merging with the defaults
MAX_REGEX_CHARS = 200

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 7 * 86400.0}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_TOP_KEYS = ("defaults", "communities")
_COMMUNITY_KEYS = ("toxicity_threshold", "target_precision", "severe_threshold",
                   "review_budget_per_day",
                   "exempt_authors", "exempt_roles", "ladder", "deny_terms", "allow_terms")
_LADDER_KEYS = ("decay_half_life_days", "ban_requires_severe_or_persistent", "steps")
_STEP_KEYS = ("strikes", "within", "action", "duration")
_TERM_KEYS = ("kind", "value", "category", "note")
_THRESHOLDS = ("toxicity_threshold", "target_precision", "severe_threshold")

#: What a community gets when neither ``[defaults]`` nor its own table says otherwise.
BUILTIN_DEFAULTS: dict[str, Any] = {
    "toxicity_threshold": 0.8,
    "target_precision": 0.9,
    "review_budget_per_day": 0,  # 0: no budget
    "severe_threshold": 0.7,
    "exempt_authors": [],
    "exempt_roles": ["moderator", "admin"],
    "ladder": {
        "decay_half_life_days": 30,
        "ban_requires_severe_or_persistent": True,
        "steps": [
            {"strikes": 1, "within": "24h", "action": "note"},
            {"strikes": 2, "within": "24h", "action": "warn"},
            {"strikes": 3, "within": "7d", "action": "timeout", "duration": "24h"},
            {"strikes": 4, "within": "30d", "action": "suspend", "duration": "7d"},
            {"strikes": 6, "within": "90d", "action": "ban"},
        ],
    },
    "deny_terms": [],
    "allow_terms": [],
}


class ConfigError(ValueError):
    """The communities file cannot be used; the message names the file, community and key."""


@dataclass(frozen=True)
class CommunityConfig:
    name: str
    toxicity_threshold: float  # escalate at or above
    target_precision: float  # the learnt threshold aims for this where labels show it reachable
    severe_threshold: float  # a severe category at/above this goes to the safety route
    exempt_author_ids: frozenset[str]  # pseudonymised (or as written, with no pseudonymiser)
    exempt_roles: frozenset[str]  # lower-cased: compare case-insensitively
    ladder: Ladder
    deny_terms: tuple[dict, ...]  # {"kind", "value", "category"[, "note"]}
    allow_terms: tuple[dict, ...]  # {"kind", "value"[, "category", "note"]}
    review_budget_per_day: float = 0.0  # at most this many flags a day; 0: no budget


@dataclass(frozen=True)
class CommunitiesConfig:
    defaults: CommunityConfig
    communities: dict[str, CommunityConfig]  # already merged with the defaults

    def for_community(self, name: str) -> CommunityConfig:
        """The community's merged config; a community the file does not name gets the
        defaults."""
        found = self.communities.get(name)
        return found if found is not None else dataclasses.replace(self.defaults, name=name)

    def __contains__(self, name: object) -> bool:
        return name in self.communities


def parse_duration(text: Any) -> float:
    """Seconds in a duration such as ``"90s"``, ``"30m"``, ``"24h"``, ``"7d"``, ``"2w"``
    or ``"1d12h"``.

    >>> parse_duration("24h"), parse_duration("30m"), parse_duration("1d12h")
    (86400.0, 1800.0, 129600.0)
    >>> parse_duration("24 hours")
    Traceback (most recent call last):
    ...
    ValueError: '24 hours' is not a duration; write it like "90s", "30m", "24h" or "7d"
    """
    hint = 'write it like "90s", "30m", "24h" or "7d"'
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not a duration; {hint} (a quoted string)")
    s = text.strip().lower()
    if not s or _DURATION.sub("", s) != "":
        raise ValueError(f"{text!r} is not a duration; {hint}")
    seconds = sum(float(n) * _UNITS[u] for n, u in _DURATION.findall(s))
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ValueError(f"{text!r} must be longer than zero")
    return seconds


def load_communities(
    path: Path | str | None = None,
    pseudonymize: Optional[Callable[[str, str], str]] = None,
    platform_of: Optional[Callable[[str], Optional[str]]] = None,
) -> CommunitiesConfig:
    """Read and validate the communities file (``None``: the shipped one).

    ``pseudonymize(platform, user)`` turns each exempt author, written
    ``"platform:username"``, into the pseudonym posts carry as ``author_id``; without it
    the entries are kept as written. ``platform_of(community)`` supplies the platform
    for entries written without a ``platform:`` prefix (they are an error otherwise).
    """
    path = SHIPPED_PATH if path is None else Path(path)
    source = path.name if path == SHIPPED_PATH else str(path)
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{source}: communities config file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{source}: is a directory, not a communities config file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    return parse_communities(data, source=source, pseudonymize=pseudonymize,
                             platform_of=platform_of)


def parse_communities(
    data: Mapping[str, Any],
    *,
    source: str = "communities.toml",
    pseudonymize: Optional[Callable[[str, str], str]] = None,
    platform_of: Optional[Callable[[str], Optional[str]]] = None,
) -> CommunitiesConfig:
    """Validate an already-parsed TOML document (see :func:`load_communities`)."""
    return _Parser(source, pseudonymize, platform_of).parse(data)


# ---------------------------------------------------------------------------------
class _Parser:
    """Validates ``[defaults]`` first (over :data:`BUILTIN_DEFAULTS`), then each community
    over the validated defaults, so every error is reported at the key that caused it."""

    def __init__(self, source: str, pseudonymize, platform_of):
        self.source = source
        self.pseudonymize = pseudonymize
        self.platform_of = platform_of

    def error(self, key: str, why: str) -> ConfigError:
        return ConfigError(f"{self.source}: {key}: {why}")

    def check_keys(self, table: Any, known: tuple[str, ...], where: str) -> None:
        if not isinstance(table, Mapping):
            raise self.error(where or "(top level)", f"expected a table, got {_kind(table)}")
        for key in table:
            if key not in known:
                close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
                hint = (f"did you mean {close[0]!r}?" if close
                        else f"expected one of {', '.join(known)}")
                raise self.error(f"{where}.{key}" if where else str(key), f"unknown key; {hint}")

    # -- document ---------------------------------------------------------------
    def parse(self, data: Mapping[str, Any]) -> CommunitiesConfig:
        self.check_keys(data, _TOP_KEYS, "")
        defaults = self.community("defaults", "defaults", data.get("defaults", {}), None)
        raw_communities = data.get("communities", {})
        if not isinstance(raw_communities, Mapping):
            raise self.error("communities", "expected a table of communities, got "
                                            f"{_kind(raw_communities)}")
        communities = {}
        for name, raw in raw_communities.items():
            where = f"communities.{_quote(name)}"
            if not name.strip():
                raise self.error(where, "a community name must not be empty")
            communities[name] = self.community(name, where, raw, defaults)
        return CommunitiesConfig(defaults=defaults, communities=communities)

    # -- one table ----------------------------------------------------------------
    def community(self, name: str, where: str, raw: Any,
                  base: Optional[CommunityConfig]) -> CommunityConfig:
        """``raw`` over ``base`` (``None``: over the built-in defaults)."""
        self.check_keys(raw, _COMMUNITY_KEYS, where)
        builtin = BUILTIN_DEFAULTS
        values = {}
        for key in _THRESHOLDS:
            if key in raw:
                values[key] = self.probability(raw[key], f"{where}.{key}")
            else:
                values[key] = getattr(base, key) if base else float(builtin[key])
        if "review_budget_per_day" in raw:
            budget = raw["review_budget_per_day"]
            if isinstance(budget, bool) or not isinstance(budget, (int, float)) or budget < 0:
                raise self.error(f"{where}.review_budget_per_day",
                                 f"{budget!r} must be a number of flags per day, 0 or more")
            values["review_budget_per_day"] = float(budget)
        else:
            values["review_budget_per_day"] = base.review_budget_per_day if base else 0.0
        if "exempt_authors" in raw or base is None:
            exempt_ids = self.exempt_authors(raw.get("exempt_authors", builtin["exempt_authors"]),
                                             f"{where}.exempt_authors",
                                             name if base is not None else None)
        else:
            exempt_ids = base.exempt_author_ids
        if "exempt_roles" in raw or base is None:
            roles = frozenset(r.lower() for r in self.strings(
                raw.get("exempt_roles", builtin["exempt_roles"]), f"{where}.exempt_roles"))
        else:
            roles = base.exempt_roles
        terms = {}
        for key in ("deny_terms", "allow_terms"):
            out = list(getattr(base, key)) if base else []
            own = raw.get(key, [])
            if not isinstance(own, list):
                raise self.error(f"{where}.{key}", f"expected a list of term tables, got "
                                                   f"{_kind(own)}")
            for i, term in enumerate(own):
                t = self.term(term, f"{where}.{key}[{i}]", deny=key == "deny_terms")
                if t not in out:
                    out.append(t)
            if len(out) > MAX_TERMS:
                raise self.error(f"{where}.{key}",
                                 f"{len(out)} terms" + (" (with the defaults')" if base else "")
                                 + f"; at most {MAX_TERMS} are allowed")
            terms[key] = tuple(out)
        if "ladder" in raw or base is None:
            ladder = self.ladder(raw.get("ladder", {}), f"{where}.ladder",
                                 base.ladder if base else None)
        else:
            ladder = base.ladder
        return CommunityConfig(name=name, exempt_author_ids=exempt_ids, exempt_roles=roles,
                               ladder=ladder, deny_terms=terms["deny_terms"],
                               allow_terms=terms["allow_terms"], **values)

    def ladder(self, raw: Any, where: str, base: Optional[Ladder]) -> Ladder:
        self.check_keys(raw, _LADDER_KEYS, where)
        builtin = BUILTIN_DEFAULTS["ladder"]
        if "decay_half_life_days" in raw or base is None:
            half = raw.get("decay_half_life_days", builtin["decay_half_life_days"])
            if not _positive_number(half):
                raise self.error(f"{where}.decay_half_life_days",
                                 f"{half!r} must be a positive number of days")
            half_s = float(half) * 86400.0
        else:
            half_s = base.decay_half_life_s
        gate_key = "ban_requires_severe_or_persistent"
        if gate_key in raw or base is None:
            gate = raw.get(gate_key, builtin[gate_key])
            if not isinstance(gate, bool):
                raise self.error(f"{where}.{gate_key}", f"{gate!r} must be true or false")
        else:
            gate = base.ban_requires_severe_or_persistent
        if "steps" in raw or base is None:
            steps = self.steps(raw.get("steps", builtin["steps"]), f"{where}.steps")
        else:
            steps = base.steps
        ladder = Ladder(steps, half_s, gate)
        try:
            ladder.validate()  # the rules across steps: strikes rise, actions never fall
        except ValueError as exc:  # "steps[2].action: ..."
            field, _, why = str(exc).partition(": ")
            raise self.error(f"{where}.{field}", why) from None
        return ladder

    def steps(self, raw: Any, where: str) -> tuple[LadderStep, ...]:
        if not isinstance(raw, list) or not raw:
            raise self.error(where, "expected a non-empty list of steps like "
                                    '{strikes = 1, within = "24h", action = "note"}')
        steps = []
        for i, step in enumerate(raw):
            key = f"{where}[{i}]"
            self.check_keys(step, _STEP_KEYS, key)
            for required in ("strikes", "within", "action"):
                if required not in step:
                    raise self.error(f"{key}.{required}", "missing")
            action = step["action"]
            if action not in ACTIONS:
                raise self.error(f"{key}.action",
                                 f"{action!r} is not one of {', '.join(ACTIONS)}")
            strikes = step["strikes"]
            if isinstance(strikes, bool) or not isinstance(strikes, int) or strikes < 1:
                raise self.error(f"{key}.strikes", f"{strikes!r} must be a whole number >= 1")
            within = self.duration(step["within"], f"{key}.within")
            duration = (self.duration(step["duration"], f"{key}.duration")
                        if "duration" in step else None)
            steps.append(LadderStep(strikes, within, action, duration))
        return tuple(steps)

    # -- values -------------------------------------------------------------------
    def probability(self, value: Any, key: str) -> float:
        if not _positive_number(value) or value > 1:
            raise self.error(key, f"{value!r} must be a number in (0, 1]")
        return float(value)

    def duration(self, value: Any, key: str) -> float:
        try:
            return parse_duration(value)
        except ValueError as exc:
            raise self.error(key, str(exc)) from None

    def term(self, raw: Any, key: str, *, deny: bool) -> dict:
        self.check_keys(raw, _TERM_KEYS, key)
        kind = raw.get("kind")
        if kind not in TERM_KINDS:
            raise self.error(f"{key}.kind", f"{kind!r} is not one of {', '.join(TERM_KINDS)}"
                             if kind is not None else
                             f"missing; one of {', '.join(TERM_KINDS)}")
        value = raw.get("value")
        if not isinstance(value, str) or not value.strip():
            raise self.error(f"{key}.value", "must be a non-empty string")
        value = value.strip()
        if kind == "word" and re.search(r"\s", value):
            raise self.error(f"{key}.value", f"{value!r} is more than one word; "
                                             'use kind = "phrase"')
        if kind == "regex":
            if len(value) > MAX_REGEX_CHARS:
                raise self.error(f"{key}.value", f"regex is {len(value)} characters; at most "
                                                 f"{MAX_REGEX_CHARS} are allowed")
            try:
                re.compile(value)
            except re.error as exc:
                raise self.error(f"{key}.value", f"regex does not compile: {exc}") from None
        term = {"kind": kind, "value": value}
        category = raw.get("category")
        if category is None and deny:
            raise self.error(f"{key}.category",
                             f"missing; one of {', '.join(DENY_CATEGORIES)}")
        if category is not None:
            if category not in DENY_CATEGORIES:
                raise self.error(f"{key}.category",
                                 f"{category!r} is not one of {', '.join(DENY_CATEGORIES)}")
            term["category"] = category
        if "note" in raw:
            if not isinstance(raw["note"], str):
                raise self.error(f"{key}.note", "must be a string")
            term["note"] = raw["note"]
        return term

    def strings(self, value: Any, key: str) -> list[str]:
        if not isinstance(value, list):
            raise self.error(key, f"expected a list of strings, got {_kind(value)}")
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                raise self.error(f"{key}[{i}]", f"{item!r} must be a non-empty string")
            out.append(item.strip())
        return out

    def exempt_authors(self, value: Any, key: str, community: Optional[str]) -> frozenset[str]:
        """``"platform:username"`` entries, pseudonymised when a pseudonymiser is given."""
        ids = set()
        for i, entry in enumerate(self.strings(value, key)):
            platform, sep, user = entry.partition(":")
            if not sep:
                guessed = (self.platform_of(community)
                           if self.platform_of is not None and community is not None else None)
                if not guessed:
                    raise self.error(f"{key}[{i}]", f"{entry!r} needs its platform, written "
                                                    'like "reddit:AutoModerator"')
                platform, user = guessed, entry
            platform, user = platform.strip().lower(), user.strip()
            if not platform or not user:
                raise self.error(f"{key}[{i}]", f"{entry!r} must look like "
                                                '"platform:username"')
            ids.add(self.pseudonymize(platform, user) if self.pseudonymize is not None
                    else f"{platform}:{user}")
        return frozenset(ids)


def _positive_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value) and value > 0)


def _quote(name: Any) -> str:
    return "'" + str(name).replace("'", "\\'") + "'"


def _kind(value: Any) -> str:
    return {dict: "a table", list: "a list", str: "a string"}.get(type(value),
                                                                   type(value).__name__)
