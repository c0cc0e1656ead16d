"""The short ``vigil`` commands that administer a deployment: topics, incident, feedback,
keys, users and schemas. Each prints its result on stdout (``--json``: one JSON
document) and its confirmations on stderr.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from agents.cli_support import UsageError, emit_json, say, settings_from, table
from config.settings import Settings


def cmd_topics(args: argparse.Namespace) -> int:
    from streams.admin import create_topics, list_topics
    from streams.broker import wait_for_kafka

    if args.wait < 0:
        raise UsageError(f"--wait must be 0 or more, not {args.wait:g}")
    settings = settings_from(args)
    wait_for_kafka(settings.bootstrap_servers, timeout_s=args.wait)
    if args.action == "list":
        names = sorted(list_topics(settings.bootstrap_servers))
        if args.json:
            emit_json(names)
        else:
            for name in names:
                print(name)
        return 0
    results = [{"name": r.name, "partitions": r.partitions, "created": r.created}
               for r in create_topics(settings)]
    if args.json:
        emit_json(results)
    else:
        for r in results:
            print(f"{r['name']:<22} partitions={r['partitions']:<3} "
                  f"{'created' if r['created'] else 'exists'}")
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

    settings = settings_from(args)
    action = {"ack": "acknowledge", "acknowledge": "acknowledge", "resolve": "resolve"}[args.action]
    act = IncidentAction(dedup_key=args.dedup_key, community=args.community, action=action,
                         actor=args.by or getpass.getuser(), time=to_iso(time.time()),
                         note=args.note or "", source="cli")
    # keyed by community: the same partition as the incident's table entry
    _send_one(settings, "incidents.actions", args.community, act)
    if args.json:
        emit_json({"sent": "incidents.actions", "action": action, "dedup_key": args.dedup_key,
                   "community": args.community, "actor": act.actor})
    say(args, f"{action} {args.dedup_key} by {act.actor}: sent; the worker holding it emits "
              f"the escalation (see its log if nothing follows)")
    return 0


def cmd_feedback(args: argparse.Namespace) -> int:
    """One label on moderation.feedback, through the contract every path uses.

    Its receipt is JSON with or without ``--json``: the command exists for scripts."""
    import getpass

    from models.eventtime import to_iso
    from models.moderator_labels import idempotency_key
    from models.pseudonym import Pseudonymizer
    from streams.records import ModerationFeedback

    if args.label in ("real", "false_alarm") and not args.trend_id:
        raise UsageError("--label real|false_alarm is a verdict on a trend: give --trend-id")
    settings = settings_from(args)
    who = args.by or getpass.getuser()
    target = args.trend_id or args.post_id
    fb = ModerationFeedback(
        post_id=args.post_id, community=args.community, label=args.label, action=args.action,
        moderator_id=Pseudonymizer(settings.effective_pseudonym_key)("cli", who),
        time=to_iso(time.time()), trend_id=args.trend_id, text=args.text, source="cli",
        idempotency_key=args.key or idempotency_key(args.community, "cli", who, target,
                                                    args.label))
    _send_one(settings, "moderation.feedback", args.community, fb)
    emit_json({"sent": "moderation.feedback", "post_id": fb.post_id, "label": fb.label,
               "idempotency_key": fb.idempotency_key})
    return 0


def key_store(settings: Settings):
    from agents.api.keys import KeyStore

    return KeyStore(Path(settings.data_dir) / "api_keys.json")


def cmd_keys(args: argparse.Namespace) -> int:
    """Create, revoke or list vigil serve's API keys (stored hashed)."""
    if args.action != "list" and not args.name:
        raise UsageError(f"{args.action}: name the key")
    if args.qps <= 0:
        raise UsageError(f"--qps must be above 0, not {args.qps:g}")
    store = key_store(settings_from(args))
    if args.action == "create":
        try:
            key = store.create(args.name, qps=args.qps)
        except ValueError as exc:  # a name already in use
            raise UsageError(str(exc)) from exc
        if args.json:
            emit_json({"name": args.name, "key": key, "qps": args.qps})
        else:
            print(key)  # shown once: only its hash is kept
        say(args, f"created {args.name!r} ({args.qps:g} requests/s); keep the key: it is not "
                  "stored")
    elif args.action == "revoke":
        if not store.revoke(args.name):
            raise UsageError(f"no live key named {args.name!r}")
        if args.json:
            emit_json({"revoked": args.name})
        say(args, f"revoked {args.name!r}")
    else:
        keys = [{"name": k.name, "qps": k.qps, "created": k.created, "revoked": k.revoked}
                for k in store.list()]
        if args.json:
            emit_json(keys)
        else:
            print(table(keys, ("name", "qps", "created", "revoked")))
    return 0


def cmd_users(args: argparse.Namespace) -> int:
    """The console's users: passwords hashed with Argon2id, a role, their communities."""
    import getpass

    from agents.console.auth import UserStore

    store = UserStore(Path(settings_from(args).data_dir) / "console_users.json")
    communities = tuple(c.strip() for c in (args.communities or "*").split(",") if c.strip())
    if args.action == "list":
        users = [{"name": u.name, "role": u.role, "communities": list(u.communities)}
                 for u in store.list()]
        if args.json:
            emit_json(users)
        else:
            print(table(users, ("name", "role", "communities")))
        return 0
    if not args.name:
        raise UsageError(f"{args.action}: name the user")
    try:
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
    except ValueError as exc:  # a weak password, an unknown user, a name in use
        raise UsageError(str(exc)) from exc
    done = {"add": "added", "remove": "removed", "role": "changed"}[args.action]
    if args.json:
        emit_json({"user": args.name, "action": done})
    say(args, f"{done} {args.name!r}")
    return 0


def cmd_schemas(args: argparse.Namespace) -> int:
    """Write the JSON Schemas, or check them: 1 when one is out of date (a failed check)."""
    from streams.schemas import check_schemas, write_schemas

    if args.action == "write":
        written = [str(p) for p in write_schemas()]
        if args.json:
            emit_json({"written": written})
        else:
            print("\n".join(written))
        return 0
    stale = list(check_schemas())
    if args.json:
        emit_json({"up_to_date": not stale, "stale": stale})
    for name in stale:
        say(args, f"out of date: {name} (run: vigil schemas write)")
    return 1 if stale else 0
