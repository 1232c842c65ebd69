"""Does a sentence look like another language than its unit's? Then it cannot be checked as one.

Books quote other languages ("Frisch weht der Wind" in an English poem). A
recogniser told the unit's language writes such a line as nonsense in that
language, so the sentence is reported *unverified*, not flagged and not passed.
The test is deliberately plain: the sentence's share of the commonest function
words of each language, which needs no model and no word list.
"""

from __future__ import annotations

from typing import Optional, Sequence

__all__ = ["base_language", "foreign_language"]

def base_language(tag: Optional[str], default: str = "en") -> str:
    """The language of a tag without its region: ``"en-US"``, ``"en_GB"`` and ``"EN"`` are all ``"en"``."""
    return (tag or default).strip().lower().replace("_", "-").split("-")[0] or default


_FUNCTION_WORDS = {
    "en": "the and of to a in is was he she it you that with for his her not but they have had my me we at be i "
          "what do does did shall will would can could should may might must all this so on as are no there were one "
          "said an from by or if your when who which their them him us our then than out up down what how why where "
          "here now very just well oh yes too into over only also any some im ive id ill youre youve youll dont "
          "cant wont isnt wasnt didnt doesnt its thats theres hes shes theyre weve were lets",
    "de": "der das und ist nicht ein eine einen zu du ich mein meine dein wo wie mit auf aus bin sich den dem des im "
          "und keine kein gar ihr sie wir uns nach bei",
    "fr": "le la les et est un une je tu mon ma mes ne pas que qui du des au aux il elle nous vous sur avec",
    "es": "el los las y es una que del yo mi por con para se su muy pero",
    "it": "il lo gli una che di del io mio non si della sono questo",
    "la": "et est cum ad quod qui quae sed ego nam atque enim quid",
    "nl": "het een en van ik je niet dat op met zijn",
    "pt": "os um uma que da eu não com para",
}
_WORDS = {lang: frozenset(words.split()) for lang, words in _FUNCTION_WORDS.items()}


def foreign_language(words: Sequence[str], language: str) -> Optional[str]:
    """The language ``words`` (normalised, lower case) seem to be in, when it is not ``language``; else None.

    None too when ``language`` is not one this test knows: then nothing is set aside.
    """
    own_tag = base_language(language)
    own = _WORDS.get(own_tag)
    if own is None or not words:
        return None
    own_hits = sum(1 for w in words if w in own)
    best, best_hits = None, 0
    for tag, vocabulary in _WORDS.items():
        if tag == own_tag:
            continue
        hits = sum(1 for w in words if w in vocabulary and w not in own)
        if hits > best_hits:
            best, best_hits = tag, hits
    if best is None:
        return None
    if (own_hits == 0 and best_hits >= 1) or (best_hits >= 2 and best_hits > own_hits):
        return best
    return None
