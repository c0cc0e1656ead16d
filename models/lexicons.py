"""Word lists behind :mod:`models.rules`.

Kept apart from the rules so that a reviewer can audit *what* is matched without
reading regular expressions, and so that the lists can grow without touching the
matching code. Entries are plain lowercase words or phrases (a space matches any
run of whitespace); :mod:`models.rules` escapes them, so no entry is a regex.

Nothing here is read from disk: these are module constants, cheap to import.
"""

from __future__ import annotations

# --- insult / harassment -------------------------------------------------------------

#: Nouns that insult on their own, so "you <noun>" is already aimed at the reader.
INSULT_NOUNS = (
    "idiot", "moron", "loser", "clown", "imbecile", "dumbass", "jackass", "asshole",
    "arsehole", "dickhead", "prick", "twat", "wanker", "tosser", "bastard", "bitch",
    "scumbag", "buffoon", "dimwit", "nitwit", "halfwit", "cretin", "dipshit", "shithead",
    "fuckwit", "fuckface", "fucker", "motherfucker", "douche", "douchebag", "numpty",
    "pillock", "knobhead", "bellend", "muppet", "degenerate", "lowlife", "scum", "simp",
    "incel", "neckbeard", "psycho", "weirdo", "creep", "coward", "fraud",
    "piece of shit", "piece of garbage", "piece of trash", "sack of shit",
    "waste of space", "waste of oxygen", "waste of air", "excuse for a human",
)

#: Nouns that are only insults as a predicate ("you're trash"): "you trash the base",
#: "did you rat on me" and "you tool around" are verbs.
INSULT_PREDICATE_NOUNS = (
    "trash", "garbage", "joke", "failure", "disgrace", "embarrassment", "pig", "rat",
    "snake", "tool", "parasite", "leech", "nobody",
)

#: Adjectives that insult as a predicate ("you're so stupid").
INSULT_ADJECTIVES = (
    "stupid", "dumb", "pathetic", "worthless", "useless", "brainless", "clueless",
    "braindead", "brain-dead", "brain dead", "ugly", "disgusting", "idiotic", "moronic",
    "incompetent", "delusional", "insufferable", "spineless", "gutless", "dense", "vile",
    "repulsive", "hopeless", "mental", "deranged", "trash", "garbage", "dumbest",
    "stupidest", "ugliest", "fat",
)

#: Words allowed between the target and the insult noun ("you absolute fucking clown").
INSULT_MODIFIERS = (
    "a", "an", "the", "such", "so", "one", "just", "really", "truly", "absolute",
    "absolutely", "total", "totally", "complete", "completely", "utter", "utterly",
    "fucking", "fuckin", "fkn", "effing", "bloody", "damn", "goddamn", "little", "big",
    "massive", "huge", "giant", "real", "stinking", "filthy", "dirty", "lazy", "entitled",
    "toxic", "whiny", "sad", "miserable", "biggest", "worst", "dumbest", "stupidest",
    "stupid", "dumb", "pathetic", "worthless", "useless", "brainless", "clueless",
    "braindead", "ugly", "disgusting", "incompetent", "delusional", "insufferable",
    "spineless", "fat", "smelly", "bald", "braindead", "mouthbreathing", "mouth-breathing",
)

#: Insult nouns that still count a little with no target in sight ("what a loser").
INSULT_ALONE = (
    "idiot", "moron", "loser", "imbecile", "dumbass", "jackass", "asshole", "arsehole",
    "dickhead", "prick", "twat", "wanker", "tosser", "bastard", "bitch", "scumbag",
    "dipshit", "shithead", "fuckwit", "fuckface", "motherfucker", "douchebag", "cretin",
    "halfwit", "dimwit", "nitwit", "lowlife", "clown",
)

# --- threats --------------------------------------------------------------------------

#: Verbs of physical violence. "beat", "destroy", "wreck", "own" and "smash" are left
#: out on purpose: in gaming talk they are about winning ("I'll beat you next time").
VIOLENT_VERBS = (
    "kill", "murder", "shoot", "stab", "strangle", "choke", "behead", "decapitate",
    "lynch", "hang", "slit", "gut", "torch", "burn", "rape", "hurt", "punch", "end",
    "execute", "butcher", "slaughter", "shank", "knife", "maim", "torture", "stomp",
    "drown", "poison", "curb stomp", "run over", "skin", "dismember", "mutilate",
)

#: People a call to violence is aimed at ("someone should shoot that guy").
PERSON_NOUNS = (
    "guy", "dude", "man", "woman", "girl", "boy", "kid", "bitch", "bastard", "idiot",
    "clown", "mod", "moderator", "admin", "streamer", "ref", "referee", "dev", "person",
    "fucker", "prick", "loser", "moron", "politician", "president",
)

# --- identity attack ------------------------------------------------------------------

#: Protected groups named by a plural noun (religion, ethnicity, nationality, migration
#: status, gender, sexuality, disability).
GROUP_NOUNS = (
    # religion
    "muslims", "moslems", "jews", "christians", "hindus", "sikhs", "buddhists",
    "catholics", "mormons", "atheists",
    # ethnicity and nationality
    "blacks", "whites", "asians", "arabs", "latinos", "latinas", "hispanics", "africans",
    "mexicans", "indians", "pakistanis", "bangladeshis", "nigerians", "somalis",
    "syrians", "afghans", "iranians", "iraqis", "turks", "kurds", "poles", "romanians",
    "albanians", "gypsies", "roma", "russians", "ukrainians", "israelis", "palestinians",
    "jamaicans", "haitians", "filipinos", "koreans", "americans", "brits", "germans",
    "europeans", "aboriginals", "natives", "indigenous people",
    # migration status
    "immigrants", "migrants", "refugees", "foreigners", "asylum seekers", "illegals",
    # gender
    "women", "girls", "females", "men", "males",
    # sexuality and gender identity
    "gays", "lesbians", "bisexuals", "homosexuals", "queers", "transgenders",
    "transsexuals", "trans", "lgbt", "lgbtq", "lgbtq+", "gay men",
    # disability
    "autists", "autistics", "the disabled", "the deaf", "the blind", "the mentally ill",
    "cripples",
)

#: Group adjectives, used with a person noun ("trans people", "muslim women").
GROUP_ADJECTIVES = (
    "muslim", "jewish", "christian", "hindu", "sikh", "catholic", "black", "white",
    "brown", "asian", "arab", "latino", "latina", "hispanic", "african", "mexican",
    "chinese", "japanese", "indian", "pakistani", "nigerian", "somali", "syrian",
    "afghan", "iranian", "turkish", "polish", "romanian", "russian", "ukrainian",
    "israeli", "palestinian", "jamaican", "haitian", "korean", "vietnamese", "filipino",
    "french", "german", "irish", "gay", "lesbian", "bisexual", "queer", "trans",
    "transgender", "nonbinary", "non-binary", "disabled", "autistic", "deaf", "blind",
    "immigrant", "migrant", "foreign", "indigenous", "native", "lgbt", "lgbtq", "lgbtq+",
)

#: Nouns completing a group adjective.
GROUP_PERSON_NOUNS = (
    "people", "persons", "person", "folks", "men", "women", "girls", "boys", "kids",
    "guys", "immigrants", "families", "communities",
)

#: Nationality adjectives that name the whole group only after "the" ("the French
#: are ..."); alone they describe servers, food and dubs.
GROUP_BARE_ADJECTIVES = (
    "chinese", "japanese", "vietnamese", "french", "dutch", "english", "irish", "welsh",
    "scottish", "portuguese", "lebanese", "sudanese", "congolese", "taiwanese",
)

#: What a group is said to be when it is being dehumanised or criminalised.
DEHUMANISING = (
    "animals", "vermin", "parasites", "subhuman", "sub-human", "subhumans",
    "cockroaches", "roaches", "rats", "pigs", "apes", "monkeys", "dogs", "savages",
    "barbarians", "a disease", "a virus", "a cancer", "a plague", "an infestation",
    "filth", "trash", "garbage", "scum", "not human", "not even human",
    "less than human", "inferior", "degenerates", "invaders", "terrorists", "criminals",
    "rapists", "pedophiles", "paedophiles", "groomers", "mentally ill",
    "a mental illness", "evil", "the enemy", "disgusting", "freaks", "abominations",
    "an abomination", "leeches", "locusts", "thieves", "stupid", "dumb", "worthless",
    "a burden", "a waste of space", "lazy", "dirty", "greedy", "violent", "liars", "drunks",
    "smelly",
)

#: What a group "should be" in eliminationist talk.
ELIMINATION = (
    "deported", "exterminated", "eradicated", "wiped out", "gassed", "killed", "shot",
    "hanged", "hung", "removed", "expelled", "sterilized", "sterilised", "banned",
    "locked up", "put down", "thrown out", "kicked out", "rounded up", "burned", "burnt",
    "culled", "purged", "segregated", "die", "not exist", "not be allowed to vote",
    "not be allowed to exist", "not be allowed to live here",
)

#: sha256 hex digests of the lowercase form of common English slurs, so this source
#: does not spell them out. Covered: anti-Black (2), anti-East-Asian (2), anti-Latino
#: (3), antisemitic (1), anti-Arab/South-Asian/Muslim (3), homophobic (3), transphobic
#: (1), misogynistic (3) and ableist (4) terms. Plurals, leetspeak and stretched
#: letters are handled by the matcher, so each slur is stored once.
#: To add a term: ``models.rules.term_digest("word")``.
SLUR_SHA256 = frozenset({
    "120f6e5b4ea32f65bda68452fcfaaef06b0136e1d0e4a6f60bc3771fa0936dd6",
    "08a841e996781e9e77d30a4e4420a8f501a280b00624e6d1224bf54aaff73eba",
    "f9d0d9b18ae9033a5ea36df19bf279b059e887a9ae785db81117bceaecc95933",
    "cc02032349c833ac5e97bac094560ed40e09acf34cb1978ab7a9840b9bf15b4d",
    "98b52c4b6b7d1f48e7477a5ccc10955dd195d0ac5a38c8281bfeb08762634909",
    "eef3bd091670c3447022d619c06ad15de96da72b5a66f28bb8b75d1b1c12a05f",
    "12e6274e4309293e2d480272b49a6c7c73a6a6b22678ba226b533c67006c17d1",
    "c3de533e9b7fe63b79f648687a30d2861edd92fe7c3cd1f2c485e0a605367624",
    "22fc75e65a0e9d34324092a7c6a8dba961853294abca4e5914e60c550f48e0c2",
    "333f7618092958c75b8c5af6f1ec77b42803922a0fc6ff1570a8af3a3aab3b4a",
    "3b1e0d7c5dd45583867e897943e37a940a7e7321022317dd3deea01963ee365e",
    "8f5083e3e5c7dc8932f2bf58212f963f3a44752618c96297f82623f736c52738",
    "9915ba2d822280f22c283df4e76584a40e0119fc58f73c5f84d4fdb04d04fa6f",
    "886d51e97ad7931d0d2af8439ca6d9e4887e3c2b469ed247cbd68ceb3649ccde",
    "16ea09fc78ca83ca502cbcf2377acdf280bf18f61e259153f0868405eedab5ef",
    "566f532d486c947709d3d0e6b7575af8380248db66dada211d58eb00ad585297",
    "9ae315a94e428a7ee3b5e48adae6541965d93b86acf10ffa1c45b93b6fe577b4",
    "c2c3b68b48832afd9a4dbdd474c1b6c81c8baecdb71446f9947dac72dd0fe93d",
    "158869a97379229b7681efae9d7f9c9214134e836d649ba53477c0c111414d59",
    "bd331fb1d24298f52943034a243a341877957b895f4372b11babb87262904ed6",
    "1802d081455e60cd8a4e1b5d38d3f8c613662dee16f790e26a2a7a5332764780",
    "27eb0c4ad7072067f21558908a1d4fd42f43f2c812afb17eee1e9262dd7c80f6",
})

# --- sexual ---------------------------------------------------------------------------

#: Explicit terms that are sexual wherever they appear (whole words only).
SEXUAL_EXPLICIT = (
    "porn", "porno", "pornhub", "xvideos", "xhamster", "nudes", "noods", "blowjob",
    "blowjobs", "blow job", "handjob", "hand job", "rimjob", "cumshot", "cumming",
    "creampie", "gangbang", "deepthroat", "dildo", "dildos", "hentai", "masturbate",
    "masturbating", "masturbation", "jerk off", "jerking off", "jack off",
    "jacking off", "wanking", "horny", "onlyfans", "sexting", "milf", "milfs", "boner",
    "titties", "boobs", "pussy", "cock", "cocks", "orgasm", "orgasms", "threesome",
    "bdsm", "rule34", "rule 34", "fap", "fapping", "lewds", "slutty", "clit", "erection",
)

# --- spam / scam / phishing -----------------------------------------------------------

#: Link shorteners: the destination is hidden, which is what scammers want.
#: ``t.co`` is deliberately absent: Twitter/X wraps *every* link in it, so it says
#: nothing about the post. ``youtu.be``, ``discord.gg`` and ``redd.it`` are first-party
#: short links to known sites, not shorteners.
SHORTENERS = frozenset({
    "bit.ly", "tinyurl.com", "goo.gl", "ow.ly", "is.gd", "buff.ly", "cutt.ly",
    "rebrand.ly", "shorturl.at", "rb.gy", "tiny.cc", "t.ly", "s.id", "v.gd", "bl.ink",
    "shorte.st", "adf.ly", "ouo.io", "clck.ru", "u.to", "tny.im", "shrtco.de",
    "t2m.io", "soo.gd", "x.gd", "qps.ru", "lnkd.in", "bitly.com", "tinyurl.is",
})

#: TLDs dominated by throwaway and abuse registrations (Spamhaus/Interisle reports).
SUSPICIOUS_TLDS = frozenset({
    "xyz", "top", "click", "ru", "tk", "gq", "ml", "cf", "ga", "icu", "buzz", "rest",
    "cam", "monster", "su", "pw", "loan", "work", "country", "kim", "gdn", "men",
    "bid", "win", "date", "review", "stream", "download", "racing", "party", "cricket",
    "science", "accountant", "faith", "trade", "webcam", "sbs", "cfd", "quest", "cyou",
    "bond", "gift", "gifts", "online", "site", "zip", "mov",
})

#: TLDs recognised in a bare domain with no ``http://`` ("bit.ly/x", "free-nitro.xyz").
#: A closed list: "done.Thanks" and "Mr.Smith" are typos, not links; ".zip" and ".mov"
#: only count after a scheme, since bare they are file names ("mods.zip").
BARE_TLDS = frozenset({
    "com", "net", "org", "io", "gg", "co", "uk", "de", "fr", "nl", "es", "it", "pl",
    "eu", "us", "ca", "au", "jp", "br", "in", "info", "biz", "app", "dev", "tv", "me",
    "ly", "cc", "ws", "ee", "sh", "cn", "tw", "kr", "vn", "ir", "link", "club", "store",
    "vip", "pro", "xxx", "porn", "sex", "ai", "cx", "nu", "ch", "se", "fi", "dk", "cz",
    "ro", "ua", "tr", "mx", "ar", "cl", "nz", "za", "live", "shop", "fun", "support",
}) | (SUSPICIOUS_TLDS - {"zip", "mov"}) | {s.rsplit(".", 1)[1] for s in SHORTENERS}

#: Registrable domains whose links never count against a post on their own.
TRUSTED_DOMAINS = frozenset({
    "youtube.com", "youtu.be", "github.com", "gitlab.com", "reddit.com", "redd.it",
    "wikipedia.org", "wikimedia.org", "twitch.tv", "discord.com", "discord.gg",
    "discordapp.com", "discordapp.net", "discord.gift", "discord.media",
    "steamcommunity.com", "steampowered.com", "steamstatic.com", "twitter.com", "x.com",
    "t.co", "imgur.com", "google.com", "stackoverflow.com", "stackexchange.com",
    "medium.com", "bsky.app", "mastodon.social", "instagram.com", "tiktok.com",
    "facebook.com", "microsoft.com", "xbox.com", "playstation.com", "nintendo.com",
    "epicgames.com", "roblox.com", "minecraft.net", "mojang.com", "battle.net",
    "blizzard.com", "ea.com", "riotgames.com", "leagueoflegends.com",
    "playvalorant.com", "paypal.com", "apple.com", "amazon.com", "tenor.com",
    "giphy.com", "streamable.com", "gyazo.com", "pastebin.com", "archive.org",
})

#: Brands that phishing domains imitate, with the domains that really belong to them.
#: A host that looks like one of these (leetspeak, one or two typos, or the name plus
#: a bait word like "gift") but is not one of its domains is a lookalike.
BRANDS = {
    "discord": ("discord.com", "discord.gg", "discordapp.com", "discordapp.net",
                "discord.gift", "discord.media", "discordstatus.com", "discord.me"),
    "steamcommunity": ("steamcommunity.com",),
    "steampowered": ("steampowered.com",),
    "steam": ("steamcommunity.com", "steampowered.com", "steamstatic.com",
              "steamdeck.com", "steamdb.info", "steamcharts.com", "steamgifts.com"),
    "epicgames": ("epicgames.com",),
    "roblox": ("roblox.com", "rbxcdn.com"),
    "twitch": ("twitch.tv",),
    "minecraft": ("minecraft.net",),
    "paypal": ("paypal.com", "paypal.me"),
    "metamask": ("metamask.io",),
    "binance": ("binance.com",),
    "coinbase": ("coinbase.com",),
    "opensea": ("opensea.io",),
    "playstation": ("playstation.com",),
    "riotgames": ("riotgames.com",),
    "battlenet": ("battle.net",),
    "blizzard": ("blizzard.com",),
}

#: Words that turn a brand name in a hostname into bait ("discord-nitro", "steam-gift").
BAIT_WORDS = (
    "nitro", "gift", "gifts", "free", "claim", "promo", "drop", "airdrop", "giveaway",
    "login", "verify", "verification", "security", "support", "reward", "rewards",
    "bonus", "trade", "skins", "prize", "event", "wallet", "auth", "account",
)
