"""``vigil``: the command line, and the one place its exit status is decided.

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

The commands live in agents.cli_services (long-running), agents.cli_admin (short
administrative ones) and agents.cli_offline (replay, eval, bench); the parser in
agents.cli_parser; the shared convention (errors, output) in agents.cli_support.

Settings come from ``VIGIL_*`` environment variables (see ``config/settings.py``);
flags such as ``--broker`` set the same variables, so there is one source of truth.
"""

from __future__ import annotations

import os
import sys
import traceback

from agents.cli_parser import build_parser as _build_parser
from agents.cli_support import UsageError
from config.settings import SettingsError

__all__ = ["main", "build_parser", "version", "UsageError"]


def version() -> str:
    """The installed distribution's version; from a bare checkout, say so."""
    from importlib.metadata import PackageNotFoundError, version as dist_version

    try:
        return dist_version("vigil")
    except PackageNotFoundError:
        return "unknown (not installed: pip install -e .)"


def build_parser():
    return _build_parser(version())


def _debug(args) -> bool:
    return bool(getattr(args, "traceback", False)) or \
        os.environ.get("VIGIL_LOG_LEVEL", "").strip().lower() == "debug"


def main(argv: list[str] | None = None) -> int:
    """Run one command; 0 success, 1 failure at run time, 2 a usage or settings error,
    130 interrupted. argparse itself exits 2 on a bad option and 0 on --help/--version."""
    args = build_parser().parse_args(argv)
    name = f"vigil {args.command}"
    try:
        return args.fn(args) or 0
    except UsageError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 2
    except SettingsError as exc:
        print(f"{name}: invalid setting: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the one place a run-time failure is reported
        if _debug(args):
            traceback.print_exc()
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        print(f"{name}: {type(exc).__name__}{': ' + detail if detail else ''} "
              f"(--traceback shows where)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
