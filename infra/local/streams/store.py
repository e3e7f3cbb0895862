"""Where event source mappings and their checkpoints are kept across restarts."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Protocol

from infra.local.streams.mappings import EventSourceMapping

log = logging.getLogger("userdb.local.streams")


class MappingStore(Protocol):
    def load(self) -> list[EventSourceMapping]: ...

    def save(self, mapping: EventSourceMapping) -> None: ...

    def delete(self, mapping_id: str) -> None: ...


class MemoryMappingStore:
    """For backends whose tables vanish with the runtime (moto): nothing to keep."""

    def __init__(self) -> None:
        self.saved: dict[str, dict[str, object]] = {}

    def load(self) -> list[EventSourceMapping]:
        return [EventSourceMapping.from_json(dict(data)) for data in self.saved.values()]

    def save(self, mapping: EventSourceMapping) -> None:
        self.saved[mapping.uuid] = mapping.to_json()

    def delete(self, mapping_id: str) -> None:
        self.saved.pop(mapping_id, None)


class FileMappingStore:
    """One JSON file per mapping, replaced atomically on every checkpoint."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, mapping_id: str) -> Path:
        return self.directory / f"{mapping_id}.json"

    def load(self) -> list[EventSourceMapping]:
        mappings = []
        for path in sorted(self.directory.glob("*.json")):
            try:
                mappings.append(EventSourceMapping.from_json(json.loads(path.read_text())))
            except (ValueError, TypeError, KeyError) as error:
                log.warning("ignoring unreadable event source mapping %s: %s", path, error)
        return mappings

    def save(self, mapping: EventSourceMapping) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self._path(mapping.uuid)
        partial = path.with_suffix(".tmp")
        partial.write_text(json.dumps(mapping.to_json()))
        partial.replace(path)

    def delete(self, mapping_id: str) -> None:
        self._path(mapping_id).unlink(missing_ok=True)
