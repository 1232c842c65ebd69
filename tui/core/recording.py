"""Event streams written to and read from JSON lines, with the time each event was seen.

A recorded run replays into a :class:`~tui.core.state.RunState` exactly (time
comes in with each event), which is how the state model and the dashboard are
tested and benchmarked without real workers.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Iterable, Iterator, Union

from remote_worker.protocol import StatusResponse

from . import events as ev

__all__ = ["event_to_json", "event_from_json", "read_recording", "replay"]

_TYPES = {name: getattr(ev, name) for name in ev.__all__ if dataclasses.is_dataclass(getattr(ev, name, None))}


def event_to_json(event: ev.Event, t: float) -> str:
    fields = {}
    for f in dataclasses.fields(event):
        value = getattr(event, f.name)
        if isinstance(value, StatusResponse):
            value = value.model_dump()
        elif isinstance(value, tuple) and value and dataclasses.is_dataclass(value[0]):
            value = [dataclasses.asdict(v) for v in value]
        fields[f.name] = value
    return json.dumps({"t": round(t, 4), "type": type(event).__name__, "fields": fields}, sort_keys=True)


def event_from_json(line: str) -> tuple[float, ev.Event]:
    record = json.loads(line)
    kind = _TYPES[record["type"]]
    fields = dict(record["fields"])
    if kind is ev.WorkerTelemetry:
        fields["status"] = StatusResponse.model_validate(fields["status"])
    elif kind is ev.BookLoaded:
        fields["chapters"] = tuple(ev.ChapterInfo(**c) for c in fields["chapters"])
    elif kind is ev.RunPlanned:
        fields["units"] = tuple(ev.UnitPlan(**u) for u in fields["units"])
    elif kind is ev.UnitChecked:
        fields["flagged"] = tuple(ev.FlaggedCheck(**f) for f in fields["flagged"])
    for f in dataclasses.fields(kind):
        if isinstance(fields.get(f.name), list):
            fields[f.name] = tuple(fields[f.name])
    return float(record["t"]), kind(**fields)


def read_recording(source: Union[str, Path, Iterable[str]]) -> Iterator[tuple[float, ev.Event]]:
    lines = Path(source).read_text().splitlines() if isinstance(source, (str, Path)) else source
    for line in lines:
        if line.strip():
            yield event_from_json(line)


def replay(state, recording: Iterable[tuple[float, ev.Event]]) -> None:
    """Fold a recording into ``state`` at the recorded times."""
    for t, event in recording:
        state.apply(event, now=t)
