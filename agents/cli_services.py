"""The long-running ``vigil`` commands: run, broker, worker, connect, notify, serve.

Each runs until Ctrl-C or SIGTERM and then exits 0 (a clean stop is success); it exits 1
when what it runs dies under it, and 2, before starting, for a mistake in what it was given.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from agents.cli_support import UsageError, emit_json, require_file, say, settings_from

MAPPING_FLAGS = (("--text-col", "text_col", "text"), ("--time-col", "time_col", "created_at"),
                 ("--id-col", "id_col", "id"), ("--author-col", "author_col", "author"),
                 ("--community-col", "community_col", "community"))


def mapping(args: argparse.Namespace):
    from connectors.files import ColumnMapping

    return ColumnMapping(**{dest: getattr(args, dest) for _, dest, _ in MAPPING_FLAGS},
                         platform=args.platform)


def cmd_run(args: argparse.Namespace) -> int:
    from agents.demo import run_demo

    if args.input is not None:
        require_file(args.input, "--input")
    if args.speed <= 0:
        raise UsageError(f"--speed must be above 0, not {args.speed:g}")
    if args.json and not args.exit_on_end:
        raise UsageError("--json prints the summary at the end: give --exit-on-end too")
    return run_demo(input_path=args.input, speed=args.speed, exit_on_end=args.exit_on_end,
                    broker_port=args.broker_port, web_port=args.web_port, as_json=args.json)


def cmd_broker(args: argparse.Namespace) -> int:
    import signal
    import threading

    from streams.broker import BrokerError, EmbeddedBroker

    data_dir = args.data_dir or os.environ.get("VIGIL_BROKER_DATA_DIR") or None
    storage = args.storage or os.environ.get("VIGIL_BROKER_STORAGE") or "memory"
    if data_dir and storage == "memory" and args.storage == "memory":
        raise UsageError("--data-dir needs --storage s3 (it implies it)")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        broker = EmbeddedBroker(host=args.host, port=args.port, storage=storage,
                                data_dir=Path(data_dir) if data_dir else None,
                                s3_port=args.s3_port).start()
    except BrokerError as exc:  # a port in use, a missing extra: fix the command line
        raise UsageError(str(exc)) from exc
    try:
        where = {"memory": "in memory: topics are lost when it stops",
                 "s3": f"on the local S3 server {broker.s3_endpoint}: topics survive a Tansu "
                       f"restart while it runs"}[broker.storage]
        if broker.data_dir is not None:
            where = (f"on the local S3 server {broker.s3_endpoint}, journaled in "
                     f"{broker.data_dir}: topics survive restarts")
        print(f"Tansu broker ready at {broker.url}, storage {where} (Ctrl-C stops it)",
              flush=True)
        try:
            while broker.running and not stop.wait(0.2):
                pass
        except KeyboardInterrupt:
            stop.set()
        if stop.is_set():
            return 0
        # neither Ctrl-C nor SIGTERM: Tansu (or its S3 server) died under us
        say(args, f"the broker died\n{broker.exit_report()}")
        return 1
    finally:
        broker.stop()


def cmd_worker(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    from config.logs import configure_logging, logging_dict_config

    configure_logging(settings.log_level, settings.log_format)
    _use_uvloop()
    from agents.shutdown import BoundedShutdownWorker as Worker

    # Faust creates only the last component of its datadir.
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)

    import agents
    from agents.app import app

    agents.register()
    worker = Worker(app, loglevel=settings.log_level, redirect_stdouts=False,
                    logging_config=logging_dict_config(settings.log_level, settings.log_format))
    worker.execute_from_commandline()  # exits the process when the worker stops
    return 0


def _use_uvloop() -> None:
    """The worker's event loop from uvloop where it is installed (a dependency except on
    Windows): the loop runs Faust's consumer, the producer and their futures, and with
    uvloop a non-ML worker took ~5 % less CPU per post (three interleaved bench pairs:
    non-ML median 3,140 -> 3,325 posts/s). ``worker_ready`` logs the loop in use."""
    try:
        import uvloop
    except ImportError:
        return
    import asyncio

    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def cmd_connect(args: argparse.Namespace) -> int:
    from connectors.launch import CONNECTORS, run_source

    name = args.platform_name
    if name not in CONNECTORS and name != "file":
        raise UsageError(f"no connector for {name!r} "
                         f"(available: file, {', '.join(sorted(CONNECTORS))})")
    if name in CONNECTORS:
        config_file = require_file(args.config_file, "--config")
        settings = settings_from(args)
        from config.logs import configure_logging

        configure_logging(settings.log_level, settings.log_format)
        if args.metrics_port:
            from prometheus_client import start_http_server

            from streams.metrics import REGISTRY
            start_http_server(args.metrics_port, addr=settings.web_host, registry=REGISTRY)
        try:
            return run_source(name, config_file, settings.bootstrap_servers)
        except (ValueError, KeyError, ImportError) as exc:  # the connector's TOML is wrong
            raise UsageError(str(exc)) from exc
    path = require_file(args.input, "--input")
    if args.speed < 0:
        raise UsageError(f"--speed must be 0 or more, not {args.speed:g}")
    settings = settings_from(args)
    from connectors.base import KafkaRawSink
    from connectors.files import FileSource

    sink = KafkaRawSink(settings.bootstrap_servers, say=lambda line: say(args, f"file: {line}"))
    source = FileSource(sink, path, mapping(args), speed=args.speed)
    try:
        stats = source.run()
    except KeyboardInterrupt:
        stats = source.stats
    finally:
        sink.close()
    if args.json:
        emit_json({"input": str(path), "read": stats.read, "produced": stats.produced,
                   "topic": "posts.raw"})
    else:
        say(args, f"file: read {stats.read} rows, produced {stats.produced} to posts.raw")
    return 0


def cmd_notify(args: argparse.Namespace) -> int:
    """Deliver escalations to the routes in --routes until SIGINT/SIGTERM."""
    import asyncio
    import signal

    from config.communities import ConfigError
    from config.notifications import load_callbacks, load_routes
    from connectors.notifiers.delivery import run_routes, sink_for

    routes_file = require_file(args.routes, "--routes")
    settings = settings_from(args)
    from config.logs import configure_logging

    configure_logging(settings.log_level, settings.log_format)
    try:
        routes = load_routes(routes_file)
        callbacks = load_callbacks(routes_file)
        for r in routes:  # fail now, with the route's name, if a secret is missing
            sink_for(r)
    except (ConfigError, ValueError) as exc:
        raise UsageError(str(exc)) from exc
    if args.metrics_port:
        from prometheus_client import start_http_server

        from streams.metrics import REGISTRY
        start_http_server(args.metrics_port, addr=settings.web_host, registry=REGISTRY)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        server = None
        if callbacks is not None:  # clicks and PagerDuty webhooks come back here
            from connectors.callbacks.server import CallbackServer
            from models.pseudonym import Pseudonymizer

            server = CallbackServer(
                settings.bootstrap_servers, Pseudonymizer(settings.effective_pseudonym_key),
                slack_secret=callbacks.slack_signing_secret,
                discord_public_key=callbacks.discord_public_key,
                pagerduty_secrets=callbacks.pagerduty_secrets, host=callbacks.host,
                port=callbacks.port)
            await server.start()
        try:
            await run_routes(routes, settings.bootstrap_servers, backfill_s=args.backfill_s,
                             stop=stop)
        finally:
            if server is not None:
                await server.stop()

    asyncio.run(main())
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Perspective's API over HTTP until SIGINT/SIGTERM."""
    from aiohttp import web

    from agents.api.app import build_app
    from agents.cli_admin import key_store
    from config.logs import configure_logging

    settings = settings_from(args)
    configure_logging(settings.log_level, settings.log_format)
    keys = key_store(settings)
    if not any(not k.revoked for k in keys.list()):
        say(args, "no API key yet; create one with `vigil keys create NAME`")
    web.run_app(build_app(settings, keys), host=args.host or settings.api_host,
                port=args.port or settings.api_port, access_log=None, print=None)
    return 0


__all__ = ["cmd_run", "cmd_broker", "cmd_worker", "cmd_connect", "cmd_notify", "cmd_serve",
           "MAPPING_FLAGS", "mapping"]
