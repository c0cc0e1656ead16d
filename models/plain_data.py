"""A dataclass as plain data (dicts, lists, numbers, strings), fast.

``dataclasses.asdict`` deep-copies every leaf with ``copy.deepcopy``; for detector
state written to a changelog once per community per batch that was a tenth of the
pipeline's time. Detector state holds only JSON-like values, so copying containers and
sharing the immutable leaves is enough (and what a JSON round trip would give).

>>> from dataclasses import dataclass, field
>>> @dataclass
... class S:
...     n: int = 0
...     pairs: list = field(default_factory=list)
>>> s = S(1, [["p1", "text"]])
>>> d = as_plain_dict(s); d
{'n': 1, 'pairs': [['p1', 'text']]}
>>> d["pairs"][0].append("x"); s.pairs  # a copy: the live state is untouched
[['p1', 'text']]
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

__all__ = ["as_plain_dict", "plain"]

_NAMES: dict[type, tuple[str, ...]] = {}


def plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def as_plain_dict(obj: Any) -> dict:
    names = _NAMES.get(type(obj))
    if names is None:
        names = _NAMES[type(obj)] = tuple(f.name for f in fields(obj))
    return {name: plain(getattr(obj, name)) for name in names}
