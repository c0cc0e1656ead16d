"""How :class:`config.settings.Settings` is filled and how a bad value is reported.

Layers, in rising priority: defaults, a TOML file, ``VIGIL_*`` environment variables,
keyword arguments. Each value is validated on its own, against its field's type and
bounds, before the layers merge, so the first bad value is named with the layer it came
from. A TOML file has real types, so its values are validated strictly (``"8"`` is not a
number there); the environment only has strings, which are converted.

>>> from config.settings import Settings
>>> Settings.load(env={"VIGIL_WEB_PORT": "6066.5"})
Traceback (most recent call last):
...
config.settings_load.SettingsError: VIGIL_WEB_PORT='6066.5' (environment): must be an integer TCP port 1-65535
"""

from __future__ import annotations

import difflib
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Mapping, get_args, get_origin

from pydantic import TypeAdapter, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import EnvSettingsSource, TomlConfigSettingsSource

if TYPE_CHECKING:
    from config.settings import Settings

__all__ = ["SettingsError", "Expect", "Source", "build", "file_layer", "env_layer", "expectation"]

ENV_PREFIX = "VIGIL_"


class SettingsError(ValueError):
    """A setting has a value Vigil cannot run with; the message names the variable and
    where its value came from, never a secret's value."""


@dataclass(frozen=True)
class Expect:
    """Annotated metadata: what a field accepts, in words, for messages and the README."""

    text: str


def expectation(field: FieldInfo) -> str:
    """``field`` in words: its :class:`Expect`, else derived from its type."""
    for meta in field.metadata:
        if isinstance(meta, Expect):
            return meta.text
    kind = field.annotation
    if get_origin(kind) is Literal:
        return "one of " + ", ".join(map(str, get_args(kind)))
    return {bool: "true or false (1/true/yes/on or 0/false/no/off)", str: "a string",
            int: "an integer", float: "a number"}.get(kind, str(kind))


@dataclass(frozen=True)
class Source:
    """Where a value came from: ``environment``, ``file``, ``code``, ``default`` or
    ``unchanged`` (a :meth:`Settings.replace` keeps it)."""

    kind: str
    path: str = ""

    def name_value(self, name: str, value: Any, secret: bool) -> str:
        var = ENV_PREFIX + name.upper()
        if self.kind == "file":
            shown = "" if secret else " = " + _toml(value)
            return f"{name}{shown} (file {self.path})"
        shown = "" if secret else f"={value!r}"
        return f"{var}{shown} ({'set in code' if self.kind == 'code' else self.kind})"


ENVIRONMENT, CODE, DEFAULT = Source("environment"), Source("code"), Source("default")


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)


_ADAPTERS: dict[tuple[type, str], TypeAdapter] = {}


def _adapter(cls: type, name: str) -> TypeAdapter:
    # type and bounds only; rules that span fields run when the model is built
    key = (cls, name)
    if key not in _ADAPTERS:
        field = cls.model_fields[name]
        _ADAPTERS[key] = TypeAdapter(Annotated[(field.annotation, *field.metadata)])
    return _ADAPTERS[key]


def _explain(cls: type, name: str, value: Any, source: Source, error: Mapping[str, Any]) -> str:
    field = cls.model_fields[name]
    secret = field.repr is False
    if error["type"] == "value_error":  # a rule of ours: its message already says what
        why = str(error["ctx"]["error"])
    else:
        why = "must be " + expectation(field)
        if source.kind == "file" and isinstance(value, str) and field.annotation is not str \
                and get_origin(field.annotation) is not Literal:
            why += " (in TOML, a number or true/false is written without quotes)"
    return f"{source.name_value(name, value, secret)}: {why}"


def _unknown(name: str, known: Mapping[str, Any], source: Source) -> SettingsError:
    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    where = f"in file {source.path}" if source.kind == "file" else f"({source.kind})"
    return SettingsError(f"unknown setting {name!r} {where}{hint}")


Layer = tuple[Source, Mapping[str, Any], bool]  # (where from, values, strict types)


def build(cls: type[Settings], layers: list[Layer]) -> Settings:
    """Validate each layer's values, merge them (later layers win) and build ``cls``."""
    known = cls.model_fields
    merged: dict[str, Any] = {}
    origin: dict[str, tuple[Source, Any]] = {}
    for source, values, strict in layers:
        for name, value in values.items():
            if name not in known:
                raise _unknown(name, known, source)
            merged[name], problem = _validate(cls, name, value, strict)
            if problem is not None:  # raised out here: no ValidationError, no value, attached
                raise SettingsError(_explain(cls, name, value, source, problem))
            origin[name] = (source, value)
    problem = None
    try:
        return cls(**merged)
    except ValidationError as exc:
        problem = exc.errors(include_input=False)[0]
    name = str(problem["loc"][0]) if problem["loc"] else ""
    if name not in known:  # not expected: every rule is attached to a field
        raise SettingsError(f"invalid settings: {problem['msg']}")
    source, value = origin.get(name, (DEFAULT, known[name].default))
    raise SettingsError(_explain(cls, name, value, source, problem))


def _validate(cls: type, name: str, value: Any, strict: bool) -> tuple[Any, dict | None]:
    """(the value converted, None) or (None, the first error)."""
    try:
        return _adapter(cls, name).validate_python(value, strict=strict), None
    except ValidationError as exc:
        return None, exc.errors(include_input=False)[0]


# -- the layers, read by pydantic-settings' own sources ------------------------------------
class _VigilToml(TomlConfigSettingsSource):
    """The ``[vigil]`` table of a TOML file, or its top level when it has none."""

    def _read_file(self, file_path: Path) -> dict[str, Any]:
        try:
            data = super()._read_file(file_path)
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"config file {file_path} is not valid TOML: {exc}") from None
        table = data.get("vigil", data)
        if not isinstance(table, dict):
            raise SettingsError(f"config file {file_path}: 'vigil' must be a [vigil] table")
        return table


def file_layer(cls: type[Settings], path: Path) -> Layer:
    if not path.is_file():
        raise SettingsError(f"config file not found: {path}")
    try:
        values = _VigilToml(cls, toml_file=path).toml_data
    except OSError as exc:
        raise SettingsError(f"config file {path} cannot be read: {exc.strerror}") from None
    return Source("file", str(path)), values, True


class _MappingEnv(EnvSettingsSource):
    """``VIGIL_<NAME>`` variables of a given mapping (``os.environ`` by default); only
    upper-case names count, as :meth:`Settings.env_name` spells them."""

    def __init__(self, cls: type[Settings], env: Mapping[str, str]):
        self._env = env
        super().__init__(cls, case_sensitive=False, env_prefix=ENV_PREFIX)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {k.lower(): v for k, v in self._env.items()
                if k.startswith(ENV_PREFIX) and k == k.upper()}


def env_layer(cls: type[Settings], env: Mapping[str, str]) -> Layer:
    values = {}
    for name, raw in _MappingEnv(cls, env)().items():
        # " 7000 " and " YES " are what a shell or a compose file easily leaves behind
        values[name] = raw if cls.model_fields[name].annotation is str else raw.strip()
    return ENVIRONMENT, values, False
