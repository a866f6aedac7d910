"""Word lists (disallowed and moderation words), matched in time linear in the text.

A list entry is one or more words; `*` in a word stands for any letters, and whatever separates
the words of an entry (spaces, hyphens, dots) matches any run of non-letters in the text. The text
is cut into words once; each wildcard word is a small automaton (shift-and over a bit set) that
reads every character of a word exactly once, so no text and no entry can make matching
backtrack: the work is at most the text's length times the number of words in the list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# A word of the text, or of a list entry (with `*` in it): letters, digits and `_`, as `\w`.
_TEXT_WORD = re.compile(r"\w+")
_ENTRY_WORD = re.compile(r"[\w*]+")
_ENTRY_SHAPE = re.compile(r"[\w*]+(?:[^\w*]+[\w*]+)*")


class WordListError(ValueError):
    """A list entry that cannot be matched as whole words."""


@dataclass(frozen=True)
class WildcardWord:
    """One word of an entry, `*` standing for any letters, as a shift-and automaton.

    State bit i is set when the first i literal characters have been read; a `*` before
    literal i lets state i stay on any character.
    """

    text: str
    literals: str
    loops: int
    masks: dict[str, int]
    accept: int

    @classmethod
    def compile(cls, word: str) -> WildcardWord:
        """Build the automaton of a word (already case-folded)."""
        literals = word.replace("*", "")
        loops = 0
        masks: dict[str, int] = {}
        position = 0
        for char in word:
            if char == "*":
                loops |= 1 << position
            else:
                masks[char] = masks.get(char, 0) | 1 << position
                position += 1
        return cls(word, literals, loops, masks, 1 << len(literals))

    @property
    def is_plain(self) -> bool:
        """Tell whether the word has no wildcard."""
        return self.loops == 0

    def matches(self, token: str) -> bool:
        """Tell whether a whole (case-folded) word of the text matches."""
        return self.run(token)[0]

    def run(self, token: str) -> tuple[bool, int]:
        """Match a whole word, reading each character once; give the answer and the reads."""
        if self.is_plain:
            return token == self.literals, 0
        if len(token) < len(self.literals):
            return False, 0
        state, reads = 1, 0
        masks, loops = self.masks, self.loops
        for char in token:
            reads += 1
            state = ((state & masks.get(char, 0)) << 1) | (state & loops)
            if not state:
                return False, reads
        return bool(state & self.accept), reads


@dataclass
class Scan:
    """The first entry found in a text, and how many characters the automata read."""

    entry: str | None = None
    steps: int = 0


@dataclass(frozen=True)
class Entry:
    """One list entry: the words it is made of, matched against consecutive words."""

    text: str
    words: tuple[WildcardWord, ...] = field(default_factory=tuple)

    def found_in(self, tokens: list[str], scan: Scan | None = None) -> bool:
        """Tell whether the entry's words appear one after another among the text's words."""
        scan = scan if scan is not None else Scan()
        count = len(self.words)
        for start in range(len(tokens) - count + 1):
            for offset, word in enumerate(self.words):
                matched, reads = word.run(tokens[start + offset])
                scan.steps += reads
                if not matched:
                    break
            else:
                return True
        return False


def parse_entry(raw: str) -> Entry | None:
    """Compile one list entry; None for a blank one. Refuse one that is not made of words."""
    text = raw.strip()
    if not text:
        return None
    if not _ENTRY_SHAPE.fullmatch(text) or not any(char.isalnum() for char in text):
        raise WordListError(
            f"word list entry {text!r} must be words (letters, digits, `*`), "
            "with at least one letter or digit"
        )
    words = tuple(
        WildcardWord.compile("*".join(part.casefold() for part in word.split("*")))
        for word in _ENTRY_WORD.findall(text)
    )
    return Entry(text, words)


class WordList:
    """A list of words or phrases, matched case-insensitively as whole words."""

    def __init__(self, entries: tuple[str, ...]) -> None:
        self.entries = [entry for entry in map(parse_entry, entries) if entry is not None]

    @staticmethod
    def words_of(text: str) -> list[str]:
        """Cut a text into its words, once, each case-folded."""
        return [word.casefold() for word in _TEXT_WORD.findall(text)]

    def scan(self, text: str) -> Scan:
        """Look for the first entry in a text; report the characters the automata read."""
        scan = Scan()
        words = self.words_of(text)
        for entry in self.entries:
            if entry.found_in(words, scan):
                scan.entry = entry.text
                break
        return scan
