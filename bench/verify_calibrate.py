"""Calibrate verified audio: false alarms on clean Piper speech, detection and repair of damaged takes.

False alarms: sentences from the shared books (read and split by the project's own
book reader), spoken by clean Piper and heard by Whisper in units as a worker
would, several sentences per unit; the flagged share is printed for a grid of
thresholds (goal: <= 1 % at the chosen one). Detection: the damaging speaker
(tests/support/damaging_engine.py) spoils the first take of every other sentence
of other units; printed are the share of damaged sentences flagged, the share
repaired within the take limit, and the damaged takes that were kept as passed
(goal: none). Also printed: recognition seconds per audio second.

    python bench/verify_calibrate.py [--sentences 1000] [--damaged-sentences 300] [--save FILE]
    python bench/verify_calibrate.py --load FILE        # thresholds again, without speaking or hearing
    python bench/verify_calibrate.py --load FILE --retake-loaded --damaged-only   # after a change of rules

Costly: about an hour of speech is synthesised and heard on one thread each. Run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import glob
import json
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Iterator, Sequence

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from remote_worker.audio import assemble  # noqa: E402
from remote_worker.engines.piper import PiperEngine  # noqa: E402
from remote_worker.protocol import TTSConfig  # noqa: E402
from remote_worker.verify import (  # noqa: E402
    HeardWord,
    SpeechRecognizer,
    Thresholds,
    Verifier,
    judge_unit,
    retake_flagged,
    verify_unit_pieces,
)
from remote_worker.verify.normalize import TextNormalizer, normalize_words  # noqa: E402
from remote_worker.verify.pace import (  # noqa: E402
    flag_overlong,
    speech_length,
    spoken_chars,
    unit_pace,
)
from remote_worker.verify.phonetic import Phonemes, rescue  # noqa: E402
from remote_worker.verify.verifier import relisten_layout, silent_spans  # noqa: E402
from remote_worker.verify.windowed import judge_windows  # noqa: E402
from remote_worker.verify.windows import Window, plan_windows  # noqa: E402
from tests.support.damaging_engine import Damage, DamagingSpeaker  # noqa: E402
from tui.book.ingest import load_book  # noqa: E402
from tui.book.units import make_units  # noqa: E402

BOOKS = REPO.parent / "shared" / "books"
SENTENCE_GAP_MS, PARAGRAPH_GAP_MS = 250, 600
SCORES = (0.4, 0.5, 0.6, 0.7, 0.8)
RUNS = (3, 4, 5, 6)
STRICTEST = Thresholds(min_score=max(SCORES), max_missing_run=min(RUNS))
_PHONEMES = Phonemes()
_CYCLE = (Damage.DROP_END, Damage.REPEAT, Damage.BABBLE, Damage.SILENCE)


def book_units(paths: Sequence[Path], unit_chars: int) -> dict[str, list[tuple[list[str], list[int]]]]:
    """Per book, its units as (sentences, paragraph starts), split exactly as a run would split them."""
    out = {}
    for path in paths:
        book = load_book(path)
        units = make_units(book, engine_key="piper", target_chars=unit_chars)
        out[path.name] = [(list(u.sentences), list(u.paragraph_starts)) for u in units]
    return out


def pick(units: dict[str, list[tuple[list[str], list[int]]]], wanted: int, skip: int = 0,
         ) -> Iterator[tuple[str, list[str], list[int]]]:
    """Units taken in turn from each book (after the first ``skip`` of each) until ``wanted`` sentences."""
    total = 0
    position = {name: skip for name in units}
    while total < wanted and any(position[n] < len(units[n]) for n in units):
        for name, items in units.items():
            if position[name] < len(items) and total < wanted:
                sentences, starts = items[position[name]]
                position[name] += 1
                total += len(sentences)
                yield name, sentences, starts


def speak_unit(engine: PiperEngine, pieces: list[np.ndarray], starts: list[int]) -> tuple[np.ndarray, list]:
    audio = assemble(pieces, engine.sample_rate, sentence_gap_ms=SENTENCE_GAP_MS,
                     paragraph_gap_ms=PARAGRAPH_GAP_MS, paragraph_starts=starts)
    return audio.samples, audio.timings_seconds()


def hear_clean(engine: PiperEngine, recognizer: SpeechRecognizer, wanted: int, units: dict,
               hearing: str = "windows") -> list[dict]:
    """Speak and hear clean units; keep what is needed to judge them again at other thresholds."""
    records = []
    done = 0
    for name, sentences, starts in pick(units, wanted):
        t0 = time.perf_counter()
        pieces = [engine.synthesize(s, TTSConfig()) if s.strip() else np.zeros(0, np.float32) for s in sentences]
        tts = time.perf_counter() - t0
        samples, timings = speak_unit(engine, pieces, starts)
        silent = silent_spans(samples, engine.sample_rate, timings)
        record = {"book": name, "sentences": sentences, "timings": timings, "silent": silent, "tts_s": tts,
                  "hearing": hearing}
        if hearing == "windows":
            windows = plan_windows(samples, engine.sample_rate, timings)
            heard = recognizer.hear_windows(samples, engine.sample_rate, windows, "en")
            record.update(windows=[asdict(w) for w in windows], texts=heard.texts, audio_s=heard.audio_seconds,
                          asr_s=heard.asr_seconds)
            first = judge_windows(windows, heard.texts, sentences, timings, limits=STRICTEST, silent=silent)
        else:
            transcript = recognizer.transcribe(samples, engine.sample_rate, "en")
            record.update(words=[asdict(w) for w in transcript.words], audio_s=transcript.audio_seconds,
                          asr_s=transcript.asr_seconds)
            first = judge_unit(transcript.words, sentences, timings, limits=STRICTEST, silent=silent)
        # the second listen (Verifier.check_unit) for every sentence the strictest thresholds flag: a superset
        # of what any threshold in the grid sends to it, so each can be judged again from this record
        again = [i for i, v in enumerate(first) if v.flagged and not silent[i]]
        if again:
            rate = engine.sample_rate
            laid, order, spans = relisten_layout(samples, rate, timings, again)
            second = recognizer.transcribe(laid, rate, "en", careful=True)  # as Verifier's second listen
            record["second"] = {"index": order, "flagged": again, "timings": spans,
                                "silent": silent_spans(laid, rate, spans), "words": [asdict(w) for w in second.words]}
            record["asr_s"] += second.asr_seconds
        records.append(record)
        done += len(sentences)
        print(f"  clean: {done} sentences, {sum(r['audio_s'] for r in records):.0f} s of audio", file=sys.stderr)
    return records


def judge_records(records: list[dict], limits: Thresholds, by_sound: bool = True) -> list[tuple[str, str, Any]]:
    """(book, sentence, verdict) for every sentence of every record."""
    normalizer = TextNormalizer("en")
    out = []
    for record in records:
        verdicts = judge_record(record, limits, normalizer, by_sound)
        out.extend((record["book"], s, v) for s, v in zip(record["sentences"], verdicts))
    return out


def judge_record(record: dict, limits: Thresholds, normalizer: TextNormalizer, by_sound: bool = True) -> list:
    """A unit's verdicts from its saved hearings, as Verifier.check_unit reaches them."""
    if record.get("hearing", "timestamps") == "windows":
        verdicts = judge_windows([Window(**w) for w in record["windows"]], record["texts"], record["sentences"],
                                 [tuple(t) for t in record["timings"]], normalizer=normalizer, limits=limits,
                                 silent=record["silent"])
    else:
        words = [HeardWord(**w) for w in record["words"]]
        verdicts = judge_unit(words, record["sentences"], [tuple(t) for t in record["timings"]],
                              normalizer=normalizer, limits=limits, silent=record["silent"])
    second = record.get("second")
    if second is not None and any(verdicts[i].flagged for i in second.get("flagged", second["index"])):
        again = judge_unit([HeardWord(**w) for w in second["words"]],
                           [record["sentences"][i] for i in second["index"]],
                           [tuple(t) for t in second["timings"]], normalizer=normalizer, limits=limits,
                           silent=second["silent"])
        for i, verdict in zip(second["index"], again):
            if i in second.get("flagged", second["index"]) and verdicts[i].flagged and verdict.passed:
                verdicts[i] = verdict
    if by_sound:
        verdicts = [rescue(v, text, "en", _PHONEMES, limits) for v, text in zip(verdicts, record["sentences"])]
    words_of = [normalizer.words(s) for s in record["sentences"]]
    chars = [spoken_chars(w) for w in words_of]
    lengths = [speech_length(s, w) for s, w in zip(record["sentences"], words_of)]
    pace = unit_pace(chars, lengths, record["timings"], verdicts, limits)
    record["pace_ratios"] = [(e - b) / (length * pace) for n, length, (b, e)
                             in zip(chars, lengths, record["timings"]) if pace and n >= limits.length_min_chars]
    verdicts = flag_overlong(verdicts, chars, lengths, record["timings"], pace, limits)
    return verdicts


def retake_clean(engine: PiperEngine, verifier: Verifier, records: list[dict], max_takes: int) -> None:
    """What a worker would still report on clean speech: flagged sentences spoken again and heard again."""
    normalizer = TextNormalizer("en")
    flagged = left = takes = 0
    for record in records:
        sentences = record["sentences"]
        verdicts = judge_record(record, verifier.limits, normalizer)
        if not any(v.flagged for v in verdicts):
            continue
        speaker = DamagingSpeaker(engine, sentences, {})
        results = retake_flagged(
            len(sentences), speaker,
            lambda ids, audio, s=sentences: verifier.check_takes(audio, engine.sample_rate, [s[i] for i in ids],
                                                                 "en").verdicts,
            max_takes=max_takes, first=([np.zeros(0, np.float32)] * len(sentences), verdicts))
        flagged += sum(v.flagged for v in verdicts)
        left += sum(r.verdict.flagged for r in results)
        takes += sum(r.takes - 1 for r in results)
    total = sum(len(r["sentences"]) for r in records)
    print(f"  after up to {max_takes} takes (clean retakes at other paces): {left} of {total} still flagged = "
          f"{100 * left / total:.2f}% reported to the user; {takes} retakes spoken for {flagged} flagged sentences")


def report_clean(records: list[dict], chosen: Thresholds, show: int) -> None:
    judged = judge_records(records, chosen)
    total = len(judged)
    audio = sum(r["audio_s"] for r in records)
    print(f"\nclean speech: {total} sentences in {len(records)} units, {audio / 60:.1f} min of audio, "
          f"books: {', '.join(sorted({r['book'] for r in records}))}")
    print(f"  ASR {sum(r['asr_s'] for r in records) / audio:.3f} s per audio s;"
          f" Piper {sum(r['tts_s'] for r in records) / audio:.3f} s per audio s (1 thread each)")
    print("  flagged % by min_score (rows) and max_missing_run (columns):")
    print("           " + "".join(f"run>={r:<5}" for r in RUNS))
    for score in SCORES:
        cells = []
        for run in RUNS:
            limits = replace(chosen, min_score=score, max_missing_run=run)
            flagged = sum(1 for _, _, v in judge_records(records, limits) if v.flagged)
            cells.append(f"{100 * flagged / total:6.2f}%  ")
        print(f"  score<{score:.1f} " + "".join(cells))
    flagged = [(b, s, v) for b, s, v in judged if v.flagged]
    kinds: dict[str, int] = {}
    for _, _, v in flagged:
        kinds[v.problem] = kinds.get(v.problem, 0) + 1
    print(f"  chosen {chosen}: {len(flagged)} flagged = {100 * len(flagged) / total:.2f}% "
          f"({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))})")
    by_words = sum(1 for _, _, v in judge_records(records, chosen, by_sound=False) if v.flagged)
    print(f"  judged by words alone (no phoneme comparison): {by_words} flagged = {100 * by_words / total:.2f}%")
    for book in sorted({b for b, _, _ in judged}):
        mine = [v for b, _, v in judged if b == book]
        print(f"    {book}: {sum(v.flagged for v in mine)} of {len(mine)} flagged "
              f"({100 * sum(v.flagged for v in mine) / len(mine):.2f}%), "
              f"{sum(v.status == 'unverified' for v in mine)} unverified")
    ratios = sorted(x for r in records for x in r.get("pace_ratios", []))
    if ratios:
        print(f"  length per character over the unit's pace, {len(ratios)} sentences of "
              f"{chosen.length_min_chars}+ characters: median {ratios[len(ratios) // 2]:.2f}, "
              f"99th percentile {ratios[int(0.99 * (len(ratios) - 1))]:.2f}, max {ratios[-1]:.2f} "
              f"(flagged above {chosen.max_length_ratio})")
    aside = [(b, s, v) for b, s, v in judged if v.status == "unverified"]
    print(f"  unverified (lines in another language): {len(aside)} = {100 * len(aside) / total:.2f}%: "
          + "; ".join(repr(s) for _, s, _ in aside[:show]))
    for book, text, v in flagged[:show]:
        print(f"    [{v.problem} {v.score:.2f} run {v.missing_run}] {book}: {text!r} -> heard {v.heard!r}")


def damage_plan(sentences: list[str], unit_index: int) -> dict[int, Damage]:
    plan: dict[int, Damage] = {}
    for index, text in enumerate(sentences):
        if index % 2 == 1 or not normalize_words(text):
            continue
        kind = _CYCLE[(unit_index + index // 2) % len(_CYCLE)]
        if len(text.split()) == 1 and kind is Damage.SILENCE:
            kind = Damage.DROP
        plan[index] = kind
    return plan


def run_damaged(engine: PiperEngine, verifier: Verifier, wanted: int, units: dict, skip: int,
                max_takes: int, show: int) -> None:
    damaged = detected = repaired = unreported = reported = clean = clean_flagged = 0
    by_kind: dict[str, list[int]] = {}
    asr_s = audio_s = 0.0
    misses: list[str] = []
    for unit_index, (name, sentences, starts) in enumerate(pick(units, wanted, skip)):
        plan = damage_plan(sentences, unit_index)
        speaker = DamagingSpeaker(engine, sentences, plan)
        pieces = [speaker(i, 0) if s.strip() else np.zeros(0, np.float32) for i, s in enumerate(sentences)]
        unit = verify_unit_pieces(verifier, pieces, engine.sample_rate, sentences, "en", speaker,
                                  max_takes=max_takes)
        asr_s += unit.asr_seconds
        audio_s += unit.audio_seconds
        check, results = unit.first_check, unit.results
        for index, (verdict, result) in enumerate(zip(check.verdicts, results)):
            if not sentences[index].strip():
                continue
            if index not in plan:
                clean += 1
                clean_flagged += verdict.flagged
                continue
            kind = plan[index].value
            tally = by_kind.setdefault(kind, [0, 0, 0])
            damaged += 1
            tally[0] += 1
            if verdict.flagged:
                detected += 1
                tally[1] += 1
            elif len(misses) < show:
                misses.append(f"    [{kind}] {sentences[index]!r} -> heard {verdict.heard!r}")
            if result.passed and result.kept_take >= speaker.damaged_takes:
                repaired += 1
                tally[2] += 1
            if result.passed and result.kept_take < speaker.damaged_takes:
                unreported += 1
            elif not result.passed:
                reported += 1
        print(f"  damaged: {damaged} damaged sentences so far", file=sys.stderr)
    print(f"\ndamaged takes: {damaged} damaged sentences (first take), {clean} clean ones beside them")
    print(f"  detected {100 * detected / max(1, damaged):.1f}%  repaired within {max_takes} takes "
          f"{100 * repaired / max(1, damaged):.1f}%  still failing and reported: {reported}  "
          f"damaged but kept as passed (unreported): {unreported}")
    print(f"  clean sentences in the same units flagged: {100 * clean_flagged / max(1, clean):.2f}%")
    for kind, (n, found, fixed) in sorted(by_kind.items()):
        print(f"    {kind:9} {n:4}  detected {100 * found / n:5.1f}%  repaired {100 * fixed / n:5.1f}%")
    print(f"  ASR with retakes {asr_s / max(audio_s, 1e-9):.3f} s per audio s")
    for line in misses:
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--books", nargs="*", type=Path, default=None, help="EPUBs (default: ../shared/books/*.epub)")
    parser.add_argument("--sentences", type=int, default=1000, help="clean sentences (false alarms)")
    parser.add_argument("--damaged-sentences", type=int, default=300, help="sentences in damaged units")
    parser.add_argument("--unit-chars", type=int, default=800, help="unit size as the orchestrator sets it")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--hearing", choices=("windows", "timestamps"), default="windows",
                        help="how a unit is heard first (Verifier's hearing)")
    parser.add_argument("--max-takes", type=int, default=3)
    parser.add_argument("--show", type=int, default=25, help="flagged clean / missed damaged sentences to list")
    parser.add_argument("--save", type=Path, default=None, help="write what was heard on clean speech here")
    parser.add_argument("--load", type=Path, default=None, help="judge a saved hearing again; speak nothing")
    parser.add_argument("--retake-loaded", action="store_true",
                        help="with --load: speak and hear again the clean sentences it flags (what the user sees)")
    parser.add_argument("--damaged-only", action="store_true",
                        help="only the damaged units (after the units --sentences would take)")
    args = parser.parse_args()
    chosen = Thresholds()

    started = time.monotonic()
    records = json.loads(args.load.read_text()) if args.load is not None else None
    if records is not None:
        report_clean(records, chosen, args.show)
        if not (args.retake_loaded or args.damaged_only):
            return
    paths = args.books or [Path(p) for p in sorted(glob.glob(str(BOOKS / "*.epub")))]
    if not paths:
        raise SystemExit(f"no books: pass --books or put EPUBs in {BOOKS}")
    engine = PiperEngine(threads=args.threads)
    engine.load()
    recognizer = SpeechRecognizer(threads=args.threads)
    recognizer.load()
    if records is None and args.sentences > 0 and not args.damaged_only:
        records = hear_clean(engine, recognizer, args.sentences, book_units(paths, args.unit_chars), args.hearing)
        if args.save is not None:
            args.save.write_text(json.dumps(records))
        report_clean(records, chosen, args.show)
    if records is not None and (args.load is None or args.retake_loaded):
        retake_clean(engine, Verifier(recognizer, chosen, hearing=args.hearing), records, args.max_takes)
    if args.damaged_sentences > 0 and (args.load is None or args.damaged_only):
        units = book_units(paths, args.unit_chars)
        used = {name: 0 for name in units}
        for name, _, _ in pick(units, args.sentences):
            used[name] += 1
        skip = max(used.values(), default=0)
        run_damaged(engine, Verifier(recognizer, chosen, hearing=args.hearing), args.damaged_sentences, units, skip,
                    args.max_takes, args.show)
    print(f"\nwall time {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
