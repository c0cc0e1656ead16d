"""Prototype sentences: what the lexical prior misses, recognised by meaning.

The lexical prior knows swear words; identity attacks, dehumanising language, calls to
exclude a group, threats and personal harassment are often written without one ("they
are vermin, send them all back", "nobody would miss you"). Vigil's authors wrote a few dozen short sentences of each kind, and as many
neutral sentences about the same groups and topics; a post's feature for a kind is how
much closer its MiniLM embedding sits to that kind's nearest prototype than to the
nearest neutral one. Nothing here is learnt from anyone's data: the sentences below are
the whole model, and the learner re-weights the features from a community's labels.

>>> import numpy as np
>>> protos = PrototypeScorer.from_vectors({"threat": np.eye(4)[:1]}, np.eye(4)[1:2])
>>> protos.kinds
('threat',)
>>> v = np.array([[0.9, 0.1, 0, 0], [0.1, 0.9, 0, 0]], dtype="float32")
>>> [round(float(x), 2) for x in protos.features(v)[:, 0]]
[0.8, -0.8]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np

__all__ = ["PROTOTYPES", "NEUTRAL", "PrototypeScorer"]

# Written for Vigil; generic group words so that no single group or platform is special.
PROTOTYPES: dict[str, tuple[str, ...]] = {
    "identity_attack": (
        "immigrants are criminals and rapists",
        "these migrants are invading our country",
        "refugees are parasites living off our taxes",
        "muslims are terrorists, every single one of them",
        "jews control the banks and the media",
        "black people are inferior",
        "gay people are disgusting and sick",
        "trans people are mentally ill freaks",
        "women are too stupid to vote",
        "women belong in the kitchen, not at work",
        "all women are whores and liars",
        "feminists are ugly man-hating bitches",
        "those people are ruining our nation",
        "foreigners are stealing our jobs and our women",
        "illegals should go back where they came from",
        "their religion is a cancer on the world",
        "you people are all the same, lazy and dishonest",
        "none of them can be trusted, it is in their blood",
        "their culture is backward and violent",
        "they come here to take advantage of our welfare",
        "these people bring crime and disease wherever they go",
        "they will never be real citizens of this country",
        "that religion breeds hatred and violence",
        "gays are trying to corrupt our children",
        "women only get ahead by sleeping with the boss",
        "she only got the job because she is a woman",
        "old people are useless and a burden on everyone",
        "disabled people are a waste of money",
        "they are replacing us in our own land",
        "our race is being wiped out by immigration",
    ),
    "dehumanising": (
        "they are animals, not people",
        "they are vermin and should be exterminated",
        "these subhumans breed like rats",
        "they are a plague that is spreading",
        "they are savages from a backward culture",
        "cockroaches crossing the border",
        "she is just a piece of meat",
        "treat them like the dogs they are",
        "they are filth and need to be cleaned out",
        "an infestation of foreigners in our cities",
        "they swarm in like insects",
        "these parasites suck our country dry",
        "she is a worthless object, only good for one thing",
        "they are a disease that has to be wiped out",
    ),
    "exclusion": (
        "deport them all now",
        "close the borders and send them back",
        "kick every one of them out of the country",
        "they should not be allowed in our country",
        "ban them from entering",
        "build the wall and keep them out",
        "they don't belong here, get them out",
        "no more refugees, stop the invasion",
        "go back to your own country",
        "we don't want your kind here",
        "they should all be locked up or thrown out",
        "send every last one of them home",
        "no place for them in our society",
    ),
    "threat": (
        "I will kill you",
        "someone should shoot them all",
        "I am going to find you and hurt you",
        "they deserve to be hanged",
        "burn their houses down",
        "you deserve to be raped",
        "I hope you die a slow death",
        "we should beat them until they leave",
        "you will pay for this, watch your back",
        "we know where you live",
        "people like you should be put down",
        "I'm going to make your life hell",
        "they should all be lined up and shot",
        "someone needs to teach her a lesson she won't forget",
    ),
    "harassment": (
        "you are worthless and nobody will ever love you",
        "go kill yourself, no one would miss you",
        "you are a pathetic loser",
        "shut up, nobody cares what you think",
        "you are so ugly it hurts to look at you",
        "everyone hates you, just disappear",
    ),
}

# Neutral talk about the same groups and topics, and everyday talk with strong words
# ("this traffic is killing me"): what the prototypes must be closer than.
NEUTRAL: tuple[str, ...] = (
    "immigrants contribute a lot to the economy",
    "the refugees arrived at the port this morning",
    "a new report on migration was published today",
    "the mosque hosted an open day for the neighbours",
    "the synagogue celebrated its anniversary",
    "women's football is growing fast",
    "she was elected to parliament last year",
    "the pride parade took place on saturday",
    "the border crossing was closed because of the storm",
    "the government debated the immigration bill",
    "my neighbour moved here from another country",
    "thanks for sharing, this was really helpful",
    "what time does the stream start tonight?",
    "I love this song so much",
    "the match was great, what a goal",
    "can someone help me with this bug?",
    "happy birthday, have a wonderful day",
    "the new update broke my save file",
    "that game was so much fun last night",
    "good morning everyone, coffee time",
    "I disagree with this policy but I see your point",
    "the police arrested a suspect after the robbery",
    "the history of the war is fascinating",
    "my wife and I went to the beach",
    "the dog barked at the mailman again",
    "the meeting has been moved to thursday",
    "the council met with community leaders to discuss housing",
    "a charity helps new arrivals learn the language",
    "she started her own company at twenty five",
    "the church choir sang at the festival",
    "people from all over the world live in this city",
    "the study looked at wages of immigrant workers",
    "the protest against the new law was peaceful",
    "the election results will be announced tonight",
    "I am so tired after work today",
    "this traffic is killing me",
    "I'm going to destroy you in the next round lol",
    "my team got crushed last night",
    "the storm destroyed several houses near the coast",
    "the army sent troops to help after the flood",
    "what do you think about the new phone?",
    "the movie was boring and way too long",
    "I hate mondays",
    "she is the best teacher I ever had",
    "we went out for dinner with friends",
    "the kids are playing in the garden",
    "just finished my homework finally",
    "the news about the shooting is so sad",
    "praying for the victims and their families",
    "the refugees were welcomed by volunteers",
    "women deserve equal pay for equal work",
    "he moved to the country to study medicine",
)


@dataclass(frozen=True)
class PrototypeScorer:
    """Per-kind feature: max cosine to the kind's prototypes minus max cosine to neutral."""

    kinds: tuple
    _protos: tuple  # per kind: (k, dim) unit vectors
    _neutral: np.ndarray  # (m, dim) unit vectors

    @classmethod
    def from_vectors(cls, protos: Mapping[str, np.ndarray], neutral: np.ndarray) -> "PrototypeScorer":
        kinds = tuple(protos)
        return cls(kinds, tuple(np.asarray(protos[k], np.float32) for k in kinds),
                   np.asarray(neutral, np.float32))

    @classmethod
    def build(cls, embed: Callable[[list], np.ndarray]) -> "PrototypeScorer":
        """``embed``: texts -> unit vectors (the same embedder that embeds posts)."""
        return cls.from_vectors({k: embed(list(v)) for k, v in PROTOTYPES.items()},
                                embed(list(NEUTRAL)))

    def features(self, vectors: np.ndarray) -> np.ndarray:
        """(n, dim) unit vectors -> (n, len(kinds)) in [-2, 2]."""
        vectors = np.asarray(vectors, np.float32)
        neutral = (vectors @ self._neutral.T).max(axis=1)
        return np.stack([(vectors @ p.T).max(axis=1) - neutral for p in self._protos], axis=1)
