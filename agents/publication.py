"""What one call of the pipeline publishes, as the producer's records: its outputs,
the state it changed (as the tables' changelog records), the markers saying which input
offsets that state reflects, and the lone sync records that make Tansu's end offsets
exact. :func:`agents.worker.run` sends them in that order, each acknowledged before the
next."""

from __future__ import annotations

from typing import Sequence

from agents.app import tables
from agents.delivery import OutRecord
from agents.runtime import state
from streams.events import Outputs

#: a key no store uses: a lone record after each batch's changelog writes (see below)
SYNC_KEY = "__vigil_sync__"


def output_records(out: Outputs) -> list[OutRecord]:
    # Straight to the producer: Faust's Topic.send adds a callback, a future and a
    # channel lookup per record, a sixth of the worker's time at two sends per post.
    # The topics exist beforehand: `vigil topics create` makes them from the topology.
    records = [OutRecord("posts.dlq", d.source_topic.encode(), d.dumps())
               for d in out.dead_letters]
    records += [OutRecord("posts.normalized", p.community.encode(), p.dumps())
                for p in out.normalized]
    records += [OutRecord("posts.scored", s.post.community.encode(), s.dumps())
                for s in out.scored]
    records += [OutRecord("signals.trends", t.community.encode(), t.dumps()) for t in out.trends]
    records += [OutRecord("escalations", e.dedup_key.encode(), e.dumps())
                for e in out.escalations]
    # learnt from there by every worker, this one included
    records += [OutRecord("moderation.feedback", label.community.encode(), label.dumps())
                for label in out.labels]
    return records


def state_records() -> list[OutRecord]:
    """The changed entries, as their tables' changelog records. A batch spans
    partitions, so each entry's changelog partition is named: the one of the events
    that changed it (a community's own, as a per-event write would use)."""
    records = []
    for store in state.stores:
        table = tables[store.name]
        topic = table.changelog_topic
        for key, partition in store.take_changed():
            value = store.encoded(key)
            table.data[key] = value
            records.append(OutRecord(
                topic.get_topic_name(), topic.prepare_key(key, table.key_serializer)[0],
                None if value is None else topic.prepare_value(value, table.value_serializer)[0],
                partition))
    return records


#: clocks-table key of an input partition's applied offsets: "__vigil_applied__|<p>"
APPLIED_KEY = "__vigil_applied__|{}"
_applied: dict[int, dict[str, int]] = {}  # input partition -> topic -> next offset


def applied_offsets(partition: int) -> dict[str, int]:
    """What the state restored for ``partition`` already reflects (topic -> next offset)."""
    value = tables["clocks"].data.get(APPLIED_KEY.format(partition))
    return dict(value) if isinstance(value, dict) else {}


def applied_records(done: Sequence[tuple[str, int, int]]) -> list[OutRecord]:
    """Per input partition of the batch, one record in the ``clocks`` changelog saying
    which input offsets its state now reflects, written after that state was
    acknowledged. A worker restarted after a crash skips the inputs the restored state
    already contains, though their offsets were never committed (the commit comes up to
    a second later), so no count is applied twice. (Left: a crash between the state's
    acknowledgement and this record's, a few milliseconds; Kafka transactions would
    close it, and neither Tansu nor aiokafka offers them.)"""
    table = tables["clocks"]
    topic = table.changelog_topic
    touched: dict[int, dict[str, int]] = {}
    for name, partition, offset in done:
        offsets = _applied.setdefault(partition, applied_offsets(partition))
        offsets[name] = max(offsets.get(name, 0), offset + 1)
        touched[partition] = offsets
    records = []
    for partition, offsets in sorted(touched.items()):
        key = APPLIED_KEY.format(partition)
        table.data[key] = dict(offsets)
        records.append(OutRecord(topic.get_topic_name(),
                                 topic.prepare_key(key, table.key_serializer)[0],
                                 topic.prepare_value(dict(offsets), table.value_serializer)[0],
                                 partition))
    return records


def forget_applied() -> None:
    """Partitions were revoked: the new owner's markers count; read them again if the
    partition comes back."""
    _applied.clear()


def sync_records(changelog: Sequence[OutRecord],
                 markers: Sequence[OutRecord] = ()) -> list[OutRecord]:
    """One lone record (key ``__vigil_sync__``, value ``{}``: an entry no store reads)
    per changelog partition just written, sent after the others were acknowledged, so
    it is the last batch of that partition on its own.

    Tansu reports a partition's end offset as its last batch's first offset + 1
    (ENVIRONMENT.md): a table restored after a restart reads "to the end" and would
    miss the last batch of state, diverging from the inputs its commit says were
    processed. With a one-record last batch that end is exact. On Apache Kafka the end
    offset is right anyway and the record costs a few bytes per partition written per
    batch (compaction keeps one per partition). Not a tombstone: Faust's recovery fails
    to decode an empty value."""
    seen = {(r.topic, r.partition) for r in changelog} - {(r.topic, r.partition)
                                                            for r in markers}  # lone already
    return [OutRecord(topic, b'"%s"' % SYNC_KEY.encode(), b"{}", partition)  # JSON keys
            for topic, partition in sorted(seen)]
