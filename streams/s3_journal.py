"""The write journal that lets the local S3 server's state outlive the server.

moto (the local S3 server of ``streams.s3_server``) keeps its objects in memory and
cannot save its state to disk. ``JournaledS3`` wraps its WSGI app: every successful
write is appended to the journal before the write is acknowledged, and when the server
starts again the journal is replayed into the empty moto, then compacted to one write
per bucket and live object. The broker keeps it at ``<data_dir>/s3-journal.jsonl``.

What survives what: an acknowledged write is in the journal, so it survives a restart
or a SIGKILL of the server (a torn last line was never acknowledged and is dropped).
The journal is not fsynced per write, so a power loss or OS crash can lose the most
recent writes; compaction does fsync, and replaces the journal atomically.

The format is JSON lines, one per write, replayed in order::

    {"method": "PUT", "uri": "/vigil/some/key", "headers": {...}, "body": "<base64>"}

Only one server may use a journal at a time (``lock_dir``: a lock file next to it).
werkzeug is imported only when a journal is used.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

__all__ = ["JournaledS3"]

_MUTATING = frozenset({"PUT", "POST", "DELETE", "PATCH"})
_SKIP_HEADERS = frozenset({"Content-Length", "Transfer-Encoding", "Connection", "Expect"})


def _request_headers(environ: dict) -> dict[str, str]:
    headers = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            name = "-".join(p.capitalize() for p in key[5:].split("_"))
            if name not in _SKIP_HEADERS:
                headers[name] = value
    if environ.get("CONTENT_TYPE"):
        headers["Content-Type"] = environ["CONTENT_TYPE"]
    return headers


def _read_body(environ: dict) -> bytes:
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    if length:
        return stream.read(int(length))
    if environ.get("wsgi.input_terminated"):  # chunked: the server ends the stream
        return stream.read()
    return b""


class JournaledS3:
    """WSGI middleware over moto: each successful write, one JSON line, is appended to
    the journal after moto applied it and before the client gets its answer. Writes are
    serialized (a lock), so the journal's order is the order they took effect; failed
    writes (e.g. a conditional PUT that lost) are not journaled. Reads pass through."""

    def __init__(self, app, journal: Path):
        import threading

        self.app, self.journal = app, journal
        self.lock = threading.Lock()
        self.fd: Optional[int] = None

    def lock_dir(self) -> None:
        """One server per journal: a second one appending to it would corrupt it."""
        import fcntl

        self.journal.parent.mkdir(parents=True, exist_ok=True)
        self._lock_fd = os.open(self.journal.with_name(self.journal.name + ".lock"),
                                os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SystemExit(f"{self.journal} is in use by another S3 server (another "
                             f"`vigil broker` on the same data dir?)") from None

    def open(self) -> None:
        self.fd = os.open(self.journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def __call__(self, environ, start_response):
        import base64
        import io
        import json

        from werkzeug.test import run_wsgi_app

        path = environ.get("PATH_INFO", "")
        if environ["REQUEST_METHOD"] not in _MUTATING or path.startswith("/moto-api"):
            return self.app(environ, start_response)
        body = _read_body(environ)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("wsgi.input_terminated", None)
        uri = environ.get("RAW_URI") or environ.get("REQUEST_URI") or path
        if "://" in uri:  # an absolute URI: keep the path and query
            uri = "/" + uri.split("://", 1)[1].partition("/")[2]
        line = json.dumps({"method": environ["REQUEST_METHOD"], "uri": uri,
                           "headers": _request_headers(environ),
                           "body": base64.b64encode(body).decode("ascii")}) + "\n"
        with self.lock:
            app_iter, status, headers = run_wsgi_app(self.app, environ, buffered=True)
            if 200 <= int(status.split(" ", 1)[0]) < 300:
                os.write(self.fd, line.encode())  # one write(2): whole line or nothing
        start_response(status, headers.to_wsgi_list())
        return app_iter

    def replay_and_compact(self) -> tuple[int, int]:
        """Apply the journal to the (empty) moto app, then rewrite it as one write per
        bucket and live object. Returns (writes replayed, entries after compaction)."""
        import base64
        import json

        from werkzeug.test import Client

        if not self.journal.exists():
            return 0, 0
        data = self.journal.read_bytes()
        if data and not data.endswith(b"\n"):  # a torn last line was never acknowledged
            data = data[: data.rfind(b"\n") + 1]
        client = Client(self.app)
        count = 0
        for number, raw in enumerate(data.splitlines(), 1):
            try:
                entry = json.loads(raw)
                body = base64.b64decode(entry["body"])
                resp = client.open(entry["uri"], method=entry["method"],
                                   headers=entry["headers"], data=body)
            except (ValueError, KeyError) as exc:
                raise SystemExit(f"s3 journal {self.journal} line {number} is damaged "
                                 f"({exc}); move the file away to start empty")
            if not 200 <= resp.status_code < 300:
                raise SystemExit(
                    f"s3 journal {self.journal} line {number} ({entry['method']} "
                    f"{entry['uri']}) replayed with HTTP {resp.status_code}: the state "
                    f"cannot be rebuilt faithfully; move the file away to start empty")
            count += 1
        entries = self._snapshot(client)
        tmp = self.journal.with_name(self.journal.name + ".tmp")
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
            for entry in entries:
                f.write(json.dumps(entry).encode() + b"\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.journal)
        dir_fd = os.open(self.journal.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return count, len(entries)

    @staticmethod
    def _snapshot(client) -> list[dict]:
        """One PUT per bucket and per live object, read back through the S3 API. moto
        answers anonymous object reads with 403, hence the (unchecked) credentials."""
        import base64
        import urllib.parse
        import xml.etree.ElementTree as ET

        auth = {"Authorization": "AWS4-HMAC-SHA256 Credential=vigil/20260101/us-east-1/s3/"
                                 "aws4_request, SignedHeaders=host, Signature=0"}

        def get(uri: str):
            resp = client.get(uri, headers=auth)
            if resp.status_code != 200:
                raise SystemExit(f"s3 journal compaction: GET {uri} answered HTTP "
                                 f"{resp.status_code}; the journal is left as it was")
            return resp

        def elements(xml: bytes, tag: str) -> list:
            return [el for el in ET.fromstring(xml).iter() if el.tag.rsplit("}", 1)[-1] == tag]

        def child(el, tag: str) -> str:
            return next((c.text or "" for c in el if c.tag.rsplit("}", 1)[-1] == tag), "")

        out: list[dict] = []
        for bucket_el in elements(get("/").data, "Bucket"):
            bucket = child(bucket_el, "Name")
            out.append({"method": "PUT", "uri": f"/{bucket}", "headers": {}, "body": ""})
            token: Optional[str] = None
            while True:
                query = {"list-type": "2"}
                if token:
                    query["continuation-token"] = token
                listing = get(f"/{bucket}?{urllib.parse.urlencode(query)}").data
                for item in elements(listing, "Contents"):
                    key, size = child(item, "Key"), int(child(item, "Size") or -1)
                    uri = f"/{bucket}/{urllib.parse.quote(key, safe='/~')}"
                    obj = get(uri)
                    if len(obj.data) != size:
                        raise SystemExit(f"s3 journal compaction: {uri} read {len(obj.data)} "
                                         f"bytes, listed {size}; the journal is left as it was")
                    headers = {"Content-Type": obj.headers.get("Content-Type",
                                                                "application/octet-stream")}
                    out.append({"method": "PUT", "uri": uri, "headers": headers,
                                "body": base64.b64encode(obj.data).decode("ascii")})
                root = ET.fromstring(listing)
                more = child(root, "IsTruncated") == "true"
                token = child(root, "NextContinuationToken")
                if not (more and token):
                    break
        return out
