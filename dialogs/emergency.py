"""Tier A emergency symptoms in a client's free text (care-safety.md, "The gate holds everywhere").

Pure: a message in, a symptom or None out; no Telegram, no database. The phrases live in
`emergency.yaml` so the clinic can edit them without code; the rules for reading a message
(clauses, negation, doubt) live here. The bias is deliberate: when a message is unclear the
symptom counts, because a false alarm costs a message and a miss can cost a life.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

DEFAULT_PATH = Path(__file__).with_name("emergency.yaml")
GAP_WORDS = 3  # a lone `*` in a phrase: up to this many words
STEM_MIN = 3  # `numb*`: at least this many letters before the `*`
_ID = r"^[a-z0-9_]{1,24}$"
_BREAK = "|"  # clause boundary in normalised text (a word character never matches it)
_LOOKBACK = 160  # characters before a match searched for its negation (plenty of words)
_APOSTROPHES = re.compile(r"['’‘ʼ`´′]")
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


@dataclass(frozen=True)
class Symptom:
    """A tier A symptom: `id` for code, logs and staff; `label` names it to a person."""

    id: str
    label: str


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
    """The checked contents of the phrases file, ready for `detect`."""

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


def load_phrases(path: Path = DEFAULT_PATH) -> Phrases:
    """The phrases file, checked; EmergencyPhrasesError names the place at fault.

    The shipped file is read once (it cannot change while the bot runs); another path, as in
    tests, is read afresh each time.
    """
    return _load_default() if Path(path) == DEFAULT_PATH else _load(Path(path))


def detect(text: str, phrases: Phrases | None = None) -> Symptom | None:
    """The tier A symptom `text` describes first, or None.

    One regex of every phrase finds where a phrase matches (a 10,000-character message takes a
    few milliseconds); each phrase that can begin there is then checked for negation. An
    `A + B` phrase counts where its last part is found.
    """
    phrases = phrases or load_phrases()
    s = _normalise(text, phrases._breaks)
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
            match = matcher.regex.match(s, pos)
            if match is None or _negated(phrases, s, pos, match.end(), unsure):
                continue
            if matcher.parts == 1:
                return matcher.symptom
            found = combos.setdefault((matcher.symptom.id, matcher.combo), set())
            found.add(matcher.part)
            if len(found) == matcher.parts:
                return matcher.symptom
    return None


# --- reading a message -------------------------------------------------------------------


def _normalise(text: str, breaks: re.Pattern[str] | None) -> str:
    """Lower-case words separated by single spaces, clauses by " | ", with a space at each end.

    Apostrophes go ("can't" -> "cant"), "cannot"/"can not" become "cant", and punctuation,
    emojis and extra spaces vanish except the marks that end a clause.
    """
    words = _TOKENS.findall(_APOSTROPHES.sub("", text.casefold()))
    s = _CANT.sub(" cant", f" {' '.join(words).translate(_TO_BREAK)} ")
    return breaks.sub(" " + _BREAK, s) if breaks is not None else s


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
        symptom = Symptom(entry.id, label)
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
    )


def _words(text: str) -> str:
    """A phrase or word list entry as a message is read: lower case, no apostrophes."""
    text = _APOSTROPHES.sub("", text.casefold()).replace("-", " ")
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
        return tokens

    def _peek(self) -> str | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def _sequence(self, top: bool = False) -> _Piece:
        """Items up to `|`, a closing bracket or `+`."""
        items: list[_Piece] = []
        while (token := self._peek()) is not None and token not in ("|", ")", "]", "+"):
            self.i += 1
            if token in ("(", "["):
                regex, least, firsts = self._choices(")" if token == "(" else "]")
                if token == "[":
                    regex, least = f"(?:{regex})?", 0
                items.append((regex, least, firsts))
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
