"""Issue 3's done-when checks, end to end on the bundled corpus with the real model."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bot.service import Context

pytestmark = pytest.mark.model

Ask = Callable[[str], dict[str, Any]]


def _titles(actor: dict[str, Any]) -> set[str]:
    return {a["title"][:40] for a in actor["articles"]}


def test_who_maduro_is_one_person_in_four_articles(ask: Ask) -> None:
    reply = ask("who Maduro")
    assert reply["kind"] == "actor"
    actor = reply["actor"]
    assert actor["name"] == "Nicolás Maduro"
    assert actor["type"] == "PERSON"
    assert {"Maduro", "Nicolas Maduro"} <= set(actor["aliases"])
    assert len(actor["articles"]) == 4
    for spelling in ("Nicolas Maduro", "nicolás maduro", "MADURO", "President Nicolás Maduro"):
        other = ask(f"who {spelling}")
        assert other["kind"] == "actor" and other["actor"]["id"] == actor["id"], spelling


def test_who_trump_is_a_person(ask: Ask) -> None:
    reply = ask("who is Trump?")
    assert reply["kind"] == "actor"
    assert reply["actor"]["type"] == "PERSON"
    assert reply["actor"]["name"] == "Donald Trump"
    assert reply["actor"]["mentions"] >= 8


def test_us_and_united_states_are_the_same_actor(ask: Ask) -> None:
    ids = {ask(f"who {name}")["actor"]["id"] for name in
           ("U.S.", "United States", "US", "the United States", "America")}
    assert len(ids) == 1
    actor = ask("who United States")["actor"]
    assert actor["type"] == "GPE" and len(actor["articles"]) == 5


def test_jorge_rodriguez_roles_and_quotes_are_his(ask: Ask) -> None:
    actor = ask("who Jorge Rodriguez")["actor"]
    assert actor["name"] == "Jorge Rodríguez" and actor["type"] == "PERSON"
    roles = {r["role"] for r in actor["roles"]}
    assert "head of Venezuela’s National Assembly" in roles
    assert any("chief negotiator" in r for r in roles)
    quotes = [q["text"] for q in actor["quotes"]]
    assert any(q.startswith("We are resuming direct repatriation efforts") for q in quotes)
    assert any(q.startswith("In order to ensure the return of our countrymen") for q in quotes)
    assert any(q.startswith("Migrating is not a crime") for q in quotes)
    dated = [q for q in actor["quotes"] if q["text"].startswith("In order to ensure")]
    assert dated[0]["date"] == "2025-03-22"  # said on the Saturday before the Sunday article
    # and nobody else's
    assert not any("young men" in q for q in quotes)
    maduro = ask("who Maduro")["actor"]
    assert not any(q["text"].startswith("We are resuming") for q in maduro["quotes"])
    assert any("young men" in q["text"] for q in maduro["quotes"])


def test_governments_are_their_countries(ask: Ask) -> None:
    for name in ("the Venezuelan government", "Venezuela's government", "government of Venezuela",
                 "Caracas"):
        reply = ask(f"who {name}")
        assert reply["kind"] == "actor", name
    assert ask("who the Venezuelan government")["actor"]["name"] == "Venezuela"
    assert ask("who US authorities")["actor"]["name"] == "United States"


def test_surname_alone_and_accents(ask: Ask) -> None:
    assert ask("who Rodríguez")["actor"]["name"] == "Jorge Rodríguez"
    assert ask("who barcena")["actor"]["name"] == "Alicia Bárcena"


def test_unknown_actor_gets_suggestions(ask: Ask) -> None:
    reply = ask("who Madurro")
    assert reply["kind"] == "not_found"
    assert "Nicolás Maduro" in reply["suggestions"]


def _events(ask: Ask, text: str) -> list[dict[str, Any]]:
    reply = ask(text)
    assert reply["kind"] == "events", reply
    return list(reply["events"])


def test_the_238_sent_to_el_salvador_is_a_dated_sourced_event(ask: Ask) -> None:
    events = _events(ask, "events El Salvador")
    hits = [e for e in events if (e["quantity"] and "238" in e["quantity"])
            or (e["destination"] == "El Salvador" and e["date"] == "2025-03-15")]
    assert hits, events
    ev = hits[0]
    assert ev["quantity"] == "238 Venezuelans" or ev["quantity"] == "238 Venezuelan nationals"
    assert ev["type"] == "deportation_flight"
    assert ev["destination"] == "El Salvador"
    assert ev["date"] == "2025-03-15"
    assert len(ev["sources"]) >= 2 and ev["article_id"] == ev["sources"][0]
    assert "United States" in ev["actors"]


def test_the_harlingen_miami_caracas_flight(ask: Ask) -> None:
    events = _events(ask, "events deportation flights")
    flights = [e for e in events if e["origin"] == "Harlingen"]
    assert len(flights) == 1
    ev = flights[0]
    assert ev["via"] == "Miami" and ev["destination"] == "Caracas"
    assert ev["quantity"] == "around 130 Venezuelan men and women"
    # the article has no publication date: the flight keeps its relative date
    assert ev["date_text"] == "Wednesday" and ev["sources"] == [ev["article_id"]]


def test_the_march_2025_resumption(ask: Ask) -> None:
    events = _events(ask, "events resumption since March 2025 until 2025-03-31")
    assert events
    ev = events[0]
    assert ev["type"] == "resumption" and ev["date"] == "2025-03-23"
    assert len(ev["sources"]) == 2


def test_negated_and_planned_events(ask: Ask) -> None:
    events = _events(ask, "events acceptance")
    negated = [e for e in events if "no longer accept" in e["sentence"]]
    assert negated and negated[0]["negated"] is True
    plans = _events(ask, "events Corey Price")
    assert plans == [] or all(e["type"] for e in plans)
    resumption = [e for e in _events(ask, "events resumption")
                  if "will resume flights" in e["sentence"]]
    assert resumption and resumption[0]["modality"] == "planned"


def test_timeline_order_and_sources(ask: Ask) -> None:
    events = _events(ask, "events")
    dated = [e["date"] for e in events if e["date"]]
    assert dated == sorted(dated)
    first_undated = next(i for i, e in enumerate(events) if not e["date"])
    assert all(not e["date"] for e in events[first_undated:])
    assert all(e["sources"] and e["article_id"] == e["sources"][0] for e in events)


def test_bad_date_bound_is_a_clear_error(ask: Ask) -> None:
    reply = ask("events since whenever")
    assert reply["kind"] == "error" and "not a date" in reply["message"]


def test_article_has_actors_events_quotes(ask: Ask, seeded: Any) -> None:
    ids = seeded.store.article_ids()
    reply = ask(f"article {ids[-1]}")
    article = reply["article"]
    names = {a["name"] for a in article["actors"]}
    assert {"Nicolás Maduro", "Donald Trump", "Jorge Rodríguez", "Venezuela"} <= names
    assert any(e["type"] == "resumption" and e["date"] == "2025-03-23" for e in article["events"])
    speakers = {q["speaker"] for q in article["quotes"]}
    assert {"Jorge Rodríguez", "Nicolás Maduro"} <= speakers
    from bot.render import render
    from bot.service import Context

    text = render(seeded.service.handle(f"article {ids[-1]}", Context()))
    assert "Quotes (" in text and "Events (" in text and "Jorge Rodríguez" in text


def test_console_rendering_reads_well(seeded: Any) -> None:
    from bot.render import render
    from bot.service import Context

    who = render(seeded.service.handle("who Maduro", Context()))
    assert who.startswith("Nicolás Maduro (person)")
    assert "Venezuelan President" in who
    events = render(seeded.service.handle("events since 2025-03-01", Context()))
    assert "2025-03-15" in events and "El Salvador" in events
    choices = render(seeded.service.handle("who Madurro", Context()))
    assert "Nicolás Maduro" in choices


def test_known_label_errors_fixed_and_good_spans_kept(seeded: Any) -> None:
    actors = {(a["name"], a["type"]) for a in seeded.store.nlp_all_actors()}
    for good in [("Tren de Aragua", "ORG"), ("Bajo Chiquito", "GPE"), ("Darién", "LOC"),
                 ("Latin America", "LOC"), ("Mexico City", "GPE"),
                 ("Biden Administration", "ORG"), ("Donald Trump", "PERSON")]:
        assert good in actors, good
    names = {name for name, _type in actors}
    assert "Trump" not in names and "Maduro" not in names and "Darien" not in names
    assert not any(t == "PERSON" and n in ("Bajo Chiquito", "Tren de Aragua") for n, t in actors)


def test_pronoun_speakers_resolve_to_the_last_person(ask: Ask) -> None:
    maduro = ask("who Maduro")["actor"]
    said = [q["text"] for q in maduro["quotes"]]
    assert any(q.startswith("They will all return") for q in said)  # “…,” he said
    assert any(q.startswith("These young men") for q in said)  # “…,” he declared
    trump = ask("who Trump")["actor"]
    assert any("largest deportation effort" in q["text"] for q in trump["quotes"])  # what he calls


def test_capitals_act_as_their_governments(ask: Ask) -> None:
    events = _events(ask, "events accusation")
    blasted = [e for e in events if "Caracas blasted" in e["sentence"]]
    assert blasted and blasted[0]["actors"] == ["Venezuela"]
    flights = [e for e in _events(ask, "events deportation") if e["origin"] == "Harlingen"]
    assert flights[0]["destination"] == "Caracas"  # a place after "to"


def test_relative_bounds_use_today(seeded: Any) -> None:
    from datetime import UTC, datetime

    from bot.service import Service

    service = Service(seeded.store, seeded.settings,
                      clock=lambda: datetime(2025, 4, 10, tzinfo=UTC))
    reply = service.handle("events since last month", Context()).to_dict()
    assert reply["kind"] == "events" and reply["since"] == "2025-03"
    assert reply["events"] and all(e["date"] >= "2025-03" for e in reply["events"])
