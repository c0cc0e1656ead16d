"""Who may use the console, and how they prove it.

Users live in ``<data_dir>/console_users.json`` (``vigil users add|remove|role``) with an
Argon2id hash of their password (argon2-cffi: memory-hard), a role and the communities
they may see. Roles: ``viewer`` sees; ``moderator`` also acts (acknowledge, resolve, note,
labels) in their communities; ``admin`` acts everywhere. Sessions are random tokens held
in memory (a restart asks everyone to log in again), sent as an HTTP-only, SameSite=Strict
cookie (Secure whenever the request came over HTTPS, directly or through a proxy); every
action carries the session's CSRF token. Login attempts are limited per user name and
per address. Behind single sign-on, a reverse proxy on ``console_trusted_proxy`` may name
the user in ``console_user_header``; the name must still be a known user (for its role).
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

__all__ = ["User", "UserStore", "Sessions", "Session", "LoginLimiter", "ROLES"]

ROLES = ("viewer", "moderator", "admin")
SESSION_S = 12 * 3600.0


@dataclass(frozen=True)
class User:
    name: str
    role: str
    communities: tuple = ("*",)
    hash: str = ""

    def may_see(self, community: str) -> bool:
        return "*" in self.communities or community in self.communities

    def may_act(self, community: str) -> bool:
        return self.role == "admin" or (self.role == "moderator" and self.may_see(community))


class UserStore:
    def __init__(self, path: Path):
        from argon2 import PasswordHasher

        self.path, self.hasher = Path(path), PasswordHasher()
        self._stamp: Optional[tuple] = None
        self._users: dict[str, User] = {}

    def _load(self) -> dict[str, User]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return {}
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        if stamp != self._stamp:
            raw = json.loads(self.path.read_text()).get("users", [])
            self._users = {u["name"]: User(u["name"], u["role"], tuple(u["communities"]), u["hash"])
                           for u in raw}
            self._stamp = stamp
        return self._users

    def _save(self, users: dict[str, User]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"users": [asdict(u) for u in users.values()]}, indent=2) + "\n")
        os.chmod(tmp, 0o600)
        tmp.replace(self.path)

    def add(self, name: str, password: str, role: str, communities: tuple = ("*",)) -> None:
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        if len(password) < 12:
            raise ValueError("a password needs at least 12 characters")
        users = dict(self._load())
        if name in users:
            raise ValueError(f"user {name!r} exists")
        users[name] = User(name, role, tuple(communities) or ("*",), self.hasher.hash(password))
        self._save(users)

    def remove(self, name: str) -> bool:
        users = dict(self._load())
        found = users.pop(name, None) is not None
        self._save(users)
        return found

    def set_role(self, name: str, role: str, communities: Optional[tuple] = None) -> None:
        users = dict(self._load())
        if name not in users or role not in ROLES:
            raise ValueError("unknown user or role")
        u = users[name]
        users[name] = User(name, role, tuple(communities) if communities else u.communities, u.hash)
        self._save(users)

    def get(self, name: str) -> Optional[User]:
        return self._load().get(name)

    def list(self) -> list[User]:
        return list(self._load().values())

    def verify(self, name: str, password: str) -> Optional[User]:
        from argon2.exceptions import InvalidHashError, VerificationError

        user = self._load().get(name)
        try:
            if user is None:  # the same work either way: no timing hint that a name exists
                self.hasher.hash(password)
                return None
            self.hasher.verify(user.hash, password)
            return user
        except (VerificationError, InvalidHashError):
            return None


@dataclass
class Session:
    user: str
    csrf: str
    expires: float


class Sessions:
    def __init__(self):
        self._by_token: dict[str, Session] = {}

    def open(self, user: str) -> tuple[str, Session]:
        token = secrets.token_urlsafe(32)
        s = self._by_token[token] = Session(user, secrets.token_urlsafe(24), time.time() + SESSION_S)
        return token, s

    def get(self, token: Optional[str]) -> Optional[Session]:
        s = self._by_token.get(token or "")
        if s is None or s.expires < time.time():
            self._by_token.pop(token or "", None)
            return None
        return s

    def close(self, token: Optional[str]) -> None:
        self._by_token.pop(token or "", None)


class LoginLimiter:
    """At most ``attempts`` failed logins per name and per address in ``window_s``."""

    def __init__(self, attempts: int = 5, window_s: float = 60.0):
        self.attempts, self.window_s = attempts, window_s
        self._fails: dict[str, list[float]] = {}

    def blocked(self, *keys: str) -> bool:
        now = time.monotonic()
        for k in keys:
            recent = [t for t in self._fails.get(k, []) if t > now - self.window_s]
            self._fails[k] = recent
            if len(recent) >= self.attempts:
                return True
        return False

    def failed(self, *keys: str) -> None:
        for k in keys:
            self._fails.setdefault(k, []).append(time.monotonic())
