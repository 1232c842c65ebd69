"""Makespan of the scheduler against the seed's whole-chapter dispatch, by discrete-event simulation.

Drives the real :class:`tui.core.scheduler.Scheduler` with simulated workers
over the work units of real books, for several worker counts, and prints
makespan / ideal for both dispatch policies side by side. Nothing sleeps:
time is simulated.

Model (both policies see the same workers and the same audio lengths):

* A worker has a speed (audio seconds produced per wall second; by default
  ``--base-speed`` times a factor drawn uniformly from 1 +- ``--spread``).
  Its engine runs the requests it holds one at a time, in arrival order.
* A request reaches the worker ``latency/2`` after it is sent; the result
  reaches the orchestrator ``latency/2`` after synthesis ends. Each request
  also costs ``--overhead`` seconds of engine time.
* A unit's true audio length is its estimate times a factor drawn from
  1 +- ``--noise``; the scheduler only sees the estimate until the result.
* Ours: units cut by the project's ``plan_units`` for N workers, told the
  modelled latency, overhead and ``--base-speed`` (or ``--plan-speed``), so
  its size profile follows the per-request cost (``--flat-units``: the flat
  ``units_target_for`` size of before; ``--units-per-worker K``: K per worker
  with the same clamps), pulled with
  ``slots_per_worker`` = 2 (one running, one queued), speculative tail on,
  worker speeds unknown to the scheduler at the start. A cancel reaches the
  worker ``latency/2`` later and drops or aborts the copy. With
  ``--fail-rate`` attempts fail at random and are retried.
* Seed: whole chapters, one request per worker at a time; a worker that
  has its result back takes the next chapter in book order (a pull-based
  reading of the seed's round-robin, kinder than the 503-and-retry it does).
* ideal = total audio / sum of worker speeds + one request's latency and
  overhead (work spread perfectly, one unavoidable round trip). It counts the
  overhead once in all, so with ``--overhead`` > 0 no split into several units
  per worker reaches it: ``oh%`` shows what the units' own overhead adds.
* ``--generate WORDS`` adds a deterministic generated book of WORDS words.
* bound = max(ideal, longest sentence on the fastest worker + latency +
  overhead): no split can beat it, since units are runs of whole sentences.
  Where bound > 1.02 x ideal, the 1.02 goal cannot be met and the row says so.
* offline = a clairvoyant plan over the same units (true lengths known,
  largest first onto the worker that finishes it earliest, no per-unit
  latency, book order ignored): not a bound, but what the units' granularity
  allows. unit% = mean unit time / ideal; a row that misses the goal with
  units above 4 % of ideal is flagged as too coarse.

Each row runs ``--runs`` seeds (worker speeds, estimate noise, jitter) and
shows the mean for every policy and the worst for ours. Exit status is 1 if
the worst of ours exceeds 1.02 x ideal on a row where the goal is reachable
(unless ``--no-check``).
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import random
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tui.book.model import BookError  # noqa: E402
from tui.core.scheduler import Scheduler, SchedulerConfig, UnitInfo  # noqa: E402

__all__ = ["SimUnit", "load_units", "simulate_ours", "simulate_seed", "offline_reference", "main"]

GOAL = 1.02
DEFAULT_BOOKS = REPO.parent / "shared" / "books"
CHARS_PER_SECOND = 15.0  # fallback speech-rate estimate when the real unit builder is absent


@dataclass(frozen=True)
class SimUnit:
    unit_id: str
    chapter_index: int
    est_seconds: float
    longest_sentence_seconds: float


# ---------------------------------------------------------------- units


def _target(total_chars: int, workers: int, per_worker: Optional[int], min_chars: int, rule) -> tuple[int, str]:
    """The project's sizing rule, or the same clamps with ``per_worker`` units per worker."""
    if per_worker is None:
        return rule(total_chars, workers), "units_target_for"
    return max(min_chars, min(1500, total_chars // (per_worker * workers))), f"{per_worker} units/worker"


def _real_units(
    path: Path, workers: int, per_worker: Optional[int], min_chars: int, sizing: Optional["Sizing"] = None
) -> Optional[tuple[list[SimUnit], str]]:
    """Units from the project's own ingest and planning (``plan_units``), or None when unavailable."""
    try:
        from tui.book.ingest import load_book
        from tui.book.units import units_target_for
        from tui.core.options import RunOptions
        from tui.core.planning import RequestCosts, plan_units
    except ImportError:
        return None
    sizing = sizing or Sizing()
    book = load_book(path)
    options = RunOptions(input=path, engine="piper")
    costs = RequestCosts(sizing.latency, sizing.overhead, sizing.speed)
    if per_worker is not None or sizing.flat:
        total = sum(len(ch.text) for ch in book.chapters)
        options.unit_chars, rule = _target(total, workers, per_worker, min_chars, units_target_for)
    plan = plan_units(book, options, workers=workers, lexicon=None, costs=costs)
    if options.unit_chars:
        what = f"{rule} (target {options.unit_chars} chars)"
    elif plan.profile is None or plan.profile.is_flat:
        what = f"plan_units, flat (target {plan.target_chars} chars)"
    else:
        steps = plan.profile.steps
        what = (f"plan_units, profile of {len(steps)} steps {steps[0][1]}..{steps[-1][1]} chars "
                f"for latency {sizing.latency:g} s, overhead {sizing.overhead:g} s, speed {sizing.speed:g}")
    out = []
    for wu in plan.units:
        per_char = wu.est_seconds / wu.chars if wu.chars else 0.0
        longest = max((len(s) for s in wu.sentences), default=0) * per_char
        out.append(SimUnit(wu.id, wu.chapter_index, wu.est_seconds, longest))
    return out, "tui.core.planning, " + what


@dataclass(frozen=True)
class Sizing:
    """What the planner is told about the workers (the run would measure or estimate it)."""

    latency: float = 0.0
    overhead: float = 0.0
    speed: float = 10.0
    flat: bool = False  # the sizing before per-request costs were considered: units_target_for only


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def _fallback_units(path: Path, workers: int, per_worker: Optional[int], min_chars: int) -> tuple[list[SimUnit], str]:
    """Spine documents -> sentences by a plain regex -> runs of about ``target`` characters."""
    import warnings

    from bs4 import BeautifulSoup
    from ebooklib import ITEM_DOCUMENT, epub

    warnings.filterwarnings("ignore")
    book = epub.read_epub(str(path))
    chapters = []
    for idref, _ in book.spine:
        item = book.get_item_with_id(idref)
        if item is None or item.get_type() != ITEM_DOCUMENT:
            continue
        text = BeautifulSoup(item.get_content(), "lxml").get_text(" ", strip=True)
        if text:
            chapters.append([s for s in _SENTENCE_END.split(text) if s.strip()])
    total = sum(len(s) for ch in chapters for s in ch)
    target, rule = _target(total, workers, per_worker or 8, min_chars, None)
    out = []
    for ci, sentences in enumerate(chapters):
        run: list[str] = []
        for sentence in sentences + [None]:
            if run and (sentence is None or sum(map(len, run)) + len(sentence) > target):
                chars = sum(map(len, run))
                out.append(SimUnit(f"c{ci:04d}-u{len(out):05d}", ci, chars / CHARS_PER_SECOND,
                                   max(map(len, run)) / CHARS_PER_SECOND))
                run = []
            if sentence is not None:
                run.append(sentence)
    return out, f"regex fallback, {rule} (target {target} chars)"


def load_units(
    path: Path, workers: int, per_worker: Optional[int] = None, min_chars: int = 200,
    sizing: Optional[Sizing] = None,
) -> tuple[list[SimUnit], str]:
    """Prefer the project's unit builder; fall back to a small regex splitter."""
    real = _real_units(path, workers, per_worker, min_chars, sizing)
    return real if real is not None else _fallback_units(path, workers, per_worker, min_chars)


_WORDS = ("the a of and to in was he she it that his her had with for on at as by from they we you not "
          "but be this all were said one there an which so when what would out up if them could into been "
          "lighthouse keeper island winter harbour lantern morning evening river garden window letter "
          "mountain village station carriage kitchen shoulder quietly suddenly remembered answered").split()


def generate_book(words: int, folder: Path, seed: int = 7) -> Path:
    """A deterministic EPUB of about ``words`` words: chapters of 1 500..9 000 words, paragraphs of
    1..9 sentences of 4..40 words (the shape of a novel, not its prose)."""
    from ebooklib import epub

    path = folder / f"generated-{words}w.epub"
    if path.is_file():
        return path
    rng = random.Random(seed)
    book = epub.EpubBook()
    book.set_identifier(f"generated-{words}")
    book.set_title(f"Generated book of {words} words")
    book.set_language("en")
    items, left, n = [], words, 0
    while left > 0:
        n += 1
        size = min(left, rng.randint(1500, 9000))
        left -= size
        paragraphs = []
        while size > 0:
            sentences = []
            for _ in range(rng.randint(1, 9)):
                k = min(max(1, size), rng.randint(4, 40))
                size -= k
                text = " ".join(rng.choice(_WORDS) for _ in range(k))
                sentences.append(text[0].upper() + text[1:] + rng.choice(".....?!"))
                if size <= 0:
                    break
            paragraphs.append("<p>" + " ".join(sentences) + "</p>")
        item = epub.EpubHtml(title=f"Chapter {n}", file_name=f"c{n}.xhtml", lang="en")
        item.content = f"<html><body><h1>Chapter {n}</h1>{''.join(paragraphs)}</body></html>"
        book.add_item(item)
        items.append(item)
    book.toc = tuple(items)
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = items
    folder.mkdir(parents=True, exist_ok=True)
    epub.write_epub(str(path), book)
    return path


# ----------------------------------------------------------- simulation


@dataclass(frozen=True)
class Params:
    latency: float
    overhead: float
    fail_rate: float


class _Engine:
    """One simulated worker: a FIFO of requests served one at a time."""

    def __init__(self, speed: float) -> None:
        self.speed = speed
        self.queue: list[int] = []  # attempt ids waiting, in arrival order
        self.current: Optional[int] = None
        self.token = 0  # bumps when the running job is aborted, so its finish event is ignored


def simulate_ours(
    units: list[SimUnit], audio: dict[str, float], speeds: list[float], p: Params, seed: int
) -> float:
    """Makespan of the real Scheduler under the model in the module docstring."""
    infos = [UnitInfo(u.unit_id, u.chapter_index, i, u.est_seconds) for i, u in enumerate(units)]
    sched = Scheduler(infos, SchedulerConfig(), rng=random.Random(seed))
    fail_rng = random.Random(seed + 1)
    engines = {f"w{i}": _Engine(s) for i, s in enumerate(speeds)}
    for wid in engines:
        sched.add_worker(wid)
    events: list[tuple[float, int, str, tuple]] = []
    seq = itertools.count()
    attempts: dict[int, str] = {}  # attempt id -> unit id
    cancelled: set[int] = set()  # cancels that reached their worker
    dropped: set[int] = set()  # requests the orchestrator cancelled; their results are ignored

    def push(t: float, kind: str, *data: object) -> None:
        heapq.heappush(events, (t, next(seq), kind, data))

    def start_next(wid: str, now: float) -> None:
        eng = engines[wid]
        while eng.current is None and eng.queue:
            aid = eng.queue.pop(0)
            if aid in cancelled:
                continue
            eng.current = aid
            eng.token += 1
            duration = p.overhead + audio[attempts[aid]] / eng.speed
            push(now + duration, "done", wid, aid, eng.token)

    def cancel(assignments: list, now: float) -> None:
        for a in assignments:
            dropped.add(a.attempt_id)
            sched.on_cancelled(a.attempt_id)
            push(now + p.latency / 2, "cancel", a.worker_id, a.attempt_id)

    def dispatch(now: float) -> None:
        for a in sched.poll_assignments(now):
            attempts[a.attempt_id] = a.unit_id
            push(now + p.latency / 2, "arrive", a.worker_id, a.attempt_id)

    now = 0.0
    dispatch(now)
    wake_at: Optional[float] = None
    while not sched.is_finished():
        wake = sched.next_wakeup(now)
        if wake is not None and wake > now and wake != wake_at:
            wake_at = wake
            push(wake, "wake")
        if not events:
            raise RuntimeError("simulation stalled with work left")
        now, _, kind, data = heapq.heappop(events)
        if kind == "arrive":
            wid, aid = data
            if aid not in cancelled:
                engines[wid].queue.append(aid)
                start_next(wid, now)
        elif kind == "done":
            wid, aid, token = data
            eng = engines[wid]
            if eng.current == aid and eng.token == token:
                eng.current = None
                ok = fail_rng.random() >= p.fail_rate
                push(now + p.latency / 2, "result", aid, ok)
                start_next(wid, now)
        elif kind == "cancel":
            wid, aid = data
            cancelled.add(aid)
            eng = engines[wid]
            if eng.current == aid:
                eng.current = None
                eng.token += 1
                start_next(wid, now)
        elif kind == "result":
            aid, ok = data
            if aid not in dropped:
                if ok:
                    cancel(sched.on_success(aid, now, audio_seconds=audio[attempts[aid]]), now)
                else:
                    cancel(sched.on_failure(aid, now, error="simulated failure"), now)
        dispatch(now)
    if sched.quarantined():
        raise RuntimeError(f"{len(sched.quarantined())} units quarantined in simulation")
    return now


def simulate_seed(units: list[SimUnit], audio: dict[str, float], speeds: list[float], p: Params) -> float:
    """Makespan of whole-chapter dispatch: a worker with its result back takes the next chapter."""
    chapters: dict[int, float] = {}
    for u in units:
        chapters[u.chapter_index] = chapters.get(u.chapter_index, 0.0) + audio[u.unit_id]
    free = [(0.0, i) for i in range(len(speeds))]
    heapq.heapify(free)
    makespan = 0.0
    for ci in sorted(chapters):
        t, i = heapq.heappop(free)
        end = t + p.latency + p.overhead + chapters[ci] / speeds[i]
        makespan = max(makespan, end)
        heapq.heappush(free, (end, i))
    return makespan


def offline_reference(audio: dict[str, float], speeds: list[float], p: Params) -> float:
    """What a clairvoyant planner reaches with the same units: true durations known in advance,
    largest first, each on the worker that would finish it earliest, one round trip in all.
    Not a bound, but the granularity the units allow; book order is ignored."""
    ends = [0.0] * len(speeds)
    for seconds in sorted(audio.values(), reverse=True):
        best = min(range(len(speeds)), key=lambda i: ends[i] + seconds / speeds[i])
        ends[best] += p.overhead + seconds / speeds[best]
    return max(ends) + p.latency


# --------------------------------------------------------------- report


def _speeds(n: int, base: float, spread: float, seed: int) -> list[float]:
    rng = random.Random(seed * 1000 + n)
    return [base * rng.uniform(1 - spread, 1 + spread) for _ in range(n)]


def run(args: argparse.Namespace, out: Callable[[str], None] = print) -> bool:
    """Print the table; return True when every reachable row meets the goal."""
    params = Params(args.latency, args.overhead, args.fail_rate)
    sizing = Sizing(args.latency, args.overhead, args.plan_speed or args.base_speed, args.flat_units)
    books = list(args.books or ([] if args.generate else sorted(DEFAULT_BOOKS.glob("*.epub"))))
    if args.generate:
        books.append(generate_book(args.generate, Path(args.generate_dir)))
    if not books:
        out(f"no books found (looked in {DEFAULT_BOOKS})")
        return False
    seeds = [args.seed + i for i in range(args.runs)]
    out(
        f"speeds {args.base_speed:g} x (1 +- {args.spread:g}) audio s/s, latency {args.latency:g} s, "
        f"overhead {args.overhead:g} s/request, estimate noise +-{args.noise:g}, fail rate {args.fail_rate:g}, "
        f"seeds {seeds[0]}..{seeds[-1]}"
    )
    out("ideal = audio / sum(speeds) + latency + overhead: all the audio spread over the workers in proportion "
        "to their speeds,\n  one round trip and ONE request's overhead in all (a lower bound no split reaches "
        "when overhead > 0: each\n  worker pays the overhead once per unit it speaks); "
        "bound = max(ideal, longest sentence on the fastest worker + latency + overhead)")
    out(f"units sized by the planner told latency {sizing.latency:g} s, overhead {sizing.overhead:g} s, "
        f"speed {sizing.speed:g}" + (" (ignored: --flat-units)" if sizing.flat else ""))
    out("ours/seed/offline: makespan / ideal (mean; worst over the seeds for ours); unit%: mean unit time / ideal;")
    out("oh%: units per worker x overhead / ideal (the engine time per worker that the per-request cost "
        "of these units takes, left out of ideal)")
    out("offline: clairvoyant largest-first plan over the same units (what their granularity allows)")
    ok = True
    for path in books:
        for n in args.workers:
            units, source = load_units(Path(path), n, args.units_per_worker, args.min_chars, sizing)
            if not units:
                out(f"{Path(path).name}: no units")
                continue
            ours_r, seed_r, bound_r, unit_share, ref_r, oh_share = [], [], [], [], [], []
            for seed in seeds:
                noise = random.Random(seed * 7919 + n)
                audio = {u.unit_id: u.est_seconds * noise.uniform(1 - args.noise, 1 + args.noise) for u in units}
                speeds = _speeds(n, args.base_speed, args.spread, seed)
                total = sum(audio.values())
                ideal = total / sum(speeds) + params.latency + params.overhead
                longest = max(u.longest_sentence_seconds for u in units)
                bound_r.append(max(ideal, longest / max(speeds) + params.latency + params.overhead) / ideal)
                ours_r.append(simulate_ours(units, audio, speeds, params, seed) / ideal)
                seed_r.append(simulate_seed(units, audio, speeds, params) / ideal)
                ref_r.append(offline_reference(audio, speeds, params) / ideal)
                unit_share.append(total / len(units) / (sum(speeds) / n) / ideal)
                oh_share.append(len(units) / n * params.overhead / ideal)
            if n == args.workers[0]:
                chapters = len({u.chapter_index for u in units})
                out(f"\n{Path(path).name}: {chapters} chapters, {total:.0f} s audio; units from {source} at N={n}")
                out(f"{'N':>3} {'units':>6} {'unit%':>6} {'oh%':>6} {'ours':>6} {'worst':>6} {'seed':>7} "
                    f"{'offline':>7} {'bound':>6}  note")
            worst, bound = max(ours_r), min(bound_r)
            note = ""
            if bound > GOAL:
                note = f"unreachable: the longest sentence alone takes {bound:.2f} x ideal"
            elif worst > GOAL:
                ok = False
                share = sum(unit_share) / len(unit_share)
                note = "MISSES GOAL" + (f" (a unit is {100 * share:.1f}% of ideal: too coarse)" if share > 0.04 else "")
            out(f"{n:>3} {len(units):>6} {100 * sum(unit_share) / len(unit_share):>5.1f}% "
                f"{100 * sum(oh_share) / len(oh_share):>5.1f}% {sum(ours_r) / len(ours_r):>6.3f} {worst:>6.3f} {sum(seed_r) / len(seed_r):>7.3f} "
                f"{sum(ref_r) / len(ref_r):>7.3f} {bound:>6.3f}  {note}")
    return ok


def _parse(argv: Optional[list[str]]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("books", nargs="*", type=Path, help=f"EPUB files (default: {DEFAULT_BOOKS}/*.epub)")
    ap.add_argument("--workers", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2, 4, 8, 16, 32, 64],
                    help="comma-separated worker counts (default 1,2,4,8,16,32,64)")
    ap.add_argument("--base-speed", type=float, default=10.0, help="audio seconds per wall second (default 10)")
    ap.add_argument("--spread", type=float, default=0.3, help="speeds drawn from base x (1 +- spread)")
    ap.add_argument("--latency", type=float, default=0.3, help="request round trip in seconds (default 0.3)")
    ap.add_argument("--overhead", type=float, default=0.0, help="engine seconds per request (default 0)")
    ap.add_argument("--noise", type=float, default=0.1, help="true audio = estimate x (1 +- noise)")
    ap.add_argument("--fail-rate", type=float, default=0.0, help="chance an attempt fails (default 0)")
    ap.add_argument("--units-per-worker", type=int, default=None,
                    help="size units for K per worker instead of the project's units_target_for")
    ap.add_argument("--flat-units", action="store_true",
                    help="size units as before per-request costs were considered (units_target_for only)")
    ap.add_argument("--plan-speed", type=float, default=None,
                    help="worker speed the planner assumes (default: --base-speed)")
    ap.add_argument("--generate", type=int, default=0, metavar="WORDS",
                    help="also run on a generated book of about WORDS words (instead of the default books)")
    ap.add_argument("--generate-dir", default="/tmp", help="where --generate writes its EPUB (default /tmp)")
    ap.add_argument("--min-chars", type=int, default=200, help="smallest unit target with --units-per-worker")
    ap.add_argument("--seed", type=int, default=1, help="first seed (speeds, estimate noise, jitter)")
    ap.add_argument("--runs", type=int, default=3, help="seeds per row (default 3)")
    ap.add_argument("--no-check", action="store_true", help="exit 0 even if the goal is missed")
    return ap.parse_args(argv)


def main(argv: Optional[list[str]] = None) -> int:
    args = _parse(argv)
    try:
        ok = run(args)
    except (BookError, OSError) as exc:
        print(f"scheduler_sim: {exc}", file=sys.stderr)
        return 2
    if not ok and not args.no_check:
        print(f"\nours exceeds {GOAL} x ideal on a row where it is reachable", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
