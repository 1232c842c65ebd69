"""Heard as written by sound: espeak-ng phonemes (from piper-tts) overturn only word-spelling failures."""

from __future__ import annotations

from dataclasses import replace

from remote_worker.verify import judge_sentence
from remote_worker.verify.normalize import normalize_words
from remote_worker.verify.phonetic import Phonemes, rescue

PHONEMES = Phonemes()


def verdict_for(expected: str, heard: str):
    return judge_sentence(normalize_words(expected), normalize_words(heard), heard)


def test_made_up_words_heard_as_other_words_that_sound_the_same_pass() -> None:
    # pairs heard by Whisper tiny.en on clean Piper speech of the shared books
    for expected, heard in [("Rand McNally and Co.)", "Randmett Nellie and Co."),
                            ("Gathered far distant, over Himavant.", "gathered for a distant over him of it."),
                            ('"How becoming they are!', "How becoming there.")]:
        first = verdict_for(expected, heard)
        assert first.flagged, (expected, first)
        second = rescue(first, expected, "en", PHONEMES)
        assert second.passed, (expected, heard, PHONEMES.compare(expected, heard))
        assert "sound the same" in second.reason


def test_damage_is_never_passed_by_sound() -> None:
    cases = [
        # babble: other sounds
        ("The old ferry came slowly into the harbour.", "Grob mandle fip qua torvin esh."),
        # a dropped ending: a run of words not heard at all, however alike the rest
        ("She read the letter twice and then she put it away in the drawer.", "She read the letter twice and"),
        # a clause said twice: longer
        ("Then she walked home.", "Then she walked home, then she walked home."),
    ]
    for expected, heard in cases:
        first = verdict_for(expected, heard)
        assert first.flagged, (expected, first)
        assert rescue(first, expected, "en", PHONEMES).flagged, (expected, heard, PHONEMES.compare(expected, heard))


def test_silence_and_repeats_are_not_reconsidered() -> None:
    silent = verdict_for("Yes.", "")
    assert silent.problem == "silence" and rescue(silent, "Yes.", "en", PHONEMES) is silent
    repeat = replace(verdict_for("Good night, sweet ladies.", "good night, sweet ladies, sweet ladies"),
                     status="flagged", problem="repeat")
    assert rescue(repeat, "Good night, sweet ladies.", "en", PHONEMES) is repeat


def test_phonemes_ignore_stress_and_word_breaks() -> None:
    assert PHONEMES.of("Coco Rico") == PHONEMES.of("Co co rico")
    assert PHONEMES.compare("Yes.", "Yes.") is None  # too short to tell by sound
