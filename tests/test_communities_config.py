"""config/communities.toml: the shipped file, merging, and every validation error."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from config.communities import (SHIPPED_PATH, CommunitiesConfig, ConfigError,
                                load_communities, parse_duration)
from models.conduct import DEFAULT_LADDER, Ladder, LadderStep
from models.pseudonym import Pseudonymizer

SAMPLES = ("r/acmegames", "r/acmesupport", "acme-discord/#general")
H, D = 3600.0, 86400.0


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "communities.toml"
    path.write_text(textwrap.dedent(text))
    return path


def load_text(tmp_path: Path, text: str, **kw) -> CommunitiesConfig:
    return load_communities(write(tmp_path, text), **kw)


def error_for(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as exc:
        load_text(tmp_path, text)
    return str(exc.value)


# ------------------------------------------------------------------ shipped file
def test_shipped_file_loads_and_every_sample_community_resolves():
    cfg = load_communities()
    assert set(SAMPLES) <= set(cfg.communities)
    for name in SAMPLES:
        c = cfg.for_community(name)
        assert c.name == name
        c.ladder.validate()
        assert 0 < c.toxicity_threshold <= 1 and 0 < c.severe_threshold <= 1
        assert {"moderator", "admin"} <= c.exempt_roles
        assert any(t["value"] == "free nitro" and t["category"] == "spam"
                   for t in c.deny_terms)
    assert cfg.defaults.ladder == DEFAULT_LADDER
    assert load_communities(SHIPPED_PATH) == cfg


def test_sample_communities_in_the_stream_all_have_a_config():
    import json

    sample = Path(__file__).resolve().parents[1] / "connectors/sample_data/community_stream.jsonl"
    names = set()
    for line in sample.read_text(encoding="utf-8").splitlines():
        try:
            obj = json.loads(line)
        except ValueError:
            continue  # the sample deliberately holds malformed lines
        if isinstance(obj, dict) and isinstance(obj.get("community"), str):
            names.add(obj["community"])
    cfg = load_communities()
    assert names <= set(cfg.communities), names - set(cfg.communities)


def test_unknown_community_gets_the_defaults():
    cfg = load_communities()
    c = cfg.for_community("r/elsewhere")
    assert c.name == "r/elsewhere"
    assert c.toxicity_threshold == cfg.defaults.toxicity_threshold == 0.8
    assert c.ladder == cfg.defaults.ladder
    assert "r/elsewhere" not in cfg and "r/acmegames" in cfg


# ------------------------------------------------------------------------ merging
def test_overrides_merge_with_defaults(tmp_path):
    cfg = load_text(tmp_path, """
        [defaults]
        toxicity_threshold = 0.75
        exempt_roles = ["Moderator"]
        [defaults.ladder]
        decay_half_life_days = 10
        [[defaults.deny_terms]]
        kind = "phrase"
        value = "free nitro"
        category = "spam"
        [[defaults.allow_terms]]
        kind = "word"
        value = "noob"

        [communities."r/a"]
        toxicity_threshold = 0.9
        exempt_roles = ["mod"]
        [communities."r/a".ladder]
        steps = [{strikes = 1, within = "1h", action = "warn"}]
        [[communities."r/a".deny_terms]]
        kind = "word"
        value = "scam"
        category = "spam"
        [[communities."r/a".deny_terms]]
        kind = "phrase"
        value = "free nitro"
        category = "spam"
        [[communities."r/a".allow_terms]]
        kind = "phrase"
        value = "kill streak"

        [communities."r/b"]
        severe_threshold = 0.5
    """)
    a, b = cfg.for_community("r/a"), cfg.for_community("r/b")
    assert (a.toxicity_threshold, a.target_precision, a.severe_threshold) == (0.9, 0.9, 0.7)
    assert (b.toxicity_threshold, b.severe_threshold) == (0.75, 0.5)
    assert a.exempt_roles == {"mod"} and b.exempt_roles == {"moderator"}
    # ladder: steps from the community, the decay from the defaults
    assert a.ladder == Ladder((LadderStep(1, H, "warn"),), 10 * D)
    assert b.ladder.steps == DEFAULT_LADDER.steps and b.ladder.decay_half_life_s == 10 * D
    # term lists add up (defaults first), without duplicates
    assert [t["value"] for t in a.deny_terms] == ["free nitro", "scam"]
    assert [t["value"] for t in a.allow_terms] == ["noob", "kill streak"]
    assert [t["value"] for t in b.deny_terms] == ["free nitro"]


def test_empty_file_is_all_builtin_defaults(tmp_path):
    cfg = load_text(tmp_path, "")
    assert cfg.communities == {}
    assert cfg.defaults.ladder == DEFAULT_LADDER
    assert cfg.defaults.exempt_roles == {"moderator", "admin"}


# -------------------------------------------------------------------- durations
@pytest.mark.parametrize("text, seconds", [("90s", 90), ("30m", 1800), ("24h", 86400),
                                           ("7d", 7 * 86400), ("2w", 14 * 86400),
                                           ("1d12h", 129600), ("1.5h", 5400), (" 6H ", 21600)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["24", "24 hours", "h", "", "0h", "-1d", "1y", 24, None])
def test_bad_durations(text):
    with pytest.raises(ValueError, match="duration|longer than zero"):
        parse_duration(text)


def test_bad_duration_in_file_names_the_key(tmp_path):
    msg = error_for(tmp_path, """
        [communities."r/x".ladder]
        steps = [{strikes = 1, within = "24 hours", action = "note"}]
    """)
    assert "communities.'r/x'.ladder.steps[0].within: '24 hours' is not a duration" in msg
    assert str(tmp_path / "communities.toml") in msg


# ------------------------------------------------------------ validation errors
STEPS_OK = '{strikes = 1, within = "24h", action = "note"}'


@pytest.mark.parametrize("toml, key, why", [
    ('[defaults]\ntoxicity_threshold = 1.5', "defaults.toxicity_threshold", "(0, 1]"),
    ('[defaults]\ntarget_precision = 0', "defaults.target_precision", "(0, 1]"),
    ('[communities."r/x"]\nsevere_threshold = -0.1', "communities.'r/x'.severe_threshold",
     "(0, 1]"),
    ('[communities."r/x"]\ntoxicity_threshold = true', "communities.'r/x'.toxicity_threshold",
     "(0, 1]"),
    ('[communities."r/x"]\ntoxicity_threshold = "high"',
     "communities.'r/x'.toxicity_threshold", "(0, 1]"),
    ('[communities."r/x".ladder]\nsteps = [{strikes = 1, within = "24h", action = "jail"}]',
     "communities.'r/x'.ladder.steps[0].action",
     "'jail' is not one of none, note, warn, timeout, suspend, ban"),
    (f'[communities."r/x".ladder]\nsteps = [{STEPS_OK}, {STEPS_OK}, '
     '{strikes = 3, within = "7d", action = "jail"}]',
     "communities.'r/x'.ladder.steps[2].action", "'jail' is not one of"),
    (f'[defaults.ladder]\nsteps = [{STEPS_OK}, {{strikes = 1, within = "7d", action = "warn"}}]',
     "defaults.ladder.steps[1].strikes", "must be greater than steps[0].strikes"),
    (f'[defaults.ladder]\nsteps = [{{strikes = 1, within = "7d", action = "warn"}}, '
     '{strikes = 2, within = "7d", action = "note"}]',
     "defaults.ladder.steps[1].action", "milder"),
    ('[defaults.ladder]\nsteps = [{strikes = 0, within = "1d", action = "note"}]',
     "defaults.ladder.steps[0].strikes", "whole number"),
    ('[defaults.ladder]\nsteps = [{strikes = 1, action = "note"}]',
     "defaults.ladder.steps[0].within", "missing"),
    ('[defaults.ladder]\nsteps = [{strikes = 1, within = "1d", action = "warn", '
     'duration = "1d"}]', "defaults.ladder.steps[0].duration", "has no duration"),
    ('[defaults.ladder]\nsteps = []', "defaults.ladder.steps", "non-empty list"),
    ('[defaults.ladder]\ndecay_half_life_days = 0', "defaults.ladder.decay_half_life_days",
     "positive number of days"),
    ('[defaults.ladder]\nban_requires_severe_or_persistent = "yes"',
     "defaults.ladder.ban_requires_severe_or_persistent", "true or false"),
    ('[[defaults.deny_terms]]\nkind = "glob"\nvalue = "x"\ncategory = "spam"',
     "defaults.deny_terms[0].kind", "'glob' is not one of word, phrase, regex"),
    ('[[defaults.deny_terms]]\nkind = "word"\nvalue = "  "\ncategory = "spam"',
     "defaults.deny_terms[0].value", "non-empty"),
    ('[[defaults.deny_terms]]\nkind = "word"\nvalue = "free nitro"\ncategory = "spam"',
     "defaults.deny_terms[0].value", 'use kind = "phrase"'),
    ('[[defaults.deny_terms]]\nkind = "phrase"\nvalue = "x"',
     "defaults.deny_terms[0].category", "missing"),
    ('[[defaults.deny_terms]]\nkind = "phrase"\nvalue = "x"\ncategory = "rude"',
     "defaults.deny_terms[0].category", "'rude' is not one of insult, threat"),
    ("[[communities.\"r/x\".deny_terms]]\nkind = \"regex\"\nvalue = '(unclosed'\n"
     'category = "spam"', "communities.'r/x'.deny_terms[0].value", "does not compile"),
    (f"[[communities.\"r/x\".allow_terms]]\nkind = \"regex\"\nvalue = '{'a' * 201}'",
     "communities.'r/x'.allow_terms[0].value", "at most 200"),
    ('[communities."r/x"]\ndeny_terms = "free nitro"', "communities.'r/x'.deny_terms",
     "expected a list"),
    ('[defaults]\nexempt_roles = "moderator"', "defaults.exempt_roles", "expected a list"),
    ('[defaults]\nexempt_authors = ["AutoModerator"]', "defaults.exempt_authors[0]",
     'written like "reddit:AutoModerator"'),
    ('[defaults]\nexempt_authors = ["reddit:"]', "defaults.exempt_authors[0]",
     '"platform:username"'),
    ('communities = 3', "communities", "expected a table"),
    ('[communities]\n"r/x" = 0.8', "communities.'r/x'", "expected a table"),
])
def test_validation_errors_name_the_key(tmp_path, toml, key, why):
    msg = error_for(tmp_path, toml)
    assert f": {key}: " in msg, msg
    assert why in msg, msg


def test_too_many_terms(tmp_path):
    terms = "\n".join(f'[[defaults.deny_terms]]\nkind = "word"\nvalue = "w{i}"\n'
                      'category = "spam"' for i in range(300))
    own = "\n".join(f'[[communities."r/x".deny_terms]]\nkind = "word"\nvalue = "x{i}"\n'
                    'category = "spam"' for i in range(201))
    load_text(tmp_path, terms)  # 300 is fine
    msg = error_for(tmp_path, terms + "\n" + own)
    assert ": communities.'r/x'.deny_terms: 501 terms" in msg and "at most 500" in msg


@pytest.mark.parametrize("toml, key, suggestion", [
    ('[defaults]\ntoxicity_treshold = 0.9', "defaults.toxicity_treshold",
     "did you mean 'toxicity_threshold'?"),
    ('[communities."r/x"]\nexempt_author = []', "communities.'r/x'.exempt_author",
     "did you mean 'exempt_authors'?"),
    ('[communities."r/x".ladder]\ndecay_half_life = 3', "communities.'r/x'.ladder.decay_half_life",
     "did you mean 'decay_half_life_days'?"),
    ('[defaults.ladder]\nsteps = [{strikes = 1, within = "1d", acton = "note"}]',
     "defaults.ladder.steps[0].acton", "did you mean 'action'?"),
    ('[[defaults.deny_terms]]\nkind = "word"\nvalue = "x"\ncatgory = "spam"',
     "defaults.deny_terms[0].catgory", "did you mean 'category'?"),
    ('[default]\ntoxicity_threshold = 0.9', "default", "did you mean 'defaults'?"),
    ('[defaults]\nzzz = 1', "defaults.zzz", "expected one of toxicity_threshold"),
])
def test_unknown_key_suggests_the_close_match(tmp_path, toml, key, suggestion):
    msg = error_for(tmp_path, toml)
    assert f": {key}: unknown key; {suggestion}" in msg, msg


def test_missing_file_and_bad_toml(tmp_path):
    with pytest.raises(ConfigError, match="not found") as exc:
        load_communities(tmp_path / "nope.toml")
    assert "nope.toml" in str(exc.value)
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_text(tmp_path, "[defaults\n")


def test_config_error_is_a_value_error():
    assert issubclass(ConfigError, ValueError)


# ------------------------------------------------------------------ exempt authors
EXEMPT = """
    [defaults]
    exempt_authors = ["reddit:AutoModerator"]
    [communities."r/x"]
    exempt_authors = ["Reddit:AutoModerator", "HelperBot"]
    [communities."r/y"]
    toxicity_threshold = 0.9
"""


def test_exempt_authors_pseudonymised_with_the_given_callable(tmp_path):
    pseudo = Pseudonymizer(b"test-key")
    calls = []

    def pseudonymize(platform: str, user: str) -> str:
        calls.append((platform, user))
        return pseudo(platform, user)

    cfg = load_text(tmp_path, EXEMPT, pseudonymize=pseudonymize,
                    platform_of=lambda community: "reddit")
    automod = pseudo("reddit", "AutoModerator")  # what normalisation puts in Post.author_id
    assert cfg.defaults.exempt_author_ids == {automod}
    assert cfg.for_community("r/x").exempt_author_ids == {automod, pseudo("reddit", "HelperBot")}
    assert cfg.for_community("r/y").exempt_author_ids == {automod}  # inherited
    assert ("reddit", "HelperBot") in calls  # bare name: platform from platform_of
    assert all(p == p.lower() for p, _ in calls)


def test_exempt_authors_kept_as_given_without_a_callable(tmp_path):
    cfg = load_text(tmp_path, EXEMPT.replace('"HelperBot"', '"discord:helper.bot"'))
    assert cfg.for_community("r/x").exempt_author_ids == {"reddit:AutoModerator",
                                                          "discord:helper.bot"}


def test_bare_exempt_author_needs_platform_of(tmp_path):
    msg = error_for(tmp_path, EXEMPT)
    assert ": communities.'r/x'.exempt_authors[1]: 'HelperBot' needs its platform" in msg


def test_shipped_exempt_authors_pseudonymised():
    pseudo = Pseudonymizer(b"k")
    cfg = load_communities(pseudonymize=pseudo)
    assert pseudo("reddit", "AutoModerator") in cfg.for_community("r/acmegames").exempt_author_ids
    assert pseudo("discord", "acme.bot") in \
        cfg.for_community("acme-discord/#general").exempt_author_ids
