"""The emulator's HTML judge against Telegram's own answers, and the bot's checker against it.

The table holds tdlib's answers (its parse_html test suite: tdlib is the library the Bot API
server parses with) plus the examples in ../shared/docs/telegram-rules.md. The emulator must
give each answer word for word; the bot's own checker (dialogs/telegram_html.py, a separate
implementation) must then agree with the emulator on the table and on a few thousand random
strings, so neither can drift without a test failing.
"""

from __future__ import annotations

import random

import pytest

from bot.sandbox.markup import MarkupError, parse
from dialogs.telegram_html import HtmlError, parse_html

STADIUM = "🏟 🏟&lt;"  # 13 bytes of UTF-8 before what follows, 6 UTF-16 units after parsing
SURROGATE = (
    "Text contains invalid Unicode characters after decoding HTML entities, "
    "check for unmatched surrogate code units"
)

REFUSED = [
    ("&#57311;", SURROGATE),
    ("&#xDFDF;", SURROGATE),
    ("&#xDFDF", SURROGATE),
    (STADIUM + "<abacaba", "Unclosed start tag at byte offset 13"),
    (STADIUM + "<abac aba>", 'Unsupported start tag "abac" at byte offset 13'),
    (STADIUM + "<abac>", 'Unsupported start tag "abac" at byte offset 13'),
    (STADIUM + "<i   =aba>", 'Empty attribute name in the tag "i" at byte offset 13'),
    (
        STADIUM + "<i    aba>",
        'Expected equal sign in declaration of an attribute of the tag "i" at byte offset 13',
    ),
    (STADIUM + "<i    aba  =  ", 'Unclosed start tag "i" at byte offset 13'),
    (STADIUM + "<i    aba  =  190azAz-.,", "Unexpected end of name token at byte offset 27"),
    (STADIUM + '<i    aba  =  "&lt;&gt;&quot;>', "Unclosed start tag at byte offset 13"),
    (STADIUM + "<i    aba  =  '&lt;&gt;&quot;>", "Unclosed start tag at byte offset 13"),
    (STADIUM + "</", "Unexpected end tag at byte offset 13"),
    (STADIUM + "<b></b></", "Unexpected end tag at byte offset 20"),
    (STADIUM + "<i>a</i   ", "Unclosed end tag at byte offset 17"),
    (
        STADIUM + "<i>a</em   >",
        'Unmatched end tag at byte offset 17, expected "</i>", found "</em>"',
    ),
    # telegram-rules.md
    ("<3 Bob", 'Unsupported start tag "3" at byte offset 0'),
    ("a < b", 'Unsupported start tag "" at byte offset 2'),
    ("x<y", "Unclosed start tag at byte offset 1"),
    ("<b>x</i> y</b>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
    ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
    ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
    ("<p>para</p>", 'Unsupported start tag "p" at byte offset 0'),
    ("<tg-emoji emoji-id=abc>x</tg-emoji>", "Invalid custom emoji identifier specified"),
]

# (source, text, entities as (type, offset, length) plus url / language where Telegram gives one)
ACCEPTED = [
    ("", "", []),
    ("➡️ ➡️", "➡️ ➡️", []),
    ("&lt;&gt;&amp;&quot;&laquo;&raquo;&#12345678;", '<>&"&laquo;&raquo;&#12345678;', []),
    ("➡️ ➡️<i>➡️ ➡️</i>", "➡️ ➡️➡️ ➡️", [("italic", 5, 5)]),
    ("➡️ ➡️<em>➡️ ➡️</em>", "➡️ ➡️➡️ ➡️", [("italic", 5, 5)]),
    ("➡️ ➡️<b>➡️ ➡️</b>", "➡️ ➡️➡️ ➡️", [("bold", 5, 5)]),
    ("➡️ ➡️<strong>➡️ ➡️</strong>", "➡️ ➡️➡️ ➡️", [("bold", 5, 5)]),
    ("➡️ ➡️<u>➡️ ➡️</u>", "➡️ ➡️➡️ ➡️", [("underline", 5, 5)]),
    ("➡️ ➡️<ins>➡️ ➡️</ins>", "➡️ ➡️➡️ ➡️", [("underline", 5, 5)]),
    ("➡️ ➡️<s>➡️ ➡️</s>", "➡️ ➡️➡️ ➡️", [("strikethrough", 5, 5)]),
    ("➡️ ➡️<strike>➡️ ➡️</strike>", "➡️ ➡️➡️ ➡️", [("strikethrough", 5, 5)]),
    ("➡️ ➡️<del>➡️ ➡️</del>", "➡️ ➡️➡️ ➡️", [("strikethrough", 5, 5)]),
    (
        "➡️ ➡️<i>➡️ ➡️</i><b>➡️ ➡️</b>",
        "➡️ ➡️➡️ ➡️➡️ ➡️",
        [("italic", 5, 5), ("bold", 10, 5)],
    ),
    ("🏟 🏟<i>🏟 &lt🏟</i>", "🏟 🏟🏟 <🏟", [("italic", 5, 6)]),
    (
        "🏟 🏟<i>🏟 &gt;<b aba   =   caba>&lt🏟</b></i>",
        "🏟 🏟🏟 ><🏟",
        [("italic", 5, 7), ("bold", 9, 3)],
    ),
    (STADIUM + "<i    aba  =  190azAz-.   >a</i>", "🏟 🏟<a", [("italic", 6, 1)]),
    (STADIUM + "<i    aba  =  190azAz-.>a</i>", "🏟 🏟<a", [("italic", 6, 1)]),
    (STADIUM + '<i    aba  =  "&lt;&gt;&quot;">a</i>', "🏟 🏟<a", [("italic", 6, 1)]),
    (STADIUM + "<i    aba  =  '&lt;&gt;&quot;'>a</i>", "🏟 🏟<a", [("italic", 6, 1)]),
    (STADIUM + "<i    aba  =  '&lt;&gt;&quot;'>a</>", "🏟 🏟<a", [("italic", 6, 1)]),
    (STADIUM + "<i>🏟 🏟&lt;</>", "🏟 🏟<🏟 🏟<", [("italic", 6, 6)]),
    (STADIUM + "<i>a</    >", "🏟 🏟<a", [("italic", 6, 1)]),
    (STADIUM + "<i>a</i   >", "🏟 🏟<a", [("italic", 6, 1)]),
    (STADIUM + "<b></b>", "🏟 🏟<", []),
    ("<i>\n</i>", "\n", [("italic", 0, 1)]),
    ("<a href=telegram.org> </a>", " ", [("text_link", 0, 1, "http://telegram.org/")]),
    ('<a href  ="telegram.org"   > </a>', " ", [("text_link", 0, 1, "http://telegram.org/")]),
    (
        "<a   href=  'telegram.org?&lt;'   > </a>",
        " ",
        [("text_link", 0, 1, "http://telegram.org/?<")],
    ),
    ("<a> </a>", " ", []),
    ("<a>telegram.org </a>", "telegram.org ", []),
    ("<a>telegram.org</a>", "telegram.org", [("text_link", 0, 12, "http://telegram.org/")]),
    (
        "<a>https://telegram.org/asdsa?asdasdwe#12e3we</a>",
        "https://telegram.org/asdsa?asdasdwe#12e3we",
        [("text_link", 0, 42, "https://telegram.org/asdsa?asdasdwe#12e3we")],
    ),
    (STADIUM + "<pre  >🏟 🏟&lt;</>", "🏟 🏟<🏟 🏟<", [("pre", 6, 6)]),
    (STADIUM + "<code >🏟 🏟&lt;</>", "🏟 🏟<🏟 🏟<", [("code", 6, 6)]),
    (STADIUM + "<pre><code>🏟 🏟&lt;</code></>", "🏟 🏟<🏟 🏟<", [("pre", 6, 6), ("code", 6, 6)]),
    (
        STADIUM + '<pre><code class="language-fift">🏟 🏟&lt;</></>',
        "🏟 🏟<🏟 🏟<",
        [("pre", 6, 6, "fift")],
    ),
    (
        STADIUM + '<code class="language-fift"><pre>🏟 🏟&lt;</></>',
        "🏟 🏟<🏟 🏟<",
        [("pre", 6, 6, "fift")],
    ),
    (
        STADIUM + '<pre><code class="language-fift">🏟 🏟&lt;</> </>',
        "🏟 🏟<🏟 🏟< ",
        [("pre", 6, 7), ("code", 6, 6)],
    ),
    ('<span class="tg-spoiler">x</span>', "x", [("spoiler", 0, 1)]),
    ("Tom & Jerry > cats", "Tom & Jerry > cats", []),
]


def _shape(entities: list[dict[str, object]]) -> list[tuple[object, ...]]:
    shaped = []
    for e in entities:
        extra = tuple(e[k] for k in ("url", "language") if k in e)
        shaped.append((e["type"], e["offset"], e["length"], *extra))
    return _ordered(shaped)


def _ordered(entities: list) -> list:  # type: ignore[type-arg]
    return sorted(entities, key=lambda t: (t[1], -t[2], t[0]))


@pytest.mark.parametrize(("source", "reason"), REFUSED)
def test_the_emulator_refuses_as_telegram_does(source: str, reason: str) -> None:
    with pytest.raises(MarkupError) as refused:
        parse(source)
    assert str(refused.value) == reason


@pytest.mark.parametrize(("source", "text", "entities"), ACCEPTED)
def test_the_emulator_reads_as_telegram_does(source: str, text: str, entities: list) -> None:
    markup = parse(source)
    assert (markup.text, _shape(markup.entities)) == (text, _ordered(entities))


def _verdict(judge, error: type[Exception], source: str) -> tuple[object, ...]:  # type: ignore[no-untyped-def]
    """What a parser says, in a form two parsers can be compared by: refused with which words,
    or the text and its formatting (links aside: the bot never relies on bare-domain links)."""
    try:
        parsed = judge(source)
    except error as exc:
        return ("refused", str(exc))
    kept = [e for e in _shape(parsed.entities) if e[0] not in ("text_link", "text_mention")]
    return ("sent", parsed.text, [e[:3] for e in kept])


def _random_markup(rng: random.Random) -> str:
    pieces = [
        "<b>", "</b>", "<i>", "</i>", "<a href='https://x.org/?a=1&amp;b'>", "</a>", "<", ">",
        "&", "&amp;", "&lt", "&gt;", "&#60;", "&#x3c;", "&#0;", "&quot;", "&nbsp;", " ", "\n",
        "ab", "é", "🏟", "<u >", "</u >", "</>", "<code>", "</code>", "<pre>", "</pre>",
        '<span class="tg-spoiler">', "</span>", "=", '"', "'", "<b x=1>", "<b x>", "/",
    ]  # fmt: skip
    return "".join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))


def test_the_bots_checker_agrees_with_the_emulator() -> None:
    """On every table entry and 5,000 random strings of Telegram's tricky pieces: the bot's
    own checker sends what the emulator accepts, refuses what it refuses, with the same words."""
    rng = random.Random(20261129)
    sources = [s for s, _ in REFUSED] + [s for s, *_ in ACCEPTED]
    sources += [_random_markup(rng) for _ in range(5000)]
    disagreements = [
        (source, _verdict(parse_html, HtmlError, source), _verdict(parse, MarkupError, source))
        for source in sources
        if _verdict(parse_html, HtmlError, source) != _verdict(parse, MarkupError, source)
    ]
    assert disagreements[:5] == [], f"{len(disagreements)} strings judged differently"
