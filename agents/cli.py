"""``vigil``: the command line.

    vigil run [--exit-on-end]        the demo: embedded broker + worker + sample stream
    vigil broker [--port N]          the embedded Tansu broker, until Ctrl-C
    vigil topics create|list         idempotent topic creation on any broker
    vigil worker                     a Faust worker running every agent
    vigil connect file --input F     stream a CSV/JSONL file into posts.raw
    vigil notify --routes F          deliver escalations to PagerDuty, Slack, Discord, webhooks
    vigil incident ack|resolve KEY --community C   on-call acts on an incident
    vigil feedback ID --community C --label L     one moderator label, for scripts
    vigil serve [--host H] [--port N]  the Perspective-compatible scoring API
    vigil keys create NAME [--qps Q] | revoke NAME | list   API keys for vigil serve
    vigil users add|remove|role|list NAME ...  who may use the on-call console
    vigil replay INPUT --out DIR     the pipeline offline over a file (or --topic range)
    vigil schemas write|check        JSON Schemas of the records that leave Vigil
    vigil eval toxicity --data F ... ROC-AUC, PR-AUC, F1 as shipped and after feedback
    vigil eval trends --data DIR     detection delay and false alarms on CrisisLexT26

Settings come from ``VIGIL_*`` environment variables (see ``config/settings.py``);
flags such as ``--broker`` set the same variables, so there is one source of truth.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from config.settings import EMBEDDING_BACKENDS, Settings, SettingsError

_MAPPING_FLAGS = (("--text-col", "text_col", "text"), ("--time-col", "time_col", "created_at"),
                  ("--id-col", "id_col", "id"), ("--author-col", "author_col", "author"),
                  ("--community-col", "community_col", "community"))


def _settings(args: argparse.Namespace) -> Settings:
    if getattr(args, "broker", None):
        os.environ["VIGIL_BROKER"] = args.broker if "://" in args.broker else f"kafka://{args.broker}"
    if getattr(args, "config", None):
        os.environ["VIGIL_CONFIG"] = str(args.config)
    return Settings.load()


def _mapping(args: argparse.Namespace):
    from connectors.files import ColumnMapping

    return ColumnMapping(**{dest: getattr(args, dest) for _, dest, _ in _MAPPING_FLAGS},
                         platform=args.platform)


def cmd_broker(args: argparse.Namespace) -> int:
    import signal
    import threading

    from streams.broker import BrokerError, EmbeddedBroker

    data_dir = args.data_dir or os.environ.get("VIGIL_BROKER_DATA_DIR") or None
    storage = args.storage or os.environ.get("VIGIL_BROKER_STORAGE") or "memory"
    if data_dir and storage == "memory" and args.storage == "memory":
        print("vigil broker: --data-dir needs --storage s3 (it implies it)", file=sys.stderr)
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        broker = EmbeddedBroker(host=args.host, port=args.port, storage=storage,
                                data_dir=Path(data_dir) if data_dir else None,
                                s3_port=args.s3_port).start()
    except BrokerError as exc:
        print(f"vigil broker: {exc}", file=sys.stderr)
        return 2
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
        print(f"vigil broker: the broker died\n{broker.exit_report()}", file=sys.stderr,
              flush=True)
        return 1
    finally:
        broker.stop()


def cmd_topics(args: argparse.Namespace) -> int:
    from streams.admin import create_topics, list_topics
    from streams.broker import wait_for_kafka

    settings = _settings(args)
    wait_for_kafka(settings.bootstrap_servers, timeout_s=args.wait)
    if args.action == "list":
        for name in sorted(list_topics(settings.bootstrap_servers)):
            print(name)
        return 0
    for r in create_topics(settings):
        print(f"{r.name:<22} partitions={r.partitions:<3} {'created' if r.created else 'exists'}")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    settings = _settings(args)
    from config.logs import configure_logging, logging_dict_config

    configure_logging(settings.log_level, settings.log_format)
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


def cmd_connect(args: argparse.Namespace) -> int:
    from connectors.base import KafkaRawSink
    from connectors.files import FileSource

    from connectors.launch import CONNECTORS, run_source

    settings = _settings(args)
    if args.platform_name in CONNECTORS:
        from config.logs import configure_logging

        configure_logging(settings.log_level, settings.log_format)
        if not args.config_file:
            print(f"vigil connect {args.platform_name}: --config FILE is required", file=sys.stderr)
            return 2
        if args.metrics_port:
            from prometheus_client import start_http_server

            from streams.metrics import REGISTRY
            start_http_server(args.metrics_port, addr=settings.web_host, registry=REGISTRY)
        try:
            return run_source(args.platform_name, args.config_file, settings.bootstrap_servers)
        except (ValueError, KeyError, ImportError) as exc:
            print(f"vigil connect {args.platform_name}: {exc}", file=sys.stderr)
            return 2
    if args.platform_name != "file":
        print(f"vigil connect: no connector for {args.platform_name!r} "
              f"(available: file, {', '.join(sorted(CONNECTORS))})", file=sys.stderr)
        return 2
    if args.input is None:
        print("vigil connect file: --input FILE is required", file=sys.stderr)
        return 2
    sink = KafkaRawSink(settings.bootstrap_servers,
                        say=lambda line: print(f"vigil connect file: {line}", file=sys.stderr,
                                               flush=True))
    source = FileSource(sink, args.input, _mapping(args), speed=args.speed)
    try:
        stats = source.run()
    except KeyboardInterrupt:
        stats = source.stats
    finally:
        sink.close()
    print(f"read {stats.read} rows, produced {stats.produced} to posts.raw", file=sys.stderr)
    return 0


def _send_one(settings: Settings, topic: str, community: str, record) -> None:
    """One record on the broker (acks=all) before the command returns."""
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all")
    try:
        producer.send(topic, key=community.encode(), value=record.dumps())
        producer.flush(timeout=30)
    finally:
        producer.close()


def cmd_incident(args: argparse.Namespace) -> int:
    """Acknowledge or resolve an incident: one IncidentAction on incidents.actions."""
    import getpass

    from models.eventtime import to_iso
    from streams.records import IncidentAction

    settings = _settings(args)
    action = {"ack": "acknowledge", "acknowledge": "acknowledge", "resolve": "resolve"}[args.action]
    act = IncidentAction(dedup_key=args.dedup_key, community=args.community, action=action,
                         actor=args.by or getpass.getuser(), time=to_iso(time.time()),
                         note=args.note or "", source="cli")
    # keyed by community: the same partition as the incident's table entry
    _send_one(settings, "incidents.actions", args.community, act)
    print(f"{action} {args.dedup_key} by {act.actor}: sent; the worker holding it emits "
          f"the escalation (see its log if nothing follows)", file=sys.stderr)
    return 0


def cmd_feedback(args: argparse.Namespace) -> int:
    """One label on moderation.feedback, through the contract every path uses."""
    import getpass
    import json

    from models.eventtime import to_iso
    from models.moderator_labels import idempotency_key
    from models.pseudonym import Pseudonymizer
    from streams.records import ModerationFeedback

    settings = _settings(args)
    if args.label in ("real", "false_alarm") and not args.trend_id:
        print("vigil feedback: --label real|false_alarm is a verdict on a trend: give "
              "--trend-id", file=sys.stderr)
        return 2
    who = args.by or getpass.getuser()
    target = args.trend_id or args.post_id
    fb = ModerationFeedback(
        post_id=args.post_id, community=args.community, label=args.label, action=args.action,
        moderator_id=Pseudonymizer(settings.effective_pseudonym_key)("cli", who),
        time=to_iso(time.time()), trend_id=args.trend_id, text=args.text, source="cli",
        idempotency_key=args.key or idempotency_key(args.community, "cli", who, target,
                                                    args.label))
    _send_one(settings, "moderation.feedback", args.community, fb)
    print(json.dumps({"sent": "moderation.feedback", "post_id": fb.post_id,
                      "label": fb.label, "idempotency_key": fb.idempotency_key}))
    return 0


def _key_store(settings: Settings):
    from agents.api.keys import KeyStore

    return KeyStore(Path(settings.data_dir) / "api_keys.json")


def cmd_serve(args: argparse.Namespace) -> int:
    """Perspective's API over HTTP until SIGINT/SIGTERM."""
    from aiohttp import web

    from agents.api.app import build_app
    from config.logs import configure_logging

    settings = _settings(args)
    configure_logging(settings.log_level, settings.log_format)
    keys = _key_store(settings)
    if not any(not k.revoked for k in keys.list()):
        print("vigil serve: no API key yet; create one with `vigil keys create NAME`",
              file=sys.stderr)
    web.run_app(build_app(settings, keys), host=args.host or settings.api_host,
                port=args.port or settings.api_port, access_log=None, print=None)
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    """Create, revoke or list vigil serve's API keys (stored hashed)."""
    import json

    store = _key_store(_settings(args))
    if args.action != "list" and not args.name:
        print(f"vigil keys {args.action}: name the key", file=sys.stderr)
        return 2
    if args.action == "create":
        try:
            key = store.create(args.name, qps=args.qps)
        except ValueError as exc:
            print(f"vigil keys: {exc}", file=sys.stderr)
            return 2
        print(key)  # shown once: only its hash is kept
        print(f"created {args.name!r} ({args.qps:g} requests/s); keep the key: it is not "
              "stored", file=sys.stderr)
    elif args.action == "revoke":
        if not store.revoke(args.name):
            print(f"vigil keys: no live key named {args.name!r}", file=sys.stderr)
            return 1
    else:
        for k in store.list():
            print(json.dumps({"name": k.name, "qps": k.qps, "created": k.created,
                              "revoked": k.revoked}))
    return 0


def cmd_users(args: argparse.Namespace) -> int:
    """The console's users: passwords hashed with Argon2id, a role, their communities."""
    import getpass
    import json

    from agents.console.auth import UserStore

    store = UserStore(Path(_settings(args).data_dir) / "console_users.json")
    communities = tuple(c.strip() for c in (args.communities or "*").split(",") if c.strip())
    try:
        if args.action == "list":
            for u in store.list():
                print(json.dumps({"name": u.name, "role": u.role, "communities": list(u.communities)}))
            return 0
        if not args.name:
            raise ValueError("name the user")
        if args.action == "add":
            password = (sys.stdin.readline().rstrip("\n") if args.password_stdin
                        else getpass.getpass(f"password for {args.name}: "))
            store.add(args.name, password, args.role or "viewer", communities)
        elif args.action == "remove":
            if not store.remove(args.name):
                raise ValueError(f"no user {args.name!r}")
        else:
            store.set_role(args.name, args.role or "viewer",
                           communities if args.communities else None)
    except ValueError as exc:
        print(f"vigil users: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_notify(args: argparse.Namespace) -> int:
    """Deliver escalations to the routes in --routes until SIGINT/SIGTERM."""
    import asyncio
    import signal

    from config.communities import ConfigError
    from config.logs import configure_logging
    from config.notifications import load_callbacks, load_routes
    from connectors.notifiers.delivery import run_routes
    from streams.metrics import REGISTRY

    settings = _settings(args)
    configure_logging(settings.log_level, settings.log_format)
    try:
        routes = load_routes(args.routes)
        callbacks = load_callbacks(args.routes)
        from connectors.notifiers.delivery import sink_for
        for r in routes:  # fail now, with the route's name, if a secret is missing
            sink_for(r)
    except (ConfigError, ValueError) as exc:
        print(f"vigil notify: {exc}", file=sys.stderr)
        return 2
    if args.metrics_port:
        from prometheus_client import start_http_server
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


def cmd_replay(args: argparse.Namespace) -> int:
    from agents.replay import replay_file, replay_topic

    settings = _settings(args)
    if args.topic:
        if args.input:
            raise SystemExit("vigil replay: give an INPUT file or --topic, not both")
        summary = replay_topic(settings, args.topic, args.out, start=args.from_time,
                               end=args.to_time, idle_timeout_s=args.idle_timeout)
    else:
        if not args.input:
            raise SystemExit("vigil replay: give an INPUT file (CSV or JSONL) or --topic")
        summary = replay_file(settings, Path(args.input), args.out, _mapping(args))
    print(f"replayed {summary['rows']} rows at {summary['posts_per_s']:.0f} posts/s: "
          f"{summary['scored']} scored, {summary['dead_lettered_total']} dead-lettered, "
          f"{summary['duplicates']} duplicates, {sum(summary['trends'].values())} trend "
          f"signals, {sum(summary['escalations'].values())} escalations -> {args.out}",
          file=sys.stderr)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from agents.demo import run_demo

    return run_demo(input_path=args.input, speed=args.speed, exit_on_end=args.exit_on_end,
                    broker_port=args.broker_port, web_port=args.web_port)


def cmd_bench(args: argparse.Namespace) -> int:
    import json as _json

    from bench.run import KEYS, STEPS, run, table

    only = tuple(args.only.split(",")) if args.only else STEPS
    if unknown := set(only) - set(STEPS):
        raise SystemExit(f"vigil bench: unknown --only {', '.join(sorted(unknown))}; "
                         f"choose from {', '.join(STEPS)}")
    result = run(quick=args.quick, only=only,
                 progress=(lambda m: print(m, file=sys.stderr, flush=True)))
    if args.json:
        print(_json.dumps({k: result[k] for k in KEYS} | {"details": result}, default=str))
    else:
        print(table(result))
    return 0


def cmd_schemas(args: argparse.Namespace) -> int:
    from streams.schemas import check_schemas, write_schemas

    if args.action == "write":
        for path in write_schemas():
            print(path)
        return 0
    stale = check_schemas()
    for name in stale:
        print(f"out of date: {name} (run: vigil schemas write)", file=sys.stderr)
    return 1 if stale else 0


def cmd_eval(args: argparse.Namespace) -> int:
    import json

    if args.target == "trends":
        from agents.trend_evaluation import evaluate_trends, print_report
        from models.bursts import BurstParams

        s = _settings(args)
        params = BurstParams(window_s=s.burst_window_s, z=s.burst_z, min_count=s.burst_min_count,
                             min_history=s.burst_min_history, alpha=s.burst_alpha,
                             max_p=s.burst_max_p)
        print_report(evaluate_trends(Path(args.data), params), as_json=args.json)
        return 0

    from agents.evaluation import evaluate_toxicity, prepare

    if not args.positive:
        raise SystemExit("vigil eval toxicity: --positive is required")
    try:
        seeds = [int(v) for v in str(args.seed).split(",")]
    except ValueError:
        raise SystemExit("vigil eval toxicity: --seed takes integers, comma-separated") from None
    target = None if args.target_precision in (None, 0) else args.target_precision
    options = dict(text_col=args.text_col, label_col=args.label_col,
                   positive={v.strip() for v in args.positive.split(",")},
                   embeddings=not args.no_embeddings, limit=args.limit,
                   backend=args.backend or _settings(args).embedding_backend,
                   onnx_dir=_settings(args).embedding_onnx_dir)
    prepared = prepare(Path(args.data), **options) if len(seeds) > 1 else None

    def progress(point: dict) -> None:
        if not args.json and sys.stderr.isatty():
            print(f"  {point['label']:>5} labels: vigil {point['vigil_roc_auc']} "
                  f"batch {point['batch_roc_auc']} prior {point['prior_roc_auc']}",
                  file=sys.stderr)

    results = [evaluate_toxicity(
        Path(args.data), **options, feedback_fraction=args.feedback_fraction, seed=seed,
        threshold=args.threshold, flip_fraction=args.flip_fraction, target_precision=target,
        progress=progress, _prepared=prepared) for seed in seeds]
    if args.json:
        print(json.dumps(results[0] if len(results) == 1 else results))
        return 0
    for result in results:
        for key, value in result.items():
            if key not in ("prequential_auc", "learning_curve"):
                print(f"{key:<28} {value}")
        if result.get("learning_curve"):
            print(f"{'labels':>7} {'vigil':>7} {'batch':>7} {'prior':>7} "
                  f"{'vigil_seen':>10} {'prior_seen':>10} {'beta':>5} {'thr':>6}")
            for p in result["learning_curve"]:
                print(f"{p['label']:>7} {p['vigil_roc_auc']!s:>7} {p['batch_roc_auc']!s:>7} "
                      f"{p['prior_roc_auc']!s:>7} {p['vigil_seen_roc_auc']!s:>10} "
                      f"{p['prior_seen_roc_auc']!s:>10} {p['beta']:>5} {p['threshold']:>6}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vigil", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    def with_broker(sp):
        sp.add_argument("--broker", help="kafka://host:port (default: $VIGIL_BROKER)")
        sp.add_argument("--config", type=Path, help="TOML settings file (default: $VIGIL_CONFIG)")
        return sp

    sp = sub.add_parser("run", help="demo: embedded broker, worker and the sample stream")
    sp.add_argument("--input", type=Path, help="JSONL to stream (default: bundled sample)")
    sp.add_argument("--speed", type=float, default=480.0,
                    help="event-time acceleration (480: 8 hours of posts in 60 s)")
    sp.add_argument("--exit-on-end", action="store_true",
                    help="exit with a summary once the stream has been processed")
    sp.add_argument("--broker-port", type=int, default=0, help="0 picks a free port")
    sp.add_argument("--web-port", type=int, default=6066, help="worker metrics port")
    sp.set_defaults(fn=cmd_run)

    sp = sub.add_parser("broker", help="run the embedded Tansu broker until Ctrl-C",
                        description="Run the embedded Tansu broker until Ctrl-C/SIGTERM "
                                    "(exit 0). If the broker dies, print its last output to "
                                    "stderr and exit 1.")
    sp.add_argument("--host", default="127.0.0.1")
    sp.add_argument("--port", type=int, default=9092)
    sp.add_argument("--storage", choices=("memory", "s3"),
                    help="memory (default; $VIGIL_BROKER_STORAGE), or s3: Tansu on a local "
                         "moto S3 server (pip install 'vigil[durable]'), whose data survives "
                         "Tansu restarts but not its own without --data-dir")
    sp.add_argument("--data-dir", type=Path,
                    help="durable: implies --storage s3 and journals the S3 server's writes "
                         "here, replayed at start ($VIGIL_BROKER_DATA_DIR)")
    sp.add_argument("--s3-port", type=int, default=0,
                    help="port of the local S3 server (default: a free one)")
    sp.set_defaults(fn=cmd_broker)

    sp = with_broker(sub.add_parser("topics", help="create or list Vigil's topics"))
    sp.add_argument("action", choices=("create", "list"))
    sp.add_argument("--wait", type=float, default=30.0, help="seconds to wait for the broker")
    sp.set_defaults(fn=cmd_topics)

    sp = with_broker(sub.add_parser("worker", help="run a Faust worker with every agent"))
    sp.set_defaults(fn=cmd_worker)

    # --config here is the connector's own file; Vigil settings come from VIGIL_* variables
    sp = sub.add_parser("connect", help="run a connector into posts.raw")
    sp.add_argument("--broker", help="kafka://host:port (default: $VIGIL_BROKER)")
    sp.add_argument("platform_name", metavar="PLATFORM", help="file, reddit, discourse, discord, x, steam, youtube, twitch, "
                         "telegram, webhook")
    sp.add_argument("--input", type=Path, help="file: the CSV/JSONL to stream")
    sp.add_argument("--config", dest="config_file", type=Path,
                    help="platforms: TOML with a [PLATFORM] table (secrets via *_env keys)")
    sp.add_argument("--metrics-port", type=int, default=0, help="/metrics port (0: none)")
    sp.add_argument("--speed", type=float, default=0.0, help="0: as fast as possible")
    _add_mapping(sp)
    sp.set_defaults(fn=cmd_connect)

    sp = with_broker(sub.add_parser("notify", help="deliver escalations to PagerDuty, Slack, "
                                                   "Discord and webhooks"))
    sp.add_argument("--routes", type=Path, required=True,
                    help="notification routes TOML (see config/notifications.example.toml)")
    sp.add_argument("--metrics-port", type=int, default=6067, help="/metrics port (0: none)")
    sp.add_argument("--backfill-s", type=float, default=3600.0,
                    help="a route's first start skips escalations older than this")
    sp.set_defaults(fn=cmd_notify)

    sp = with_broker(sub.add_parser("incident", help="acknowledge or resolve an incident"))
    sp.add_argument("action", choices=("ack", "acknowledge", "resolve"))
    sp.add_argument("dedup_key", help="the escalation's dedup_key")
    sp.add_argument("--community", required=True, help="the escalation's community")
    sp.add_argument("--by", help="who (default: your user name)")
    sp.add_argument("--note", help="a short note for the incident's timeline")
    sp.set_defaults(fn=cmd_incident)

    sp = with_broker(sub.add_parser("serve", help="the Perspective-compatible scoring API"))
    sp.add_argument("--host", help="bind address (default VIGIL_API_HOST, 127.0.0.1)")
    sp.add_argument("--port", type=int, help="port (default VIGIL_API_PORT, 8080)")
    sp.set_defaults(fn=cmd_serve)

    sp = sub.add_parser("keys", help="API keys for vigil serve")
    sp.add_argument("action", choices=("create", "revoke", "list"))
    sp.add_argument("name", nargs="?", help="the key's name (create, revoke)")
    sp.add_argument("--qps", type=float, default=1.0, help="requests per second (create)")
    sp.set_defaults(fn=cmd_keys)

    sp = sub.add_parser("users", help="who may use the on-call console")
    sp.add_argument("action", choices=("add", "remove", "role", "list"))
    sp.add_argument("name", nargs="?")
    sp.add_argument("--role", choices=("viewer", "moderator", "admin"))
    sp.add_argument("--communities", help="comma-separated (default: all, '*')")
    sp.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    sp.set_defaults(fn=cmd_users)

    sp = with_broker(sub.add_parser("feedback", help="send one moderator label (for scripts)"))
    sp.add_argument("post_id", help="the post's id as on posts.scored (a trend's: any text)")
    sp.add_argument("--community", required=True)
    sp.add_argument("--label", required=True, choices=("toxic", "not_toxic", "real", "false_alarm"))
    sp.add_argument("--action", default="none",
                    choices=("none", "remove", "approve", "warn", "timeout", "ban", "kick"))
    sp.add_argument("--text", help="the post's text, so a worker that never scored it learns too")
    sp.add_argument("--trend-id", help="for real/false_alarm: the trend's id")
    sp.add_argument("--by", help="who (default: your user name; pseudonymised)")
    sp.add_argument("--key", help="idempotency key (default: community, who, post and label)")
    sp.set_defaults(fn=cmd_feedback)

    sp = with_broker(sub.add_parser("replay", help="run the pipeline offline over a file or topic range"))
    sp.add_argument("input", nargs="?", help="CSV or JSONL file")
    sp.add_argument("--out", type=Path, required=True, help="output directory")
    sp.add_argument("--topic", help="replay this topic (posts.raw) instead of a file")
    sp.add_argument("--from", dest="from_time", help="topic range start (ISO-8601 or epoch)")
    sp.add_argument("--to", dest="to_time", help="topic range end (ISO-8601 or epoch)")
    sp.add_argument("--idle-timeout", type=float, default=5.0,
                    help="topic mode: stop after this many seconds without new messages")
    _add_mapping(sp)
    sp.set_defaults(fn=cmd_replay)

    sp = sub.add_parser("eval", help="evaluate a model on labelled data")
    sp.add_argument("target", choices=("toxicity", "trends"))
    sp.add_argument("--data", required=True,
                    help="toxicity: CSV with a text and a label column; "
                         "trends: the crisislex_t26 folder (burst settings from VIGIL_BURST_*)")
    sp.add_argument("--text-col", dest="text_col", default="text")
    sp.add_argument("--label-col", dest="label_col", default="label")
    sp.add_argument("--positive",
                    help="label value(s) meaning toxic, comma-separated (e.g. 0,1)")
    sp.add_argument("--feedback-fraction", type=float, default=0.0,
                    help="stream this fraction of rows to the learner as moderator feedback")
    sp.add_argument("--seed", default="0",
                    help="shuffle seed; several, comma-separated, score the rows once")
    sp.add_argument("--flip-fraction", type=float, default=0.0,
                    help="flip this share of the feedback labels at random (noisy moderators)")
    sp.add_argument("--target-precision", type=float, default=0.9,
                    help="the threshold policy's target precision (0: always best F1)")
    sp.add_argument("--threshold", type=float, default=0.8, help="operating threshold")
    sp.add_argument("--limit", type=int, help="use only the first N rows")
    sp.add_argument("--no-embeddings", action="store_true",
                    help="skip MiniLM (lexical prior and rules only)")
    sp.add_argument("--backend", choices=EMBEDDING_BACKENDS,
                    help="embeddings engine (default: VIGIL_EMBEDDING_BACKEND)")
    sp.add_argument("--json", action="store_true", help="print one JSON object")
    sp.set_defaults(fn=cmd_eval)

    sp = sub.add_parser("bench", help="measure Vigil against its limits (embedded broker)")
    sp.add_argument("--quick", action="store_true", help="smaller runs, under 3 minutes")
    sp.add_argument("--only", help="comma-separated subset of: passthrough, forward, model, "
                                   "nonml, pipeline, scaleout, api (default: all)")
    sp.add_argument("--json", action="store_true", help="one JSON object (stable keys)")
    sp.set_defaults(fn=cmd_bench)

    sp = sub.add_parser("schemas", help="write or check the JSON Schemas in streams/schemas/")
    sp.add_argument("action", choices=("write", "check"))
    sp.set_defaults(fn=cmd_schemas)
    return p


def _add_mapping(sp: argparse.ArgumentParser) -> None:
    for flag, dest, default in _MAPPING_FLAGS:
        sp.add_argument(flag, dest=dest, default=default, help=f"column with the {dest[:-4]} "
                                                               f"(default: {default})")
    sp.add_argument("--platform", help="platform name for every row (default: the row's "
                                       "'platform' column, else 'file')")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.fn(args) or 0
    except SettingsError as exc:
        print(f"vigil: invalid setting: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
