"""Extraction on short articles written for these tests (the rules were not built from them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.ingest import ingest_paths
from bot.settings import Settings

pytestmark = pytest.mark.model

ARTICLES = Path(__file__).parent / "articles"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, nlp: Any) -> Any:
    from bot.wiring import build

    db = tmp_path_factory.mktemp("unseen") / "unseen.db"
    app = build(Settings(db_path=db), nlp=nlp, seed=False)
    result = ingest_paths(app.store, [ARTICLES], analyzer=app.analyzer)
    assert len(result.new_ids) == 3 and not result.errors
    yield app
    app.close()


def ask(app: Any, text: str) -> dict[str, Any]:
    from bot.service import Context

    out: dict[str, Any] = app.service.handle(text, Context()).to_dict()
    return out


def _events(app: Any, topic: str) -> list[dict[str, Any]]:
    reply = ask(app, f"events {topic}")
    assert reply["kind"] == "events"
    return list(reply["events"])


def test_people_roles_and_quotes(app: Any) -> None:
    arevalo = ask(app, "who Arevalo")["actor"]
    assert arevalo["name"] == "Bernardo Arévalo" and arevalo["type"] == "PERSON"
    assert len(arevalo["quotes"]) == 1
    assert arevalo["quotes"][0]["text"].startswith("We cannot receive our citizens")
    martinez = ask(app, "who Carlos Ramiro Martinez")["actor"]
    assert any("foreign minister" in r["role"] for r in martinez["roles"])
    assert martinez["quotes"][0]["text"].startswith("The flights will resume")
    leyva = ask(app, "who Leyva")["actor"]
    assert any(r["role"] == "Colombian Foreign Minister" for r in leyva["roles"])
    assert leyva["quotes"] and leyva["quotes"][0]["text"].startswith("These networks")
    lopez = ask(app, "who Ana López")["actor"]
    assert lopez["quotes"][0]["text"].startswith("Nobody will be returned")


def test_capital_acting_is_its_country(app: Any) -> None:
    us = ask(app, "who Washington")["actor"]
    assert us["name"] == "United States"


def test_suspension_with_date_quantity_and_origin(app: Any) -> None:
    events = [e for e in _events(app, "Guatemala") if e["type"] == "suspension"]
    assert events, "the suspension of flights"
    ev = events[0]
    assert ev["date"] == "2024-06-13"  # "Thursday" in an article of Friday 2024-06-14
    assert "Guatemala" in ev["actors"]
    assert ev["origin"] == "United States"


def test_negated_acceptance_and_planned_resumption(app: Any) -> None:
    refused = [e for e in _events(app, "acceptance") if "not accept" in e["sentence"]]
    assert refused and refused[0]["negated"] is True
    resumption = [e for e in _events(app, "resumption") if "will resume" in e["sentence"]]
    assert resumption and resumption[0]["modality"] == "planned"
    assert resumption[0]["negated"] is False


def test_deportations_counted_and_dated_by_month(app: Any) -> None:
    events = [e for e in _events(app, "deportation") if e["quantity"]]
    texts = {e["quantity"]: e for e in events}
    assert "about 1,200 Guatemalans" in texts
    assert texts["about 1,200 Guatemalans"]["date"] == "2024-05"
    assert "87 Guatemalan migrants" in texts


def test_agreement_and_accusation(app: Any) -> None:
    agreements = [e for e in _events(app, "agreement") if e["date"] == "2023-11-01"]
    assert agreements and {"Colombia", "Ecuador"} <= set(agreements[0]["actors"])
    assert any(e["type"] == "accusation" and "Ecuador" in e["actors"]
               for e in _events(app, "Ecuador"))
    assert any(e["type"] == "request" and "Álvaro Leyva" in e["actors"]
               for e in _events(app, "Leyva"))


def test_undated_article_keeps_relative_dates_unresolved(app: Any) -> None:
    detentions = [e for e in _events(app, "Panama") if e["type"] == "detention"]
    assert detentions and detentions[0]["date"] is None
    assert detentions[0]["date_text"] == "Monday"
    assert detentions[0]["quantity"] == "40 migrants"


def test_nationality_adjectives_are_groups(app: Any) -> None:
    reply = ask(app, "who Guatemalans")
    assert reply["kind"] == "actor" and reply["actor"]["type"] == "NORP"
