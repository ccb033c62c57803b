"""Words the recogniser misread by a letter or two, read as the word its own second choices spell.

On noisy scans and faded print PP-OCR's recognisers confuse letters of like shape (``pald``, ``Statlon``,
``Markoting``, ``FEDRRAL``, ``TOIAL``), though at those characters the model mostly gave the right letter as its
second choice. Where a word of at least ``MIN_LETTERS`` letters is not a word of the page's languages (written less
than ``WORD_PER_MILLION`` times a million words in its word list), and changing at most ``MOST_CHANGED`` of its
unsure characters (read less than ``UNSURE``) to the model's other choices there (letters given at least
``OTHER_CHOICE_AT_LEAST`` of the first choice's probability, the word cased as words are) spells a word of the list ``COMMONER``
times as common, the most likely of those is written (the model's probability times the word's frequency), each
changed character with the model's probability for it. Nothing outside the model's own choices is ever written,
so a name or a code the model read surely stays as read. Tesseract's LSTM reads with word lists of its languages
the same way.

The word lists are pyspellchecker's (word frequencies from OpenSubtitles, MIT licence, in its wheel): English,
German, French, Spanish, Italian, Portuguese, Dutch, Latvian, Basque. A page in any other language written with
spaces (Polish, Czech, Turkish...) is read as the model reads it. Chinese and Japanese characters are never changed.

A word's digits count as misread letters when it holds more letters than digits (``T0TAL``, ``Apri1``, ``8rock``).

All dev pages in-process, BoW F1: ``ppocr`` 0.8735 -> 0.8772, ``ppocr-tiny`` 0.8308 -> 0.8421; all 2714 dev boxes,
WER: 0.1640 -> 0.1596, 0.2076 -> 0.1975 (letters alone, no digits: 0.8768 / 0.8404, 0.1601 / 0.1993). The words lost
are names the model was unsure of that its second choices spell as a commoner word (``SHAH ALAM`` -> ``SHAH ALAN``,
``CHUAN`` -> ``CHURN``). Three-letter words, mostly abbreviations and codes (``BHD`` -> ``BID``, ``TEO`` -> ``TED``
otherwise), and words written at least ``WORD_PER_MILLION`` (``THAI`` -> ``THAT`` otherwise) are left alone. Clean
rendered lines (``benchmarks/rendered_spaces.py``) read the same.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

import numpy as np
from spellchecker import SpellChecker

from ocrserver.engines.ctc_punctuation import BLANK
from ocrserver.languages import CJK_LANGUAGES

MIN_LETTERS = 4
UNSURE = 0.95
OTHER_CHOICE_AT_LEAST = 0.05  # of the first choice's probability
OTHER_CHOICES = 4  # looked at for each unsure character
MOST_CHANGED = 2
WORD_PER_MILLION = 0.1  # a word of the list written less often is taken for a misreading (English: 165 of 1.6 billion)
COMMONER = 100.0
# languages with a word list in pyspellchecker that PP-OCR reads (its Cyrillic, Arabic and Persian lists are not)
WORD_LIST_LANGUAGES = frozenset({"de", "en", "es", "eu", "fr", "it", "lv", "nl", "pt"})


@cache
def _word_list(language: str) -> SpellChecker:
    """One language's word list, loaded once (0.1-0.4 s, 16-40 MB), read-only afterwards."""
    return SpellChecker(language=language, distance=1)


def load_word_lists(languages: Iterable[str]) -> None:
    """Load these languages' word lists now (an engine warming up), so the first page in them does not wait."""
    for language in languages:
        if language in WORD_LIST_LANGUAGES:
            _word_list(language)


@dataclass(frozen=True)
class WordList:
    """The words of one or more languages, with how often each is written."""

    lists: tuple[SpellChecker, ...]

    def per_million(self, word: str) -> float:
        """How many times a million words ``word`` is written (case aside) in the commonest of the languages."""
        return max(spell[word] / max(1, spell.word_frequency.total_words) * 1e6 for spell in self.lists)


def word_list_for(languages: Sequence[str]) -> WordList | None:
    """The word list of ``languages`` (canonical codes), or None when one of them written with spaces has none."""
    spaced = [language for language in languages if language not in CJK_LANGUAGES]  # CJK: no list needed
    if not spaced or any(language not in WORD_LIST_LANGUAGES for language in spaced):
        return None
    return WordList(tuple(_word_list(language) for language in dict.fromkeys(spaced)))


class ReadingWords:
    """The word list each thread's job reads with (``reading``), shared by one engine's recognisers' decoders; none
    when turned off (``OCR_WORD_LISTS``)."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._current = threading.local()

    @contextmanager
    def reading(self, languages: Sequence[str]) -> Iterator[None]:
        """While in this block, this thread's recognisers read with ``languages``' word list."""
        previous = getattr(self._current, "words", None)
        self._current.words = word_list_for(languages) if self.enabled else None
        try:
            yield
        finally:
            self._current.words = previous

    def current(self) -> WordList | None:
        return getattr(self._current, "words", None)


class WordChoice:
    """The module's rule on a CTC recogniser's greedy path, for one recogniser's alphabet, whose entries that may stand
    next to a space are ``spaceable`` (ctc_spaces.Spacing): its letters among those are what words are spelled with.
    A digit among more letters is a letter misread too (``T0TAL``, ``Apri1``, ``8rock``)."""

    def __init__(self, alphabet: Sequence[str], spaceable: np.ndarray) -> None:
        self.alphabet = list(alphabet)
        self.letter = spaceable & np.array([c.isalpha() for c in alphabet], dtype=bool)
        self.digit = np.array([c in "0123456789" for c in alphabet], dtype=bool)

    def choose(self, steps: np.ndarray, best: np.ndarray, probability: np.ndarray, words: WordList) -> None:
        """Write, in place, on one line's greedy path (``best``, and ``probability`` its probability at each step;
        ``steps``: time steps x alphabet), the words its unsure letters' other choices spell (module docstring)."""
        for word in _words(_runs(best), self.letter[best] | self.digit[best]):
            digits = sum(bool(self.digit[best[start]]) for start, _ in word)
            if len(word) >= MIN_LETTERS and digits < len(word) - digits:
                self._choose_word(steps, best, probability, word, words)

    def _choose_word(self, steps: np.ndarray, best: np.ndarray, probability: np.ndarray,
                     word: list[tuple[int, int]], words: WordList) -> None:
        read = [self.alphabet[best[start]] for start, _ in word]
        known = words.per_million("".join(read))
        if known >= WORD_PER_MILLION:
            return
        options = [(index, others) for index, (start, end) in enumerate(word)
                   if (others := self._other_choices(steps, best, probability, start, end))]
        chosen, chosen_score = None, 0.0
        for spelled, likelihood, changes in self._spellings(read, options):
            frequency = words.per_million(spelled)
            if frequency >= max(COMMONER * known, WORD_PER_MILLION) and likelihood * frequency > chosen_score:
                chosen, chosen_score = changes, likelihood * frequency
        for index, entry in chosen or ():
            start, end = word[index]
            best[start:end] = entry
            probability[start:end] = steps[start:end, entry]

    def _spellings(self, read: list[str], options: list[tuple[int, list[tuple[int, float]]]]
                   ) -> Iterator[tuple[str, float, list[tuple[int, int]]]]:
        """Each word spelled by changing at most ``MOST_CHANGED`` of ``read``'s characters to their ``options`` (index
        in the word, and its other choices: alphabet entry, share of the first choice), cased as words are and at
        least ``OTHER_CHOICE_AT_LEAST`` as likely as read: the word, how likely, and its changes (index, entry)."""
        as_read = "".join(read)
        for count in range(1, MOST_CHANGED + 1):
            for changed in itertools.combinations(options, count):
                for choice in itertools.product(*(others for _, others in changed)):
                    changes = [(index, entry) for (index, _), (entry, _) in zip(changed, choice, strict=True)]
                    spelled = list(read)
                    for index, entry in changes:
                        spelled[index] = self.alphabet[entry]
                    likelihood = float(np.prod([share for _, share in choice]))
                    text = "".join(spelled)
                    if likelihood >= OTHER_CHOICE_AT_LEAST and _plainly_cased(text, as_read):
                        yield text, likelihood, changes

    def _other_choices(self, steps: np.ndarray, best: np.ndarray, probability: np.ndarray,
                       start: int, end: int) -> list[tuple[int, float]]:
        """The model's other letters for the character it read over steps ``start``..``end`` (excluded), each with its
        share of the first choice's probability, where it read that character unsurely."""
        surest = start + int(probability[start:end].argmax())
        first = float(probability[surest])
        if first >= UNSURE:
            return []
        row = steps[surest]
        # a letter the same as the step before or after would merge with it when the path is decoded
        neighbours = {int(best[start - 1]) if start > 0 else -1, int(best[end]) if end < len(best) else -1}
        others = []
        for entry in np.argpartition(row, -OTHER_CHOICES - 1)[-OTHER_CHOICES - 1:]:
            entry = int(entry)
            share = float(row[entry]) / first
            if entry != best[surest] and self.letter[entry] and share >= OTHER_CHOICE_AT_LEAST and entry not in neighbours:
                others.append((entry, share))
        return others


def _runs(best: np.ndarray) -> list[tuple[int, int]]:
    """Each character on the greedy path: the steps it spans (start, end excluded)."""
    changes = np.flatnonzero(np.r_[True, best[1:] != best[:-1], True])
    return [(int(start), int(end)) for start, end in itertools.pairwise(changes) if best[start] != BLANK]


def _words(runs: list[tuple[int, int]], in_words: np.ndarray) -> list[list[tuple[int, int]]]:
    """The runs grouped into words: consecutive runs ``in_words`` (letters, digits), parted by anything else (a space,
    a mark)."""
    words: list[list[tuple[int, int]]] = [[]]
    for run in runs:
        if in_words[run[0]]:
            words[-1].append(run)
        elif words[-1]:
            words.append([])
    return [word for word in words if word]


def _plainly_cased(candidate: str, read: str) -> bool:
    """Whether a word spelled by other choices is cased as words are (lower, upper or capitalised) or as it was read:
    an ``I`` for an ``l`` in ``prlnts`` spells ``prInts``."""
    return candidate.islower() or candidate.isupper() or candidate.istitle() or (
        [c.isupper() for c in candidate] == [c.isupper() for c in read])
