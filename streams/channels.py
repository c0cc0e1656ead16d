"""Faust topic objects for the agents, built from the specs in :mod:`streams.topics`."""

from __future__ import annotations

from streams import records
from streams.app import app
from streams.topics import TOPICS

_VALUE_TYPES = {
    "Post": records.Post,
    "ScoredPost": records.ScoredPost,
    "TrendSignal": records.TrendSignal,
    "Escalation": records.Escalation,
    "DeadLetter": records.DeadLetter,
    "ModerationFeedback": records.ModerationFeedback,
    "IncidentAction": records.IncidentAction,
}


def _topic(name: str):
    spec = next(t for t in TOPICS if t.name == name)
    partitions = spec.partitions(app.vigil_settings.partitions)
    if spec.record == "bytes":
        # Raw payloads stay bytes so that malformed JSON reaches normalisation (and the
        # dead-letter topic) instead of crashing Faust's deserialiser.
        return app.topic(name, key_type=bytes, value_type=bytes, key_serializer="raw",
                         value_serializer="raw", partitions=partitions)
    return app.topic(name, key_type=str, value_type=_VALUE_TYPES[spec.record],
                     key_serializer="raw", partitions=partitions,
                     compacting=spec.compacted or None)


posts_raw = _topic("posts.raw")
posts_normalized = _topic("posts.normalized")
posts_scored = _topic("posts.scored")
signals_trends = _topic("signals.trends")
escalations = _topic("escalations")
moderation_feedback = _topic("moderation.feedback")
incident_actions = _topic("incidents.actions")
posts_dlq = _topic("posts.dlq")
