"""The Faust app: one per process, configured from :class:`config.settings.Settings`.

Importing this module builds the app object (no I/O); ``vigil worker`` imports the
agents, which register themselves on it by decorator, and starts it.
"""

from __future__ import annotations

from pathlib import Path

import faust

from config.settings import Settings
from streams.transport import VigilTransport


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
        web_enabled=True,
        web_host=settings.web_host,
        web_port=settings.web_port,
        web_bind=settings.web_host,
        web_in_thread=False,
    )
    app.vigil_settings = settings
    return app


app = create_app(Settings.load())
