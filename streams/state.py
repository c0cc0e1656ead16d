"""The pipeline's durable state: one :class:`KeyedState` per store of the topology.

A store maps a key to a live object of ``models/`` (a community's ``WatchState``, an
author's ``ConductState`` …). The stages read and change the live objects; the store
remembers which keys changed, and on which partition, until the runner writes them:
the Faust runner to a changelog-backed table (``to_dict()`` once per key per batch, not
per post), replay nowhere. What is loaded stays cached, up to ``cache_limit`` entries
not waiting to be written, so a hot community is decoded once, not once per post.

>>> from models.conduct import ConductState
>>> store = KeyedState("conduct", ConductState, load=lambda key: None)
>>> store.get("r/x|a").violations  # nothing stored: a fresh state
[]
>>> store.put("r/x|a", ConductState(), partition=3)
>>> sorted(store.take_changed())
[('r/x|a', 3)]
>>> store.take_changed()  # written: nothing left to write
[]
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable, Iterable, Optional

from models.community_watch import WatchState
from models.conduct import ConductState
from models.escalation import IncidentState
from models.raids import RaidState
from models.watermarks import PartitionClock

__all__ = ["KeyedState", "PipelineState"]


class KeyedState:
    def __init__(self, name: str, cls: Any, load: Callable[[str], Optional[dict]],
                 scan: Optional[Callable[[], Iterable[tuple[str, dict]]]] = None,
                 cache_limit: int = 50_000):
        self.name = name
        self.cls = cls
        self._load = load  # key -> the stored dict, or None
        self._scan = scan  # -> every (key, stored dict); None: the cache is all there is
        self._cache: "OrderedDict[str, Any]" = OrderedDict()
        self._changed: dict[str, int] = {}  # key -> partition to write it on
        self.cache_limit = cache_limit

    def get(self, key: str) -> Any:
        """The live object for ``key`` (None if the store has none)."""
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        obj = self.cls.from_dict(self._load(key))
        if obj is not None:
            self._remember(key, obj)
        return obj

    def put(self, key: str, obj: Any, partition: int) -> None:
        """``obj`` is now the state for ``key``; write it on ``partition``."""
        self._remember(key, obj)
        self._changed[key] = partition

    def touch(self, key: str, partition: int) -> None:
        """The live object for ``key`` changed in place: write it."""
        if key in self._cache:
            self._changed[key] = partition

    def take_changed(self) -> list[tuple[str, int]]:
        """Keys to write (and their partitions) since the last call."""
        changed, self._changed = list(self._changed.items()), {}
        return changed

    def encoded(self, key: str) -> Optional[dict]:
        obj = self._cache.get(key)
        return None if obj is None else obj.to_dict()

    def keys_where(self, test: Callable[[Any], bool]) -> list[str]:
        """Keys whose live object, or stored dict where none is loaded, passes ``test``
        (which must accept both): a scan of the whole store, for the incident sweep."""
        keys = [k for k, v in self._cache.items() if test(v)]
        if self._scan is not None:
            keys += [k for k, v in self._scan() if k not in self._cache and test(v)]
        return keys

    def __len__(self) -> int:
        """Entries loaded (in replay: every entry there is)."""
        return len(self._cache)

    def forget(self) -> None:
        """Drop the cache (partitions were reassigned), keeping what is unwritten."""
        self._cache = OrderedDict((k, v) for k, v in self._cache.items() if k in self._changed)

    def _remember(self, key: str, obj: Any) -> None:
        self._cache[key] = obj
        self._cache.move_to_end(key)
        while len(self._cache) > self.cache_limit:
            oldest = next(iter(self._cache))
            if oldest in self._changed:
                break  # never evict what is not written yet; the runner writes soon
            del self._cache[oldest]


class PipelineState:
    """The five stores of :data:`streams.topology.STORES`, for one runner."""

    def __init__(self, load: Optional[Callable[[str, str], Optional[dict]]] = None,
                 scan: Optional[Callable[[str], Iterable[tuple[str, dict]]]] = None):
        """``load(store, key)`` and ``scan(store)`` read a runner's durable copy (the
        Faust runner's tables); without them the state lives in memory only (replay)."""
        def store(name: str, cls: Any) -> KeyedState:
            return KeyedState(name, cls,
                              (lambda key: None) if load is None else (lambda key: load(name, key)),
                              None if scan is None else (lambda: scan(name)))

        self.watch = store("burst-state", WatchState)
        self.raids = store("raid-state", RaidState)
        self.conduct = store("conduct", ConductState)
        self.incidents = store("incidents", IncidentState)
        self.clocks = store("clocks", PartitionClock)

    @property
    def stores(self) -> tuple[KeyedState, ...]:
        return (self.watch, self.raids, self.conduct, self.incidents, self.clocks)

    def forget(self) -> None:
        for store in self.stores:
            store.forget()
