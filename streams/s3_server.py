"""The local S3 server behind the broker's s3 storage: moto's, run as a child process.

``EmbeddedBroker(storage="s3")`` (``streams.broker``) runs Tansu with
``--storage-engine s3://vigil/`` against this server, started next to it::

    python -m streams.s3_server s3-server --port N [--host H] [--journal FILE]

Both sides are here: ``start`` (the broker's side: the command line, its environment
and the signal it gets if the broker dies) and ``serve`` (the child's side). Without ``--journal``
the data lives as long as the server process; with it, as long as the journal
(``streams.s3_journal``). moto, flask and werkzeug come with
``pip install 'vigil[durable]'``; they are imported only in the child, so the broker
can check for them (``missing_module``) and say what to install.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Optional

from streams.child_processes import ChildProcess
from streams.s3_journal import JournaledS3

__all__ = ["http_status", "missing_module", "serve", "start"]

_PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # holds the ``streams`` package


def missing_module() -> Optional[str]:
    """The first module the server needs that is not installed, or ``None``."""
    import importlib.util

    for mod in ("moto", "flask", "werkzeug", "flask_cors"):
        if importlib.util.find_spec(mod) is None:
            return mod
    return None


def start(host: str, port: int, journal: Optional[Path], log: Optional[Path]) -> ChildProcess:
    """Start the server as a child process. It listens only after replaying ``journal``
    (if any): poll it (``http_status``) before use."""
    # "s3-server" names the process in ps and /proc/<pid>/cmdline, where the broker's
    # tests look for it
    cmd = [sys.executable, "-m", "streams.s3_server", "s3-server",
           "--host", host, "--port", str(port)]
    if journal is not None:
        cmd += ["--journal", str(journal)]
    # the child must import this package whatever its working directory
    path = os.environ.get("PYTHONPATH")
    env = {**os.environ,
           "PYTHONPATH": str(_PACKAGE_ROOT) + (os.pathsep + path if path else "")}
    # SIGTERM: moto exits at once; a write it applied but had not journaled was not
    # acknowledged either, so Tansu never counted on it.
    return ChildProcess("S3 server (moto)", cmd, env, log, signal.SIGTERM)


def http_status(method: str, url: str, timeout_s: float = 2.0) -> int:
    """The HTTP status of a bodiless request; ``OSError`` if nothing answers."""
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def serve(argv: list[str]) -> int:
    """Run the server (the child side): moto's, journaled with ``--journal``."""
    import argparse
    import logging

    from moto.moto_server.werkzeug_app import (DomainDispatcherApplication,
                                               MotoRequestHandler, create_backend_app)
    from werkzeug.serving import run_simple

    p = argparse.ArgumentParser(prog="python -m streams.s3_server s3-server")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--journal", type=Path, help="replay, then append, successful writes here")
    args = p.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request

    app = DomainDispatcherApplication(create_backend_app)
    if args.journal is not None:
        app = JournaledS3(app, args.journal)
        app.lock_dir()
        started = time.monotonic()
        replayed, kept = app.replay_and_compact()
        app.open()
        print(f"s3 server: replayed {replayed} writes from {args.journal} in "
              f"{time.monotonic() - started:.2f}s, compacted to {kept}", flush=True)
    else:
        print("s3 server: in memory only (no journal): data lives as long as this process",
              flush=True)
    print(f"s3 server: listening on http://{args.host}:{args.port}", flush=True)
    run_simple(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "s3-server":
        sys.exit(serve(sys.argv[2:]))
    sys.exit("usage: python -m streams.s3_server s3-server --port N [--journal FILE]")
