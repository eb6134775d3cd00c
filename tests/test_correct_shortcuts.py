"""The correction's shortcuts never change what it finds.

Each shortcut skips work where it can show the work would find nothing: ``lexical`` measures only the
terms ``_near_anchors`` and ``_near_latin`` keep, only around the starts that pass its tests, and only
the spans starting the way a term's near-miss can; ``grammar`` reads only the words
``_MAY_NEED_REPAIR_AT`` points at, with Sudachi reading the clauses around them; ``noise_copies``
measures a volume's pairs once and not those a count of their characters shows too unlike; a pattern
begun with a lookahead of its first characters tries the rest only there. Each test runs the plain way
beside it (every term with a pair in the text measured in every span around each pair, every word of
the whole text as Sudachi reads it looked at, every pair measured with ``process.extract`` as before,
the pattern without its lookahead) on texts drawn at random and on the sample's texts misread at
random, and asks for the same result. Sudachi reading clauses, not the whole text, is the one shortcut
not shown to find the same: the same texts measure it (none differed in 12,800 misread texts and
65,000 drawn at random when it was made).
"""

from __future__ import annotations

import dataclasses
import random

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz, process

from pipeline import correct
from pipeline.correct import CONFUSIONS, load_lexicon  # CONFUSIONS: only to check the tables built from it
from pipeline.place import NOISE

from .conftest import REPO

LEXICON = load_lexicon()
# Characters print OCR takes for one another, written here from how OCR fails, not read from the reader's
# table: the misreadings below are not laid out by the rules under test.
PAIRS = [("バ", "パ"), ("ハ", "バ"), ("ピ", "ビ"), ("ペ", "ベ"), ("ツ", "ッ"), ("ヨ", "ョ"), ("ー", "一"), ("口", "ロ"),
         ("力", "カ"), ("工", "エ"), ("夕", "タ"), ("二", "ニ"), ("理", "営"), ("適", "速"), ("未", "末"), ("識", "職"),
         ("ル", "レ"), ("ソ", "ン"), ("シ", "ツ"), ("開", "関"), ("己", "巳"), ("I", "l"), ("O", "0")]
PARTICLES = "がをにへはもとでのやか"
KANA = "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをんアイウエオカガキクケコサシスセソタダチツテトナバパビピフブプヘベペホボポマミムメモヤャユュヨョラリルレロワンー"
KANJI = "情報医療管理安全技術的対策経営層企画運用委託事業者契約保守作業報告確認記録機器外部電子署名認証"
PUNCTUATION = "、。\n－・「」()（）"


def sample_texts() -> list[str]:
    """The cells of the sample's OCR text as read (not as the pipeline made them), the longer ones."""
    text = (REPO / "raw" / "6.0" / "correlation-table-v6.0.ocr.txt").read_text(encoding="utf-8")
    return [cell.strip() for line in text.splitlines() for cell in line.split("\t") if len(cell.strip()) >= 12]


def misread(text: str, rng: random.Random) -> str:
    """``text`` with a few misreadings: a confused pair swapped, a character dropped or put in, a term
    of the lexicon misread and put in."""
    chars = list(text)
    for _ in range(rng.randint(1, 5)):
        at = rng.randrange(len(chars) + 1)
        kind = rng.random()
        if kind < 0.3 and at < len(chars):
            for a, b in PAIRS:
                if chars[at] in (a, b):
                    chars[at] = b if chars[at] == a else a
                    break
        elif kind < 0.45:
            chars.insert(at, rng.choice(KANA + KANJI + PARTICLES))
        elif kind < 0.55 and at < len(chars):
            del chars[at]
        else:
            chars[at:at] = misread_term(rng.choice(LEXICON.terms), rng)
    return "".join(chars)


def misread_term(term: str, rng: random.Random) -> list[str]:
    chars = list(term)
    at = rng.randrange(len(chars))
    kind = rng.random()
    if kind < 0.5:
        partners = [b if chars[at] == a else a for a, b in PAIRS if chars[at] in (a, b)]
        chars[at] = rng.choice(partners) if partners else rng.choice(KANA + KANJI)
    elif kind < 0.75:
        del chars[at]
    else:
        chars.insert(at, rng.choice(KANA + KANJI + "Il|"))
    return chars


# --- lexical -----------------------------------------------------------------------------------------

def plain_lexicon():
    """The lexicon with no start characters for its terms: every span is measured."""
    lexicon = dataclasses.replace(LEXICON)
    lexicon.__dict__["shapes"] = tuple((term, budget, alone, frozenset()) for term, budget, alone, _ in LEXICON.shapes)
    return lexicon


def every_pair_anchor(text: str, lexicon) -> dict[int, list[int]]:
    """Every non-Latin term of three or more characters with two of its characters standing together in
    ``text``: where it would start if those two were its own (no test of whether a span may be near)."""
    found: dict[int, list[int]] = {}
    for t, term in enumerate(lexicon.terms):
        if len(term) >= 3 and not term.isascii():
            for i in range(len(term) - 1):
                at = text.find(term[i:i + 2])
                while at >= 0:
                    found.setdefault(t, []).append(at - i)
                    at = text.find(term[i:i + 2], at + 1)
    return found


def every_window(text: str, term: str, budget: int, anchors: list[int], first: frozenset[str]) -> list[tuple[int, int]]:
    """Every span ``len(term) ± budget`` long that starts at most ``budget`` from an anchor (no test of its
    first character), written out here: ``_windows`` is not asked."""
    spans = set()
    for at in anchors:
        for start in range(at - budget, at + budget + 1):
            for end in range(start + len(term) - budget, start + len(term) + budget + 1):
                if 0 <= start < end <= len(text):
                    spans.add((start, end))
    return sorted(spans)


def plain_lexical(text: str) -> list:
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(correct, "_near_anchors", every_pair_anchor)
        patched.setattr(correct, "_windows", every_window)
        patched.setattr(correct, "_near_latin", lambda words, lexicon: sorted(lexicon.latin) if words else [])
        return correct.lexical(text, plain_lexicon())


def test_the_lexicons_shortcut_tables_are_right():
    """``self_shifts``, ``shapes`` and ``latin_lettered`` say what their docstrings say, term by term."""
    for t, (term, budget, alone, first) in enumerate(LEXICON.shapes):
        assert budget == (1 if len(term) <= 6 else 2 if len(term) <= 11 else 3)
        assert alone == (t in LEXICON.replace_only and not LEXICON.self_shifts[t])
        if t in LEXICON.replace_only:
            assert term[0] in first and all(c == term[0] or frozenset((c, term[0])) in CONFUSIONS for c in first)
        else:
            assert not first
    assert LEXICON.self_shifts == {t: shifts_by_definition(term) for t, term in enumerate(LEXICON.terms)}
    assert LEXICON.self_shifts[LEXICON.terms.index("保守作業")] is False
    assert not correct.Lexicon(("ーーー",)).shapes[0][2]  # 「ーーー」 shifted by one is itself: its near-misses may overlap it
    assert correct.Lexicon(("A1.2.3.4",)).latin and not correct.Lexicon(("A1.2.3.4",)).latin_lettered  # a near-miss may be digits alone


def shifts_by_definition(term: str) -> bool:
    """The term shifted by 1 … budget characters either way differs from itself, where the two overlap,
    in no more places than the budget, each a confused pair."""
    budget = 1 if len(term) <= 6 else 2 if len(term) <= 11 else 3
    for k in [*range(-budget, 0), *range(1, budget + 1)]:
        differ = [(term[j + k], term[j]) for j in range(len(term)) if 0 <= j + k < len(term) and term[j + k] != term[j]]
        if len(differ) <= budget and all(frozenset(pair) in CONFUSIONS for pair in differ):
            return True
    return False


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="ハバパーー一－ツッシジ理営ABl", min_size=3, max_size=14), min_size=1, max_size=5))
def test_self_shifts_by_definition(terms):
    lexicon = correct.Lexicon(tuple(terms))
    assert lexicon.self_shifts == {t: shifts_by_definition(term) for t, term in enumerate(lexicon.terms)}


def test_lexical_finds_the_same_on_the_sample_misread_at_random():
    rng = random.Random(20261126)
    texts = sample_texts()
    checked = found = 0
    for text in texts + [misread(rng.choice(texts), rng) for _ in range(600)]:
        fast = correct.lexical(text, LEXICON)
        assert fast == plain_lexical(text), text
        checked, found = checked + 1, found + len(fast)
    assert checked > 600 and found > 300  # the misreadings did give it something to find


pieces = st.one_of(
    st.sampled_from(LEXICON.terms),
    st.builds(lambda term, seed: "".join(misread_term(term, random.Random(seed))), st.sampled_from(LEXICON.terms), st.integers(0, 10**6)),
    st.text(alphabet=KANA + KANJI + PARTICLES, min_size=1, max_size=6),
    st.text(alphabet="ABCEIKMPRSTVlo0123456789.-|", min_size=1, max_size=8),
    st.sampled_from(list(PUNCTUATION) + [" "]),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(pieces, max_size=12).map("".join))
@example("1Psecの設定、2SMS認証")  # Latin near-misses starting with a digit
def test_lexical_finds_the_same_on_random_texts(text):
    assert correct.lexical(text, LEXICON) == plain_lexical(text)


def test_a_dictionary_word_is_what_sudachi_reads_as_one_known_word():
    """``_one_dictionary_word`` looks the span up; Sudachi reading the span alone gives one known word
    exactly then, on every span ``lexical`` measures in the sample misread at random."""
    from pipeline.index.analysis import sudachi

    rng = random.Random(8)
    texts = sample_texts()
    spans = set()
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(correct, "_one_dictionary_word", lambda span: spans.add(span) or False)
        for text in texts + [misread(rng.choice(texts), rng) for _ in range(400)]:
            correct.lexical(text, LEXICON)
    tokenizer, _ = sudachi()
    read = {span: [m.is_oov() for m in tokenizer.tokenize(span)] for span in spans}
    assert {span: correct._one_dictionary_word(span) for span in spans} == {span: oov == [False] for span, oov in read.items()}
    assert len(spans) > 300 and sum(oov == [False] for oov in read.values()) > 5  # spans of both kinds


def test_a_term_nearly_itself_shifted_keeps_its_starts_where_it_stands():
    """「ハハハ」 shifted by one is itself: 「ハハパ」 overlapping it is a near-miss of it, found both ways."""
    lexicon = correct.Lexicon(("ハハハ",))
    assert lexicon.self_shifts == {0: True} and not lexicon.shapes[0][2]
    assert [(c.start, c.end) for c in correct.lexical("ハハハパ", lexicon)] == [(1, 4)]


# --- grammar -----------------------------------------------------------------------------------------

def repairable(text: str) -> list:
    return [f for f in correct.parse_faults(text) if f.kind in correct._REPAIRS]


def misread_grammar(text: str, rng: random.Random) -> str:
    """``text`` with particles doubled or put in, a 「る」 or 「し」 dropped, the misreadings ``grammar`` repairs."""
    chars = list(text)
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(chars) + 1)
        kind = rng.random()
        if kind < 0.5:
            chars.insert(at, rng.choice(PARTICLES))
        elif kind < 0.7:
            chars[at:at] = ["、", rng.choice(PARTICLES)]
        elif chars and kind < 0.9:
            drop = [i for i, c in enumerate(chars) if c in "るし"]
            if drop:
                del chars[rng.choice(drop)]
        else:
            chars[at:at] = list(rng.choice(["的の実施する", "講じよう", "ことも"]))
    return "".join(chars)


def test_grammar_looks_at_the_same_words_on_the_sample_misread_at_random():
    rng = random.Random(11)
    texts = sample_texts()
    found = 0
    for text in texts + [misread(rng.choice(texts), rng) for _ in range(200)] + [misread_grammar(rng.choice(texts), rng) for _ in range(400)]:
        fast = correct._repairable_faults(text)
        assert fast == repairable(text), text
        found += len(fast)
    assert found > 100  # the misreadings did give it faults to find


def faults_word_by_word(text: str) -> list:
    """``parse_faults`` looking at every word Sudachi reads, each made a ``Morpheme``."""
    found = correct.morphemes(text)
    faults = [f for i in range(len(found)) for f in correct._faults_at(found, i)]
    return faults + [f for f in correct.parse_faults(text) if f.kind == "brackets"]


def test_faults_and_cost_are_those_of_every_word():
    """``parse_faults`` passes by the words no fault can be at, and ``language_cost`` counts unknown words,
    without making a ``Morpheme`` of each word: the same as looking at every word made one."""
    rng = random.Random(12)
    texts = sample_texts()
    found = 0
    for text in texts[:80] + [misread_grammar(rng.choice(texts), rng) for _ in range(200)]:
        clause = text[: rng.randint(10, 60)]
        faults = correct.parse_faults(clause)
        assert faults == faults_word_by_word(clause), clause
        analysis = correct._analyse(clause)
        assert correct.language_cost(clause) == analysis.cost + correct.OOV_COST * sum(m.oov for m in analysis.morphemes)
        found += len(faults)
    assert found > 20


def test_words_made_when_first_asked_for_are_those_sudachi_read():
    """``Analysis`` keeps Sudachi's reading and makes a word when first asked for: made after other texts
    were read, the words are those made at once, and the offsets index them."""
    from pipeline.index.analysis import sudachi

    tokenizer, _ = sudachi()
    texts = sample_texts()[:60] + ["等にに応じて\n、も使用" * 3, "a" * 9000 + "、も"]  # several lines; a line in pieces
    later = [correct.Analysis(text) for text in texts]
    for text, analysis in zip(texts, later):
        at_once = correct.Analysis(text).morphemes
        assert analysis.morphemes == at_once and len(analysis) == len(at_once)
        assert analysis.starting == {m.start: i for i, m in enumerate(at_once)}
        assert analysis.ending == {m.end: i for i, m in enumerate(at_once)}
        assert "".join(m.surface for m in at_once) == text
        read = []  # Sudachi's own words, line by line (a long line in pieces)
        offset = 0
        for line in text.splitlines(keepends=True):
            for start in range(0, len(line), correct._SUDACHI_PIECE):
                read += [(m.surface(), tuple(m.part_of_speech()), m.dictionary_form(), offset + start + m.begin(), offset + start + m.end(),
                          m.is_oov()) for m in tokenizer.tokenize(line[start:start + correct._SUDACHI_PIECE])]
            offset += len(line)
        assert [tuple(m) for m in at_once] == read


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.text(alphabet=KANA + KANJI + PARTICLES + PUNCTUATION + "ｦﾄﾆﾉﾍﾓﾝﾃﾞﾀﾞ乃之～〜-－−‐", min_size=1, max_size=5),
                          st.sampled_from(["よう", "的の", "にに", "もに", "、も", "講じよう", "定期的の実施する", "することもに", "1日～3日",
                                           "\n－", "。－", "－から", "\n－を", "るよう", "ないよう", "見よう", "ﾃﾞよう", "のようにも"])),
                max_size=10).map("".join))
@example("モ6告含こ")  # Sudachi reads a katakana 「モ」 opening a text as a binding particle
@example("セッショ\n－ン乗っ取り")  # and 「ン」 after a list marker as a case particle
@example("、ﾃﾞ確認")  # a half-width 「ﾃﾞ」 is 「デ」 to Sudachi
@example("‐‐。－。－にに")  # Sudachi reads 「‐‐。－。－」 as one unknown word: the 「。」 in it bounds no window
def test_grammar_looks_at_the_same_words_on_random_texts(text):
    assert correct._repairable_faults(text) == repairable(text)
    if not correct._MAY_NEED_REPAIR_AT.search(text) and not correct._may_open_with_particle(text, 0):
        assert correct.grammar(text) == []


def unknown_word_kinds() -> list[str]:
    """The lines of Sudachi's ``unk.def``: what it makes an unknown word of each kind of character."""
    from pathlib import Path

    import sudachipy

    return (Path(sudachipy.__file__).parent / "resources" / "unk.def").read_text(encoding="utf-8").splitlines()


@pytest.mark.slow
def test_the_clause_particles_are_those_of_the_installed_dictionary():
    """``CLAUSE_PARTICLES`` is every case and binding particle among the entries of Sudachi's dictionary
    that its lookup finds (the others are in no reading: 「-」 read 「から」), and Sudachi makes no unknown
    word a particle (its ``unk.def``)."""
    from sudachipy import Dictionary

    particle = (("助詞", "格助詞"), ("助詞", "係助詞"))
    dictionary = Dictionary()
    entries = {m.surface() for m in dictionary.entries() if m.part_of_speech()[:2] in particle}
    found = {surface for surface in entries if any(m.part_of_speech()[:2] in particle for m in dictionary.lookup(surface))}
    assert found == set(correct.CLAUSE_PARTICLES)
    assert entries - found == {"-"}  # as the comment above CLAUSE_PARTICLES says
    unknown = unknown_word_kinds()
    assert unknown and not [line for line in unknown if "助詞" in line]


@pytest.mark.slow
def test_the_characters_before_a_volitional_you_are_those_of_the_installed_dictionary():
    """``VOLITIONAL_BEFORE_YOU`` is every character before 「よう」 in a word of Sudachi's dictionary in a
    volitional form; no such word is 「よう」 alone, and no unknown word has a conjugated form (``unk.def``)."""
    from sudachipy import Dictionary

    volitional = [m.surface() for m in Dictionary().entries() if m.part_of_speech()[5].startswith("意志推量形") and m.surface().endswith("よう")]
    assert len(volitional) > 10_000 and "よう" not in volitional
    assert {surface[-3] for surface in volitional} == correct.VOLITIONAL_BEFORE_YOU
    unknown = unknown_word_kinds()
    assert unknown and all(line.split(",")[-1] == "*" for line in unknown if line)  # the conjugated form of each kind


@pytest.mark.slow
def test_every_particle_sudachi_can_open_a_clause_with_is_looked_for():
    """Wherever Sudachi reads a case or binding particle right after 「、」「。」, a list marker or a line
    start, ``_may_open_with_particle`` says it can: every CJK ideograph, every kana (full and half width)
    and every symbol and full-width form is tried alone and before each of a few kana."""
    kana = [chr(c) for c in (*range(0x3041, 0x3097), *range(0x30a1, 0x30fb), *range(0xff66, 0xff9e))]
    ideographs = [chr(c) for c in (*range(0x3400, 0x4dc0), *range(0x4e00, 0xa000), *range(0xf900, 0xfb00))]
    symbols = [chr(c) for c in (*range(0x21, 0x7f), *range(0x2010, 0x2070), *range(0x2190, 0x2200), *range(0x2500, 0x2600),
                                *range(0x3001, 0x3040), *range(0xff01, 0xff66))]
    missed = set()
    for c in kana + ideographs + symbols:
        for text in (f"情報を管理し、{c}使用する", f"{c}は使用する", f"管理する。{c}の", f"管理する\n－{c}の",
                     *(f"管理し、{c}{k}使用" for k in "をにはのてとも")):
            for fault in correct.parse_faults(text):
                if fault.kind == "particle-first" and not correct._may_open_with_particle(text, fault.start):
                    missed.add(fault.words[0].surface)
    assert not missed


# --- consensus ---------------------------------------------------------------------------------------

def plain_copies(texts: list[tuple[str, str]]) -> list[list[str]]:
    """Each text's copies measured against every other text of its volume, one ``process.extract`` each."""
    out = []
    for n, (volume, text) in enumerate(texts):
        others = {i: other for i, (v, other) in enumerate(texts) if i != n and v == volume}
        out.append([texts[i][1] for _, _, i in sorted(process.extract(text, others, scorer=fuzz.ratio, score_cutoff=NOISE, limit=None),
                                                         key=lambda hit: hit[2])])
    return out


def test_noise_copies_are_those_measured_one_by_one():
    rng = random.Random(5)
    texts = [(rng.choice(["gov", "mgmt", "ctrl"]), text) for text in sample_texts()]
    texts += [(volume, misread(text, rng)) for volume, text in rng.sample(texts, 40)]  # copies within the noise, and some not
    texts += [(volume, text[: len(text) * 3 // 4]) for volume, text in rng.sample(texts, 20)]  # near the length bound
    fast, plain = correct.noise_copies(texts), plain_copies(texts)
    assert fast == plain
    assert sum(map(len, fast)) > 40


# --- the patterns that begin with a lookahead of their first characters ---------------------------

LOOKAHEAD_FIRST = ["_SPACED_NUMBER", "_EDITION", "_BRACKET_SPACE", "_DROPPED_KO", "_MAY_NEED_REPAIR_AT"]


def without_lookahead(pattern: str) -> str:
    """The pattern as it was before its leading lookahead of first characters: the lookahead taken off
    (and the group around the choices, when there is one).

    >>> without_lookahead("(?=[ab])(?:a|b)"), without_lookahead("(?=[ (])(?<=る)[(]")
    ('a|b', '(?<=る)[(]')
    """
    assert pattern.startswith("(?="), pattern
    depth, in_class, escaped, end = 0, False, False, 0
    for end, char in enumerate(pattern):  # the lookahead's closing parenthesis, outside character classes
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char in "()":
            depth += 1 if char == "(" else -1
            if depth == 0:
                break
    rest = pattern[end + 1:]
    return rest[3:-1] if rest.startswith("(?:") and rest.endswith(")") else rest


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="1259. 　\t(（「】)」版とるすう。、\nがをにへはもよう的の－・ーデ情", max_size=40))
@example("5 . 2版の 6 .11（ 外部 ）「 a 」52版と61版と15版するとと。いると。すと。うと。1\t.2")
@example("、もし使用。\n－を\nよう的の・は、へ、が。にをにがもも")
def test_a_pattern_begun_with_a_lookahead_of_its_first_characters_finds_what_it_found_without(text):
    """Each pattern finds, in any text, the same matches (places and groups) as the same pattern without
    its leading lookahead: the lookahead names every character a match can begin with."""
    import re

    for name in LOOKAHEAD_FIRST:
        fast = getattr(correct, name)
        plain = re.compile(without_lookahead(fast.pattern))
        assert [(m.span(), m.groups(), m.lastgroup) for m in fast.finditer(text)] == \
               [(m.span(), m.groups(), m.lastgroup) for m in plain.finditer(text)], name
