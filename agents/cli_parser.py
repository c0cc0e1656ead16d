"""``vigil``'s argument parser: every command, every option, each with its help and default."""

from __future__ import annotations

import argparse
from pathlib import Path

from agents.cli_admin import (cmd_feedback, cmd_incident, cmd_keys, cmd_schemas, cmd_topics,
                              cmd_users)
from agents.cli_offline import cmd_bench, cmd_eval, cmd_replay
from agents.cli_report import add_report_command
from agents.cli_services import (MAPPING_FLAGS, cmd_broker, cmd_connect, cmd_notify, cmd_run,
                                 cmd_serve, cmd_worker)
from config.settings import EMBEDDING_BACKENDS

DESCRIPTION = """\
Vigil watches online communities as a stream: it reads posts from platforms (Reddit,
Discord, Discourse, X, Steam, YouTube, Twitch, Telegram, webhooks, files), scores their
toxicity, detects bursts and trends, and escalates to on-call people.

Start with `vigil run` (the demo: an embedded broker, a worker and a sample stream).
In production: `vigil broker` or any Kafka, `vigil topics create`, `vigil worker`,
`vigil connect PLATFORM`, `vigil notify`. Offline: `vigil replay`, `vigil eval`, `vigil report`.
`vigil COMMAND --help` describes each command; the README (README.md at the root of the
repository, section "Command line") describes them all and every setting."""

EPILOG = """\
output:
  A result goes to stdout; with --json it is one JSON document. Messages and progress
  go to stderr (a progress bar only on a terminal).

settings:
  VIGIL_* environment variables, or a TOML file named by --config or $VIGIL_CONFIG;
  --broker sets VIGIL_BROKER.

exit status:
  0    success (a service stopped by Ctrl-C or SIGTERM included)
  1    failure at run time: broker unreachable, a service that died, a check that
       failed (vigil schemas check); one line on stderr (--traceback, or
       VIGIL_LOG_LEVEL=debug, shows the traceback)
  2    usage or configuration error: a bad option or value, a bad VIGIL_* setting, a
       missing or unreadable input file; `vigil COMMAND: message` on stderr
  130  a one-shot command (run, replay, eval, bench...) interrupted by Ctrl-C"""


class Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Defaults shown where they say something: not for flags, not where the help already
    names the default (an environment variable, "all", ...)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        # identity, not equality: a default of 0 is worth showing, False (a flag) is not
        if action.default is None or action.default is False or \
                action.default == argparse.SUPPRESS or "default" in text:
            return text
        return super()._get_help_string(action)


class MainFormatter(Formatter, argparse.RawDescriptionHelpFormatter):
    """The top level keeps its paragraphs and the exit status table as written."""


def _add_mapping(sp: argparse.ArgumentParser) -> None:
    for flag, dest, default in MAPPING_FLAGS:
        sp.add_argument(flag, dest=dest, default=default, help=f"column with the {dest[:-4]}")
    sp.add_argument("--platform", help="platform name for every row (default: the row's "
                                       "'platform' column, else 'file')")


def _with_broker(sp: argparse.ArgumentParser) -> argparse.ArgumentParser:
    sp.add_argument("--broker", metavar="URL", help="kafka://host:port (default: $VIGIL_BROKER)")
    sp.add_argument("--config", type=Path, metavar="FILE", help="TOML settings file (default: $VIGIL_CONFIG)")
    return sp


def _json(sp: argparse.ArgumentParser, what: str = "the result as one JSON document") -> None:
    sp.add_argument("--json", action="store_true", help=f"print {what} on stdout")


def build_parser(version: str = "unknown") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vigil", description=DESCRIPTION, epilog=EPILOG,
                                formatter_class=MainFormatter)
    p.add_argument("--version", action="version", version=f"vigil {version}",
                   help="print vigil's version and exit")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str, description: str, broker: bool = False):
        sp = sub.add_parser(name, help=help, description=description, formatter_class=Formatter)
        sp.add_argument("--traceback", action="store_true",
                        help="on a failure, print the traceback (as VIGIL_LOG_LEVEL=debug does)")
        return _with_broker(sp) if broker else sp

    sp = command("run", "demo: embedded broker, worker and the sample stream",
                 "The demo: an embedded broker, a worker and a sample stream, escalations "
                 "printed as they fire. Ctrl-C stops it (exit 130).")
    sp.add_argument("--input", type=Path, metavar="FILE", help="JSONL to stream (default: the bundled sample)")
    sp.add_argument("--speed", type=float, default=480.0,
                    help="event-time acceleration (480: 8 hours of posts in 60 s)")
    sp.add_argument("--exit-on-end", action="store_true",
                    help="exit with a summary once the stream has been processed")
    sp.add_argument("--broker-port", type=int, default=0, help="broker port (0: a free one)")
    sp.add_argument("--web-port", type=int, default=6066, help="worker metrics port")
    sp.add_argument("--json", action="store_true",
                    help="with --exit-on-end: the summary as JSON on stdout, the narration "
                         "on stderr")
    sp.set_defaults(fn=cmd_run)

    sp = command("broker", "run the embedded Tansu broker until Ctrl-C",
                 "Run the embedded Tansu broker until Ctrl-C/SIGTERM (exit 0). If the broker "
                 "dies, print its last output to stderr and exit 1.")
    sp.add_argument("--host", default="127.0.0.1", help="bind address")
    sp.add_argument("--port", type=int, default=9092, help="Kafka port")
    sp.add_argument("--storage", choices=("memory", "s3"),
                    help="memory (the default; $VIGIL_BROKER_STORAGE), or s3: Tansu on a "
                         "local moto S3 server (pip install 'vigil[durable]'), whose data "
                         "survives Tansu restarts but not its own without --data-dir")
    sp.add_argument("--data-dir", type=Path, metavar="DIR",
                    help="durable: implies --storage s3 and journals the S3 server's writes "
                         "here, replayed at start (default: $VIGIL_BROKER_DATA_DIR, none)")
    sp.add_argument("--s3-port", type=int, default=0,
                    help="port of the local S3 server (default: a free one)")
    sp.set_defaults(fn=cmd_broker)

    sp = command("topics", "create or list Vigil's topics",
                 "Create Vigil's topics (idempotent: existing ones are kept) or list the "
                 "broker's topics, on any Kafka-protocol broker.", broker=True)
    sp.add_argument("action", choices=("create", "list"), help="what to do")
    sp.add_argument("--wait", type=float, default=30.0, help="seconds to wait for the broker")
    _json(sp)
    sp.set_defaults(fn=cmd_topics)

    sp = command("worker", "run a Faust worker with every agent",
                 "Run a Faust worker with every agent until Ctrl-C/SIGTERM; settings from "
                 "VIGIL_* (README, section Settings).", broker=True)
    sp.set_defaults(fn=cmd_worker)

    # --config here is the connector's own file; Vigil settings come from VIGIL_* variables
    sp = command("connect", "run a connector into posts.raw",
                 "Stream a platform (or a CSV/JSONL file) into posts.raw until Ctrl-C/SIGTERM "
                 "or, for a file, its end. Vigil's settings come from VIGIL_* variables.")
    sp.add_argument("--broker", metavar="URL", help="kafka://host:port (default: $VIGIL_BROKER)")
    sp.add_argument("platform_name", metavar="PLATFORM",
                    help="file, reddit, discourse, discord, x, steam, youtube, twitch, "
                         "telegram, webhook")
    sp.add_argument("--input", type=Path, metavar="FILE", help="file: the CSV/JSONL to stream (required)")
    sp.add_argument("--config", dest="config_file", type=Path, metavar="FILE",
                    help="platforms: TOML with a [PLATFORM] table, secrets via *_env keys "
                         "(required)")
    sp.add_argument("--metrics-port", type=int, default=0, help="/metrics port (0: none)")
    sp.add_argument("--speed", type=float, default=0.0,
                    help="file: event-time acceleration (0: as fast as possible)")
    _add_mapping(sp)
    _json(sp, "file: the counts read and produced as one JSON document")
    sp.set_defaults(fn=cmd_connect)

    sp = command("notify", "deliver escalations to PagerDuty, Slack, Discord and webhooks",
                 "Deliver escalations to the routes of --routes until Ctrl-C/SIGTERM, and "
                 "serve the callbacks of its [callbacks] table.", broker=True)
    sp.add_argument("--routes", type=Path, required=True, metavar="FILE",
                    help="notification routes TOML (see config/notifications.example.toml)")
    sp.add_argument("--metrics-port", type=int, default=6067, help="/metrics port (0: none)")
    sp.add_argument("--backfill-s", type=float, default=3600.0,
                    help="a route's first start skips escalations older than this (seconds)")
    sp.set_defaults(fn=cmd_notify)

    sp = command("incident", "acknowledge or resolve an incident",
                 "Acknowledge or resolve an incident: one action on incidents.actions, "
                 "which the worker holding the incident turns into an escalation.",
                 broker=True)
    sp.add_argument("action", choices=("ack", "acknowledge", "resolve"), help="what to do")
    sp.add_argument("dedup_key", help="the escalation's dedup_key")
    sp.add_argument("--community", required=True, help="the escalation's community")
    sp.add_argument("--by", help="who (default: your user name)")
    sp.add_argument("--note", help="a short note for the incident's timeline (default: none)")
    _json(sp, "what was sent as one JSON document")
    sp.set_defaults(fn=cmd_incident)

    sp = command("serve", "the Perspective-compatible scoring API",
                 "Serve the Perspective-compatible scoring API until Ctrl-C/SIGTERM; "
                 "create a key first with `vigil keys create NAME`.", broker=True)
    sp.add_argument("--host", help="bind address (default: VIGIL_API_HOST, 127.0.0.1)")
    sp.add_argument("--port", type=int, help="port (default: VIGIL_API_PORT, 8080)")
    sp.set_defaults(fn=cmd_serve)

    sp = command("keys", "API keys for vigil serve",
                 "Create, revoke or list the API keys of vigil serve (stored hashed in "
                 "VIGIL_DATA_DIR; a new key is shown once).", broker=False)
    sp.add_argument("action", choices=("create", "revoke", "list"), help="what to do")
    sp.add_argument("name", nargs="?", help="the key's name (create, revoke)")
    sp.add_argument("--qps", type=float, default=1.0, help="requests per second (create)")
    _json(sp)
    sp.set_defaults(fn=cmd_keys)

    sp = command("users", "who may use the on-call console",
                 "Add, remove, change the role of, or list the on-call console's users "
                 "(passwords hashed with Argon2id, in VIGIL_DATA_DIR).")
    sp.add_argument("action", choices=("add", "remove", "role", "list"), help="what to do")
    sp.add_argument("name", nargs="?", help="the user's name (add, remove, role)")
    sp.add_argument("--role", choices=("viewer", "moderator", "admin"),
                    help="add, role: the user's role (default: viewer)")
    sp.add_argument("--communities",
                    help="add, role: comma-separated communities (default: all, '*')")
    sp.add_argument("--password-stdin", action="store_true",
                    help="add: read the password from stdin instead of prompting")
    _json(sp)
    sp.set_defaults(fn=cmd_users)

    sp = command("feedback", "send one moderator label (for scripts)",
                 "Send one moderator label on moderation.feedback, as the console and the "
                 "platforms' moderation actions do; prints a JSON receipt.", broker=True)
    sp.add_argument("post_id", help="the post's id as on posts.scored (a trend's: any text)")
    sp.add_argument("--community", required=True, help="the post's community")
    sp.add_argument("--label", required=True, choices=("toxic", "not_toxic", "real", "false_alarm"),
                    help="the verdict (real, false_alarm: on a trend)")
    sp.add_argument("--action", default="none",
                    choices=("none", "remove", "approve", "warn", "timeout", "ban", "kick"),
                    help="what the moderator did")
    sp.add_argument("--text", help="the post's text, so a worker that never scored it learns "
                                   "too (default: none)")
    sp.add_argument("--trend-id", help="for real/false_alarm: the trend's id (default: none)")
    sp.add_argument("--by", help="who (default: your user name; pseudonymised)")
    sp.add_argument("--key", help="idempotency key (default: community, who, post and label)")
    _json(sp, "the receipt (printed as JSON in any case)")
    sp.set_defaults(fn=cmd_feedback)

    sp = command("replay", "run the pipeline offline over a file or topic range",
                 "Run the pipeline offline, in event-time order, over a CSV/JSONL file or a "
                 "range of a topic, and write scored.jsonl, trends.jsonl, escalations.jsonl, "
                 "dlq.jsonl and summary.json into --out. Nothing is produced to any topic.",
                 broker=True)
    sp.add_argument("input", nargs="?", metavar="INPUT", help="CSV or JSONL file (or --topic)")
    sp.add_argument("--out", type=Path, required=True, metavar="DIR", help="output directory")
    sp.add_argument("--topic", help="replay this topic (posts.raw) instead of a file "
                                    "(default: none)")
    sp.add_argument("--from", dest="from_time",
                    help="topic range start, ISO-8601 or epoch (default: the beginning)")
    sp.add_argument("--to", dest="to_time",
                    help="topic range end, ISO-8601 or epoch (default: the end)")
    sp.add_argument("--idle-timeout", type=float, default=5.0,
                    help="topic mode: stop after this many seconds without new messages")
    _add_mapping(sp)
    _json(sp, "the summary (summary.json) as one JSON document")
    sp.set_defaults(fn=cmd_replay)

    add_report_command(command, _json)

    sp = command("eval", "evaluate a model on labelled data",
                 "toxicity: ROC-AUC, PR-AUC and F1 of the toxicity score as shipped and, with "
                 "--feedback-fraction, after learning from moderator feedback. trends: "
                 "detection delay and false alarms of burst detection on CrisisLexT26.")
    sp.add_argument("target", choices=("toxicity", "trends"), help="what to evaluate")
    sp.add_argument("--data", required=True, metavar="PATH",
                    help="toxicity: CSV with a text and a label column; "
                         "trends: the crisislex_t26 folder (burst settings from VIGIL_BURST_*)")
    sp.add_argument("--text-col", dest="text_col", default="text", help="toxicity: text column")
    sp.add_argument("--label-col", dest="label_col", default="label",
                    help="toxicity: label column")
    sp.add_argument("--positive",
                    help="toxicity (required): label value(s) meaning toxic, comma-separated "
                         "(e.g. 0,1)")
    sp.add_argument("--feedback-fraction", type=float, default=0.0,
                    help="stream this fraction of rows to the learner as moderator feedback")
    sp.add_argument("--seed", default="0",
                    help="shuffle seed; several, comma-separated, score the rows once")
    sp.add_argument("--flip-fraction", type=float, default=0.0,
                    help="flip this share of the feedback labels at random (noisy moderators)")
    sp.add_argument("--target-precision", type=float, default=0.9,
                    help="the threshold policy's target precision (0: always best F1)")
    sp.add_argument("--threshold", type=float, default=0.8, help="operating threshold")
    sp.add_argument("--limit", type=int, help="use only the first N rows (default: all)")
    sp.add_argument("--no-embeddings", action="store_true",
                    help="skip MiniLM (lexical prior and rules only)")
    sp.add_argument("--backend", choices=EMBEDDING_BACKENDS,
                    help="embeddings engine (default: VIGIL_EMBEDDING_BACKEND)")
    _json(sp, "one JSON object (a list of them for several seeds)")
    sp.set_defaults(fn=cmd_eval)

    sp = command("bench", "measure Vigil against its limits (embedded broker)",
                 "Measure Vigil's throughput and latency against its limits on an embedded "
                 "broker (README, section Performance).")
    sp.add_argument("--quick", action="store_true", help="smaller runs, under 3 minutes")
    sp.add_argument("--only", help="comma-separated subset of: passthrough, forward, model, "
                                   "nonml, pipeline, scaleout, api (default: all)")
    _json(sp, "one JSON object (stable keys)")
    sp.set_defaults(fn=cmd_bench)

    sp = command("schemas", "write or check the JSON Schemas in streams/schemas/",
                 "Write the JSON Schemas of the records that leave Vigil into "
                 "streams/schemas/, or check that they are up to date (exit 1 if not).")
    sp.add_argument("action", choices=("write", "check"), help="what to do")
    _json(sp)
    sp.set_defaults(fn=cmd_schemas)
    return p
