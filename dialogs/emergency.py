"""Red flags and crisis words in a client's free text (care-safety.md, "The gate holds
everywhere", "Crisis words", "Every spelling").

Pure: a message in, what it speaks of out (`scan`); no Telegram, no database. The phrases live
in `emergency.yaml` so the clinic can edit them without code; the rules for reading a message
(normalised spelling, clauses, negation, doubt) live here. The bias is deliberate: when a
message is unclear the symptom counts, because a false alarm costs a message and a miss can
cost a life. Crisis words (self-harm, suicide) trust no negation at all: "I'm not going to
kill myself, but..." is still answered, only more gently.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from confusable_homoglyphs.confusables import confusables_data
from pydantic import BaseModel, ConfigDict, Field, ValidationError

DEFAULT_PATH = Path(__file__).parent / "pack" / "emergency.yaml"
GAP_WORDS = 3  # a lone `*` in a phrase: up to this many words
STEM_MIN = 3  # `numb*`: at least this many letters before the `*`
_ID = r"^[a-z0-9_]{1,24}$"
_BREAK = "|"  # clause boundary in normalised text (a word character never matches it)
_LOOKBACK = 160  # characters before a match searched for its negation (plenty of words)
_APOSTROPHES = re.compile(r"['’‘ʼ`´′]")
_WORD = re.compile(r"[^\W_]+")
_CLAUSE_MARKS = ".,;:?!…()[]{}<>\n\r–—"  # and a dash between spaces
_TOKENS = re.compile(f"[^\\W_]+|[{re.escape(_CLAUSE_MARKS)}]|-+(?=\\s|$)")
_TO_BREAK = str.maketrans(dict.fromkeys(_CLAUSE_MARKS + "-", "|"))
_CANT = re.compile(r" (?:cannot|can not|cnt|carnt)(?= )")  # in read text
_CANT_WORD = re.compile(r"\b(?:cannot|can not|cnt|carnt)\b")  # in the file
_PHRASE_TOKEN = re.compile(r"\s*(?:([^\W_]+)(\*)?|(\*)|([()\[\]|+])|(\S))")
_PLAIN = re.compile(r"^[^\W_]+(?: [^\W_]+)*$")
# Negative words that make a match a symptom in itself ("can't pee", "no feeling"): a
# negation before such a match is a double negative, which counts (flags).
_SELF_NEGATIVE = frozenset({"cant", "couldnt", "unable", "wont", "wouldnt"})


class EmergencyPhrasesError(Exception):
    """The phrases file is malformed; the one-line message names the file and the place."""


Tier = Literal["A", "B", "crisis"]
CRISIS: Tier = "crisis"


@dataclass(frozen=True)
class Symptom:
    """What a message speaks of: `id` for code, logs and staff; `label` names it to a person;
    `tier` A (emergency now), B (a doctor today) or crisis (self-harm or suicide)."""

    id: str
    label: str
    tier: Tier = "A"


@dataclass(frozen=True)
class Findings:
    """What `scan` found in one message. `symptom`: the first tier A symptom, else the first
    tier B one. `crisis`: crisis words, and `crisis_negated` when every mention of them was
    negated ("I'm not going to kill myself"): still answered, in gentler words."""

    symptom: Symptom | None = None
    crisis: Symptom | None = None
    crisis_negated: bool = False

    def __bool__(self) -> bool:
        return self.symptom is not None or self.crisis is not None


@dataclass(frozen=True)
class _Matcher:
    """One phrase, or one part of an `A + B` phrase (`combo` numbers it, `parts` counts)."""

    symptom: Symptom
    regex: re.Pattern[str]
    order: int  # in the file: at one place, the first symptom in the file wins
    combo: int = -1
    part: int = 0
    parts: int = 1


@dataclass(frozen=True, eq=False)
class Phrases:
    """The checked contents of the phrases file, ready for `scan`."""

    version: int
    symptoms: tuple[Symptom, ...]
    phrase_count: int
    # `_any` finds, in one pass in C, the places where some phrase matches; the matchers
    # are then tried there one by one, by the word they can begin with (exact or `stem*`).
    _any: re.Pattern[str] = field(repr=False)
    _by_word: dict[str, tuple[_Matcher, ...]] = field(repr=False)
    _by_stem: tuple[tuple[str, tuple[_Matcher, ...]], ...] = field(repr=False)
    _stems: tuple[str, ...] = field(repr=False)
    _cues: dict[str, tuple[tuple[str, ...], ...]] = field(repr=False)  # by their last word
    _carry_over: frozenset[str] = field(repr=False)
    _negative: frozenset[str] = field(repr=False)
    _unsure: re.Pattern[str] | None = field(repr=False)
    _breaks: re.Pattern[str] | None = field(repr=False)
    _vocabulary: frozenset[str] = field(repr=False)  # to split letter-spaced words again


def load_phrases(path: Path = DEFAULT_PATH) -> Phrases:
    """The phrases file, checked; EmergencyPhrasesError names the place at fault.

    The shipped file is read once (it cannot change while the bot runs); another path, as in
    tests, is read afresh each time.
    """
    return _load_default() if Path(path) == DEFAULT_PATH else _load(Path(path))


def scan(text: str, phrases: Phrases | None = None) -> Findings:
    """What `text` speaks of: crisis words, and its most urgent symptom (tier A before B).

    The text is read as spelt (accents and invisible characters aside) and again with
    look-alike letters folded (Cyrillic "а" as Latin "a"), when that changes anything. One
    regex of every phrase finds where a phrase matches (a 10,000-character message takes a few
    milliseconds); each phrase that can begin there is then checked for negation. An `A + B`
    phrase counts where its last part is found.
    """
    phrases = phrases or load_phrases()
    plain = spelling(text)
    folded = plain.translate(_LOOK_ALIKES)
    found = _find(phrases, _normalise(plain, phrases))
    if folded != plain:
        found = _merge(found, _find(phrases, _normalise(folded, phrases)))
    return found


def _find(phrases: Phrases, s: str) -> Findings:
    first: dict[str, Symptom] = {}  # the first symptom of each tier, in the text's order
    crisis_negated = True
    unsure: dict[int, bool] = {}
    combos: dict[tuple[str, int], set[int]] = {}
    pos = 0
    while hit := phrases._any.search(s, pos):
        pos = hit.start() + 1
        word = s[pos : s.index(" ", pos)]
        matchers = list(phrases._by_word.get(word, ()))
        if word.startswith(phrases._stems):
            matchers += [m for stem, ms in phrases._by_stem if word.startswith(stem) for m in ms]
            matchers.sort(key=lambda m: m.order)
        for matcher in matchers:
            symptom = matcher.symptom
            match = matcher.regex.match(s, pos)
            if match is None:
                continue
            if symptom.tier == CRISIS:  # no negation trusted: it only softens the words
                negated = _denied(phrases, s, pos)
            elif _negated(phrases, s, pos, match.end(), unsure):
                continue
            if matcher.parts > 1:
                found = combos.setdefault((symptom.id, matcher.combo), set())
                found.add(matcher.part)
                if len(found) < matcher.parts:
                    continue
            first.setdefault(symptom.tier, symptom)
            if symptom.tier == CRISIS:
                crisis_negated = crisis_negated and negated
        if "A" in first and CRISIS in first and not crisis_negated:
            break  # nothing more can change the answer
    return Findings(
        symptom=first.get("A") or first.get("B"),
        crisis=first.get(CRISIS),
        crisis_negated=CRISIS in first and crisis_negated,
    )


def _merge(one: Findings, other: Findings) -> Findings:
    """Both readings of a message together (as spelt, and with look-alikes folded)."""
    symptoms = [s for s in (one.symptom, other.symptom) if s is not None]
    symptom = next((s for s in symptoms if s.tier == "A"), symptoms[0] if symptoms else None)
    crisis = one.crisis or other.crisis
    negated = all(f.crisis_negated for f in (one, other) if f.crisis is not None)
    return Findings(symptom, crisis, crisis is not None and negated)


# --- reading a message -------------------------------------------------------------------


def plain_words(text: str) -> list[str]:
    """The words of `text` as a reader sees them (`spelling`), apostrophes dropped ("can't"
    is "cant"): what the clinic's everyday questions are matched on (dialogs.faq)."""
    return _WORD.findall(_APOSTROPHES.sub("", spelling(text)))


def spelling(text: str) -> str:
    """The letters as a reader sees them: compatibility forms (fullwidth, "fancy" maths and
    circled letters, ligatures) as plain ones, lower case, without format characters
    (zero-width spaces and joiners, soft hyphens) or accents and other combining marks."""
    decomposed = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", text).casefold())
    return "".join(c for c in decomposed if unicodedata.category(c) not in _INVISIBLE)


def _look_alikes() -> dict[int, str]:
    """Letters that look like a plain Latin letter, so a message written with them reads as
    the word it imitates: other scripts' look-alikes (Cyrillic "а", Greek "ο") from Unicode's
    confusables data (TR39, via confusable_homoglyphs), and Latin letters that NFKC and
    accents leave alone (small capitals "ᴋɪʟʟ", "ø", "ɨ"), by their Unicode names."""
    table: dict[int, str] = {}
    for char, glyphs in confusables_data.items():
        if len(char) != 1 or char.isascii() or not char.isalpha():
            continue
        latin = [g["c"] for g in glyphs if len(g["c"]) == 1 and "a" <= g["c"].lower() <= "z"]
        if latin and spelling(char) == char:  # a form NFKC keeps (others are read as it)
            table[ord(char)] = latin[0].lower()
    for first, last in _LATIN_EXTRAS:
        for code in range(first, last + 1):
            named = _LATIN_NAME.match(unicodedata.name(chr(code), ""))
            if named and spelling(chr(code)) == chr(code):
                table.setdefault(code, named.group(1).lower())
    for _ in range(2):  # Greek "κ" looks like "ĸ", which looks like "ᴋ": a "k"
        for char, glyphs in confusables_data.items():
            if len(char) == 1 and ord(char) not in table and char.isalpha():
                near = [
                    table[ord(g["c"])] for g in glyphs if len(g["c"]) == 1 and ord(g["c"]) in table
                ]
                if near and not char.isascii() and spelling(char) == char:
                    table[ord(char)] = near[0]
    return table


# LATIN SMALL LETTER O WITH STROKE, LATIN LETTER SMALL CAPITAL K, ...: the plain letter.
_LATIN_NAME = re.compile(
    r"^LATIN (?:SMALL |CAPITAL )?LETTER (?:SMALL CAPITAL )?([A-Z])(?: WITH .*)?$"
)
_LATIN_EXTRAS = (
    (0x80, 0x2AF),
    (0x1D00, 0x1DBF),
    (0x1E00, 0x1EFF),
    (0x2C60, 0x2C7F),
    (0xA720, 0xA7FF),
    (0xAB30, 0xAB6F),
)


_INVISIBLE = frozenset({"Mn", "Me", "Cf"})
_LOOK_ALIKES = _look_alikes()
# Three or more single letters apart ("k i l l", "k.i.l.l", "k-i-l-l m-y-s-e-l-f", "c a n ' t").
_SPACED = re.compile(r"(?<![^\W_])(?:[^\W\d_][ .\-_*·•'’‘ʼ`´′]{1,3}){2,}[^\W\d_](?![^\W_])")
_GAP = re.compile(r"\s{2,}|\s*/\s*")  # a wider gap inside a spaced-out run: between words
_ENDINGS = ("", "s", "e", "es", "ed", "ing", "y", "ness", "al")  # of a `stem*` word


def _normalise(text: str, phrases: Phrases) -> str:
    """Lower-case words separated by single spaces, clauses by " | ", with a space at each end.

    Apostrophes go ("can't" -> "cant"), "cannot"/"can not" become "cant", letter-spaced words
    are joined again, and punctuation, emojis and extra spaces vanish except the marks that
    end a clause.
    """
    text = _SPACED.sub(lambda m: _respaced(m.group(), phrases._vocabulary), text)
    words = _TOKENS.findall(_APOSTROPHES.sub("", text))
    s = _CANT.sub(" cant", f" {' '.join(words).translate(_TO_BREAK)} ")
    breaks = phrases._breaks
    return breaks.sub(" " + _BREAK, s) if breaks is not None else s


def _respaced(run: str, vocabulary: frozenset[str]) -> str:
    """A letter-spaced run as words: its letters joined, then split where words of the phrase
    file (or their endings) fit best (fewest letters left over, then fewest words). Wider gaps
    in the run are kept as word boundaries. Hand-written: word segmentation against our own
    vocabulary is a few lines of dynamic programming, and no library takes a vocabulary."""
    return " ".join(
        _segment(re.sub(r"[^\w]|_", "", chunk), vocabulary) for chunk in _GAP.split(run)
    )


def _segment(letters: str, vocabulary: frozenset[str]) -> str:
    n = len(letters)
    # best[i]: (letters left over, words) for letters[:i], and where its last word starts.
    best: list[tuple[int, int, int, bool]] = [(0, 0, 0, True)] + [(n + 1, n + 1, 0, False)] * n
    longest = max(map(len, vocabulary), default=1)
    for i in range(n):
        spare, words, _, _ = best[i]
        if best[i + 1][:2] > (spare + 1, words + 1):
            best[i + 1] = (spare + 1, words + 1, i, False)
        for j in range(i + 1, min(n, i + longest) + 1):
            if letters[i:j] in vocabulary and best[j][:2] > (spare, words + 1):
                best[j] = (spare, words + 1, i, True)
    pieces: list[str] = []
    j = n
    while j > 0:
        _, _, i, known = best[j]
        if not known and pieces and pieces[-1][0] == "?":
            pieces[-1] = "?" + letters[i:j] + pieces[-1][1:]  # letters left over stay together
        else:
            pieces.append(("" if known else "?") + letters[i:j])
        j = i
    return " ".join(piece.lstrip("?") for piece in reversed(pieces))


def _negated(phrases: Phrases, s: str, start: int, end: int, unsure: dict[int, bool]) -> bool:
    """Whether a negation in the same clause governs the match, and nothing casts doubt on it."""
    if not phrases._negative.isdisjoint(s[start:end].split()):
        return False  # "no feeling", "can't pee": the negative is the symptom
    clause_start = s.rfind(_BREAK, 0, start) + 1
    window = s[max(clause_start, start - _LOOKBACK) : start].split()
    if start - _LOOKBACK > clause_start:
        window = window[1:]  # the first word may be cut
    if not _governed(phrases, window):
        return False
    if clause_start not in unsure:
        clause_end = s.find(_BREAK, end)
        clause_end = len(s) if clause_end < 0 else clause_end
        doubt = phrases._unsure
        unsure[clause_start] = bool(doubt and doubt.search(s, clause_start, clause_end))
    return not unsure[clause_start]


def _denied(phrases: Phrases, s: str, start: int) -> bool:
    """Whether a negation stands anywhere before `start` in its clause ("I'm not going to
    kill myself"), however far from the words it may deny."""
    clause_start = s.rfind(_BREAK, 0, start) + 1
    window = s[max(clause_start, start - _LOOKBACK) : start].split()
    return any(_governed(phrases, window[: i + 1]) for i in range(len(window)))


def _governed(phrases: Phrases, words: list[str]) -> bool:
    """A negation cue ends `words`, give or take carry-over words and "X or" lists."""
    i = len(words)
    while i:
        for cue in phrases._cues.get(words[i - 1], ()):
            if len(cue) <= i and tuple(words[i - len(cue) : i]) == cue:
                return True
        if words[i - 1] in phrases._carry_over:
            i -= 1
        elif i >= 2 and words[i - 1] in ("or", "nor"):
            i -= 2  # "no numbness or tingling ...": the cue reaches over the list
        else:
            return False
    return False


# --- loading the file --------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Entry(_Strict):
    id: str = Field(pattern=_ID)
    tier: Tier = "A"
    label: str = Field(min_length=1)
    phrases: list[str] = Field(min_length=1)


class _File(_Strict):
    version: int = Field(ge=1)
    negations: list[str] = Field(min_length=1)
    carry_over: list[str]
    unsure: list[str]
    clause_breaks: list[str]
    symptoms: list[_Entry] = Field(min_length=1)


@cache
def _load_default() -> Phrases:
    return _load(DEFAULT_PATH)


def _load(path: Path) -> Phrases:
    try:
        source = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise EmergencyPhrasesError(f"{path}: cannot read it ({exc.strerror})") from None
    try:
        raw = yaml.safe_load(source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        line = f"line {mark.line + 1}: " if mark else ""
        raise EmergencyPhrasesError(f"{path}: {line}not valid YAML: {problem}") from None
    try:
        data = _File.model_validate(raw)
    except ValidationError as exc:
        raise EmergencyPhrasesError(f"{path}: {_shape_problem(exc, raw)}") from None
    try:
        return _build(data)
    except _Fault as exc:
        raise EmergencyPhrasesError(f"{path}: {exc}") from None


class _Fault(Exception):
    """A problem found while building; the loader adds the file name."""


def _build(data: _File) -> Phrases:
    word_lists = {
        name: [_plain(name, n, text) for n, text in enumerate(getattr(data, name), 1)]
        for name in ("negations", "carry_over", "unsure", "clause_breaks")
    }
    cues = tuple(tuple(cue.split()) for cue in word_lists["negations"])
    single_cues = frozenset(cue[0] for cue in cues if len(cue) == 1)
    break_words = frozenset(b for b in word_lists["clause_breaks"] if " " not in b)
    parser = _Parser(single_cues, break_words)
    by_first: dict[str, list[_Matcher]] = {}
    all_matchers: list[_Matcher] = []
    symptoms: list[Symptom] = []
    count = 0
    for entry in data.symptoms:
        where = f"symptom {entry.id!r}"
        if any(symptom.id == entry.id for symptom in symptoms):
            raise _Fault(f"{where}: the id is used twice")
        label = entry.label.strip()
        if not label or "\n" in label:
            raise _Fault(f"{where}: label must be one line of text")
        symptom = Symptom(entry.id, label, entry.tier)
        symptoms.append(symptom)
        for n, phrase in enumerate(entry.phrases, 1):
            try:
                parts = parser.parse(phrase)
            except _Fault as exc:
                raise _Fault(f"{where}, phrase {n} ({phrase.strip()!r}): {exc}") from None
            for k, (regex, firsts) in enumerate(parts):
                order = len(all_matchers)
                matcher = _Matcher(symptom, re.compile(regex), order, n, k, len(parts))
                all_matchers.append(matcher)
                for first in firsts:
                    by_first.setdefault(first, []).append(matcher)
            count += 1
    by_stem = tuple((w[:-1], tuple(ms)) for w, ms in by_first.items() if w.endswith("*"))
    every = "|".join(m.regex.pattern for m in all_matchers) or "(?!)"
    by_last: dict[str, list[tuple[str, ...]]] = {}
    for cue in cues:
        by_last.setdefault(cue[-1], []).append(cue)
    return Phrases(
        version=data.version,
        symptoms=tuple(symptoms),
        phrase_count=count,
        _any=re.compile(f" (?={_trie(by_first)})(?:{every})"),
        _by_word={w: tuple(ms) for w, ms in by_first.items() if not w.endswith("*")},
        _by_stem=by_stem,
        _stems=tuple(stem for stem, _ in by_stem),
        _cues={last: tuple(group) for last, group in by_last.items()},
        _carry_over=frozenset(word_lists["carry_over"]),
        _negative=single_cues | _SELF_NEGATIVE,
        _unsure=_alternation(word_lists["unsure"]),
        _breaks=_alternation(word_lists["clause_breaks"]),
        _vocabulary=frozenset(
            word.replace(" ", "")
            for words in (parser.vocabulary, *word_lists.values())
            for word in words
        ),
    )


def _words(text: str) -> str:
    """A phrase or word list entry as a message is read: its spelling as `spelling` reads
    it, no apostrophes."""
    text = _APOSTROPHES.sub("", spelling(text)).replace("-", " ")
    return _CANT_WORD.sub("cant", " ".join(text.split()))


def _plain(name: str, n: int, text: str) -> str:
    words = _words(text)
    if not _PLAIN.match(words):
        raise _Fault(f"{name}, entry {n} ({text!r}): only plain words here (no * ( ) [ ] | +)")
    return words


def _trie(words: Iterable[str]) -> str:
    """A regex for whole words (`stem*`: any ending), branching letter by letter."""
    root: dict[str, Any] = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def branch(node: dict[str, Any]) -> str:
        options = []
        for char, child in sorted(node.items()):
            if char == "":
                options.append("(?= )")
            elif char == "*":
                options.append("[^\\W_]*(?= )")
            else:
                options.append(re.escape(char) + branch(child))
        return options[0] if len(options) == 1 else f"(?:{'|'.join(options)})"

    return branch(root) if root else "(?!)"


def _alternation(items: list[str]) -> re.Pattern[str] | None:
    """Whole words after a space, longest first ("and now" before "now")."""
    if not items:
        return None
    body = "|".join(re.escape(i) for i in sorted(set(items), key=len, reverse=True))
    return re.compile(f" (?:{body})(?= )")


_Piece = tuple[str, int, frozenset[str]]  # regex, fewest words it matches, words it can begin


class _Parser:
    """Turns a phrase (`numb*`, `*`, `(a|b)`, `[a]`, `A + B`) into regexes over read text, each
    with the words it can begin with (`stem*` for a beginning).

    Every piece matches words each followed by one space, so pieces simply concatenate.
    """

    def __init__(self, cues: frozenset[str], breaks: frozenset[str]) -> None:
        self.breaks = breaks
        never = "|".join(sorted(cues))
        guard = f"(?!(?:{never}) )" if never else ""
        self.gap = f"(?:{guard}[^\\W_]+ ){{0,{GAP_WORDS}}}"
        self.vocabulary: set[str] = set()  # every word a phrase spells (stems with endings)

    def parse(self, phrase: str) -> list[tuple[str, frozenset[str]]]:
        tokens = self._tokens(_words(phrase))
        if not tokens:
            raise _Fault("it is empty")
        self.tokens, self.i = tokens, 0
        parts = [self._sequence(top=True)]
        while self._peek() == "+":
            self.i += 1
            parts.append(self._sequence(top=True))
        if self.i < len(self.tokens):
            raise _Fault(f"unexpected {self.tokens[self.i]!r}")
        return [(regex, firsts) for regex, _, firsts in parts]

    def _tokens(self, text: str) -> list[str]:
        tokens: list[str] = []
        for word, star, gap, sign, other in _PHRASE_TOKEN.findall(text):
            if other:
                raise _Fault(f"{other!r} is not allowed (use words, *, ( | ), [ ] and +)")
            if word and star and len(word) < STEM_MIN:
                raise _Fault(f"'{word}*' needs at least {STEM_MIN} letters before the *")
            if word in self.breaks:
                raise _Fault(f"{word!r} starts a new clause (clause_breaks): it can never match")
            tokens.append(word + star if word else gap or sign)
            if word:
                self.vocabulary.update(word + end for end in (_ENDINGS if star else ("",)))
        return tokens

    def _peek(self) -> str | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def _sequence(self, top: bool = False) -> _Piece:
        """Items up to `|`, a closing bracket or `+`."""
        items: list[_Piece] = []
        while (token := self._peek()) is not None and token not in ("|", ")", "]", "+"):
            self.i += 1
            if token in ("(", "["):
                regex, least, starts = self._choices(")" if token == "(" else "]")
                if token == "[":
                    regex, least = f"(?:{regex})?", 0
                items.append((regex, least, starts))
            elif token == "*":
                items.append((self.gap, 0, frozenset()))
            elif token.endswith("*"):
                items.append((f"{re.escape(token[:-1])}[^\\W_]* ", 1, frozenset({token})))
            else:
                items.append((f"{re.escape(token)} ", 1, frozenset({token})))
        if not items:
            raise _Fault("a part or a choice is empty")
        firsts: set[str] = set()
        for item in items:
            if not item[2]:
                raise _Fault("a * on its own needs a word on both sides")
            firsts |= item[2]
            if item[1]:
                break
        if items[-1][2] == frozenset():
            raise _Fault("a * on its own needs a word on both sides")
        least = sum(item[1] for item in items)
        if top and least == 0:
            raise _Fault("it matches no word at all (everything in it is optional)")
        if top and self._peek() in (")", "]", "|"):
            raise _Fault(f"unexpected {self._peek()!r}")
        return "".join(item[0] for item in items), least, frozenset(firsts)

    def _choices(self, closing: str) -> _Piece:
        options = [self._sequence()]
        while self._peek() == "|":
            self.i += 1
            options.append(self._sequence())
        if self._peek() != closing:
            raise _Fault(f"{'(' if closing == ')' else '['} is not closed with {closing}")
        self.i += 1
        regex = "|".join(option[0] for option in options)
        firsts = frozenset().union(*(option[2] for option in options))
        return f"(?:{regex})", min(option[1] for option in options), firsts


def _shape_problem(exc: ValidationError, raw: Any) -> str:
    """The first pydantic error as the clinic would say it: which symptom or list, what."""
    if not isinstance(raw, dict):
        return "expected version, negations, carry_over, unsure, clause_breaks and symptoms"
    error = exc.errors()[0]
    loc, kind = error["loc"], error["type"]
    field_name, where = "", "the file"
    if loc and loc[0] == "symptoms" and len(loc) > 1 and isinstance(loc[1], int):
        entry = raw["symptoms"][loc[1]]
        symptom_id = entry.get("id") if isinstance(entry, dict) else None
        where = f"symptom {symptom_id!r}" if isinstance(symptom_id, str) else ""
        where = where or f"symptom #{loc[1] + 1} (no id)"
        if len(loc) > 3 and loc[2] == "phrases":
            where += f", phrase {int(loc[3]) + 1}"
        elif len(loc) > 2:
            field_name = str(loc[2])
    elif len(loc) > 1 and isinstance(loc[1], int):
        where = f"{loc[0]}, entry {loc[1] + 1}"
    elif loc:
        field_name = str(loc[0])
    if kind == "missing":
        problem = f"missing {field_name}"
    elif kind == "extra_forbidden":
        problem = f"unknown field {field_name!r}"
    elif kind == "string_too_short":
        problem = f"{field_name or 'it'} is empty"
    elif kind == "too_short":
        problem = f"{field_name} is empty (give at least one)"
    elif kind == "string_pattern_mismatch":
        problem = f"id {error.get('input')!r} must be 1 to 24 of a-z, 0-9 and _"
    elif kind == "string_type":
        problem = f"{field_name or 'it'} must be text (put it in quotes)"
    else:
        message = error["msg"]
        problem = f"{field_name}: {message}" if field_name else message
    return f"{where}: {problem}"
