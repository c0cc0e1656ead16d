"""``vigil serve`` as a Perspective client sees it (issue 17), against a running server
on the embedded broker: keys and quotas, every attribute and option, UTF-16 spans,
Google's error shape, doNotStore, and suggestscore teaching that community."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from streams.broker import free_port
from tests.conftest import REPO, as_json, read_topic

pytestmark = pytest.mark.integration

ATTRS = ["TOXICITY", "SEVERE_TOXICITY", "IDENTITY_ATTACK", "INSULT", "PROFANITY", "THREAT",
         "SEXUALLY_EXPLICIT", "SPAM", "PERSONAL_DATA", "SELF_HARM"]


class Serve:
    def __init__(self, broker, tmp_path, extra_env: dict | None = None):
        self.env = {**os.environ, "VIGIL_BROKER": broker.url, "VIGIL_DATA_DIR": str(tmp_path / "data"),
                    "VIGIL_PSEUDONYM_KEY": "test-key", "VIGIL_LOG_FORMAT": "json",
                    **(extra_env or {})}
        self.key = self.keys("create", "forum-bot", "--qps", "50").stdout.strip()
        self.slow = self.keys("create", "slow-bot", "--qps", "1").stdout.strip()
        self.fuzz = self.keys("create", "fuzzer", "--qps", "100000").stdout.strip()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / "serve.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agents.cli", "serve", "--port", str(self.port)], env=self.env,
            cwd=REPO, stdout=self.log.open("wb"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=1)
                return
            except OSError:
                time.sleep(0.3)
        raise AssertionError("vigil serve never answered: " + self.log.read_text()[-3000:])

    def keys(self, *args: str) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, "-m", "agents.cli", "keys", *args], env=self.env,
                              cwd=REPO, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done

    def call(self, method: str, body, *, key: str | None = "default", bearer: bool = False,
             raw: bytes | None = None) -> tuple[int, dict, dict]:
        key = self.key if key == "default" else key
        url = f"{self.url}/v1alpha1/comments:{method}"
        headers = {"Content-Type": "application/json"}
        if key and bearer:
            headers["Authorization"] = f"Bearer {key}"
        elif key:
            url += f"?key={key}"
        data = raw if raw is not None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, json.loads(resp.read()), dict(resp.headers)
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read()), dict(err.headers)

    def analyze(self, text: str, **extra) -> dict:
        status, body, _ = self.call("analyze", {"comment": {"text": text},
                                                "requestedAttributes": {"TOXICITY": {}}, **extra})
        assert status == 200, body
        return body

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:  # never leave it (or the caller's worker) behind
            self.proc.kill()
            self.proc.wait(5)


@pytest.fixture(scope="module")
def serve(broker, tmp_path_factory):
    from config.settings import Settings
    from streams.admin import create_topics

    create_topics(Settings.load(env={}, broker=broker.url))
    s = Serve(broker, tmp_path_factory.mktemp("serve"))
    yield s
    s.stop()


def utf16_slice(text: str, begin: int, end: int) -> str:
    return text.encode("utf-16-le")[2 * begin:2 * end].decode("utf-16-le")


def test_every_attribute_with_spans_thresholds_and_client_token(serve):
    text = "Thanks for the patch 🎉! You are a worthless idiot and I will kill you. Cafe\u0301 ☕ at noon?"
    status, body, _ = serve.call("analyze", {
        "comment": {"text": text}, "requestedAttributes": {a: {} for a in ATTRS},
        "spanAnnotations": True, "clientToken": "req-17", "languages": ["en"]}, bearer=True)
    assert status == 200, body
    assert body["clientToken"] == "req-17" and body["languages"] == ["en"]
    assert set(body["attributeScores"]) == set(ATTRS)
    scores = {a: v["summaryScore"]["value"] for a, v in body["attributeScores"].items()}
    assert all(0.0 <= v <= 1.0 for v in scores.values())
    assert scores["THREAT"] > 0.5 and scores["INSULT"] > 0.5 and scores["TOXICITY"] > 0.5
    spans = body["attributeScores"]["TOXICITY"]["spanScores"]
    # offsets in UTF-16 code units: slicing the UTF-16 text by them gives each sentence
    assert [utf16_slice(text, s["begin"], s["end"]) for s in spans] == [
        "Thanks for the patch 🎉!", "You are a worthless idiot and I will kill you.",
        "Cafe\u0301 ☕ at noon?"]
    threat = [s["score"]["value"] for s in body["attributeScores"]["THREAT"]["spanScores"]]
    assert threat[1] > 0.5 > max(threat[0], threat[2])
    # an attribute under its scoreThreshold is left out, as Perspective does
    status, body, _ = serve.call("analyze", {
        "comment": {"text": "what a lovely day"},
        "requestedAttributes": {"TOXICITY": {"scoreThreshold": 0.9, "scoreType": "PROBABILITY"},
                                "PROFANITY": {}}})
    assert status == 200 and set(body["attributeScores"]) == {"PROFANITY"}
    # HTML: scored as the text a reader sees
    html = serve.analyze("<p>You are a <b>worthless idiot</b></p>", comment={
        "text": "<p>You are a <b>worthless idiot</b></p>", "type": "HTML"})
    assert html["attributeScores"]["TOXICITY"]["summaryScore"]["value"] > 0.5


def test_identity_attacks_threats_and_insults_are_also_read_by_their_meaning(serve):
    def scores(text: str) -> dict:
        status, body, _ = serve.call("analyze", {"comment": {"text": text},
                                                 "requestedAttributes": {a: {} for a in ATTRS}})
        assert status == 200, body
        return {a: v["summaryScore"]["value"] for a, v in body["attributeScores"].items()}

    # no swear word and no rule's pattern: only the meaning says what this is
    attack = scores("Those parasites are infesting our towns, get them out")
    assert attack["IDENTITY_ATTACK"] > 0.5 and attack["PROFANITY"] < 0.2
    neutral = scores("The new refugee centre opens on Monday")
    assert max(neutral["IDENTITY_ATTACK"], neutral["THREAT"], neutral["INSULT"]) < 0.1


def test_errors_come_in_googles_shape_never_a_traceback(serve):
    ok = {"comment": {"text": "hello"}, "requestedAttributes": {"TOXICITY": {}}}
    cases = [
        (serve.call("analyze", ok, key=None), 401, "UNAUTHENTICATED"),
        (serve.call("analyze", ok, key="vk_not-a-key"), 403, "PERMISSION_DENIED"),
        (serve.call("analyze", {**ok, "requestedAttributes": {"RUDENESS": {}}}), 400, "INVALID_ARGUMENT"),
        (serve.call("analyze", {**ok, "comment": {"text": "  "}}), 400, "INVALID_ARGUMENT"),
        (serve.call("analyze", None, raw=b"{not json"), 400, "INVALID_ARGUMENT"),
        (serve.call("analyze", {**ok, "languages": ["de"]}), 501, "UNIMPLEMENTED"),
        (serve.call("analyze", {"comment": {"text": "Das ist ein wirklich schönes Video, "
                                                     "vielen Dank für die Mühe!"},
                                "requestedAttributes": {"TOXICITY": {}}}), 501, "UNIMPLEMENTED"),
        (serve.call("analyze", None, raw=json.dumps({**ok, "comment": {"text": "x" * 70_000}}).encode()),
         400, "INVALID_ARGUMENT"),
        (serve.call("suggestscore", {"comment": {"text": "hi"}, "attributeScores": {}}), 400,
         "INVALID_ARGUMENT"),
    ]
    for (status, body, _), want_status, want in cases:
        assert status == want_status and body["error"]["status"] == want, body
        assert body["error"]["code"] == want_status and body["error"]["message"]
        assert "Traceback" not in json.dumps(body)


def test_a_keys_quota_answers_resource_exhausted_with_retry_after(serve):
    ok = {"comment": {"text": "hello"}, "requestedAttributes": {"TOXICITY": {}}}
    first = serve.call("analyze", ok, key=serve.slow)
    second = serve.call("analyze", ok, key=serve.slow)
    assert first[0] == 200
    assert second[0] == 429 and second[1]["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert int(second[2]["Retry-After"]) >= 1
    serve.keys("revoke", "slow-bot")
    time.sleep(1.1)
    assert serve.call("analyze", ok, key=serve.slow)[1]["error"]["status"] == "PERMISSION_DENIED"


def test_analyze_keeps_and_publishes_nothing_and_suggestscore_teaches_that_community(serve, broker):
    probe = "such a noob, uninstall the game already"
    before = serve.analyze(probe, communityId="gamers", doNotStore=True)
    other_before = serve.analyze(probe, communityId="chess")
    taught = ["uninstall the game you noob", "you are such a noob, just quit",
              "go play minecraft, kid", "noob team as always, uninstall",
              "learn to play or leave, noob", "bots play better than you",
              "what a noob, delete your account", "kid go back to fortnite",
              "you are trash at this game", "absolute noob, uninstall now",
              "nobody wants you here kid", "get good or get out noob"]
    for text in taught:
        status, body, _ = serve.call("suggestscore", {
            "comment": {"text": text}, "communityId": "gamers", "clientToken": "s1",
            "attributeScores": {"TOXICITY": {"summaryScore": {"value": 0.95}}}})
        assert status == 200 and body["clientToken"] == "s1"
    labels = read_topic(broker.bootstrap, "moderation.feedback", timeout_s=60,
                        until=lambda ms: len([m for m in ms if as_json(m)["source"] == "api"])
                        >= len(taught))
    api = [as_json(m) for m in labels if as_json(m)["source"] == "api"]
    assert {x["community"] for x in api} == {"gamers"} and {x["label"] for x in api} == {"toxic"}
    # only suggestions reached a topic: analyze published nothing anywhere
    for topic in ("posts.raw", "posts.scored", "posts.normalized"):
        assert read_topic(broker.bootstrap, topic, timeout_s=2, until=lambda ms: False) == []
    deadline = time.monotonic() + 60
    while True:
        after = serve.analyze(probe, communityId="gamers")
        value = after["attributeScores"]["TOXICITY"]["summaryScore"]["value"]
        if value > before["attributeScores"]["TOXICITY"]["summaryScore"]["value"] + 0.05:
            break
        assert time.monotonic() < deadline, (before, after)
        time.sleep(0.5)
    # another community's score did not move
    assert serve.analyze(probe, communityId="chess") == other_before


def test_the_openapi_document_is_served_valid_and_committed(serve):
    from openapi_spec_validator import validate

    with urllib.request.urlopen(serve.url + "/openapi.json", timeout=10) as resp:
        served = json.loads(resp.read())
    validate(served)
    assert served == json.loads((REPO / "agents" / "api" / "openapi.json").read_text())
    assert set(served["components"]["schemas"]["AttributeName"]["enum"]) == set(ATTRS)
    with urllib.request.urlopen(serve.url + "/metrics", timeout=10) as resp:
        text = resp.read().decode()
    assert 'vigil_api_requests_total{method="analyze",outcome="ok"}' in text
    assert "vigil_api_batch_texts_bucket" in text


# --- property-based: whatever a client sends, the contract holds and nothing is a 5xx ----
import schemathesis  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import (not_a_server_error, response_schema_conformance,  # noqa: E402
                                 status_code_conformance)

SCHEMA = schemathesis.from_path(str(REPO / "agents" / "api" / "openapi.json"))


@SCHEMA.parametrize()
# derandomized: the same examples every run, so a finding is reproducible, never noise
@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_no_request_makes_a_server_error_or_breaks_the_contract(case, serve):
    response = case.call(base_url=serve.url, headers={"Authorization": f"Bearer {serve.fuzz}"})
    case.validate_response(response, checks=(not_a_server_error, status_code_conformance,
                                             response_schema_conformance))
