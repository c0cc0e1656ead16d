"""Notification routes from TOML: which escalations go where (see
``config/notifications.example.toml`` and ``models/notification_policy.py``).

Secrets are never in this file: a route names the environment variables that hold
them (``routing_key_env``, ``webhook_url_env``, ``signing_key_env``).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from config.communities import ConfigError
from models.notification_policy import Route

__all__ = ["load_routes", "load_callbacks", "SINKS", "CallbackSettings"]

SINKS = ("pagerduty", "slack", "discord", "webhook")
_LIST_FIELDS = ("types", "kinds", "communities", "statuses")
_FIELDS = {"name", "sink", "min_severity", "quiet_hours", "quiet_min_severity", "timezone",
           "rate_per_hour", "settings", *_LIST_FIELDS}
_SECRET_HINTS = ("routing_key", "webhook_url", "signing_key", "token", "secret")


@dataclass(frozen=True)
class CallbackSettings:
    """``[callbacks]``: where ``vigil notify`` listens for clicks and PagerDuty webhooks,
    and the secrets that prove them (values read from the named environment variables)."""

    host: str
    port: int
    slack_signing_secret: Optional[bytes]
    discord_public_key: Optional[str]
    pagerduty_secrets: tuple[bytes, ...]


_CALLBACK_FIELDS = {"host", "port", "slack_signing_secret_env", "discord_public_key_env",
                    "pagerduty_webhook_secrets_env"}


def load_callbacks(path: str | Path) -> Optional[CallbackSettings]:
    """The ``[callbacks]`` table of the notifications file, or None when absent."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text()).get("callbacks")
    except (FileNotFoundError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    if raw is None:
        return None
    where = f"{path}: [callbacks]"
    unknown = set(raw) - _CALLBACK_FIELDS
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)} "
                          f"(allowed: {', '.join(sorted(_CALLBACK_FIELDS))})")

    def env(name: str) -> Optional[str]:
        var = raw.get(name)
        if var is None:
            return None
        value = os.environ.get(var)
        if not value:
            raise ConfigError(f"{where}: environment variable {var} (from {name}) is not set")
        return value

    pd_vars = raw.get("pagerduty_webhook_secrets_env") or []
    if isinstance(pd_vars, str):
        pd_vars = [pd_vars]
    secrets = []
    for var in pd_vars:  # several while a subscription's secret is rotated
        value = os.environ.get(var)
        if not value:
            raise ConfigError(f"{where}: environment variable {var} is not set")
        secrets.append(value.encode())
    slack, discord = env("slack_signing_secret_env"), env("discord_public_key_env")
    if discord is not None:
        try:
            if len(bytes.fromhex(discord)) != 32:
                raise ValueError
        except ValueError:
            raise ConfigError(f"{where}: the Discord public key must be 64 hex digits "
                              "(the application's General Information page)") from None
    if not (slack or discord or secrets):
        raise ConfigError(f"{where}: name at least one of slack_signing_secret_env, "
                          "discord_public_key_env, pagerduty_webhook_secrets_env")
    port = raw.get("port", 8090)
    if not isinstance(port, int) or not 0 < port < 65536:
        raise ConfigError(f"{where}: port must be a TCP port number")
    return CallbackSettings(str(raw.get("host", "0.0.0.0")), port,
                            slack.encode() if slack else None, discord, tuple(secrets))


def load_routes(path: str | Path) -> list[Route]:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such notifications file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    routes = []
    for i, raw in enumerate(data.get("routes", [])):
        where = f"{path}: routes[{i}]"
        unknown = set(raw) - _FIELDS
        if unknown:
            raise ConfigError(f"{where}: unknown keys {sorted(unknown)} "
                              f"(allowed: {', '.join(sorted(_FIELDS))})")
        if raw.get("sink") not in SINKS:
            raise ConfigError(f"{where}: sink must be one of {', '.join(SINKS)}")
        if not raw.get("name"):
            raise ConfigError(f"{where}: every route needs a name")
        settings = dict(raw.get("settings", {}))
        for key, value in settings.items():
            if any(h in key for h in _SECRET_HINTS) and not key.endswith("_env"):
                raise ConfigError(f"{where}: {key} looks like a secret; put it in an environment "
                                  f"variable and name it with {key}_env")
        kwargs = {k: tuple(raw[k]) for k in _LIST_FIELDS if k in raw}
        if "quiet_hours" in raw:
            kwargs["quiet_hours"] = tuple(raw["quiet_hours"])
        for k in ("min_severity", "quiet_min_severity", "timezone", "rate_per_hour"):
            if k in raw:
                kwargs[k] = raw[k]
        try:
            routes.append(Route(raw["name"], raw["sink"], settings=settings, **kwargs))
        except Exception as exc:
            raise ConfigError(f"{where}: {exc}") from None
    if len({r.name for r in routes}) != len(routes):
        raise ConfigError(f"{path}: route names must be unique (they name consumer groups)")
    if not routes:
        raise ConfigError(f"{path}: no [[routes]]")
    return routes
