"""Server-Sent Events: the frames of a byte stream's lines (id, event, data; comments skipped)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Frame:
    id: str | None
    event: str | None
    data: str


def parse_frames(lines: Iterable[str]) -> Iterator[Frame]:
    """Yield each complete frame of ``lines`` (a frame ends at an empty line)."""
    event_id: str | None = None
    event: str | None = None
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield Frame(event_id, event, "\n".join(data))
            event_id, event, data = None, None, []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "id":
            event_id = value
        elif name == "event":
            event = value
        elif name == "data":
            data.append(value)
