"""Changelog-backed state. Both tables are keyed by strings that embed the community,
and every source topic is keyed by community with the same partition count, so a
table's changelog partition always matches the partition of the events that update it.

On Tansu, table recovery misses the last producer batch of a changelog (wrong
ListOffsets, see ENVIRONMENT.md): after a restart the newest few updates may be lost.
Apache Kafka recovers them all. The escalation ledger's deterministic ids keep that
from ever showing a consumer a different escalation for the same occurrence.
"""

from __future__ import annotations

from streams.app import app

#: community -> models.community_watch.WatchState.to_dict(): bursts and share spikes
burst_state = app.Table("burst-state", default=None, key_type=str,
                        partitions=app.vigil_settings.partitions,
                        help="Per-community volume baseline and the burst in progress.")

#: community -> models.raids.RaidState.to_dict(): who is new, near-duplicate clusters.
#: Large (an author map), so it is written every 100 posts of a community and on every
#: raid signal rather than per post; a restart re-learns at most those 100 posts.
raid_state = app.Table("raid-state", default=None, key_type=str,
                       partitions=app.vigil_settings.partitions,
                       help="Per-community author recency and near-duplicate clusters.")

#: "community|author_id" -> models.conduct.ConductState.to_dict(): the repeat-offender ledger
conduct = app.Table("conduct", default=None, key_type=str,
                    partitions=app.vigil_settings.partitions,
                    help="Each author's violations per community, for the conduct ladder.")

#: dedup_key -> models.escalation.IncidentState.to_dict()
incidents = app.Table("incidents", default=None, key_type=str,
                      partitions=app.vigil_settings.partitions,
                      help="Open and recent incidents: what was triggered, updated, resolved.")
