"""The scheduling state machine, driven directly: time is an argument, randomness a seeded rng."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from tui.core.scheduler import (
    Assignment,
    Scheduler,
    SchedulerConfig,
    UnitInfo,
    UnitState,
    WorkerState,
)


def make_units(chapters: list[int], cost: float = 10.0) -> list[UnitInfo]:
    """``chapters[i]`` units in chapter i, ids ``c{i}-u{j}``, book order as listed."""
    out = []
    for ci, count in enumerate(chapters):
        for j in range(count):
            out.append(UnitInfo(f"c{ci}-u{j}", ci, len(out), cost))
    return out


def sched(units, workers=("a", "b"), seed=0, speeds=None, **config) -> Scheduler:
    s = Scheduler(units, SchedulerConfig(**config), rng=random.Random(seed))
    for i, w in enumerate(workers):
        s.add_worker(w, speed=speeds[i] if speeds else None)
    return s


def ids(assignments: list[Assignment]) -> list[str]:
    return [a.unit_id for a in assignments]


# ----------------------------------------------------------------- dispatch


def test_pull_fills_one_running_and_one_queued_slot_per_worker_in_book_order():
    s = sched(make_units([3, 3]))
    got = s.poll_assignments(0.0)
    assert [(a.unit_id, a.worker_id) for a in got] == [
        ("c0-u0", "a"), ("c0-u1", "b"), ("c0-u2", "a"), ("c1-u0", "b"),
    ]
    assert not any(a.speculative for a in got)
    assert s.next_assignment("a", 0.0) is None  # both slots taken
    assert s.counts()[UnitState.RUNNING] == 4 and s.counts()[UnitState.PENDING] == 2

    assert s.on_success(got[0].attempt_id, 1.0) == []
    nxt = s.next_assignment("a", 1.0)
    assert nxt is not None and nxt.unit_id == "c1-u1"
    assert s.unit_state("c0-u0") is UnitState.DONE
    assert s.chapter_progress(0) == (1, 3) and not s.chapter_done(0)


def test_a_worker_with_replicas_holds_more_slots():
    s = sched(make_units([8]), workers=("a",))
    s.add_worker("big", slots=4)  # two engine replicas: two running, two queued
    got = s.poll_assignments(0.0)
    assert Counter(a.worker_id for a in got) == {"a": 2, "big": 4}
    with pytest.raises(ValueError):
        s.add_worker("bad", slots=0)


def test_whole_book_completes_and_chapters_report_done():
    s = sched(make_units([2, 1, 3]))
    now = 0.0
    for _ in range(200):
        if s.is_finished():
            break
        batch = s.poll_assignments(now)
        assert batch, "work left but nothing dispatched"
        for a in batch:
            now += 1.0
            s.on_success(a.attempt_id, now)
    assert all(s.chapter_done(c) for c in range(3))
    assert s.chapter_progress(2) == (3, 3)
    assert s.counts()[UnitState.DONE] == 6 and s.quarantined() == []
    assert s.next_wakeup(now) is None


def test_resume_skips_units_already_done():
    s = Scheduler(make_units([3]), done=["c0-u0", "c0-u2", "not-a-unit"])
    s.add_worker("a")
    got = s.poll_assignments(0.0)
    assert ids(got) == ["c0-u1"]
    assert s.chapter_progress(0) == (2, 3)
    s.on_success(got[0].attempt_id, 1.0)
    assert s.is_finished()


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="duplicate unit id"):
        Scheduler([UnitInfo("x", 0, 0, 1.0), UnitInfo("x", 0, 1, 1.0)])
    with pytest.raises(ValueError, match="slots_per_worker"):
        SchedulerConfig(slots_per_worker=0)
    s = sched(make_units([1]))
    with pytest.raises(KeyError, match="unknown worker"):
        s.next_assignment("nope", 0.0)
    with pytest.raises(KeyError, match="unknown unit"):
        s.unit_state("nope")
    assert s.on_success(999, 0.0) == [] and s.on_failure(999, 0.0, error="x") == []


# ------------------------------------------------------- loss and requeue


def test_lost_worker_requeues_its_units_at_once_without_penalty():
    s = sched(make_units([4]))
    s.poll_assignments(0.0)  # a: u0,u2  b: u1,u3
    lost = s.worker_lost("a", 5.0)
    assert sorted(ids(lost)) == ["c0-u0", "c0-u2"]
    assert s.worker_state("a") is WorkerState.DOWN
    assert s.in_flight("a") == []
    for uid in ("c0-u0", "c0-u2"):
        assert s.unit_state(uid) is UnitState.PENDING
        assert s.unit_error(uid) is None
    assert s.next_wakeup(5.0) == pytest.approx(15.0)  # re-probe time only: no backoff
    assert s.next_assignment("a", 5.0) is None
    # the requeued units are first in line for the next free slot
    done = s.in_flight("b")[0]
    s.on_success(done.attempt_id, 6.0)
    assert s.next_assignment("b", 6.0).unit_id == "c0-u0"
    # a late answer from the lost worker still counts: first result wins
    assert s.on_success(lost[1].attempt_id, 6.5) == []
    assert s.unit_state("c0-u2") is UnitState.DONE


def test_lost_worker_is_reprobed_once_per_period_and_rejoins():
    s = sched(make_units([4]), reprobe_after=10.0)
    s.worker_lost("a", 0.0)
    assert s.workers_to_probe(9.9) == []
    assert s.workers_to_probe(10.0) == ["a"]
    assert s.workers_to_probe(10.5) == []  # a probe is under way; next one a period later
    assert s.workers_to_probe(20.0) == ["a"]
    s.worker_lost("a", 23.0)  # that probe failed: the timer restarts from its answer
    assert s.next_wakeup(23.0) == pytest.approx(33.0)
    assert s.workers_to_probe(32.0) == [] and s.workers_to_probe(33.0) == ["a"]
    s.worker_up("a")
    assert s.worker_state("a") is WorkerState.UP
    assert s.next_assignment("a", 21.0) is not None


# ------------------------------------------------- failures and quarantine


def test_failure_backs_off_with_jitter_and_prefers_another_worker():
    s = sched(make_units([10]), seed=7, backoff_base=2.0, jitter=0.25)
    first = s.next_assignment("a", 0.0)
    assert first.unit_id == "c0-u0"
    assert s.on_failure(first.attempt_id, 1.0, error="HTTP 500: boom") == []
    assert s.unit_state("c0-u0") is UnitState.FAILED_WAIT
    assert s.unit_error("c0-u0") == "HTTP 500: boom"
    expected_delay = 2.0 * (1 + 0.25 * (2 * random.Random(7).random() - 1))
    wake = s.next_wakeup(1.0)
    assert wake == pytest.approx(1.0 + expected_delay)
    assert 1.0 + 1.5 <= wake <= 1.0 + 2.5
    # not sent again before its backoff ends
    assert s.next_assignment("a", wake - 0.01).unit_id == "c0-u1"
    # once ready, "a" (where it failed) skips it while "b" has room ...
    assert s.next_assignment("a", wake).unit_id == "c0-u2"
    # ... and "b" gets it
    retry = s.next_assignment("b", wake)
    assert (retry.unit_id, retry.worker_id) == ("c0-u0", "b")
    assert s.unit_attempts("c0-u0") == 2
    s.on_success(retry.attempt_id, wake + 1)
    assert s.unit_state("c0-u0") is UnitState.DONE and s.unit_error("c0-u0") is None


def test_failed_unit_waits_for_a_busy_worker_it_has_not_failed_on():
    """Retrying where it failed would likely fail again: it waits for "b" even while "b" is full."""
    s = sched(make_units([6]), backoff_base=0.0, jitter=0.0)
    got = s.poll_assignments(0.0)  # a: u0, u2; b: u1, u3
    failed = next(x for x in got if x.unit_id == "c0-u0")
    s.on_failure(failed.attempt_id, 1.0, error="HTTP 500")
    nxt = s.next_assignment("a", 1.0)
    assert nxt is not None and nxt.unit_id == "c0-u4"  # "a" skips the unit it failed, though "b" is full
    b_first = next(x for x in got if x.worker_id == "b")
    s.on_success(b_first.attempt_id, 2.0)
    retry = s.next_assignment("b", 2.0)
    assert (retry.unit_id, retry.worker_id) == ("c0-u0", "b")
    # with no other worker left it may try again where it failed
    s2 = sched(make_units([2]), workers=("a",), backoff_base=0.0, jitter=0.0)
    first = s2.next_assignment("a", 0.0)
    s2.on_failure(first.attempt_id, 0.0, error="HTTP 500")
    assert s2.next_assignment("a", 0.0).unit_id == "c0-u0"


def test_backoff_grows_exponentially_and_is_capped():
    s = sched(make_units([1]), workers=("a",), seed=3, backoff_base=1.0, backoff_max=5.0,
              jitter=0.0, worker_down_after=99, max_failures_per_unit=99)
    delays = []
    now = 0.0
    for _ in range(5):
        a = s.next_assignment("a", now)
        s.on_failure(a.attempt_id, now, error="x", worker_fault=False)
        wake = s.next_wakeup(now)
        delays.append(wake - now)
        now = wake
    assert delays == pytest.approx([1.0, 2.0, 4.0, 5.0, 5.0])


def test_unit_failing_on_three_workers_is_quarantined_and_the_rest_completes():
    s = sched(make_units([2, 2]), workers=("a", "b", "c"), jitter=0.0, backoff_base=1.0)
    now = 0.0
    failed_on = []
    for _ in range(200):
        if s.is_finished():
            break
        for a in s.poll_assignments(now):
            if a.unit_id == "c0-u1":
                failed_on.append(a.worker_id)
                s.on_failure(a.attempt_id, now, error=f"bad text on {a.worker_id}")
            else:
                s.on_success(a.attempt_id, now)
        nxt = s.next_wakeup(now)
        now = nxt if nxt is not None else now + 1.0
    assert sorted(failed_on) == ["a", "b", "c"]  # one try per distinct worker
    assert s.quarantined() == ["c0-u1"]
    assert s.unit_state("c0-u1") is UnitState.QUARANTINED
    assert s.unit_error("c0-u1").startswith("bad text on")
    assert s.chapter_progress(0) == (1, 2) and s.chapter_done(1)
    assert s.counts()[UnitState.DONE] == 3
    assert all(s.worker_state(w) is WorkerState.UP for w in "abc")


def test_single_worker_cannot_retry_a_bad_unit_forever():
    s = sched(make_units([1]), workers=("a",), jitter=0.0, max_failures_per_unit=4)
    now = 0.0
    tries = 0
    for _ in range(200):
        if s.is_finished():
            break
        a = s.next_assignment("a", now)
        if a is not None:
            tries += 1
            s.on_failure(a.attempt_id, now, error="422 too long", worker_fault=False)
        now = s.next_wakeup(now) or now
    assert tries == 4 and s.quarantined() == ["c0-u0"]
    assert s.worker_state("a") is WorkerState.UP  # the unit's fault, not the worker's


def test_consecutive_failures_take_a_worker_down_and_hand_back_its_queue():
    s = sched(make_units([6]), worker_down_after=3)
    got = s.poll_assignments(0.0)
    on_a = [a for a in got if a.worker_id == "a"]  # u0, u2
    assert s.on_failure(on_a[0].attempt_id, 1.0, error="CUDA OOM") == []
    a2 = s.next_assignment("a", 1.0)  # c0-u4 (u0 is backing off)
    assert s.on_failure(on_a[1].attempt_id, 2.0, error="CUDA OOM") == []
    assert s.worker_state("a") is WorkerState.UP
    s.next_assignment("a", 2.0)
    # a success elsewhere does not reset a's count; a's third failure in a row does it in
    s.on_success(got[1].attempt_id, 2.5)
    cancelled = s.on_failure(a2.attempt_id, 3.0, error="CUDA OOM")
    assert s.worker_state("a") is WorkerState.DOWN
    assert len(cancelled) == 1 and cancelled[0].worker_id == "a"
    assert s.unit_state(cancelled[0].unit_id) is UnitState.PENDING
    assert s.in_flight("a") == []
    assert s.workers_to_probe(3.0 + 10.0) == ["a"]


def test_success_resets_the_consecutive_failure_count():
    s = sched(make_units([6]), workers=("a",), worker_down_after=2, jitter=0.0)
    x = s.next_assignment("a", 0.0)
    y = s.next_assignment("a", 0.0)
    s.on_failure(x.attempt_id, 1.0, error="e")
    s.on_success(y.attempt_id, 2.0)
    z = s.next_assignment("a", 2.0)
    s.on_failure(z.attempt_id, 3.0, error="e")
    assert s.worker_state("a") is WorkerState.UP


def test_busy_answer_requeues_without_penalty_and_holds_the_worker_off():
    s = sched(make_units([8]), busy_holdoff=2.0)
    got = s.poll_assignments(0.0)  # a: u0,u2  b: u1,u3
    s.on_busy(got[2].attempt_id, 1.0)  # a refused u2
    assert s.unit_state("c0-u2") is UnitState.PENDING
    assert s.unit_attempts("c0-u2") == 0 and s.unit_error("c0-u2") is None
    assert [a.unit_id for a in s.in_flight("a")] == ["c0-u0"]
    assert s.next_assignment("a", 1.5) is None  # held off
    assert s.next_wakeup(1.5) == pytest.approx(3.0)
    s.on_success(got[1].attempt_id, 1.5)  # b has room: u2 is first in line again
    assert s.next_assignment("b", 1.5).unit_id == "c0-u2"
    assert s.next_assignment("a", 3.0).unit_id == "c0-u4"
    # a result on the worker ends its hold-off early
    s.on_busy(s.in_flight("a")[-1].attempt_id, 4.0)
    s.on_success(got[0].attempt_id, 4.1)
    assert s.next_assignment("a", 4.1) is not None
    assert s.worker_state("a") is WorkerState.UP


# ------------------------------------------------------ speculative tail


def _tail_setup(**config):
    """a turns out slow and runs u0, c runs u2, b (fast) finishes u1 at 2.5 and finds nothing left."""
    s = sched(make_units([3]), workers=("a", "b", "c"), **config)
    a0 = s.next_assignment("a", 0.0)
    b0 = s.next_assignment("b", 0.0)
    c0 = s.next_assignment("c", 0.0)
    assert (a0.unit_id, b0.unit_id, c0.unit_id) == ("c0-u0", "c0-u1", "c0-u2")
    s.add_worker("a", speed=0.5)  # u0 expected to finish at 20
    s.add_worker("c", speed=1.0)  # u2 expected to finish at 10
    s.on_success(b0.attempt_id, 2.5, audio_seconds=10.0)  # b: 4 audio s per s
    return s, a0, c0


def test_idle_worker_duplicates_the_unit_expected_to_finish_last():
    s, a0, c0 = _tail_setup()
    dup = s.next_assignment("b", 2.5)
    assert dup is not None and dup.speculative
    assert (dup.unit_id, dup.worker_id) == ("c0-u0", "b")  # a's unit ends last (20 > 10)
    assert s.next_assignment("b", 2.5) is None  # only an idle worker speculates
    assert sorted((a.unit_id, a.worker_id) for a in s.in_flight()) == [
        ("c0-u0", "a"), ("c0-u0", "b"), ("c0-u2", "c"),
    ]
    # the copy wins: the original is handed back for cancellation
    losers = s.on_success(dup.attempt_id, 5.0)
    assert [(x.attempt_id, x.worker_id) for x in losers] == [(a0.attempt_id, "a")]
    assert s.unit_state("c0-u0") is UnitState.DONE
    assert s.in_flight("a") == []
    s.on_cancelled(a0.attempt_id)
    # a late answer from the loser is ignored
    assert s.on_success(a0.attempt_id, 20.0) == []
    assert s.unit_state("c0-u0") is UnitState.DONE
    s.on_success(c0.attempt_id, 10.0)
    assert s.is_finished()


def test_cancelled_copy_keeps_its_slot_until_the_cancel_is_confirmed():
    s = sched(make_units([4]), workers=("a",), slots_per_worker=1)
    first = s.next_assignment("a", 0.0)
    cancel = s.requeue_chapter(0)
    assert [a.attempt_id for a in cancel] == [first.attempt_id]
    assert s.next_assignment("a", 0.0) is None  # the engine may still be busy with it
    s.on_cancelled(first.attempt_id)
    assert s.next_assignment("a", 0.0).unit_id == "c0-u0"


def test_no_speculation_on_the_worker_already_running_the_unit_or_when_disabled():
    s, _, _ = _tail_setup(speculative_tail=False)
    assert s.next_assignment("b", 2.5) is None
    s = sched(make_units([1]), workers=("a",))
    s.next_assignment("a", 0.0)
    assert s.next_assignment("a", 0.0) is None


def test_failed_speculative_copy_does_not_quarantine_a_unit_running_elsewhere():
    s, a0, _ = _tail_setup(max_worker_failures_per_unit=1)
    dup = s.next_assignment("b", 2.5)
    assert dup.speculative and dup.unit_id == "c0-u0"
    assert s.on_failure(dup.attempt_id, 3.0, error="copy failed", worker_fault=False) == []
    assert s.unit_state("c0-u0") is UnitState.RUNNING
    assert s.quarantined() == []
    # b, where the copy failed, gets a copy of the other straggler instead of u0 again
    other = s.next_assignment("b", 3.0)
    assert other.speculative and other.unit_id == "c0-u2"
    # the original still completes the unit
    assert s.on_success(a0.attempt_id, 20.0) == []
    assert s.unit_state("c0-u0") is UnitState.DONE


def test_speed_estimate_is_an_ewma_of_audio_per_wall_second():
    s = sched(make_units([4]), workers=("a",))
    first, queued = s.next_assignment("a", 0.0), s.next_assignment("a", 0.0)
    assert s.worker_speed("a") is None
    s.on_success(first.attempt_id, 2.0, audio_seconds=10.0)
    assert s.worker_speed("a") == pytest.approx(5.0)  # first sample taken as is
    # the queued unit started when the first ended, so it is timed from there
    s.on_success(queued.attempt_id, 3.0, audio_seconds=20.0)
    assert s.worker_speed("a") == pytest.approx(5.0 + 0.3 * (20.0 - 5.0))


def test_speculation_only_where_the_idle_worker_would_finish_sooner():
    # b turns out four times slower than a: duplicating a's running unit would not pay
    s2 = sched(make_units([2]))
    a0 = s2.next_assignment("a", 0.0)
    b0 = s2.next_assignment("b", 0.0)
    s2.add_worker("a", speed=4.0)  # cost 10 on a: expected done at 2.5
    s2.on_success(b0.attempt_id, 10.0, audio_seconds=10.0)  # b measured at 1.0 audio s/s
    assert s2.next_assignment("b", 10.0) is None
    # a overruns: past its expected finish (2.5) by more than b needs (10 s), a copy pays
    wake = s2.next_wakeup(10.0)
    assert wake == pytest.approx(2.5 + 10.0)
    assert s2.next_assignment("b", wake - 0.1) is None
    dup = s2.next_assignment("b", wake + 0.1)
    assert dup is not None and dup.speculative and dup.unit_id == a0.unit_id


def test_near_the_end_the_largest_unit_goes_out_before_small_ones():
    units = [UnitInfo(f"u{i}", 0, i, 1.0) for i in range(40)] + [UnitInfo("big", 0, 40, 8.0)]
    s = sched(units, speeds=[1.0, 1.0])
    order = []
    now = 0.0
    for _ in range(200):
        if not s.counts()[UnitState.PENDING]:
            break
        for a in s.poll_assignments(now):
            order.append(a.unit_id)
        held = s.in_flight()
        now += 1.0
        s.on_success(held[0].attempt_id, now)
    # early units keep book order; the big one is not left for last
    assert order[:20] == [f"u{i}" for i in range(20)]
    assert order.index("big") < order.index("u32")


def test_last_rounds_are_packed_largest_first_so_workers_end_together():
    units = [UnitInfo(f"u{i}", 0, i, c) for i, c in enumerate([5.0, 1.0, 3.0, 1.0, 4.0])]
    s = sched(units, speeds=[1.0, 1.0])
    got = s.poll_assignments(0.0)
    assert [(a.unit_id, a.worker_id) for a in got] == [("u0", "a"), ("u4", "b"), ("u1", "a"), ("u2", "b")]
    s.on_success(got[1].attempt_id, 4.0, audio_seconds=4.0)  # b: u4 done, u2 (3 s) next
    s.on_success(got[0].attempt_id, 5.0, audio_seconds=5.0)  # a: u0 done, u1 (1 s) next
    last = s.poll_assignments(5.0)
    assert [(a.unit_id, a.worker_id) for a in last] == [("u3", "a")]  # a ends at 7 as b does


def test_slow_worker_gets_nothing_a_faster_one_would_finish_sooner_in_the_last_rounds():
    s = sched(make_units([2]), speeds=[4.0, 1.0])
    a0 = s.next_assignment("a", 0.0)
    assert a0.unit_id == "c0-u0"
    assert s.next_assignment("b", 0.0) is None  # 10 s on b; a is done with both by 5 s
    assert s.next_assignment("a", 0.0).unit_id == "c0-u1"


def test_busy_worker_leaves_the_last_units_to_a_worker_that_will_finish_them_sooner():
    # a is stuck behind a long unit; b is fast. The final small unit should wait for b.
    units = [UnitInfo("long", 0, 0, 40.0), UnitInfo("s1", 0, 1, 2.0), UnitInfo("s2", 0, 2, 2.0)]
    s = sched(units, speeds=[1.0, 1.0])
    assert s.next_assignment("a", 0.0).unit_id == "long"
    b1 = s.next_assignment("b", 0.0)
    assert b1.unit_id == "s1"
    assert s.next_assignment("a", 0.0) is None  # would start s2 only after 40 s
    assert s.next_assignment("b", 0.0).unit_id == "s2"


# ---------------------------------------------------------- manual actions


def test_drain_stops_new_work_but_lets_in_flight_finish():
    s = sched(make_units([6]))
    s.poll_assignments(0.0)
    s.drain("a")
    assert s.worker_state("a") is WorkerState.DRAINING
    held = s.in_flight("a")
    assert len(held) == 2
    s.on_success(held[0].attempt_id, 1.0)
    assert s.next_assignment("a", 1.0) is None
    assert all(a.worker_id == "b" for a in s.poll_assignments(1.0))
    s.on_success(held[1].attempt_id, 2.0)
    assert s.unit_state(held[1].unit_id) is UnitState.DONE
    s.undrain("a")
    assert s.worker_state("a") is WorkerState.UP
    assert s.next_assignment("a", 3.0) is not None


def test_pause_and_resume_dispatch():
    s = sched(make_units([3]))
    s.pause()
    assert s.paused and s.poll_assignments(0.0) == []
    s.resume()
    assert not s.paused and len(s.poll_assignments(0.0)) == 3


def test_retry_chapter_sends_quarantined_units_again_with_fresh_counters():
    s = sched(make_units([2, 1]), max_worker_failures_per_unit=1)
    got = s.poll_assignments(0.0)
    s.on_failure(got[0].attempt_id, 1.0, error="boom", worker_fault=False)  # c0-u0
    assert s.quarantined() == ["c0-u0"]
    assert s.retry_chapter(1) == 0
    assert s.retry_chapter(0) == 1
    assert s.unit_state("c0-u0") is UnitState.PENDING
    assert s.unit_attempts("c0-u0") == 0 and s.unit_error("c0-u0") is None
    s.on_success(got[2].attempt_id, 1.0)  # c1-u0: a is free again
    again = s.next_assignment("a", 1.0)
    assert again.unit_id == "c0-u0"  # the worker it failed on is fine again after a reset
    s.on_success(again.attempt_id, 2.0)
    assert s.quarantined() == [] and s.unit_state("c0-u0") is UnitState.DONE


def test_retry_chapter_skips_the_backoff():
    s = sched(make_units([1]), workers=("a",), backoff_base=30.0)
    a = s.next_assignment("a", 0.0)
    s.on_failure(a.attempt_id, 0.0, error="e")
    assert s.next_assignment("a", 1.0) is None
    assert s.retry_chapter(0) == 1
    assert s.next_assignment("a", 1.0).unit_id == "c0-u0"


def test_requeue_chapter_cancels_in_flight_and_jumps_the_queue():
    s = sched(make_units([2, 3, 2]))
    got = s.poll_assignments(0.0)  # c0-u0, c0-u1, c1-u0, c1-u1
    s.on_success(got[2].attempt_id, 1.0)  # c1-u0 done
    cancel = s.requeue_chapter(1)
    assert ids(cancel) == ["c1-u1"]
    assert s.unit_state("c1-u0") is UnitState.DONE  # done units stay done
    assert s.unit_state("c1-u1") is UnitState.PENDING
    s.on_cancelled(cancel[0].attempt_id)
    # the chapter's units come before c2 and before nothing earlier was pending
    nxt = s.poll_assignments(1.0)
    assert ids(nxt) == ["c1-u1", "c1-u2"]
    # a late success of the cancelled attempt still completes the unit (first result wins)
    stale = s.on_success(cancel[0].attempt_id, 2.0)
    assert s.unit_state("c1-u1") is UnitState.DONE
    assert [a.unit_id for a in stale] == ["c1-u1"]  # the resent copy is now redundant


def test_requeued_chapter_goes_before_earlier_pending_units():
    s = sched(make_units([8, 2]), workers=("a",))
    first, _ = s.next_assignment("a", 0.0), s.next_assignment("a", 0.0)  # c0-u0, c0-u1
    assert s.requeue_chapter(1) == []
    s.on_success(first.attempt_id, 1.0)
    assert s.next_assignment("a", 1.0).unit_id == "c1-u0"


def test_requeue_chapter_with_redo_resets_done_units_and_ignores_stale_results():
    s = sched(make_units([2]))
    got = s.poll_assignments(0.0)
    s.on_success(got[0].attempt_id, 1.0)
    cancel = s.requeue_chapter(0, redo=True)
    assert ids(cancel) == ["c0-u1"]
    assert s.chapter_progress(0) == (0, 2)
    assert s.on_success(cancel[0].attempt_id, 2.0) == []  # result from before the redo
    assert s.unit_state("c0-u1") is UnitState.PENDING
    s.on_cancelled(cancel[0].attempt_id)
    fresh = s.poll_assignments(2.0)
    assert sorted(ids(fresh)) == ["c0-u0", "c0-u1"]
    for a in fresh:
        s.on_success(a.attempt_id, 3.0)
    assert s.is_finished() and s.chapter_done(0)


def test_requeue_brings_back_quarantined_units():
    s = sched(make_units([1, 1]), max_worker_failures_per_unit=1)
    a = s.next_assignment("a", 0.0)
    s.on_failure(a.attempt_id, 0.0, error="e")
    assert s.quarantined() == ["c0-u0"]
    assert s.requeue_chapter(0) == []
    assert s.unit_state("c0-u0") is UnitState.PENDING and s.quarantined() == []


# ------------------------------------------------- invariants under churn


def _churn(seed: int) -> tuple[list[tuple], Scheduler, dict[str, list[str]], set[str]]:
    """Random successes, failures, losses, cancels and re-probes; returns the decision trace."""
    rng = random.Random(seed)
    units = make_units([5, 17, 3, 9])
    s = Scheduler(units, SchedulerConfig(max_worker_failures_per_unit=3), rng=random.Random(seed))
    workers = ["w0", "w1", "w2", "w3"]
    for w in workers:
        s.add_worker(w, speed=rng.uniform(0.5, 2.0))
    pending_cancel: list[int] = []
    trace: list[tuple] = []
    done_units: set[str] = set()
    failed_on: dict[str, list[str]] = {}
    now = 0.0
    for _ in range(2000):
        if s.is_finished():
            break
        for a in s.poll_assignments(now):
            assert a.unit_id not in done_units, "a finished unit was sent again"
            trace.append(("send", a.attempt_id, a.unit_id, a.worker_id, a.speculative))
        for w in workers:
            assert len([x for x in s.in_flight(w)]) <= 2
            if s.worker_state(w) is WorkerState.DOWN:
                assert s.in_flight(w) == []
        for w in s.workers_to_probe(now):
            if rng.random() < 0.7:
                s.worker_up(w)
        live = s.in_flight()
        roll = rng.random()
        if live and roll < 0.75:
            a = rng.choice(live)
            pending_cancel += [x.attempt_id for x in s.on_success(a.attempt_id, now)]
            done_units.add(a.unit_id)
        elif live and roll < 0.9:
            a = rng.choice(live)
            failed_on.setdefault(a.unit_id, []).append(a.worker_id)
            pending_cancel += [x.attempt_id for x in s.on_failure(a.attempt_id, now, error=f"e{len(trace)}")]
        elif roll < 0.93:
            pending_cancel += [x.attempt_id for x in s.worker_lost(rng.choice(workers), now)]
        while pending_cancel:
            s.on_cancelled(pending_cancel.pop())
        wake = s.next_wakeup(now)
        now = max(now + 0.5, wake) if wake is not None and not live else now + 0.5
    return trace, s, failed_on, done_units


@pytest.mark.parametrize("seed", range(6))
def test_random_churn_finishes_every_unit_and_is_deterministic(seed):
    trace, s, failed_on, succeeded = _churn(seed)
    assert s.is_finished()
    counts = s.counts()
    assert counts[UnitState.DONE] + counts[UnitState.QUARANTINED] == 34
    assert counts[UnitState.DONE] == len(succeeded)
    for uid in s.quarantined():
        assert uid not in succeeded
        assert len(set(failed_on[uid])) >= 3 or len(failed_on[uid]) >= 6
        assert s.unit_error(uid).startswith("e")
    again, *_ = _churn(seed)
    assert again == trace


def test_a_returned_attempt_goes_back_without_penalty_or_hold_off() -> None:
    s = Scheduler([UnitInfo("u1", 0, 0, 10.0)], SchedulerConfig(max_failures_per_unit=1))
    s.add_worker("w")
    first = s.next_assignment("w", 0.0)
    assert first is not None
    s.on_returned(first.attempt_id)
    assert s.unit_state("u1") is UnitState.PENDING and s.unit_attempts("u1") == 0
    again = s.next_assignment("w", 0.0)  # at once: no busy hold-off, and no failure counted
    assert again is not None and again.unit_id == "u1"
    s.on_returned(again.attempt_id)
    s.on_returned(again.attempt_id)  # a second report of the same attempt changes nothing
    assert s.unit_state("u1") is UnitState.PENDING and s.in_flight() == []


def test_requeue_units_redoes_only_the_chosen_unit_first_in_line() -> None:
    s = Scheduler([UnitInfo(f"u{i}", 0, i, 10.0) for i in range(3)], SchedulerConfig(slots_per_worker=1))
    s.add_worker("w")
    first = s.next_assignment("w", 0.0)
    assert first is not None and first.unit_id == "u0"
    s.on_success(first.attempt_id, 1.0, audio_seconds=10.0)
    assert s.unit_state("u0") is UnitState.DONE
    assert s.requeue_units(["u0"], redo=True) == []
    assert s.unit_state("u0") is UnitState.PENDING and s.unit_state("u1") is UnitState.PENDING
    again = s.next_assignment("w", 2.0)
    assert again is not None and again.unit_id == "u0"  # first in line, before u1
