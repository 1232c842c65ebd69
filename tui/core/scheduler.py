"""Which work unit goes to which worker, and when: a pure state machine.

The scheduler never sleeps, never does I/O and never reads a clock: the async
driver passes ``now`` into every call that depends on time and injects the
``random.Random`` used for retry jitter, so every decision can be replayed in a
unit test or a discrete-event simulation.

Dispatch is pull-based. A worker asks for work only when it has room (by
default one unit running and one queued on it, so its engine never waits for
the next request). Ready units go out in book order, early chapters first;
units are small, so pulling them in order also balances the load. Near the end
of the run the largest units go first and a busy worker leaves the last units
to a worker that will finish them sooner. Failed units back off exponentially
with jitter and prefer a different worker next time; a unit that failed on
``max_worker_failures_per_unit`` distinct workers is quarantined so the rest of
the book still completes. When nothing is left to hand out, an idle worker may
duplicate the in-flight unit expected to finish last (speculative tail); the
first result wins and the other copies are returned to the driver to cancel.
"""

from __future__ import annotations

import bisect
import enum
import heapq
import itertools
import random
from dataclasses import dataclass, field
from typing import Iterable, Optional, Sequence

__all__ = [
    "UnitInfo",
    "Assignment",
    "UnitState",
    "WorkerState",
    "SchedulerConfig",
    "Scheduler",
]

#: Weight of the newest sample in a worker's speed estimate.
_SPEED_EWMA_ALPHA = 0.3
#: Ready units per eligible worker at or below which the run is in its last
#: rounds and units are packed so that workers end together.
_TAIL_ROUNDS = 3


@dataclass(frozen=True)
class UnitInfo:
    """What the scheduler needs to know about a unit.

    ``cost`` is its estimated audio length in seconds (what the speed estimate
    is measured in); ``order`` is its position in the book (lower goes first).
    """

    unit_id: str
    chapter_index: int
    order: int
    cost: float


@dataclass(frozen=True)
class Assignment:
    """One attempt at one unit on one worker; the driver sends it and reports back by ``attempt_id``."""

    attempt_id: int
    unit_id: str
    worker_id: str
    speculative: bool


class UnitState(str, enum.Enum):
    """The one spelling of a unit's state: the scheduler, the journal and the state model use it.

    A ``str`` whose value is what the journal stores; :attr:`label` is what a person reads.
    """

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED_WAIT = "failed_wait"  # backing off before the next attempt
    QUARANTINED = "quarantined"

    __hash__ = str.__hash__

    def __str__(self) -> str:
        return self.value

    @property
    def label(self) -> str:
        return _UNIT_LABELS.get(self, self.value)


_UNIT_LABELS = {UnitState.PENDING: "queued", UnitState.FAILED_WAIT: "failed"}


class WorkerState(enum.Enum):
    UP = "up"
    DOWN = "down"
    DRAINING = "draining"  # finishes what it holds, gets nothing new


@dataclass
class SchedulerConfig:
    """Tunables. Defaults suit TTS units of tens of seconds of audio."""

    slots_per_worker: int = 2
    max_worker_failures_per_unit: int = 3
    backoff_base: float = 1.0
    backoff_max: float = 30.0
    jitter: float = 0.25
    worker_down_after: int = 3
    reprobe_after: float = 10.0
    speculative_tail: bool = True
    max_speculative_copies: int = 1
    #: Total failures of one unit (on any workers) that quarantine it, so a
    #: unit that keeps failing on the only worker cannot retry forever.
    max_failures_per_unit: int = 6
    #: How long a worker that answered "busy" gets nothing new (unless one of
    #: its units finishes first), so a full worker is not hammered.
    busy_holdoff: float = 1.0

    def __post_init__(self) -> None:
        if self.slots_per_worker < 1:
            raise ValueError("slots_per_worker must be at least 1")
        if self.max_worker_failures_per_unit < 1 or self.max_failures_per_unit < 1:
            raise ValueError("failure limits must be at least 1")
        if self.worker_down_after < 1:
            raise ValueError("worker_down_after must be at least 1")
        if min(self.backoff_base, self.backoff_max, self.reprobe_after, self.busy_holdoff) < 0:
            raise ValueError("backoff, re-probe and hold-off times must not be negative")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be in [0, 1)")
        if self.max_speculative_copies < 0:
            raise ValueError("max_speculative_copies must not be negative")


class _AttemptStatus(enum.Enum):
    LIVE = "live"  # counts for the unit and holds a worker slot
    CANCELLING = "cancelling"  # returned for cancellation; still holds its slot until confirmed
    ENDED = "ended"


@dataclass
class _Attempt:
    assignment: Assignment
    assigned_at: float
    epoch: int
    status: _AttemptStatus = _AttemptStatus.LIVE


@dataclass
class _Unit:
    info: UnitInfo
    rank: tuple[int, int]
    state: UnitState = UnitState.PENDING
    attempts: int = 0
    failures: int = 0
    failed_workers: set[str] = field(default_factory=set)
    ready_at: float = 0.0
    error: Optional[str] = None
    live: list[int] = field(default_factory=list)
    epoch: int = 0


@dataclass
class _Worker:
    worker_id: str
    speed: Optional[float] = None
    down: bool = False
    drained: bool = False
    slots: list[int] = field(default_factory=list)  # attempt ids holding a slot, in dispatch order
    consecutive_failures: int = 0
    reprobe_at: float = 0.0
    hold_until: float = 0.0
    last_result_at: Optional[float] = None
    slots_max: Optional[int] = None  # None: the config's slots_per_worker


class Scheduler:
    """The scheduling state machine; see the module docstring for the policy."""

    def __init__(
        self,
        units: Sequence[UnitInfo],
        config: SchedulerConfig | None = None,
        *,
        rng: random.Random | None = None,
        done: Iterable[str] = (),
    ) -> None:
        self.config = config or SchedulerConfig()
        self._rng = rng if rng is not None else random.Random()
        self._units: dict[str, _Unit] = {}
        self._chapters: dict[int, list[str]] = {}
        for info in units:
            if info.unit_id in self._units:
                raise ValueError(f"duplicate unit id {info.unit_id!r}")
            if info.cost < 0:
                raise ValueError(f"unit {info.unit_id!r} has a negative cost")
            self._units[info.unit_id] = _Unit(info=info, rank=(0, info.order))
            self._chapters.setdefault(info.chapter_index, []).append(info.unit_id)
        self._ready: list[tuple[tuple[int, int], str]] = []  # sorted by rank
        self._ready_cost = 0.0
        self._by_cost: list[tuple[float, tuple[int, int], str]] = []  # heap, largest first; pruned lazily
        self._waiting: list[tuple[float, int, str]] = []  # heap of (ready_at, seq, unit_id); pruned lazily
        self._seq = itertools.count()
        self._attempt_ids = itertools.count(1)
        self._attempts: dict[int, _Attempt] = {}
        self._workers: dict[str, _Worker] = {}
        self._front_tier = 0
        self._paused = False
        done_ids = set(done)
        for uid, unit in self._units.items():
            if uid in done_ids:
                unit.state = UnitState.DONE
            else:
                self._ready.append((unit.rank, uid))
                self._by_cost.append((-unit.info.cost, unit.rank, uid))
                self._ready_cost += unit.info.cost
        self._ready.sort()
        heapq.heapify(self._by_cost)

    # ------------------------------------------------------------------ workers

    def add_worker(self, worker_id: str, *, speed: float | None = None, slots: int | None = None) -> None:
        """Register a worker (UP). ``speed`` is a prior in audio seconds per wall second; ``slots``
        how many attempts it holds at once (a worker with N engine replicas runs N units and queues
        N more: ``2 * N``); None keeps ``slots_per_worker``.

        Adding a known worker again only updates what is given, so a driver may
        call it after every reconnect.
        """
        if speed is not None and speed <= 0:
            raise ValueError("speed must be positive")
        if slots is not None and slots < 1:
            raise ValueError("slots must be at least 1")
        worker = self._workers.get(worker_id)
        if worker is None:
            self._workers[worker_id] = _Worker(worker_id=worker_id, speed=speed, slots_max=slots)
        else:
            if speed is not None:
                worker.speed = speed
            if slots is not None:
                worker.slots_max = slots

    def worker_lost(self, worker_id: str, now: float) -> list[Assignment]:
        """Mark a worker DOWN (re-probe timer restarted) and requeue what it held at once,
        with no penalty to the units. Returns its live attempts for the driver to cancel."""
        worker = self._worker(worker_id)
        worker.down = True
        worker.reprobe_at = now + self.config.reprobe_after
        return self._release_worker(worker)

    def worker_up(self, worker_id: str) -> None:
        """A re-probe succeeded: the worker takes work again."""
        worker = self._worker(worker_id)
        worker.down = False
        worker.consecutive_failures = 0
        worker.hold_until = 0.0

    def workers_to_probe(self, now: float) -> list[str]:
        """DOWN workers whose re-probe time has come; each is pushed back one period so it is probed once."""
        due = []
        for worker in self._workers.values():
            if worker.down and worker.reprobe_at <= now:
                due.append(worker.worker_id)
                worker.reprobe_at = now + self.config.reprobe_after
        return due

    def drain(self, worker_id: str) -> None:
        """The worker gets nothing new; what it holds finishes normally."""
        self._worker(worker_id).drained = True

    def undrain(self, worker_id: str) -> None:
        self._worker(worker_id).drained = False

    def pause(self) -> None:
        """Stop handing out work; in-flight attempts still finish."""
        self._paused = True

    def resume(self) -> None:
        self._paused = False

    @property
    def paused(self) -> bool:
        return self._paused

    # ----------------------------------------------------------------- dispatch

    def next_assignment(self, worker_id: str, now: float) -> Assignment | None:
        """Give ``worker_id`` its next attempt, or None when it has no room or nothing fits."""
        worker = self._worker(worker_id)
        if self._paused or worker.down or worker.drained or now < worker.hold_until:
            return None
        if len(worker.slots) >= (worker.slots_max or self.config.slots_per_worker):
            return None
        self._promote(now)
        if self._ready:
            uid = self._pick_ready(worker, now)
            if uid is not None:
                return self._dispatch(uid, worker, now, speculative=False)
        elif self.config.speculative_tail and not worker.slots:
            uid = self._pick_speculative(worker, now)
            if uid is not None:
                return self._dispatch(uid, worker, now, speculative=True)
        return None

    def poll_assignments(self, now: float) -> list[Assignment]:
        """Fill every worker's free slots, one slot per worker per round so the first units spread out."""
        out: list[Assignment] = []
        progress = True
        while progress:
            progress = False
            for worker_id in self._workers:
                assignment = self.next_assignment(worker_id, now)
                if assignment is not None:
                    out.append(assignment)
                    progress = True
        return out

    # ------------------------------------------------------------------ results

    def on_success(self, attempt_id: int, now: float, *, audio_seconds: float | None = None) -> list[Assignment]:
        """Mark the unit DONE (first result wins) and return its other live attempts to cancel.

        A late success of a cancelled attempt still completes a unit that is
        not done yet, except across a ``requeue_chapter(..., redo=True)``.
        """
        attempt = self._attempts.get(attempt_id)
        if attempt is None:
            return []
        uid = attempt.assignment.unit_id
        unit = self._units[uid]
        worker = self._workers.get(attempt.assignment.worker_id)
        if worker is not None and attempt.status is not _AttemptStatus.ENDED:
            self._learn_speed(worker, attempt, now, unit.info.cost if audio_seconds is None else audio_seconds)
            worker.hold_until = 0.0
            if attempt.status is _AttemptStatus.LIVE:
                worker.consecutive_failures = 0
        self._end(attempt)
        if unit.state is UnitState.DONE or attempt.epoch != unit.epoch:
            return []
        if unit.state is UnitState.PENDING:
            self._remove_ready(uid)
        unit.state = UnitState.DONE
        unit.error = None
        return self._cancel_live(unit)

    def on_failure(
        self, attempt_id: int, now: float, *, error: str, worker_fault: bool = True
    ) -> list[Assignment]:
        """Record a failed attempt.

        The unit backs off (exponential, jittered) and avoids this worker next
        time; at the distinct-worker limit it is quarantined. A copy failing
        while another copy still runs leaves the unit running. With
        ``worker_fault`` the worker's consecutive failures grow, and at
        ``worker_down_after`` it goes DOWN: its other live attempts are
        requeued and returned for the driver to cancel (otherwise ``[]``).
        """
        attempt = self._attempts.get(attempt_id)
        if attempt is None:
            return []
        was_live = attempt.status is _AttemptStatus.LIVE
        worker = self._workers.get(attempt.assignment.worker_id)
        if worker is not None:
            worker.last_result_at = now
        self._end(attempt)
        if not was_live:
            return []
        unit = self._units[attempt.assignment.unit_id]
        unit.error = error
        unit.failures += 1
        unit.failed_workers.add(attempt.assignment.worker_id)
        if not unit.live:
            if (
                len(unit.failed_workers) >= self.config.max_worker_failures_per_unit
                or unit.failures >= self.config.max_failures_per_unit
            ):
                unit.state = UnitState.QUARANTINED
            else:
                unit.state = UnitState.FAILED_WAIT
                unit.ready_at = now + self._backoff(unit.failures)
                heapq.heappush(self._waiting, (unit.ready_at, next(self._seq), unit.info.unit_id))
        if worker is None or not worker_fault:
            return []
        worker.consecutive_failures += 1
        if worker.consecutive_failures >= self.config.worker_down_after and not worker.down:
            worker.down = True
            worker.reprobe_at = now + self.config.reprobe_after
            return self._release_worker(worker)
        return []

    def on_busy(self, attempt_id: int, now: float) -> None:
        """The worker refused the attempt as busy (it never ran).

        The unit goes back to the queue at its place with no penalty, and the
        worker gets nothing new for ``busy_holdoff`` seconds or until one of
        its attempts finishes.
        """
        if self._give_back(attempt_id):
            worker = self._workers.get(self._attempts[attempt_id].assignment.worker_id)
            if worker is not None:
                worker.hold_until = now + self.config.busy_holdoff

    def on_returned(self, attempt_id: int) -> None:
        """The attempt ended through no fault of the worker or the unit (our own disk failed, a
        voice sample was refused): the unit goes back to the queue at its place, no penalty."""
        self._give_back(attempt_id)

    def _give_back(self, attempt_id: int) -> bool:
        attempt = self._attempts.get(attempt_id)
        if attempt is None or attempt.status is _AttemptStatus.ENDED:
            return False
        was_live = attempt.status is _AttemptStatus.LIVE
        self._end(attempt)
        unit = self._units[attempt.assignment.unit_id]
        if was_live and attempt.epoch == unit.epoch:
            unit.attempts = max(0, unit.attempts - 1)
            if unit.state is UnitState.RUNNING and not unit.live:
                self._make_ready(unit)
        return True

    def on_cancelled(self, attempt_id: int) -> None:
        """The driver confirms a cancel: the attempt's slot is free again."""
        attempt = self._attempts.get(attempt_id)
        if attempt is not None:
            self._end(attempt)

    def next_wakeup(self, now: float) -> float | None:
        """Earliest time the state may change without an event: a backoff ends, a re-probe or a
        busy hold-off is due, or a running unit overruns enough to be worth duplicating."""
        times: list[float] = []
        while self._waiting and not self._waiting_valid(self._waiting[0]):
            heapq.heappop(self._waiting)
        if self._waiting:
            times.append(self._waiting[0][0])
        for worker in self._workers.values():
            if worker.down:
                times.append(worker.reprobe_at)
            elif worker.hold_until > now:
                times.append(worker.hold_until)
        spec = self._speculation_wakeup(now)
        if spec is not None:
            times.append(spec)
        return min(times) if times else None

    # ----------------------------------------------------------- manual actions

    def retry_chapter(self, chapter_index: int) -> int:
        """Send the chapter's quarantined and backing-off units again now, with fresh failure counters."""
        count = 0
        for uid in self._chapters.get(chapter_index, ()):
            unit = self._units[uid]
            if unit.state in (UnitState.QUARANTINED, UnitState.FAILED_WAIT):
                self._reset_counters(unit)
                self._make_ready(unit)
                count += 1
        return count

    def retry_unit(self, unit_id: str) -> bool:
        """Send one quarantined or backing-off unit again now, with fresh counters; False if it is neither."""
        unit = self._unit(unit_id)
        if unit.state not in (UnitState.QUARANTINED, UnitState.FAILED_WAIT):
            return False
        self._reset_counters(unit)
        self._make_ready(unit)
        return True

    def requeue_chapter(self, chapter_index: int, *, redo: bool = False) -> list[Assignment]:
        """Put the chapter's unfinished units (all of them with ``redo``) at the front of the queue.

        Live attempts are returned for the driver to cancel. A late success of
        a cancelled attempt still completes its unit unless ``redo`` was asked,
        in which case results from before the redo are ignored.
        """
        return self.requeue_units(self._chapters.get(chapter_index, ()), redo=redo)

    def requeue_units(self, unit_ids: Iterable[str], *, redo: bool = False) -> list[Assignment]:
        """:meth:`requeue_chapter` for chosen units (a flagged sentence's unit, spoken again)."""
        self._front_tier -= 1
        cancelled: list[Assignment] = []
        for uid in unit_ids:
            unit = self._units[uid]
            if unit.state is UnitState.DONE and not redo:
                continue
            if redo:
                unit.epoch += 1
            cancelled.extend(self._cancel_live(unit))
            if unit.state is UnitState.PENDING:
                self._remove_ready(uid)
            self._reset_counters(unit)
            unit.rank = (self._front_tier, unit.info.order)
            self._make_ready(unit)
        return cancelled

    # ------------------------------------------------------------------ queries

    def unit_state(self, unit_id: str) -> UnitState:
        return self._unit(unit_id).state

    def unit_attempts(self, unit_id: str) -> int:
        """Attempts dispatched since the unit's counters were last reset."""
        return self._unit(unit_id).attempts

    def unit_error(self, unit_id: str) -> str | None:
        """The last failure's message, cleared when the unit completes."""
        return self._unit(unit_id).error

    def unit_info(self, unit_id: str) -> UnitInfo:
        return self._unit(unit_id).info

    def is_finished(self) -> bool:
        return all(u.state in (UnitState.DONE, UnitState.QUARANTINED) for u in self._units.values())

    def quarantined(self) -> list[str]:
        """Quarantined unit ids in book order."""
        units = sorted(self._units.values(), key=lambda u: u.info.order)
        return [u.info.unit_id for u in units if u.state is UnitState.QUARANTINED]

    def counts(self) -> dict[UnitState, int]:
        out = {state: 0 for state in UnitState}
        for unit in self._units.values():
            out[unit.state] += 1
        return out

    def in_flight(self, worker_id: str | None = None) -> list[Assignment]:
        """Live attempts (not those already handed back for cancellation), in dispatch order."""
        workers = [self._worker(worker_id)] if worker_id is not None else list(self._workers.values())
        aids = sorted(aid for w in workers for aid in w.slots if self._attempts[aid].status is _AttemptStatus.LIVE)
        return [self._attempts[aid].assignment for aid in aids]

    def worker_state(self, worker_id: str) -> WorkerState:
        worker = self._worker(worker_id)
        if worker.down:
            return WorkerState.DOWN
        if worker.drained:
            return WorkerState.DRAINING
        return WorkerState.UP

    def worker_speed(self, worker_id: str) -> float | None:
        """Estimated audio seconds produced per wall second (None until known)."""
        return self._worker(worker_id).speed

    def workers(self) -> list[str]:
        return list(self._workers)

    def chapter_progress(self, chapter_index: int) -> tuple[int, int]:
        """(done, total) units of the chapter; (0, 0) for a chapter with no units."""
        uids = self._chapters.get(chapter_index, ())
        return sum(self._units[u].state is UnitState.DONE for u in uids), len(uids)

    def chapter_done(self, chapter_index: int) -> bool:
        done, total = self.chapter_progress(chapter_index)
        return done == total

    # ---------------------------------------------------------------- internals

    def _unit(self, unit_id: str) -> _Unit:
        try:
            return self._units[unit_id]
        except KeyError:
            raise KeyError(f"unknown unit {unit_id!r}") from None

    def _worker(self, worker_id: str) -> _Worker:
        try:
            return self._workers[worker_id]
        except KeyError:
            raise KeyError(f"unknown worker {worker_id!r}") from None

    def _make_ready(self, unit: _Unit) -> None:
        unit.state = UnitState.PENDING
        bisect.insort(self._ready, (unit.rank, unit.info.unit_id))
        heapq.heappush(self._by_cost, (-unit.info.cost, unit.rank, unit.info.unit_id))
        self._ready_cost += unit.info.cost

    def _remove_ready(self, uid: str) -> None:
        unit = self._units[uid]
        key = (unit.rank, uid)
        i = bisect.bisect_left(self._ready, key)
        if i < len(self._ready) and self._ready[i] == key:
            del self._ready[i]
            self._ready_cost = max(0.0, self._ready_cost - unit.info.cost) if self._ready else 0.0

    def _reset_counters(self, unit: _Unit) -> None:
        unit.attempts = 0
        unit.failures = 0
        unit.failed_workers.clear()
        unit.error = None

    def _waiting_valid(self, entry: tuple[float, int, str]) -> bool:
        unit = self._units[entry[2]]
        return unit.state is UnitState.FAILED_WAIT and unit.ready_at == entry[0]

    def _promote(self, now: float) -> None:
        """Move units whose backoff has ended into the ready queue, at their book position."""
        while self._waiting and self._waiting[0][0] <= now:
            entry = heapq.heappop(self._waiting)
            if self._waiting_valid(entry):
                self._make_ready(self._units[entry[2]])

    def _backoff(self, failures: int) -> float:
        base = min(self.config.backoff_max, self.config.backoff_base * 2 ** (failures - 1))
        return base * (1 + self.config.jitter * (2 * self._rng.random() - 1))

    def _eligible(self, worker: _Worker) -> bool:
        return not worker.down and not worker.drained

    def _pick_ready(self, worker: _Worker, now: float) -> str | None:
        """The unit to hand out, or None to leave the ready units to better-placed workers.

        Units that failed on this worker are skipped while another worker they
        have not failed on has a free slot for them.
        """
        horizon, busy_by, tolerance = self._outlook(now)
        takeable = (self._units[uid] for _, uid in self._ready)
        if len(self._ready) <= _TAIL_ROUNDS * max(1, len(busy_by)):
            candidates = [u for u in takeable if self._may_take(worker, u)]
            return self._pick_last_rounds(worker, candidates, horizon, busy_by, now)
        busy = busy_by.get(worker.worker_id, 0.0)
        mine = self._speed_of(worker)

        def fits(unit: _Unit) -> bool:
            """A worker holding work declines a unit it would finish after the cluster's
            expected end when another worker would finish it sooner."""
            end = busy + unit.info.cost / mine
            return not worker.slots or end <= horizon + tolerance or not self._someone_sooner(
                worker, unit, end, busy_by, now)

        largest = self._largest_ready()
        if (
            largest is not None
            and largest.info.unit_id != self._ready[0][1]
            and busy + largest.info.cost / mine >= horizon - 2 * tolerance
            and fits(largest)
            and self._may_take(worker, largest)
        ):
            # a large unit that would no longer fit in the work left after it goes out first
            return largest.info.unit_id
        for unit in takeable:
            if self._may_take(worker, unit):
                return unit.info.unit_id if fits(unit) else None
        return None

    def _pick_last_rounds(
        self, worker: _Worker, candidates: list[_Unit], horizon: float, busy_by: dict[str, float], now: float
    ) -> str | None:
        """Packing for the last rounds, so that every worker ends at about the same time.

        In order: a unit longer than the horizon on this worker (it is the
        critical path) if nobody would finish it sooner; else the largest unit
        this worker can finish by the horizon; else the smallest unit, if
        nobody would finish it sooner. Largest first means the last units to
        finish are the smallest.
        """
        if not candidates:
            return None
        busy = busy_by.get(worker.worker_id, 0.0)
        mine = self._speed_of(worker)
        candidates.sort(key=lambda u: (-u.info.cost, u.rank))
        for unit in candidates:
            own = unit.info.cost / mine
            if own >= horizon:
                if not self._someone_sooner(worker, unit, busy + own, busy_by, now):
                    return unit.info.unit_id
            elif busy + own <= horizon:
                return unit.info.unit_id
        smallest = candidates[-1]
        end = busy + smallest.info.cost / mine
        return None if self._someone_sooner(worker, smallest, end, busy_by, now) else smallest.info.unit_id

    def _someone_sooner(
        self, worker: _Worker, unit: _Unit, end: float, busy_by: dict[str, float], now: float
    ) -> bool:
        """Whether another eligible worker would finish ``unit`` before ``end`` (after its own queue)."""
        return any(
            other is not worker
            and now >= other.hold_until
            and other.worker_id not in unit.failed_workers
            and busy_by[other.worker_id] + unit.info.cost / self._speed_of(other) < end
            for other in self._workers.values()
            if other.worker_id in busy_by
        )

    def _may_take(self, worker: _Worker, unit: _Unit) -> bool:
        """A unit that failed on this worker waits for another eligible worker it has not failed on,
        even a busy one: retrying where it failed would likely fail again and burn its retries."""
        if worker.worker_id not in unit.failed_workers:
            return True
        return not any(
            other is not worker and self._eligible(other) and other.worker_id not in unit.failed_workers
            for other in self._workers.values()
        )

    def _largest_ready(self) -> _Unit | None:
        while self._by_cost:
            _, rank, uid = self._by_cost[0]
            unit = self._units[uid]
            if unit.state is UnitState.PENDING and unit.rank == rank:
                return unit
            heapq.heappop(self._by_cost)
        return None

    def _outlook(self, now: float) -> tuple[float, dict[str, float], float]:
        """(horizon, busy per eligible worker, tolerance) for a dispatch decision, in wall seconds.

        ``horizon``: how long the eligible workers need for everything left
        (ready units plus the queues they hold) if it were spread perfectly;
        ``busy``: how long each needs for what it holds; ``tolerance``: half an
        average ready unit's time, the granularity decisions work at.
        """
        eligible = [w for w in self._workers.values() if self._eligible(w)]
        total_speed = sum(self._speed_of(w) for w in eligible) or 1.0
        held = 0.0
        busy: dict[str, float] = {}
        for w in eligible:
            chain = self._chain(w, now)
            left = max(0.0, chain[-1][1] - now) if chain else 0.0
            held += left * self._speed_of(w)
            busy[w.worker_id] = left
        horizon = (self._ready_cost + held) / total_speed
        mean_speed = total_speed / max(1, len(eligible))
        tolerance = 0.5 * (self._ready_cost / max(1, len(self._ready))) / mean_speed
        return horizon, busy, tolerance

    def _dispatch(self, uid: str, worker: _Worker, now: float, *, speculative: bool) -> Assignment:
        unit = self._units[uid]
        if unit.state is UnitState.PENDING:
            self._remove_ready(uid)
        unit.state = UnitState.RUNNING
        unit.attempts += 1
        assignment = Assignment(next(self._attempt_ids), uid, worker.worker_id, speculative)
        self._attempts[assignment.attempt_id] = _Attempt(assignment, now, unit.epoch)
        unit.live.append(assignment.attempt_id)
        worker.slots.append(assignment.attempt_id)
        return assignment

    def _end(self, attempt: _Attempt) -> None:
        """Free the attempt's slot and drop it from its unit's live set."""
        if attempt.status is _AttemptStatus.ENDED:
            return
        attempt.status = _AttemptStatus.ENDED
        aid = attempt.assignment.attempt_id
        worker = self._workers.get(attempt.assignment.worker_id)
        if worker is not None and aid in worker.slots:
            worker.slots.remove(aid)
        unit = self._units[attempt.assignment.unit_id]
        if aid in unit.live:
            unit.live.remove(aid)

    def _cancel_live(self, unit: _Unit) -> list[Assignment]:
        """Hand the unit's live attempts back for cancellation; they keep their slots until confirmed."""
        out = []
        for aid in unit.live:
            attempt = self._attempts[aid]
            attempt.status = _AttemptStatus.CANCELLING
            out.append(attempt.assignment)
        unit.live.clear()
        return out

    def _release_worker(self, worker: _Worker) -> list[Assignment]:
        """Drop every attempt the worker holds; units left with no live copy go back to the queue."""
        returned: list[Assignment] = []
        for aid in list(worker.slots):
            attempt = self._attempts[aid]
            was_live = attempt.status is _AttemptStatus.LIVE
            self._end(attempt)
            if not was_live:
                continue
            returned.append(attempt.assignment)
            unit = self._units[attempt.assignment.unit_id]
            if unit.state is UnitState.RUNNING and not unit.live:
                self._make_ready(unit)
        return returned

    def _learn_speed(self, worker: _Worker, attempt: _Attempt, now: float, audio_seconds: float) -> None:
        """EWMA of audio seconds per wall second, timing a queued attempt from the previous result."""
        started = attempt.assigned_at
        if worker.last_result_at is not None and worker.last_result_at > started:
            started = worker.last_result_at
        worker.last_result_at = now
        elapsed = now - started
        if elapsed <= 0 or audio_seconds <= 0:
            return
        sample = audio_seconds / elapsed
        if worker.speed is None:
            worker.speed = sample
        else:
            worker.speed += _SPEED_EWMA_ALPHA * (sample - worker.speed)

    def _speed_of(self, worker: _Worker) -> float:
        """The worker's estimate, else the mean of the known ones, else 1."""
        if worker.speed is not None:
            return worker.speed
        known = [w.speed for w in self._workers.values() if w.speed is not None]
        return sum(known) / len(known) if known else 1.0

    def _chain(self, worker: _Worker, now: float) -> list[tuple[int, float, float]]:
        """(attempt id, expected finish, overrun base) for each slot the worker holds, in order.

        A worker runs its slots in order. A running attempt past its expected
        finish ``e`` is assumed to need as long again as it has overrun, so at
        time ``t > e`` it finishes at ``2t - e`` and an attempt queued behind it
        with ``chain`` seconds of work up to its own end at ``2t - e + chain``.
        The overrun base ``e - chain`` is when that copy becomes worth beating
        by a worker needing ``x`` seconds: at ``t > base + x``.
        """
        if not worker.slots:
            return []
        speed = self._speed_of(worker)
        first = self._attempts[worker.slots[0]]
        start = first.assigned_at
        if worker.last_result_at is not None and worker.last_result_at > start:
            start = worker.last_result_at
        expected = start + self._units[first.assignment.unit_id].info.cost / speed
        finish = expected if expected >= now else 2 * now - expected
        out = []
        chain = 0.0
        for i, aid in enumerate(worker.slots):
            if i:
                chain += self._units[self._attempts[aid].assignment.unit_id].info.cost / speed
            out.append((aid, finish + chain, expected - chain))
        return out

    def _finish_estimates(self, now: float) -> dict[int, tuple[float, float]]:
        """(expected finish, overrun base) of every live attempt; see :meth:`_chain`."""
        out: dict[int, tuple[float, float]] = {}
        for worker in self._workers.values():
            for aid, finish, base in self._chain(worker, now):
                if self._attempts[aid].status is _AttemptStatus.LIVE:
                    out[aid] = (finish, base)
        return out

    def _spec_candidates(self, worker: _Worker) -> list[_Unit]:
        """Running units this worker may duplicate: below the copy limit, not already on it,
        not failed on it. Only units holding a slot somewhere are looked at."""
        limit = 1 + self.config.max_speculative_copies
        seen: set[str] = set()
        out = []
        for other in self._workers.values():
            for aid in other.slots:
                uid = self._attempts[aid].assignment.unit_id
                if uid in seen:
                    continue
                seen.add(uid)
                unit = self._units[uid]
                if unit.state is not UnitState.RUNNING or not unit.live or len(unit.live) >= limit:
                    continue
                if worker.worker_id in unit.failed_workers:
                    continue
                if any(self._attempts[a].assignment.worker_id == worker.worker_id for a in unit.live):
                    continue
                out.append(unit)
        return out

    def _pick_speculative(self, worker: _Worker, now: float) -> str | None:
        """The in-flight unit expected to finish last, if this idle worker would finish it sooner."""
        estimates = self._finish_estimates(now)
        my_speed = self._speed_of(worker)
        best: tuple[int, float, int] | None = None
        best_uid = None
        for unit in self._spec_candidates(worker):
            finish = min(estimates[a][0] for a in unit.live if a in estimates)
            if now + unit.info.cost / my_speed >= finish:
                continue
            key = (len(unit.live), -finish, unit.info.order)
            if best is None or key < best:
                best, best_uid = key, unit.info.unit_id
        return best_uid

    def _speculation_wakeup(self, now: float) -> float | None:
        """When an overrunning attempt becomes worth duplicating on a currently idle worker."""
        if not self.config.speculative_tail or self._paused or self._ready:
            return None
        idle = [w for w in self._workers.values() if self._eligible(w) and not w.slots and now >= w.hold_until]
        if not idle:
            return None
        estimates = self._finish_estimates(now)
        best: float | None = None
        for worker in idle:
            mine_speed = self._speed_of(worker)
            for unit in self._spec_candidates(worker):
                # a copy pays once every live copy has overrun past its base + the copy's own time
                t = max(estimates[a][1] for a in unit.live if a in estimates) + unit.info.cost / mine_speed
                if t > now and (best is None or t < best):
                    best = t
        return best
