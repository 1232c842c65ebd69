"""Unit sizes that follow the per-request cost: a profile along the book, recorded for resume."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.book_helpers import SHARED_BOOKS, make_prose_epub
from tui.book.ingest import load_book
from tui.book.units import PROFILE_MAX_CHARS, SizeProfile, make_units, size_profile, units_target_for
from tui.core.options import RunOptions
from tui.core.planning import RequestCosts, plan_units, request_costs, resumed_profile

CHILDREN = SHARED_BOOKS / "childrens-literature.epub"
COSTLY = dict(latency_s=1.0, overhead_s=0.5)


def _prose(tmp_path: Path, chapters: int = 6, paragraphs: int = 40) -> Path:
    text = [[" ".join(f"Sentence {i} of paragraph {p} in part {c} goes on a little." for i in range(8))
             for p in range(paragraphs)] for c in range(chapters)]
    return make_prose_epub(tmp_path / "prose.epub", text)


@pytest.mark.parametrize("total", [0, 5_000, 300_000, 1_100_000, 20_000_000])
@pytest.mark.parametrize("workers", [1, 4, 16, 64])
def test_profile_is_non_increasing_within_its_envelope(total, workers):
    p = size_profile(total, workers, **COSTLY)
    offsets = [o for o, _ in p.steps]
    targets = [t for _, t in p.steps]
    assert offsets[0] == 0 and offsets == sorted(set(offsets))
    assert targets == sorted(targets, reverse=True)
    assert all(200 <= t <= PROFILE_MAX_CHARS for t in targets)
    assert p == size_profile(total, workers, **COSTLY)  # a pure function
    for offset in range(0, max(total, 1), max(1, total // 97)):
        assert p.target_at(offset) <= p.target_at(max(0, offset - 1000))


def test_costs_shape_the_profile():
    # negligible costs: exactly today's flat size
    for total, n in [(300_000, 4), (300_000, 64), (1_100_000, 16)]:
        assert size_profile(total, n) == SizeProfile.flat(units_target_for(total, n))
        assert size_profile(total, n, latency_s=0.3) == SizeProfile.flat(units_target_for(total, n))
    costly = size_profile(1_100_000, 16, **COSTLY)
    assert not costly.is_flat
    assert costly.largest > units_target_for(1_100_000, 16)  # early units amortise the cost
    assert costly.steps[-1][1] < costly.largest  # the last ones are small enough to balance
    dearer = size_profile(1_100_000, 16, latency_s=1.0, overhead_s=2.0)
    assert dearer.largest >= costly.largest and dearer.steps[-1][1] >= costly.steps[-1][1]
    more = size_profile(1_100_000, 64, **COSTLY)
    assert more.largest <= costly.largest


def test_profile_json_round_trip_and_rejects():
    p = size_profile(800_000, 8, **COSTLY)
    assert SizeProfile.from_json(p.to_json()) == p
    for bad in (None, [], "x", [[1, 500]], [[0, 500], [0, 400]], [[0, 400], [10, 500]], [[0, True]], [[0, 0]],
                [[0, 500.0]], [[0, 500, 1]]):
        assert SizeProfile.from_json(bad) is None


def test_profile_units_keep_sentences_whole_and_follow_the_targets(tmp_path):
    book = load_book(_prose(tmp_path))
    flat = make_units(book, engine_key="piper", target_chars=400)
    profile = SizeProfile(((0, 3000), (40_000, 1200), (60_000, 300)))
    units = make_units(book, engine_key="piper", profile=profile)
    assert [s for u in units for s in u.sentences] == [s for u in flat for s in u.sentences]
    sentence_set = {s for u in flat for s in u.sentences}
    assert all(s in sentence_set for u in units for s in u.sentences)
    offset = 0
    for u in units:
        target = profile.target_at(offset)
        if len(u.sentences) > 1:
            assert u.chars <= target * 1.25
        offset += u.chars
    early = [u.chars for u in units[:5]]
    late = [u.chars for u in units[-20:-1]]
    assert min(early) > 1000 and max(late) <= 300 * 1.25
    assert units == make_units(load_book(_prose(tmp_path)), engine_key="piper", profile=profile)


def test_flat_profile_is_the_old_target(tmp_path):
    book = load_book(_prose(tmp_path))
    for target in (200, 777, 1500):
        assert make_units(book, engine_key="piper", target_chars=target) == make_units(
            book, engine_key="piper", profile=SizeProfile.flat(target))


def test_request_costs():
    opts = RunOptions(input=Path("b.epub"))
    assert request_costs(opts) == RequestCosts(0.0, 0.0, 10.0)
    xtts = request_costs(RunOptions(input=Path("b.epub"), engine="xtts"))
    assert xtts.overhead_s > 0
    assert request_costs(opts, [0.2, 0.9, 0.3]).latency_s == 0.3  # the median probe round trip
    given = RunOptions(input=Path("b.epub"), request_latency_s=1.5, request_overhead_s=0.25, worker_speed=4.0)
    assert request_costs(given, [0.01]) == RequestCosts(1.5, 0.25, 4.0)


@pytest.mark.skipif(not CHILDREN.is_file(), reason="shared books absent")
@pytest.mark.parametrize("workers", [1, 4, 16, 64])
def test_plan_units_defaults_are_todays_units_for_piper(workers):
    book = load_book(CHILDREN)
    opts = RunOptions(input=CHILDREN)
    plan = plan_units(book, opts, workers=workers, lexicon=None)
    total = sum(len(p) for ch in book.chapters for p in ch.paragraphs)
    target = units_target_for(total, workers)
    assert plan.target_chars == target and plan.profile == SizeProfile.flat(target)
    old = make_units(book, engine_key=_engine_key(opts), target_chars=target)
    assert [(u.id, u.sentences) for u in plan.units] == [(u.id, u.sentences) for u in old]
    assert plan.sizing_settings() == {"unit_chars": target}
    # an existing journal (only unit_chars) resumes onto exactly its units
    again = plan_units(book, opts, workers=workers * 2, lexicon=None,
                       resumed=resumed_profile({"engine_key": _engine_key(opts), "unit_chars": target}, opts))
    assert [u.content_hash for u in again.units] == [u.content_hash for u in plan.units]


def _engine_key(opts: RunOptions) -> str:
    from tui.core.planning import engine_key
    return engine_key(opts)


@pytest.mark.skipif(not CHILDREN.is_file(), reason="shared books absent")
def test_resumed_profile_gives_the_same_units_on_other_workers_and_costs():
    book = load_book(CHILDREN)
    opts = RunOptions(input=CHILDREN, request_latency_s=1.0, request_overhead_s=0.5)
    first = plan_units(book, opts, workers=16, lexicon=None)
    assert first.profile is not None and not first.profile.is_flat
    settings = {"engine_key": _engine_key(opts), **first.sizing_settings()}
    assert settings["unit_profile"] == first.profile.to_json()
    cheaper = RunOptions(input=CHILDREN, request_latency_s=0.0, request_overhead_s=0.0)
    assert resumed_profile(settings, cheaper) == first.profile
    again = plan_units(book, cheaper, workers=3, lexicon=None, resumed=resumed_profile(settings, cheaper))
    assert [u.content_hash for u in again.units] == [u.content_hash for u in first.units]
    other_voice = RunOptions(input=CHILDREN, voice="amy.onnx")
    assert resumed_profile(settings, other_voice) is None
    assert plan_units(book, cheaper, workers=16, lexicon=None).profile.is_flat  # fresh: the costs decide


def test_verified_runs_count_the_recogniser_per_request_and_get_fewer_larger_units():
    """Whisper hears at least a 30 s window per call: hearing units back is a per-request cost."""
    book = SHARED_BOOKS / "wasteland.epub"
    plain = RunOptions(input=book, output=Path("/tmp/w.m4b"), verify=False)
    heard = RunOptions(input=book, output=Path("/tmp/w.m4b"), verify=True)
    assert request_costs(heard).overhead_s > request_costs(plain).overhead_s
    assert request_costs(heard).speed < request_costs(plain).speed
    loaded = load_book(book)
    units_plain = plan_units(loaded, plain, workers=2, lexicon=None).units
    units_heard = plan_units(loaded, heard, workers=2, lexicon=None).units
    assert len(units_heard) < len(units_plain)
    assert max(u.chars for u in units_heard) > 2 * max(u.chars for u in units_plain)
    # the same sentences, cut into units otherwise
    assert [s for u in units_heard for s in u.sentences] == [s for u in units_plain for s in u.sentences]
