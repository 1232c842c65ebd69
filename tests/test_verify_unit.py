"""Per-sentence verdicts from one unit's transcript, with made-up timings (no model needed)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from remote_worker.verify import (
    HeardWord,
    Thresholds,
    Verifier,
    asr_availability,
    judge_sentence,
    judge_unit,
)
from remote_worker.verify.normalize import normalize_words
from remote_worker.verify.verifier import (
    TAKE_GAP_S,
    layout_takes,
    relisten_layout,
    silent_spans,
    with_context,
)

SENTENCES = ["The old ferry came slowly into the harbour.", "Yes.", "She read the letter twice and put it away."]
SPANS = [(0.0, 3.0), (3.3, 3.8), (4.1, 7.0)]


def heard(text: str, start: float, end: float) -> list[HeardWord]:
    """The words of ``text`` spread evenly over [start, end], as a recogniser would write them."""
    words = text.split()
    step = (end - start) / len(words)
    return [HeardWord(w, start + k * step, start + (k + 1) * step) for k, w in enumerate(words)]


def clean_words() -> list[HeardWord]:
    return heard("the old ferry came slowly into the harbor.", 0.1, 2.9) + heard("Yes.", 3.35, 3.7) + \
        heard("She read the letter twice and put it away.", 4.2, 6.9)


def test_clean_unit_passes_every_sentence_including_one_word() -> None:
    verdicts = judge_unit(clean_words(), SENTENCES, SPANS)
    assert [v.status for v in verdicts] == ["passed"] * 3
    assert verdicts[1].heard == "Yes." and verdicts[1].score == 1.0 and verdicts[1].expected_words == 1


def test_words_straddling_or_drifting_over_a_boundary_stay_with_their_sentence() -> None:
    words = clean_words()
    # the last word of the first sentence runs into the second; "Yes." drifts over the pause into the third
    words[7] = HeardWord("harbor.", 2.9, 3.45)
    words[8] = HeardWord("Yes.", 3.6, 4.2)
    verdicts = judge_unit(words, SENTENCES, SPANS)
    assert all(v.passed for v in verdicts), verdicts


def test_a_word_inside_the_next_sentence_is_not_lent_to_the_one_before() -> None:
    sentences = ["The Rabbi and the Diadem.", "The rabbi sat down."]
    spans = [(0.0, 1.0), (1.25, 2.5)]  # the first sentence lost its ending: "The Rabbi." only
    words = heard("The Rabbi.", 0.1, 0.9) + heard("The rabbi sat down.", 1.3, 2.4)
    verdicts = judge_unit(words, sentences, spans)
    assert verdicts[0].flagged and verdicts[0].heard == "The Rabbi." and verdicts[1].passed


def test_a_missing_one_word_sentence_is_not_covered_by_the_same_word_elsewhere() -> None:
    sentences = ["Yes.", "Yes, she said, it was a fine morning for a walk."]
    spans = [(0.0, 0.5), (0.8, 4.0)]
    words = heard("Yes, she said, it was a fine morning for a walk.", 0.9, 3.9)
    verdicts = judge_unit(words, sentences, spans, silent=[True, False])
    assert verdicts[0].problem == "silence" and verdicts[1].passed


def test_each_kind_of_damage_gets_its_own_problem() -> None:
    expected = normalize_words("The old ferry came slowly into the harbour, and the lanterns swung in the wind.")
    cut = judge_sentence(expected, normalize_words("The old ferry came slowly"))
    assert cut.flagged and cut.problem == "missing" and cut.missing_run == 10
    twice = judge_sentence(expected, normalize_words(
        "The old ferry came slowly, the old ferry came slowly into the harbour, and the lanterns swung in the wind."))
    assert twice.flagged and twice.problem == "repeat" and twice.repeated and twice.inserted == 5
    babble = judge_sentence(expected, normalize_words("Lemon pencil kitchen piano orange seven copper river blanket"))
    assert babble.flagged and babble.problem == "babble"
    silence = judge_sentence(expected, [], silent=True)
    assert silence.flagged and silence.problem == "silence" and silence.score == 0.0
    short = judge_sentence(["yes"], [])
    assert short.flagged and short.problem == "silence"
    said_twice = judge_sentence(["yes"], ["yes", "yes"])
    assert said_twice.flagged and said_twice.repeated


def test_one_misheard_word_in_a_long_sentence_passes() -> None:
    expected = normalize_words("Nobody in the village had ever seen such a thing before.")
    verdict = judge_sentence(expected, normalize_words("Nobody in the garden had ever seen such a thing before."))
    assert verdict.passed and verdict.score < 1.0


def test_a_common_pair_heard_twice_is_not_a_repeated_clause() -> None:
    expected = normalize_words("He walked to the end of the road and sat down at the side of the road.")
    verdict = judge_sentence(expected, normalize_words(
        "He walked to the end of the of the road and sat down at the side of the road."))
    assert verdict.passed and not verdict.repeated


def test_thresholds_decide() -> None:
    expected = normalize_words("one two three four five six seven eight nine ten")
    heard_words = normalize_words("one two three four five six seven")
    assert judge_sentence(expected, heard_words, limits=Thresholds(max_missing_run=3)).problem == "missing"
    assert judge_sentence(expected, heard_words, limits=Thresholds(max_missing_run=4, min_score=0.6)).passed


def test_silence_and_layout_helpers() -> None:
    rate = 1000
    tone = np.full(500, 0.3, dtype=np.float32)
    audio, spans = layout_takes([tone, np.zeros(0, np.float32), tone], rate, gap_s=0.2)
    assert spans == [(0.0, 0.5), (0.7, 0.7), (0.9, 1.4)] and audio.size == 1600
    assert silent_spans(audio, rate, spans) == [False, True, False]


def test_without_a_recogniser_every_sentence_is_unverified_never_passed() -> None:
    check = Verifier(None).check_unit(np.zeros(100, np.float32), 1000, ["Yes.", "No."], [(0, 0.05), (0.05, 0.1)], "en")
    assert [v.status for v in check.verdicts] == ["unverified", "unverified"]
    assert not any(v.passed for v in check.verdicts) and "recogniser" in check.reason


def test_availability_says_why_when_faster_whisper_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "faster_whisper", None)  # import now raises ImportError
    found = asr_availability()
    assert not found and "faster-whisper" in found.reason
    assert not asr_availability("/nonexistent/whisper-model").available


def test_a_misheard_rare_word_is_not_a_missing_word() -> None:
    expected = normalize_words("Tree stems consist mainly of xylem and phloem, as Woolnoth said.")
    said = "Tree stems consist mainly of xalom and flom, as will not said."
    verdict = judge_sentence(expected, normalize_words(said))
    assert verdict.passed and verdict.missing_run == 0


def test_a_short_sentence_said_twice_is_a_repeat() -> None:
    for text, said in [("He did, I was there.", "He did, he did, I was there."),
                       ("Nothing again nothing.", "Nothing again, nothing again, nothing.")]:
        verdict = judge_sentence(normalize_words(text), normalize_words(said))
        assert verdict.flagged and verdict.problem == "repeat", (text, verdict)


def test_a_line_in_another_language_is_unverified_not_flagged() -> None:
    sentences = ["The wind blew over the sea.", "Frisch weht der Wind",
                 "Et O ces voix d'enfants, chantant dans la coupole!"]
    spans = [(0.0, 2.0), (2.3, 3.5), (3.8, 6.0)]
    words = heard("The wind blew over the sea.", 0.1, 1.9) + heard("First wait, dare when?", 2.4, 3.4) + \
        heard("A toe say wa dawn fawn shawn tawn don la cope pole", 3.9, 5.9)
    verdicts = judge_unit(words, sentences, spans)
    assert [v.status for v in verdicts] == ["passed", "unverified", "unverified"]
    assert "(de)" in verdicts[1].reason and "(fr)" in verdicts[2].reason and verdicts[1].heard


def test_a_repeat_with_a_misheard_word_is_still_a_repeat() -> None:
    expected = normalize_words("Sweet Thames, run softly, for I speak not loud or long.")
    said = "Sweet towns, sweet towns, run softly, for I speak not loud or long."
    verdict = judge_sentence(expected, normalize_words(said))
    assert verdict.flagged and verdict.problem == "repeat"
    written_twice = normalize_words("Good night, ladies, good night, sweet ladies, good night, good night.")
    assert judge_sentence(written_twice, written_twice).passed


def test_a_second_listen_hears_each_flagged_run_after_the_sentence_before_it() -> None:
    assert with_context([0, 3, 4, 7]) == [[0], [2, 3, 4], [6, 7]]
    rate = 100
    audio = np.arange(1000, dtype=np.float32)
    timings = [(0.0, 1.0), (1.5, 3.0), (3.5, 5.0), (5.5, 7.0)]
    laid, order, spans = relisten_layout(audio, rate, timings, [2])
    assert order == [1, 2] and spans == [(0.0, 1.5), (2.0, 3.5)]
    assert laid[0] == 150 and laid[349] == 499 and laid.size == 350 + int(TAKE_GAP_S * rate)


def test_a_dropped_ending_is_not_hidden_by_joining_a_short_word_onto_a_long_one() -> None:
    verdict = judge_sentence(normalize_words("I'm suffering, I'm longing!"), normalize_words("I'm suffering."))
    assert verdict.flagged and verdict.matched_words == 2
