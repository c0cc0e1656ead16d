"""Vigil's runtime settings: one frozen dataclass, filled from defaults, an optional
TOML file and ``VIGIL_*`` environment variables (in rising priority).

Every field maps to exactly one environment variable, ``VIGIL_<FIELD NAME UPPER>``,
so docker-compose, the Makefile and the tests all speak the same names.

>>> s = Settings.load(env={"VIGIL_PARTITIONS": "8", "VIGIL_BROKER": "kafka://k:9092"})
>>> s.partitions, s.broker
(8, 'kafka://k:9092')
>>> Settings.env_name("fetch_max_wait_ms")
'VIGIL_FETCH_MAX_WAIT_MS'
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

__all__ = ["Settings", "SettingsError"]

#: Used only when no key is configured. Pseudonyms made with it are stable but not
#: secret: fine for the embedded demo, never for a real community (a warning is logged).
DEV_PSEUDONYM_KEY = "vigil-development-key-not-secret"
#: models.embeddings.BACKENDS, spelt out so that settings import no model code
EMBEDDING_BACKENDS = ("onnx-int8", "torch-bf16", "torch-fp32")


class SettingsError(ValueError):
    """A setting has a value Vigil cannot run with; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    # --- broker and app --------------------------------------------------------
    broker: str = "kafka://127.0.0.1:9092"
    app_id: str = "vigil"
    partitions: int = 4
    replication_factor: int = 1
    # Faust hard-codes 1500 ms; on Tansu every hop then costs up to that much.
    fetch_max_wait_ms: int = 100
    # Tansu answers group joins after half the session timeout (ENVIRONMENT.md).
    session_timeout_s: float = 10.0
    data_dir: str = "var/vigil"
    # --- web / metrics ---------------------------------------------------------
    web_host: str = "127.0.0.1"
    web_port: int = 6066
    # vigil serve (the Perspective-compatible API): loopback unless told otherwise
    api_host: str = "127.0.0.1"
    api_port: int = 8080
    # the console behind single sign-on: trust this header only from this proxy address
    console_trusted_proxy: str = ""
    console_user_header: str = "X-Forwarded-User"
    # --- logging ---------------------------------------------------------------
    log_level: str = "info"
    log_format: str = "auto"  # auto | json | console
    # --- normalisation ---------------------------------------------------------
    pseudonym_key: str = field(default="", repr=False)
    max_payload_bytes: int = 64 * 1024
    max_text_chars: int = 10_000
    dedup_window_s: float = 24 * 3600.0
    dedup_max_keys: int = 200_000
    # Posts claiming to be from further in the future than this are rejected.
    max_clock_skew_s: float = 300.0
    # A moderator's timeout or ban labels what that member wrote this long before it.
    moderator_label_window_s: float = 600.0
    # --- scoring ---------------------------------------------------------------
    score_batch_size: int = 64
    score_batch_within_s: float = 0.05
    toxicity_threshold: float = 0.80  # default; config/communities.toml may override per community
    toxicity_high_threshold: float = 0.95
    embeddings: bool = True  # MiniLM + the online learner; false: lexical prior and rules only
    embedding_batch_size: int = 32
    # onnx-int8: 3-3.7x torch fp32, cosine to fp32 >= 0.978 (models/embeddings.py)
    embedding_backend: str = "onnx-int8"  # onnx-int8 | torch-bf16 | torch-fp32
    embedding_bf16: bool = True  # older switch: false with torch-bf16 means torch-fp32
    # built by set-up (python -m models.onnx_export build), else on the first load
    embedding_onnx_dir: str = "var/models/minilm-l6-v2-onnx"
    communities_file: str = ""  # default: the shipped config/communities.toml
    evidence_store_size: int = 50_000  # recent scored posts whose features feedback can teach
    checkpoint_interval_s: float = 1.0
    # online topics (score stage, in memory) are saved to <data_dir>/models/topics.json
    topics_checkpoint_interval_s: float = 60.0
    # --- burst detection (event time) -----------------------------------------
    burst_window_s: float = 600.0
    burst_z: float = 4.0
    burst_min_count: int = 8
    burst_min_history: int = 6
    burst_alpha: float = 0.1
    # A window must also be this unlikely under a Poisson baseline: at ~4 posts per
    # window a 4-sigma rule alone fired on ~12% of random days; 1e-5 per window is
    # about one false alarm per community per 2 years of 10-minute windows.
    burst_max_p: float = 1e-5
    # --- escalation ------------------------------------------------------------
    escalate_opportunities: bool = True
    # a moderation or safety incident with no new occurrence for this long of its own
    # partition's event time resolves (streams/stages/escalate.py); a partition with no
    # post for incident_sweep_interval_s of wall time gets an idle-clock record at the
    # estimated event time now less idle_clock_grace_s (posts still in flight)
    incident_quiet_s: float = 3600.0
    # SIGTERM/SIGINT: the worker stops gracefully within this, or exits anyway (nothing
    # unacknowledged was committed, so a restart reads it again)
    shutdown_timeout_s: float = 20.0
    incident_sweep_interval_s: float = 30.0
    idle_clock_grace_s: float = 120.0
    runbook_base_url: str = "https://github.com/vigil-community/vigil/blob/main/README.md#runbooks"
    # a community's feed is failing when, within a window, at least this many raw posts
    # were dead-lettered and they were at least half of its posts (models/feed_health.py)
    feed_health_window_s: float = 300.0
    feed_health_min_dead: int = 10
    # --- metrics ---------------------------------------------------------------
    # communities beyond those named in communities.toml that get their own metric
    # label value (first come); the rest are counted as "other"
    metrics_community_limit: int = 50

    # ---------------------------------------------------------------------------
    @staticmethod
    def env_name(name: str) -> str:
        return f"VIGIL_{name.upper()}"

    @classmethod
    def env_names(cls) -> set[str]:
        return {cls.env_name(f.name) for f in fields(cls)}

    @classmethod
    def load(
        cls,
        env: Mapping[str, str] | None = None,
        config_file: str | os.PathLike[str] | None = None,
        **overrides: Any,
    ) -> "Settings":
        """Defaults, then ``config_file`` (or ``$VIGIL_CONFIG``), then env, then overrides."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        config_file = config_file or env.get("VIGIL_CONFIG")
        if config_file:
            values.update(_read_toml(Path(config_file)))
        for f in fields(cls):
            raw = env.get(cls.env_name(f.name))
            if raw is not None:
                values[f.name] = _coerce(f, raw, cls.env_name(f.name))
        values.update({k: v for k, v in overrides.items() if v is not None})
        unknown = set(values) - {f.name for f in fields(cls)}
        if unknown:
            raise SettingsError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        settings = cls(**values)
        settings.validate()
        return settings

    def replace(self, **changes: Any) -> "Settings":
        new = dataclasses.replace(self, **changes)
        new.validate()
        return new

    def validate(self) -> None:
        def bad(name: str, why: str) -> SettingsError:
            return SettingsError(f"{self.env_name(name)}={getattr(self, name)!r}: {why}")

        if not self.broker.startswith(("kafka://", "aiokafka://")):
            raise bad("broker", "must look like kafka://host:port")
        for name in ("partitions", "replication_factor", "fetch_max_wait_ms", "max_payload_bytes",
                     "max_text_chars", "dedup_max_keys", "score_batch_size", "burst_min_count",
                     "burst_min_history", "embedding_batch_size", "evidence_store_size"):
            if getattr(self, name) < 1:
                raise bad(name, "must be at least 1")
        for name in ("toxicity_threshold", "toxicity_high_threshold"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise bad(name, "must lie in (0, 1]")
        if self.toxicity_high_threshold < self.toxicity_threshold:
            raise bad("toxicity_high_threshold", "must not be below VIGIL_TOXICITY_THRESHOLD")
        if not 0.0 < self.burst_alpha < 1.0:
            raise bad("burst_alpha", "must lie in (0, 1)")
        if not 0.0 < self.burst_max_p < 1.0:
            raise bad("burst_max_p", "must lie in (0, 1)")
        for name in ("burst_window_s", "dedup_window_s", "burst_z", "session_timeout_s",
                     "score_batch_within_s", "checkpoint_interval_s",
                     "topics_checkpoint_interval_s", "incident_quiet_s", "moderator_label_window_s",
                     "incident_sweep_interval_s", "shutdown_timeout_s"):
            value = getattr(self, name)
            if not (value > 0 and math.isfinite(value)):  # also rejects NaN
                raise bad(name, "must be a positive finite number")
        if not (self.idle_clock_grace_s >= 0 and math.isfinite(self.idle_clock_grace_s)):
            raise bad("idle_clock_grace_s", "must be a finite number >= 0")
        if not (self.max_clock_skew_s >= 0 and math.isfinite(self.max_clock_skew_s)):
            raise bad("max_clock_skew_s", "must be a finite number >= 0")
        if self.embedding_backend not in EMBEDDING_BACKENDS:
            raise bad("embedding_backend", "must be one of " + ", ".join(EMBEDDING_BACKENDS))
        if self.log_format not in ("auto", "json", "console"):
            raise bad("log_format", "must be auto, json or console")
        if not 0 < self.web_port < 65536:
            raise bad("web_port", "must be a TCP port")

    # ---------------------------------------------------------------------------
    @property
    def bootstrap_servers(self) -> str:
        """``host:port[,host:port]`` for plain Kafka clients (kafka-python, aiokafka)."""
        return self.broker.split("://", 1)[1].rstrip("/").replace(";", ",")

    @property
    def effective_pseudonym_key(self) -> bytes:
        return (self.pseudonym_key or DEV_PSEUDONYM_KEY).encode()

    @property
    def uses_dev_pseudonym_key(self) -> bool:
        return not self.pseudonym_key


def _coerce(f: dataclasses.Field, raw: str, env_name: str) -> Any:
    kind = f.type if isinstance(f.type, str) else f.type.__name__
    try:
        if kind == "bool":
            if raw.strip().lower() in ("1", "true", "yes", "on"):
                return True
            if raw.strip().lower() in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(raw)
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError:
        raise SettingsError(f"{env_name}={raw!r}: expected {kind}") from None
    return raw


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise SettingsError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"config file {path} is not valid TOML: {exc}") from None
    return dict(data.get("vigil", data))
