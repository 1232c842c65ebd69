"""Hearing windows cut between sentences, and verdicts from what each window heard (no model needed)."""

from __future__ import annotations

import numpy as np
import pytest

from remote_worker.verify.normalize import normalize_words
from remote_worker.verify.pace import speech_length
from remote_worker.verify.windowed import judge_windows
from remote_worker.verify.windows import WINDOW_S, Window, plan_windows

RATE = 16_000


def tone_unit(lengths: list[float], gap: float = 0.4) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Audio of sentences ``lengths`` seconds long (a tone) with ``gap`` s of silence between and around."""
    parts, timings, cursor = [np.zeros(round(gap * RATE), np.float32)], [], gap
    for length in lengths:
        t = np.arange(round(length * RATE)) / RATE
        parts.append((0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32))
        timings.append((cursor, cursor + length))
        cursor += length + gap
        parts.append(np.zeros(round(gap * RATE), np.float32))
    return np.concatenate(parts), timings


def test_windows_hold_whole_sentences_cut_in_the_pauses_and_cover_the_audio() -> None:
    audio, timings = tone_unit([4.0, 6.0, 9.0, 7.0, 3.0, 8.0, 5.0, 2.0])
    windows = plan_windows(audio, RATE, timings)
    assert [(w.first, w.last) for w in windows] == [(0, 3), (4, 7)]
    assert windows[0].start == 0.0 and windows[-1].end == pytest.approx(audio.size / RATE)
    for before, after in zip(windows, windows[1:]):
        assert before.end == after.start
        # the cut lies in the pause between the last sentence of one window and the first of the next
        assert timings[before.last][1] < before.end < timings[after.first][0]
    assert all(w.seconds <= WINDOW_S for w in windows)
    for w in windows:
        for s in w.sentences:
            assert w.start <= timings[s][0] and timings[s][1] <= w.end


def test_a_sentence_longer_than_a_window_is_cut_at_its_quietest_moment() -> None:
    audio, timings = tone_unit([3.0, 40.0, 3.0])
    start, _ = timings[1]
    quiet_at = start + 20.0
    audio[round(quiet_at * RATE):round((quiet_at + 0.2) * RATE)] = 0.0  # a pause inside the long sentence
    windows = plan_windows(audio, RATE, timings)
    pieces = [w for w in windows if w.sentences == range(1, 2)]
    assert len(pieces) == 2 and [p.part for p in pieces] == [0, 1]
    assert quiet_at <= pieces[0].end <= quiet_at + 0.2
    assert [(w.first, w.last) for w in windows] == [(0, 0), (1, 1), (1, 1), (2, 2)]
    assert all(w.seconds <= WINDOW_S for w in windows)


def test_no_sentences_no_windows() -> None:
    assert plan_windows(np.zeros(RATE, np.float32), RATE, []) == []


SENTENCES = ["The old ferry came slowly into the harbour.", "Yes.", "She read the letter twice and put it away.",
             "Then she walked home along the sea wall."]
ONE = [Window(0.0, 20.0, 0, 3)]


def spans(said: list[str], gap: float = 0.4, pace: float = 0.06) -> list[tuple[float, float]]:
    """Each sentence's span if the engine said ``said[i]`` for it at a steady ``pace`` (s per character)."""
    out, cursor = [], gap
    for text in said:
        length = speech_length(text, normalize_words(text)) * pace if text else 0.0
        out.append((cursor, cursor + length))
        cursor += length + gap
    return out


CLEAN = spans(SENTENCES)


def test_a_clean_window_passes_every_sentence_including_one_word() -> None:
    text = "The old ferry came slowly into the harbor. Yes. She read the letter twice and put it away. " \
           "Then she walked home along the seawall."
    verdicts = judge_windows(ONE, [text], SENTENCES, CLEAN)
    assert [v.status for v in verdicts] == ["passed"] * 4
    assert verdicts[1].heard == "Yes." and verdicts[1].score == 1.0


def test_a_dropped_one_word_sentence_is_flagged_not_covered_by_its_neighbours() -> None:
    text = "The old ferry came slowly into the harbor. She read the letter twice and put it away. " \
           "Then she walked home along the sea wall."
    verdicts = judge_windows(ONE, [text], SENTENCES, spans([SENTENCES[0], "", *SENTENCES[2:]]))
    assert [v.status for v in verdicts] == ["passed", "flagged", "passed", "passed"]
    assert verdicts[1].problem == "silence"


def test_a_dropped_ending_and_a_repeated_clause_are_found_in_their_own_sentences() -> None:
    text = "The old ferry came. Yes. She read the letter twice, read the letter twice and put it away. " \
           "Then she walked home along the sea wall."
    verdicts = judge_windows(ONE, [text], SENTENCES, spans(["The old ferry came.", "Yes.", "She read the letter twice, read the letter twice and put it away.", SENTENCES[3]]))
    assert [v.problem for v in verdicts] == ["missing", "", "repeat", ""]
    assert verdicts[0].missing_run == 4
    assert verdicts[1].passed and verdicts[3].passed


def test_a_clause_repeated_at_the_start_of_a_sentence_is_charged_to_that_sentence() -> None:
    text = "The old ferry came slowly into the harbor. Yes. She read the letter, she read the letter twice " \
           "and put it away. Then she walked home along the sea wall."
    verdicts = judge_windows(ONE, [text], SENTENCES, spans([*SENTENCES[:2], "She read the letter, she read the letter twice and put it away.", SENTENCES[3]]))
    assert [v.status for v in verdicts] == ["passed", "passed", "flagged", "passed"]
    assert verdicts[2].problem == "repeat"


def test_babble_in_place_of_a_sentence_goes_to_that_sentence() -> None:
    text = "The old ferry came slowly into the harbor. Yes. Grob mandle fip qua torvin esh. " \
           "Then she walked home along the sea wall."
    verdicts = judge_windows(ONE, [text], SENTENCES, spans([*SENTENCES[:2], "Grob mandle fip qua torvin esh.", SENTENCES[3]]))
    assert [v.status for v in verdicts] == ["passed", "passed", "flagged", "passed"]
    assert verdicts[2].problem in ("babble", "missing", "mismatch")
    assert "Grob" in verdicts[2].heard


def test_misheard_words_between_sentences_are_shared_out_in_order() -> None:
    # "harbour" and "She" both misheard: one odd word ends the first sentence, the other starts the third
    text = "The old ferry came slowly into the hardware. Yes. Sheep read the letter twice and put it away. " \
           "Then she walked home along the sea wall."
    verdicts = judge_windows(ONE, [text], SENTENCES, CLEAN)
    assert all(v.passed for v in verdicts), verdicts
    assert verdicts[0].heard.endswith("hardware.") and verdicts[2].heard.startswith("Sheep")


def test_a_silent_sentence_gets_no_words_and_nothing_heard_is_silence() -> None:
    text = "The old ferry came slowly into the harbor. Yes. She read the letter twice and put it away. " \
           "Then she walked home along the sea wall."
    verdicts = judge_windows(ONE, [text], SENTENCES, CLEAN, silent=[False, False, False, True])
    assert verdicts[3].flagged and verdicts[3].problem == "silence"
    verdicts = judge_windows(ONE, [""], SENTENCES, CLEAN)
    assert [v.problem for v in verdicts] == ["silence"] * 4


def test_pieces_of_a_long_sentence_are_judged_together_and_windows_apart() -> None:
    sentences = ["Yes.", "A very long line that goes on and on past the end of one window.", "No."]
    windows = [Window(0, 2, 0, 0), Window(2, 30, 1, 1), Window(30, 40, 1, 1, part=1), Window(40, 42, 2, 2)]
    texts = ["Yes.", "A very long line that goes on and on", "past the end of one window.", "Yes."]
    verdicts = judge_windows(windows, texts, sentences, [(0.2, 1.8), (2.2, 39.8), (40.2, 41.8)])
    assert [v.status for v in verdicts] == ["passed", "passed", "flagged"]
    # a word heard in another window never stands in for a sentence's own
    assert verdicts[2].problem in ("babble", "mismatch", "missing")


def test_windows_and_texts_must_pair_up() -> None:
    with pytest.raises(ValueError):
        judge_windows(ONE, [], SENTENCES, CLEAN)


def test_a_cut_take_babble_and_a_repeat_in_one_window_are_each_found() -> None:
    """What Whisper tiny.en heard of a damaged Piper unit (tests/test_verify_speech.py) in one window."""
    sentences = ["Yes.", "In 1984 he was 21.",
                 "The old ferry came slowly into the harbour, and the lanterns swung in the wind.", "Huh!",
                 "Mr. Smith went to St. James Street on the 3rd of May.",
                 "She opened the letter, read it twice, and put it away without a word.", "Stop!",
                 "Nobody in the village had ever seen such a thing before."]
    babble = "Purple engine window by a lentilophone pencil seven yesterday yesterday orange telephone carpet."
    said = ["", sentences[1], "The old ferry came slowly into", sentences[3], babble,
            "She opened the letter, she opened the letter, read it twice, and put it away without a word.",
            sentences[6], ""]
    text = ("In 1984 he was 21. The old fairy came slowly into. Ah, purple engine window by a lentilophone pencil "
            "seven yesterday yesterday orange telephone carpet. She opened the letter, she opened the letter, "
            "read it twice, and put it away without a word. Stop.")
    verdicts = judge_windows([Window(0.0, 22.0, 0, 7)], [text], sentences, spans(said),
                             silent=[True, False, False, False, False, False, False, True])
    assert {i: v.problem for i, v in enumerate(verdicts) if v.flagged} == {
        0: "silence", 2: "missing", 4: "babble", 5: "repeat", 7: "silence"}, [(v.problem, v.heard) for v in verdicts]
