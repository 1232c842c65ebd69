"""Verified audio end to end: real Piper speech heard back by real Whisper ``tiny.en``, offline.

A clean unit passes, one-word sentences and numbers included; each kind of damage
done by the damaging speaker is flagged as that kind; the retake loop repairs the
damaged first takes within three takes; a unit in a language the model does not
know is unverified, never passed.
"""

from __future__ import annotations

import numpy as np
import pytest

from remote_worker.audio import assemble
from remote_worker.protocol import TTSConfig
from remote_worker.verify import UnitCheck, Verifier, retake_flagged, verify_unit_pieces
from tests.support import verify_models
from tests.support.damaging_engine import Damage, DamagingSpeaker

pytestmark = pytest.mark.skipif(verify_models.unavailable() is not None,
                                reason=f"speech recognition unavailable: {verify_models.unavailable()}")

SENTENCES = [
    "Yes.",
    "In 1984 he was 21.",
    "The old ferry came slowly into the harbour, and the lanterns swung in the wind.",
    "Huh!",
    "Mr. Smith went to St. James Street on the 3rd of May.",
    "She opened the letter, read it twice, and put it away without a word.",
    "Stop!",
    "Nobody in the village had ever seen such a thing before.",
]
DAMAGE = {0: Damage.DROP, 2: Damage.DROP_END, 4: Damage.BABBLE, 5: Damage.REPEAT, 7: Damage.SILENCE}
EXPECTED_PROBLEM = {0: "silence", 2: "missing", 4: "babble", 5: "repeat", 7: "silence"}


@pytest.fixture(scope="module")
def verifier() -> Verifier:
    return Verifier(verify_models.recognizer())


def speak_unit(speaker: DamagingSpeaker) -> tuple[list[np.ndarray], np.ndarray, list[tuple[float, float]]]:
    pieces = [speaker(i, 0) for i in range(len(speaker.sentences))]
    unit = assemble(pieces, speaker.engine.sample_rate, sentence_gap_ms=250, paragraph_gap_ms=600,
                    paragraph_starts=[0, 3])
    return pieces, unit.samples, unit.timings_seconds()


@pytest.fixture(scope="module")
def damaged(verifier: Verifier) -> tuple[DamagingSpeaker, list[np.ndarray], UnitCheck]:
    speaker = DamagingSpeaker(verify_models.piper(), SENTENCES, DAMAGE)
    pieces, samples, timings = speak_unit(speaker)
    return speaker, pieces, verifier.check_unit(samples, speaker.engine.sample_rate, SENTENCES, timings, "en")


def test_clean_speech_passes_every_sentence(verifier: Verifier) -> None:
    speaker = DamagingSpeaker(verify_models.piper(), SENTENCES, {})
    _, samples, timings = speak_unit(speaker)
    check = verifier.check_unit(samples, speaker.engine.sample_rate, SENTENCES, timings, "en-US")
    failed = [(SENTENCES[i], v.heard, v.problem) for i, v in enumerate(check.verdicts) if not v.passed]
    assert failed == [], check.heard
    assert check.verdicts[0].heard.strip(".,!").lower() == "yes" and check.verdicts[0].expected_words == 1
    assert check.verdicts[1].expected_words == 8  # "in nineteen eighty four he was twenty one"
    assert 0 < check.asr_seconds < check.audio_seconds


def test_each_kind_of_damage_is_flagged_as_that_kind(damaged) -> None:
    _, _, check = damaged
    problems = {i: v.problem for i, v in enumerate(check.verdicts) if v.flagged}
    assert problems == EXPECTED_PROBLEM, [(v.problem, v.heard) for v in check.verdicts]
    assert check.verdicts[2].missing_run >= 4 and check.verdicts[5].repeated
    assert all(check.verdicts[i].passed for i in (1, 3, 6))


def test_retakes_repair_damaged_first_takes_within_three(verifier: Verifier, damaged) -> None:
    speaker, pieces, check = damaged
    rate = speaker.engine.sample_rate

    def verify(ids, audio):
        return verifier.check_takes(audio, rate, [SENTENCES[i] for i in ids], "en").verdicts

    results = retake_flagged(len(SENTENCES), speaker, verify, max_takes=3, first=(pieces, check.verdicts))
    assert [r.verdict.status for r in results] == ["passed"] * len(SENTENCES), [r.verdict for r in results]
    assert all(results[i].kept_take >= 1 and 2 <= results[i].takes <= 3 for i in DAMAGE)
    assert all(results[i].takes == 1 and results[i].kept_take == 0 for i in range(len(SENTENCES)) if i not in DAMAGE)
    retaken = {index for index, take, _ in speaker.calls if take > 0}
    assert retaken == set(DAMAGE)


def test_a_unit_in_a_language_the_model_does_not_know_is_unverified(verifier: Verifier) -> None:
    recognizer = verify_models.recognizer()
    assert recognizer.languages == ["en"] and recognizer.can_check("en-GB") and not recognizer.can_check("de")
    sentences = ["Guten Morgen.", "Wie geht es dir?"]
    pieces = [verify_models.piper().synthesize(s, TTSConfig()) for s in sentences]
    unit = assemble(pieces, verify_models.piper().sample_rate, sentence_gap_ms=250, paragraph_gap_ms=600)
    for language in ("de", None):
        check = verifier.check_unit(unit.samples, unit.sample_rate, sentences, unit.timings_seconds(), language)
        assert [v.status for v in check.verdicts] == ["unverified"] * 2 and not any(v.passed for v in check.verdicts)
        assert check.reason and check.asr_seconds == 0.0


def test_one_call_checks_a_unit_and_retakes_what_was_not_heard(verifier: Verifier) -> None:
    speaker = DamagingSpeaker(verify_models.piper(), SENTENCES, {2: Damage.DROP_END, 6: Damage.DROP})
    pieces = [speaker(i, 0) for i in range(len(SENTENCES))]
    unit = verify_unit_pieces(verifier, pieces, speaker.engine.sample_rate, SENTENCES, "en", speaker)
    assert unit.flagged == [] and unit.first_check.flagged == [2, 6]
    assert [r.takes > 1 for r in unit.results] == [i in (2, 6) for i in range(len(SENTENCES))]
    assert unit.pieces[6].size > 0 and all(r.takes <= 3 for r in unit.results)
    assert unit.asr_seconds > unit.first_check.asr_seconds
    report = unit.verdicts[2].as_dict()
    assert report["passed"] is True and report["status"] == "passed" and report["heard"]


def test_both_hearings_pass_clean_speech_and_flag_the_same_damage(verifier: Verifier, damaged) -> None:
    """The first hearing in windows (the default) and whole with word timestamps judge alike."""
    speaker, pieces, by_windows = damaged
    _, samples, timings = speak_unit(speaker)
    by_time = Verifier(verifier.recognizer, hearing="timestamps").check_unit(
        samples, speaker.engine.sample_rate, SENTENCES, timings, "en")
    assert verifier.hearing == "windows"
    assert by_windows.flagged == by_time.flagged == sorted(DAMAGE)


def test_windows_are_heard_one_text_each_in_order(verifier: Verifier) -> None:
    from remote_worker.verify.windows import plan_windows

    speaker = DamagingSpeaker(verify_models.piper(), SENTENCES * 3, {})
    _, samples, timings = speak_unit(speaker)
    rate = speaker.engine.sample_rate
    windows = plan_windows(samples, rate, timings)
    assert len(windows) >= 2, windows  # about 45 s of speech
    heard = verifier.recognizer.hear_windows(samples, rate, windows, "en")
    assert len(heard.texts) == len(windows)
    assert all(text.strip() for text in heard.texts), heard.texts
    # each window heard once, none twice or skipped: the unit's three ferries and letters, no more
    assert heard.text.lower().count("village") == 3 and heard.text.lower().count("letter") == 3, heard.texts
    assert 0 < heard.asr_seconds and heard.audio_seconds == pytest.approx(samples.size / rate, rel=0.01)
