"""Vigil's runtime settings: one frozen pydantic-settings model, filled from defaults, an
optional TOML file and ``VIGIL_*`` environment variables (in rising priority).

Every field maps to exactly one environment variable, ``VIGIL_<FIELD NAME UPPER>``, and
to the TOML key ``<field name>``; its ``description`` is the one place it is documented
(the README's table is generated from it: ``python -m config.settings --markdown``).

>>> s = Settings.load(env={"VIGIL_PARTITIONS": "8", "VIGIL_BROKER": "kafka://k:9092"})
>>> s.partitions, s.broker
(8, 'kafka://k:9092')
>>> Settings.env_name("fetch_max_wait_ms")
'VIGIL_FETCH_MAX_WAIT_MS'
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Annotated, Any, Literal, Mapping

from pydantic import BeforeValidator, Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from config.settings_load import (CODE, Expect, SettingsError, Source, build, env_layer,
                                  file_layer)

__all__ = ["Settings", "SettingsError", "DEV_PSEUDONYM_KEY", "EMBEDDING_BACKENDS"]

#: Used only when no key is configured. Pseudonyms made with it are stable but not
#: secret: fine for the embedded demo, never for a real community (a warning is logged).
DEV_PSEUDONYM_KEY = "vigil-development-key-not-secret"
#: models.embeddings.BACKENDS, spelt out so that settings import no model code
EMBEDDING_BACKENDS = ("onnx-int8", "torch-bf16", "torch-fp32")


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


# The kinds of value a setting takes; each says in words what it accepts (messages, README).
Port = Annotated[int, Field(ge=1, le=65535), Expect("an integer TCP port 1-65535")]
Count = Annotated[int, Field(ge=1), Expect("an integer >= 1")]
Count0 = Annotated[int, Field(ge=0), Expect("an integer >= 0")]
Seconds = Annotated[float, Field(gt=0, allow_inf_nan=False),
                    Expect("a finite number of seconds > 0")]
Seconds0 = Annotated[float, Field(ge=0, allow_inf_nan=False),
                     Expect("a finite number of seconds >= 0")]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False), Expect("a finite number > 0")]
Probability = Annotated[float, Field(gt=0, lt=1),
                        Expect("a number between 0 and 1, both excluded")]
Score = Annotated[float, Field(gt=0, le=1), Expect("a number above 0 and at most 1")]
Name = Annotated[str, Field(min_length=1), Expect("a non-empty string")]
Broker = Annotated[str, Expect("a broker URL, kafka://host:port[;host:port]")]
RunbookUrl = Annotated[str, Expect("an http:// or https:// URL, or a relative link")]
ProxyAddress = Annotated[str, Expect("an IP address, or empty")]
OptionalPath = Annotated[str, Expect("a file path, or empty")]
Secret = Annotated[str, Expect("a string (secret)")]
Flag = Annotated[bool, Expect("true or false (1/true/yes/on or 0/false/no/off)")]
AutoCount = Annotated[Literal["auto"] | Annotated[int, Field(ge=1)], BeforeValidator(_lower),
                      Expect("auto or an integer >= 1")]
AutoFlag = Annotated[Literal["auto"] | bool, BeforeValidator(_lower),
                     Expect("auto, true or false (1/true/yes/on or 0/false/no/off)")]
LogLevel = Annotated[Literal["debug", "info", "warning", "error", "critical"],
                     BeforeValidator(_lower)]
LogFormat = Annotated[Literal["auto", "json", "console"], BeforeValidator(_lower)]
Backend = Annotated[Literal[EMBEDDING_BACKENDS],  # type: ignore[valid-type]
                    BeforeValidator(_lower)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True,
                                      env_prefix="VIGIL_")

    # --- broker and app --------------------------------------------------------
    broker: Broker = Field("kafka://127.0.0.1:9092",
        description="Kafka-protocol broker: `kafka://host:port`, several brokers separated by `;` "
                    "(`aiokafka://` is accepted too).")
    app_id: Name = Field("vigil",
        description="Application id: names the consumer group and the internal topics; every "
                    "worker of one deployment shares it.")
    partitions: Count = Field(4,
        description="Partitions per topic, the unit of scale-out: at most this many workers share "
                    "the work.")
    replication_factor: Count = Field(1,
        description="Replication factor of the topics Vigil creates (1 for a single broker).")
    fetch_max_wait_ms: Count = Field(100,
        description="How long a consumer fetch waits for data, per hop. Faust hard-codes 1500 ms, "
                    "which on Tansu every hop then costs (`agents/transport.py`).")
    session_timeout_s: Seconds = Field(10.0,
        description="Consumer-group session timeout; Tansu answers a group join after half of it.")
    data_dir: Name = Field("var/vigil",
        description="The worker's state: tables, model checkpoints, online topics, API keys, "
                    "console users and audit log.")
    # --- web / metrics ---------------------------------------------------------
    web_host: Name = Field("127.0.0.1",
        description="Address of the worker's `/metrics` server; `0.0.0.0` in a container, else "
                    "Prometheus cannot reach it.")
    web_port: Port = Field(6066, description="Port of the worker's `/metrics` server.")
    api_host: Name = Field("127.0.0.1",
        description="Address `vigil serve` (the scoring API and the console) listens on: loopback "
                    "unless told otherwise.")
    api_port: Port = Field(8080, description="Port of `vigil serve`.")
    console_trusted_proxy: ProxyAddress = Field("",
        description="IP address of the single-sign-on reverse proxy whose user header the console "
                    "trusts; empty: no proxy is trusted.")
    console_user_header: Name = Field("X-Forwarded-User",
        description="Header in which the trusted proxy names the signed-in console user.")
    # --- logging ---------------------------------------------------------------
    log_level: LogLevel = Field("info", description="Least severe level logged.")
    log_format: LogFormat = Field("auto",
        description="`json` (one object per line), `console` (for people), or `auto`: console on a"
                    " terminal, else JSON.")
    # --- normalisation ---------------------------------------------------------
    pseudonym_key: Secret = Field("", repr=False,
        description="Secret key of the author pseudonyms; **set it in production**. Empty: a "
                    "development key, stable but not secret, and a warning at start-up. Never "
                    "logged or printed.")
    max_payload_bytes: Count = Field(64 * 1024,
        description="A raw post larger than this is dead-lettered.")
    max_text_chars: Count = Field(10_000,
        description="A post whose text is longer than this is dead-lettered.")
    dedup_window_s: Seconds = Field(24 * 3600.0,
        description="A post seen again within this much event time is a duplicate and dropped.")
    dedup_max_keys: Count = Field(200_000,
        description="Most post ids the duplicate window remembers; the oldest are forgotten first.")
    max_clock_skew_s: Seconds0 = Field(300.0,
        description="A post dated further than this into the future is rejected.")
    moderator_label_window_s: Seconds = Field(600.0,
        description="A moderator's timeout or ban labels what that member wrote this long before "
                    "it.")
    # --- scoring ---------------------------------------------------------------
    score_batch_size: Count = Field(64,
        description="Scoring batch: at most this many texts are scored together by the API, and "
                    "by the worker with embeddings (see `VIGIL_WORKER_BATCH_SIZE`).")
    worker_batch_size: AutoCount = Field("auto",
        description="The worker's call: at most this many inputs are read and processed together "
                    "(fewer when `VIGIL_SCORE_BATCH_WITHIN_S` passes first). A call's fixed cost "
                    "(three acknowledged sends, its changelog) is shared by its posts, so a "
                    "worker that is behind catches up faster in bigger calls; at ordinary load "
                    "calls stay small. auto: 512 without embeddings; with them "
                    "`VIGIL_SCORE_BATCH_SIZE`, so that a call, and a moderator's label waiting "
                    "behind it, takes one model batch at most.")
    score_batch_within_s: Seconds = Field(0.05,
        description="The worker's call: the inputs that arrived within this time are processed "
                    "together (at most `VIGIL_WORKER_BATCH_SIZE`).")
    toxicity_threshold: Score = Field(0.80,
        description="Not read by the pipeline, which takes `toxicity_threshold` per community from"
                    " `config/communities.toml`; kept so that existing configurations load.")
    toxicity_high_threshold: Score = Field(0.95,
        description="Not read by the pipeline (see `VIGIL_TOXICITY_THRESHOLD`); must not be below "
                    "`VIGIL_TOXICITY_THRESHOLD`.")
    embeddings: Flag = Field(True,
        description="MiniLM embeddings and the online learner; false: the lexical prior and rules "
                    "only.")
    text_reader_process: AutoFlag = Field("auto",
        description="true: the worker reads each post's lexical prior, rules, sentiment and "
                    "language in a child process, beside its Kafka I/O (same scores; see "
                    "Performance); false: in its inference thread, one process; auto: a child "
                    "only without embeddings, where reading is about 40 % of a post's work (with "
                    "MiniLM it is a few per cent, and the child would take CPU the model uses).")
    text_reader_processes: AutoCount = Field("auto",
        description="Child processes that read a call's posts side by side, each a slice, where "
                    "the worker reads in children (`VIGIL_TEXT_READER_PROCESS`). auto: 2 where the "
                    "machine has at least 2 cores, else 1 (see Performance).")
    embedding_batch_size: Count = Field(32, description="Posts per MiniLM embedding batch.")
    embedding_backend: Backend = Field("onnx-int8",
        description="How MiniLM runs: `onnx-int8` (about 3x torch fp32, cosine to fp32 >= 0.98, a post's vector independent of its batch), "
                    "`torch-bf16` or `torch-fp32` (see Performance).")
    embedding_bf16: Flag = Field(True,
        description="Older switch: false together with `torch-bf16` means `torch-fp32`.")
    embedding_onnx_dir: Name = Field("var/models/minilm-l6-v2-onnx",
        description="The int8 model files, derived from the installed weights by set-up (`python "
                    "-m models.onnx_export build`), else on the first load.")
    communities_file: OptionalPath = Field("",
        description="Per-community thresholds and conduct policy; empty: the shipped "
                    "`config/communities.toml`.")
    evidence_store_size: Count = Field(50_000,
        description="Recent scored posts whose features moderator feedback can teach the learner.")
    checkpoint_interval_s: Seconds = Field(1.0,
        description="The learnt toxicity model is saved at most this often.")
    topics_checkpoint_interval_s: Seconds = Field(60.0,
        description="How often the score stage saves its online topics to "
                    "`<data_dir>/models/topics.json`.")
    # --- burst detection (event time) -----------------------------------------
    burst_window_s: Seconds = Field(600.0,
        description="Burst detection: length of a window, in event time.")
    burst_z: Positive = Field(4.0,
        description="Burst detection: a window bursts at this many standard deviations above its "
                    "community's baseline (`high` severity from twice as many).")
    burst_min_count: Count = Field(8,
        description="Burst detection: a bursting window has at least this many posts.")
    burst_min_history: Count = Field(6,
        description="Burst detection: windows of history a community needs before it can burst.")
    burst_alpha: Probability = Field(0.1,
        description="Burst detection: smoothing factor of the baseline (exponentially weighted).")
    burst_max_p: Probability = Field(1e-5,
        description="Burst detection: a bursting window must also be this unlikely under a Poisson"
                    " baseline: at ~4 posts per window a 4-sigma rule alone fired on ~12% of "
                    "random days; 1e-5 is about one false alarm per community per 2 years of "
                    "10-minute windows.")
    # --- escalation ------------------------------------------------------------
    escalate_opportunities: Flag = Field(True,
        description="Escalate opportunities (trends worth joining), not only moderation and safety"
                    " incidents.")
    incident_quiet_s: Seconds = Field(3600.0,
        description="A moderation or safety incident with no new occurrence for this long (its "
                    "partition's event time) resolves.")
    shutdown_timeout_s: Seconds = Field(20.0,
        description="On SIGTERM or Ctrl-C the worker stops gracefully within this, else exits "
                    "anyway (nothing unacknowledged was committed, so a restart reads it again).")
    incident_sweep_interval_s: Seconds = Field(30.0,
        description="A partition with no post for this long (wall time) gets an idle-clock record,"
                    " so that its quiet incidents still resolve.")
    idle_clock_grace_s: Seconds0 = Field(120.0,
        description="An idle-clock record stays this far behind the estimated event time now "
                    "(posts still on their way).")
    runbook_base_url: RunbookUrl = Field(
        "README.md#runbooks",
        description="Base of the runbook link in every escalation (`-<type>` is appended). "
                    "The default is relative to Vigil's source tree (README.md, Runbooks); "
                    "set it to where your team reads the runbooks (your copy of the README "
                    "on your Git host or wiki) so that notifications carry a link that opens.")
    feed_health_window_s: Seconds = Field(300.0,
        description="A community's feed is failing when, within this window, at least "
                    "`VIGIL_FEED_HEALTH_MIN_DEAD` raw posts were dead-lettered and they were at "
                    "least half of its posts.")
    feed_health_min_dead: Count = Field(10,
        description="Dead-lettered raw posts within `VIGIL_FEED_HEALTH_WINDOW_S` from which a "
                    "community's feed can be failing.")
    # --- metrics ---------------------------------------------------------------
    metrics_community_limit: Count0 = Field(50,
        description="Communities beyond those named in `communities.toml` that get their own "
                    "metric label value (first come); the rest are counted as `other`.")

    # -- rules beyond one value's type and bounds (errors name the field) -------------
    @field_validator("broker")
    @classmethod
    def _broker_url(cls, value: str) -> str:
        scheme, _, servers = value.partition("://")
        if scheme not in ("kafka", "aiokafka") or not servers.strip("/;"):
            raise ValueError("must look like kafka://host:port (several: kafka://a:9092;b:9092)")
        return value

    @field_validator("toxicity_high_threshold")
    @classmethod
    def _not_below_threshold(cls, value: float, info: ValidationInfo) -> float:
        low = info.data.get("toxicity_threshold")  # absent when that one failed already
        if low is not None and value < low:
            raise ValueError(f"must not be below VIGIL_TOXICITY_THRESHOLD ({low})")
        return value

    @field_validator("console_trusted_proxy")
    @classmethod
    def _ip_or_empty(cls, value: str) -> str:
        if value:  # compared with the peer's address as it is: a host name never matches
            try:
                ipaddress.ip_address(value)
            except ValueError:
                raise ValueError("must be an IP address (or empty)") from None
        return value

    @field_validator("runbook_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        scheme = value.split(":", 1)[0] if ":" in value.split("#", 1)[0] else ""
        if scheme not in ("", "http", "https") or not value or any(c.isspace() for c in value):
            raise ValueError("must be an http:// or https:// URL, or a relative link")
        return value

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings,
                                   dotenv_settings, file_secret_settings):
        # Settings() is the defaults and its arguments only; load() adds file and env
        return (init_settings,)

    # ---------------------------------------------------------------------------
    @staticmethod
    def env_name(name: str) -> str:
        return f"VIGIL_{name.upper()}"

    @classmethod
    def env_names(cls) -> set[str]:
        return {cls.env_name(name) for name in cls.model_fields}

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None,
             config_file: str | os.PathLike[str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then ``config_file`` (or ``$VIGIL_CONFIG``), then env, then overrides
        (those that are None are ignored). Raises :class:`SettingsError`."""
        env = os.environ if env is None else env
        config_file = config_file or env.get("VIGIL_CONFIG")
        layers = [file_layer(cls, Path(config_file))] if config_file else []
        layers += [env_layer(cls, env),
                   (CODE, {k: v for k, v in overrides.items() if v is not None}, False)]
        return build(cls, layers)

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes``, validated like :meth:`load`'s overrides."""
        current = {name: getattr(self, name) for name in type(self).model_fields}
        return build(type(self), [(Source("unchanged"), current, False), (CODE, changes, False)])

    # ---------------------------------------------------------------------------
    @property
    def bootstrap_servers(self) -> str:
        """``host:port[,host:port]`` for plain Kafka clients (kafka-python, aiokafka)."""
        return self.broker.split("://", 1)[1].rstrip("/").replace(";", ",")

    @property
    def effective_pseudonym_key(self) -> bytes:
        return (self.pseudonym_key or DEV_PSEUDONYM_KEY).encode()

    @property
    def worker_batch(self) -> int:
        """The most inputs one worker call takes (``worker_batch_size``).

        >>> [Settings.load(env={"VIGIL_WORKER_BATCH_SIZE": v, "VIGIL_EMBEDDINGS": e}
        ...                ).worker_batch for v, e in (("auto", "false"), ("auto", "true"),
        ...                                            ("100", "true"))]
        [512, 64, 100]
        """
        if self.worker_batch_size == "auto":
            return self.score_batch_size if self.embeddings else 512
        return self.worker_batch_size

    @property
    def text_reader_child(self) -> bool:
        """Whether the worker reads texts in a child process (``text_reader_process``).

        >>> [Settings.load(env={"VIGIL_TEXT_READER_PROCESS": v, "VIGIL_EMBEDDINGS": e}
        ...                ).text_reader_child for v, e in (("auto", "false"), ("auto", "true"),
        ...                                                  ("on", "true"), ("0", "false"))]
        [True, False, True, False]
        """
        if self.text_reader_process == "auto":
            return not self.embeddings
        return bool(self.text_reader_process)

    @property
    def text_reader_children(self) -> int:
        """How many children read texts (``text_reader_processes``); 0: none.

        >>> [Settings.load(env={"VIGIL_TEXT_READER_PROCESSES": n, "VIGIL_EMBEDDINGS": e}
        ...                ).text_reader_children for n, e in (("3", "false"), ("1", "false"),
        ...                                                   ("4", "true"))]
        [3, 1, 0]
        """
        if not self.text_reader_child:
            return 0
        if self.text_reader_processes == "auto":
            return 2 if (os.cpu_count() or 1) >= 2 else 1
        return self.text_reader_processes

    @property
    def uses_dev_pseudonym_key(self) -> bool:
        return not self.pseudonym_key


if __name__ == "__main__":
    from config.settings_doc import main

    raise SystemExit(main())
