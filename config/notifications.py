"""Notification routes from TOML: which escalations go where (see
``config/notifications.example.toml`` and ``models/notification_policy.py``).

Secrets are never in this file: a route names the environment variables that hold
them (``routing_key_env``, ``webhook_url_env``, ``signing_key_env``).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from config.communities import ConfigError
from models.notification_policy import Route

__all__ = ["load_routes", "SINKS"]

SINKS = ("pagerduty", "slack", "discord", "webhook")
_LIST_FIELDS = ("types", "kinds", "communities", "statuses")
_FIELDS = {"name", "sink", "min_severity", "quiet_hours", "quiet_min_severity", "timezone",
           "rate_per_hour", "settings", *_LIST_FIELDS}
_SECRET_HINTS = ("routing_key", "webhook_url", "signing_key", "token", "secret")


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
