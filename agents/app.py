"""The Faust edge's declarations: the app, the stream it reads and its tables, all
derived from :mod:`streams.topology` (nothing is named here that the topology does not
name). Topics are created beforehand by ``vigil topics create`` from the same specs.

Importing this module builds the app object (no I/O); ``vigil worker`` imports the
agents, which register themselves on it by decorator, and starts it. Everything is
raw bytes to Faust: records are encoded and decoded by :mod:`streams.records` at the
edge (:mod:`agents.worker`), so malformed payloads reach the pipeline (and the
dead-letter topic) instead of crashing a deserialiser.
"""

from __future__ import annotations

from pathlib import Path

import faust

from config.settings import Settings
from agents.transport import VigilTransport
from streams.topology import INPUT_TOPICS, STORES


class VigilApp(faust.App):
    """A Faust app that carries Vigil's settings and uses Vigil's transport."""

    vigil_settings: Settings

    def _new_transport(self):  # noqa: D401 - Faust hook
        return VigilTransport(self.conf.broker_consumer, self)


def create_app(settings: Settings) -> VigilApp:
    app = VigilApp(
        settings.app_id,
        broker=settings.broker,
        store="memory://",  # tables recover from their changelog topics on start
        datadir=str(Path(settings.data_dir) / "faust"),
        autodiscover=False,
        origin="streams",
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        topic_allow_declare=True,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=max(1.0, settings.session_timeout_s / 5),
        broker_request_timeout=max(40.0, settings.session_timeout_s * 2),
        broker_commit_every=200,
        broker_commit_interval=1.0,
        # Vigil's tables are small keyed state; an ack per changelog write is cheap.
        producer_acks=-1,
        producer_linger_ms=5,
        # a call's records of one topic partition go as one batch (agents/delivery.py);
        # Kafka's default limit for a batch is 1 MB
        producer_max_batch_size=262144,
        # a send the broker has not acknowledged in 30 s fails and is sent again by
        # agents.delivery, which says so (Faust's default waits 20 minutes in silence)
        producer_request_timeout=30.0,
        web_enabled=True,
        web_host=settings.web_host,
        web_port=settings.web_port,
        web_bind=settings.web_host,
        web_in_thread=False,
    )
    app.vigil_settings = settings
    return app


app = create_app(Settings.load())


#: what the pipeline agent reads: one stream over the co-partitioned input topics
pipeline_input = app.topic(*INPUT_TOPICS, key_type=bytes, value_type=bytes,
                           key_serializer="raw", value_serializer="raw")
#: store name -> changelog-backed table (values: the models' to_dict())
tables = {s.name: app.Table(s.name, default=None, key_type=str,
                            partitions=app.vigil_settings.partitions, help=s.description)
          for s in STORES}
