"""Red flags and crisis words in free text (care-safety.md, "The gate holds everywhere",
"Crisis words", "Every spelling"): real-sounding messages both ways, negation kept to its
clause (and not trusted at all for crisis words), doubt counted as a flag, every spelling read
as the words it spells, a broken phrases file named with its place, and `bmx-bot check`
reporting the file."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import yaml

from dialogs.emergency import (
    DEFAULT_PATH,
    EmergencyPhrasesError,
    Phrases,
    Symptom,
    load_phrases,
    scan,
)
from tests.content import content_folder

TIER_A = ["saddle", "bladder", "bowel", "legs_weak", "both_legs", "chest"]
TIER_B = ["fever", "night", "weight_loss", "cancer", "injury"]

FLAG = [
    ("I can't feel my bum and I can't pee since this morning, can I come in today?", "saddle"),
    ("It's gone numb down there since yesterday", "saddle"),
    ("I've got numbness between my legs", "saddle"),
    ("Tingling around my back passage when I sit", "saddle"),
    ("My bum is numb 😟", "saddle"),
    ("NUMB DOWN THERE!!!", "saddle"),
    ("I can't feel the toilet paper when I wipe", "saddle"),
    ("There's no feeling down there", "saddle"),
    ("no numbness in my feet. but i cant feel my bum", "saddle"),
    ("I'm not sure I don't have numbness down there", "saddle"),
    ("maybe a bit of numbness down there?", "saddle"),
    ("weird feeling in my groin and I can't hold my wee", "saddle"),
    ("I'm worried it might be cauda equina", "saddle"),
    ("I've lost all feeling in my bum", "saddle"),
    ("I can’t pee", "bladder"),
    ("cant   pee 😢😢 since last night", "bladder"),
    ("I cannot urinate properly", "bladder"),
    ("I wet myself this morning without realising", "bladder"),
    ("Lost control of my bladder on the way to work", "bladder"),
    ("I've been struggling to pass urine today", "bladder"),
    ("I haven't peed since yesterday morning", "bladder"),
    ("no chest pain but I can't wee", "bladder"),
    ("not great today I can't pee", "bladder"),
    ("I can't feel myself when I pee", "bladder"),
    ("I couldn't pee this morning", "bladder"),
    ("I can't tell if I need a wee", "bladder"),
    ("I keep having accidents, I can't hold it in", "bladder"),
    ("had a few accidents this week, so embarrassing", "bladder"),
    ("I can't hold it any more, I've wet myself twice", "bladder"),
    ("I didn't make it to the loo in time again", "bladder"),
    ("I can't seem to pee", "bladder"),
    ("I pooed myself in my sleep", "bowel"),
    ("I can't control my bowels any more", "bowel"),
    ("lost bowel control last night, so embarrassed", "bowel"),
    ("my chest really hurts", "chest"),
    ("my chest is killing me", "chest"),
    ("My legs keep giving way on the stairs", "legs_weak"),
    ("I can't feel my legs", "legs_weak"),
    ("I can not feel my legs", "legs_weak"),
    ("I can no longer feel my legs", "legs_weak"),
    ("Can't walk, my legs won't hold me up", "legs_weak"),
    ("I'm struggling to walk since this morning", "legs_weak"),
    ("my left foot is dragging and I keep tripping over my toes", "legs_weak"),
    ("I think I've got foot drop", "legs_weak"),
    ("My legs feel weak and wobbly", "legs_weak"),
    ("not sure if I can feel my legs", "legs_weak"),
    ("I don't think I can walk", "legs_weak"),
    ("sudden weakness in my right leg", "legs_weak"),
    ("I've lost the feeling in my legs", "legs_weak"),
    ("my leg just gave out on me", "legs_weak"),
    ("I've not got any feeling in my legs", "legs_weak"),
    ("no pain in my back today and now I can't walk", "legs_weak"),
    ("I don't have pain; I have no feeling in my legs", "legs_weak"),
    ("pain shooting down both legs", "both_legs"),
    ("Both my legs are numb", "both_legs"),
    ("I have sciatica on both sides now", "both_legs"),
    ("pins and needles down the back of my legs", "both_legs"),
    ("pain shooting down the back of both my legs", "both_legs"),
    ("chest pain", "chest"),
    ("I've got a tight chest and I'm sweating", "chest"),
    ("Pain in my chest when I breathe in", "chest"),
    ("I don't have back pain but my chest is really tight", "chest"),
    ("pain between my shoulder blades and I feel faint", "chest"),
    ("Sharp pain between my shoulder blades, I'm breathless and clammy", "chest"),
    ("No, I never had chest pain before, and now my chest hurts", "chest"),
    ("I had an accident and wet the bed last night", "bladder"),
    ("numb bum since I lifted the sofa", "saddle"),
    ("can't poo and can't feel it when I go", "saddle"),
    ("my legs gave way and I fell", "legs_weak"),
    ("crushing pain in my chest going down my arm", "chest"),
    ("my chest feels tight and I'm short of breath", "chest"),
    ("both legs have gone numb and tingly", "both_legs"),
    ("I keep wetting myself", "bladder"),
    ("numbness around my genitals", "saddle"),
    ("I've lost control of my bowels", "bowel"),
    ("Help, I can barely stand up, my legs won't work", "legs_weak"),
]

NO_FLAG = [
    "no numbness at all, just stiff",
    "my chest is fine",
    "I sit at my desk all day and my lower back aches",
    "the glute squeeze made my legs tired",
    "tingling in my foot after sitting cross-legged",
    "sciatica down my left leg into my foot",
    "pain in my right buttock going down the back of my leg",
    "pins and needles in my left foot when I drive",
    "No numbness down there and no problems peeing",
    "I don't have any chest pain",
    "I don’t have any chest pain",
    "never had chest pain",
    "No chest pain, no numbness, just a stiff lower back in the mornings",
    "I haven't had any trouble walking",
    "no bladder or bowel problems",
    "I've no loss of bladder control",
    "I don't have any numbness between my legs",
    "no numbness or tingling between my legs",
    "haven't noticed any weakness in my legs",
    "no weakness in my legs",
    "I'm fine, no leg weakness, no numbness, no bladder issues",
    "not had any chest pain or tightness",
    "I've never lost control of my bladder",
    "I don't wet myself, I just need the loo more often",
    "no more pins and needles between my legs since the op",
    "no pain down both legs, only the left one",
    "pain between my shoulder blades, no sweating or breathlessness",
    "My shoulder blades ache from sitting hunched at the laptop",
    "Can I book the Pain Eliminator for Thursday?",
    "my back is killing me after gardening",
    "It hurts when I bend to put my socks on",
    "I can walk fine but stairs hurt my back",
    "my legs are fine, it's just my lower back",
    "I had a chest infection last month and my back has been sore since",
    "Stiff in the mornings, eases once I get moving",
    "My glutes feel switched off after sitting all day",
    "I get a dead bum after long drives",
    "The pain goes into my hamstring on one side",
    "My legs are tired after the squats",
    "Without any numbness or tingling, thankfully",
    "Is the laser treatment safe during pregnancy?",
    "I can't sit for long without my back aching",
    "Cannot wait for my appointment! 🙌",
    "my knee clicks when I squat",
    "I don't feel any numbness down there",
    "I'm not numb down there, just sore",
    "my legs are not giving way",
    "I can walk without my legs giving way",
    "no issues with bladder or bowel",
    "I haven't had any accidents",
    "no, no chest pain",
    "I couldn't make my appointment, can I rebook?",
    "it doesn't hurt to walk",
    "I can control my bladder fine",
    "no problems with my legs, it's all in my lower back",
    "I can feel my legs fine",
    "my bum aches after cycling",
    "I'm peeing normally",
    "chest is fine, back is sore",
    "no tingling anywhere",
    "I walked 10k steps today",
    "the bridge exercise burns in my glutes",
    "What time do you open on Saturday?",
    "",
]


# Crisis words: (message, only in denial). Negation is not trusted: a denial is answered too,
# only more gently (care-safety.md, "Crisis words").
CRISIS = [
    ("I want to kill myself", False),
    ("I want to end it all", False),
    ("no point living any more", False),
    ("I keep thinking about hurting myself", False),
    ("some days I think everyone would be better off without me", False),
    ("this pain makes me want to die", False),
    ("I don't want to be here anymore", False),
    ("I can't go on like this", False),
    ("honestly I've been feeling suicidal", False),
    ("I wish I was dead", False),
    ("I've thought about taking all my painkillers at once", False),
    ("I used to self harm and the urge is back", False),
    ("nothing left to live for since the accident", False),
    ("kms", False),
    ("I'm not going to kill myself, but I'm struggling", True),
    ("I don't want to die, I just want the pain to stop", True),
    ("I would never hurt myself on purpose, it's just dark thoughts", True),
]
NO_CRISIS = [
    "my back is killing me after gardening",
    "I hurt myself lifting a box at work",
    "I want to live without this pain",
    "the sitting is killing my glutes",
    "I'm dying to try the laser",
    "I'd love to end my week with a massage",
    "can I cut my session short on Friday?",
]

# Tier B signs typed (care-safety.md tier B): a doctor today and the self-check offered.
DOCTOR_TODAY = [
    ("I have a fever and my lower back hurts", "fever"),
    ("feeling really unwell in myself and my back aches", "fever"),
    ("chills and night sweats, back is so sore", "fever"),
    ("my back pain wakes me up every night", "night"),
    ("the pain in my back keeps me awake at night", "night"),
    ("I keep waking up at night because my back hurts", "night"),
    ("I can't sleep because of the pain", "night"),
    ("I've lost a stone without trying and my back hurts", "weight_loss"),
    ("unexplained weight loss lately", "weight_loss"),
    ("I had breast cancer five years ago", "cancer"),
    ("I finished chemo in the spring", "cancer"),
    ("I fell down the stairs yesterday and now my back really hurts", "injury"),
    ("had a bad fall on the ice, my back is sore", "injury"),
    ("I was in a car accident last week and my back aches", "injury"),
]
NO_DOCTOR_TODAY = [
    "no fever, just a stiff back",
    "I fell asleep on the sofa and my back aches",
    "I sleep fine, it only hurts in the mornings",
    "I haven't lost any weight",
    "I don't have a temperature, my back just hurts",
    "I hurt my back lifting the shopping",
]

# Every spelling (care-safety.md, "Every spelling, every language"): the same words written
# to slip past a plain list of phrases must be read as those words.
SPELLINGS = {
    "zero-width spaces": lambda t: "\u200b".join(t),
    "zero-width joiners": lambda t: "\u200d".join(t),
    "soft hyphens": lambda t: " ".join("\u00ad".join(w) for w in t.split()),
    "accents": lambda t: t.translate(str.maketrans("aeiou", "áêïõü")),
    "combining marks": lambda t: "".join(c + "\u0336" if c.isalpha() else c for c in t),
    "fullwidth": lambda t: "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in t),
    "bold maths letters": lambda t: _shifted(t, 0x1D41A, 0x1D400),
    "script maths letters": lambda t: _shifted(t, 0x1D4EA, 0x1D4D0),
    "circled letters": lambda t: _shifted(t, 0x24D0, 0x24B6),
    "Cyrillic look-alikes": lambda t: t.translate(str.maketrans("aceopxy", "асеорху")),
    "Greek look-alikes": lambda t: t.translate(str.maketrans("oivk", "οινκ")),
    "small capitals": lambda t: t.translate(str.maketrans("acdeiklmnoprtuy", "ᴀᴄᴅᴇɪᴋʟᴍɴᴏᴘʀᴛᴜʏ")),
    "letter-spaced": lambda t: "  ".join(" ".join(w) for w in t.split()),
    "letters apart with dots": lambda t: " ".join(".".join(w) for w in t.split()),
    "letters apart with dashes": lambda t: " ".join("-".join(w) for w in t.split()),
    "SHOUTED and spaced": lambda t: " ".join(t.upper()),
}
SPELT = [
    ("i cant pee", "bladder"),
    ("my bum is numb", "saddle"),
    ("chest pain", "chest"),
    ("i cant feel my legs", "legs_weak"),
    ("i want to kill myself", "crisis"),
    ("no point living", "crisis"),
]


def _shifted(text: str, lower: int, upper: int) -> str:
    """Letters moved to another Unicode alphabet (a-z from `lower`, A-Z from `upper`)."""
    return "".join(
        chr(lower + ord(c) - 97)
        if "a" <= c <= "z"
        else chr(upper + ord(c) - 65)
        if "A" <= c <= "Z"
        else c
        for c in text
    )


@pytest.fixture(scope="module")
def phrases() -> Phrases:
    return load_phrases()


def detect(text: str, phrases: Phrases | None = None) -> Symptom | None:
    """The symptom a message is answered for (tier A first, else B)."""
    return scan(text, phrases).symptom


@pytest.mark.parametrize(("text", "symptom_id"), FLAG)
def test_a_tier_a_symptom_is_flagged(phrases: Phrases, text: str, symptom_id: str) -> None:
    found = detect(text, phrases)
    assert found is not None, text
    assert found.id == symptom_id, text


@pytest.mark.parametrize("text", NO_FLAG)
def test_everyday_back_pain_and_negations_are_not_flagged(phrases: Phrases, text: str) -> None:
    assert not scan(text, phrases), text


@pytest.mark.parametrize(("text", "denied"), CRISIS)
def test_crisis_words_are_found_and_a_denial_only_softens_them(
    phrases: Phrases, text: str, denied: bool
) -> None:
    found = scan(text, phrases)
    assert found.crisis is not None and found.crisis.tier == "crisis", text
    assert found.crisis_negated is denied, text


@pytest.mark.parametrize("text", NO_CRISIS)
def test_everyday_words_that_sound_alike_are_no_crisis(phrases: Phrases, text: str) -> None:
    assert scan(text, phrases).crisis is None, text


@pytest.mark.parametrize(("text", "symptom_id"), DOCTOR_TODAY)
def test_tier_b_signs_in_free_text_are_found(phrases: Phrases, text: str, symptom_id: str) -> None:
    found = detect(text, phrases)
    assert found is not None and found.tier == "B", text
    assert found.id == symptom_id, text


@pytest.mark.parametrize("text", NO_DOCTOR_TODAY)
def test_tier_b_signs_negated_or_only_alike_are_not(phrases: Phrases, text: str) -> None:
    assert not scan(text, phrases), text


def test_tier_a_comes_before_tier_b_and_crisis_words_stand_beside_both(phrases: Phrases) -> None:
    found = scan("I had a fall and now I can't pee and I want to die", phrases)
    assert found.symptom is not None and found.symptom.id == "bladder"
    assert found.crisis is not None and not found.crisis_negated


@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
@pytest.mark.parametrize(("text", "expected"), SPELT)
def test_every_spelling_reads_as_the_words_it_spells(
    phrases: Phrases, spelling: str, text: str, expected: str
) -> None:
    written = SPELLINGS[spelling](text)
    assert written != text
    found = scan(written, phrases)
    got = found.crisis if expected == "crisis" else found.symptom
    assert got is not None and got.id == expected, f"{spelling}: {written!r}"


def test_the_table_is_big_enough_and_covers_every_symptom() -> None:
    assert len(FLAG) >= 60 and len([t for t in NO_FLAG if t]) >= 60
    assert {symptom_id for _, symptom_id in FLAG} == set(TIER_A)
    assert {symptom_id for _, symptom_id in DOCTOR_TODAY} == set(TIER_B)
    assert len(SPELLINGS) * len(SPELT) >= 90


def test_the_shipped_file_loads_once_with_a_label_for_each_symptom() -> None:
    phrases = load_phrases()
    assert load_phrases() is phrases
    assert [s.id for s in phrases.symptoms if s.tier == "A"] == TIER_A
    assert [s.id for s in phrases.symptoms if s.tier == "B"] == TIER_B
    assert [s.id for s in phrases.symptoms if s.tier == "crisis"] == ["crisis"]
    assert all(s.label and s.label == s.label.strip() for s in phrases.symptoms)
    assert phrases.phrase_count >= len(TIER_A)
    assert load_phrases(DEFAULT_PATH) is phrases
    assert detect("I can't pee") == Symptom(
        "bladder", "trouble passing urine or controlling your bladder"
    )


@pytest.mark.parametrize(
    "text",
    [
        "Chest pain? No.",  # the "No" is a clause of its own: unclear, so it counts
        "I have no numbness and tingling between my legs",  # "and" may join a new thought
        "no chest pain I think",  # doubt anywhere in the clause
        "my mum had chest pain",  # who has it is not read
    ],
)
def test_when_unsure_it_counts(phrases: Phrases, text: str) -> None:
    """Deliberate false alarms: a false alarm costs a message, a miss can cost a life."""
    assert detect(text, phrases) is not None


def test_the_first_symptom_in_the_text_is_the_one_reported(phrases: Phrases) -> None:
    found = detect("chest pain and I can't feel my legs", phrases)
    assert found is not None and found.id == "chest"
    found = detect("I can't feel my legs and I have chest pain", phrases)
    assert found is not None and found.id == "legs_weak"


def test_a_long_message_is_read_quickly(phrases: Phrases) -> None:
    filler = "I sit at my desk all day, no numbness down there, and my back aches a bit. "
    text = (filler * 140)[:10_000]
    # Read to its very end, in one pass (a runaway pattern would never finish: the suite's
    # timeout catches that). How fast is for the benchmarks, not for a test on a busy machine.
    assert detect(text, phrases) is None
    assert detect(text[:-200] + " I can't pee", phrases) is not None


# --- the file ------------------------------------------------------------------------------


@pytest.fixture
def raw() -> dict:
    return yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "emergency.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_a_small_file_of_its_own_is_used(tmp_path: Path) -> None:
    data = {
        "version": 1,
        "negations": ["no", "never", "not"],
        "carry_over": ["any"],
        "unsure": ["maybe"],
        "clause_breaks": ["but"],
        "symptoms": [
            {"id": "chest", "label": "chest pain", "phrases": ["chest (pain|ache*)"]},
            {"id": "shoulder", "label": "x", "phrases": ["pain * shoulder + (dizzy|faint*)"]},
        ],
    }
    phrases = load_phrases(write(tmp_path, data))
    assert phrases.phrase_count == 2
    assert detect("no chest pain", phrases) is None
    assert detect("never any chest aches but chest pain", phrases) == Symptom("chest", "chest pain")
    assert detect("no chest pain maybe", phrases) is not None
    assert detect("pain in my shoulder. Feeling faint", phrases) == Symptom("shoulder", "x")
    assert detect("pain in my shoulder. Not faint", phrases) is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["symptoms"][5]["phrases"].insert(1, "chest (pain|ache"),
            "symptom 'chest', phrase 2 ('chest (pain|ache'): ( is not closed with )",
        ),
        (
            lambda d: d["symptoms"][0]["phrases"].insert(9, "   "),
            "symptom 'saddle', phrase 10 ('')",
        ),
        (lambda d: d["symptoms"][1]["phrases"].insert(0, ""), "symptom 'bladder', phrase 1"),
        (
            lambda d: d["symptoms"][2]["phrases"].insert(0, "can.t poo?"),
            "symptom 'bowel', phrase 1 ('can.t poo?'): '.' is not allowed",
        ),
        (
            lambda d: d["symptoms"][3]["phrases"].insert(2, "* legs"),
            "symptom 'legs_weak', phrase 3 ('* legs'): a * on its own needs a word on both sides",
        ),
        (
            lambda d: d["symptoms"][3]["phrases"].insert(0, "[weak] [legs]"),
            "symptom 'legs_weak', phrase 1 ('[weak] [legs]'): it matches no word at all",
        ),
        (
            lambda d: d["symptoms"][4]["phrases"].insert(0, "p* legs"),
            "symptom 'both_legs', phrase 1 ('p* legs'): 'p*' needs at least 3 letters",
        ),
        (
            lambda d: d["symptoms"][5]["phrases"].insert(0, "chest pain but breathless"),
            "symptom 'chest', phrase 1 ('chest pain but breathless'): 'but' starts a new clause",
        ),
        (
            lambda d: d["symptoms"][5]["phrases"].insert(0, 7),
            "symptom 'chest', phrase 1: it must be text",
        ),
        (
            lambda d: d["symptoms"][4].update(colour="red"),
            "symptom 'both_legs': unknown field 'colour'",
        ),
        (lambda d: d.update(colour="red"), "the file: unknown field 'colour'"),
        (lambda d: d["symptoms"][1].update(id="saddle"), "symptom 'saddle': the id is used twice"),
        (lambda d: d["symptoms"][2].pop("label"), "symptom 'bowel': missing label"),
        (lambda d: d["symptoms"][2].update(label=""), "symptom 'bowel': label is empty"),
        (lambda d: d["symptoms"][2].update(phrases=[]), "symptom 'bowel': phrases is empty"),
        (lambda d: d["symptoms"][0].pop("id"), "symptom #1 (no id): missing id"),
        (lambda d: d["symptoms"][0].update(id="Saddle Area"), "symptom 'Saddle Area': id "),
        (lambda d: d["negations"].append("no*"), "negations, entry 24 ('no*'): only plain words"),
        (lambda d: d.pop("negations"), "the file: missing negations"),
    ],
)
def test_a_broken_file_names_the_place(
    tmp_path: Path,
    raw: dict,
    change,  # type: ignore[no-untyped-def]
    message: str,
) -> None:
    change(raw)
    path = write(tmp_path, raw)
    with pytest.raises(EmergencyPhrasesError) as caught:
        load_phrases(path)
    text = str(caught.value)
    assert text.startswith(f"{path}: "), text
    assert message in text, text
    assert "\n" not in text


def test_unreadable_or_not_yaml(tmp_path: Path) -> None:
    with pytest.raises(EmergencyPhrasesError, match="cannot read it"):
        load_phrases(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nsymptoms: [\n", encoding="utf-8")
    with pytest.raises(EmergencyPhrasesError, match=r"line \d+: not valid YAML"):
        load_phrases(bad)
    with pytest.raises(EmergencyPhrasesError, match="expected version"):
        load_phrases(write(tmp_path, ["chest pain"]))


# --- bmx-bot check ------------------------------------------------------------------------


def test_check_counts_the_phrases_and_a_broken_file_stops_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot import cli
    from tests.conftest import make_settings

    settings = make_settings()
    assert cli._check(settings, argparse.Namespace(content=None)) == 0
    assert f"; {load_phrases().phrase_count} emergency phrases" in capsys.readouterr().out

    folder = content_folder(tmp_path, files={"emergency.yaml": "version: 1\nsymptoms: [\n"})
    with pytest.raises(cli.Fatal) as caught:
        cli._check(settings, argparse.Namespace(content=str(folder)))
    assert caught.value.code == cli.EXIT_CONFIG
    assert f"  {folder / 'emergency.yaml'}: line 3: not valid YAML" in str(caught.value)
