"""Relevance: every seed story is about "deportation flights to Venezuela"; near misses are not."""

from __future__ import annotations

import pytest

from bot.demo_articles import NEAR_MISSES, OFF_TOPIC, SYNDICATED
from tests.watch.conftest import seed_drafts
from watchlists.document import ArticleDoc, analyze
from watchlists.query import parse
from watchlists.relevance import matches, reasons, score

TOPIC = parse("deportation flights to Venezuela")
ANY = parse("deportation flights to Venezuela mode:any")

# Near misses written for these tests (in addition to the demo's).
COLOMBIA_LEAD = (
    "Colombia takes more deportation flights",
    "Two US deportation flights carrying Colombians landed in Bogotá on Tuesday, a week after "
    "Venezuela suspended its own flights. Colombian officials met the returnees.\n\n"
    "Colombia has received 40 flights this year. Colombian migrants said they were treated "
    "well. The Colombian government in Bogotá said more flights would come to Colombia.\n\n"
    "Officials in Colombia expect a third flight on Friday.",
)
DEPORTATION_TO_HONDURAS = (
    "Honduran deportees arrive on charter flights",
    "Charter flights carrying deported Hondurans landed in San Pedro Sula, Honduras, on "
    "Monday. Honduran officials said Honduras would take two flights a week.\n\n"
    "A Venezuelan man was among the passengers, officials in Tegucigalpa said, and would be "
    "sent on.",
)
VENEZUELA_DIPLOMACY = (
    "Maduro hosts Brazilian envoy in Caracas",
    "Venezuela's President Nicolás Maduro received a Brazilian envoy in Caracas to discuss "
    "trade and the disputed election. Venezuelan officials called the talks frank.\n\n"
    "The envoy also met Venezuela's foreign minister. Venezuela and Brazil will meet again "
    "in March.\n\nOn migration, the minister mentioned past repatriation flights only briefly.",
)


def as_doc(title: str, text: str, i: int = 1) -> ArticleDoc:
    return ArticleDoc(id=i, title=title, text=text)


@pytest.mark.parametrize("index", range(5))
def test_every_seed_story_matches(index: int) -> None:
    d = seed_drafts()[index]
    adoc = analyze(as_doc(d.title, d.text))
    assert matches(TOPIC, adoc), d.title
    labels = {r.label for r in reasons(TOPIC, adoc)}
    assert labels == {"deportation", "flights", "Venezuela"}


def test_mexico_repatriation_flights_story_matches_through_synonyms() -> None:
    d = next(d for d in seed_drafts() if d.title.startswith("Mexico, Venezuela"))
    adoc = analyze(as_doc(d.title, d.text))
    assert "deport" not in adoc.zones["title"]
    why = {r.label: r.where for r in reasons(TOPIC, adoc)}
    assert "headline" in why["deportation"], "repatriation in the headline counts"
    assert matches(TOPIC, adoc)


@pytest.mark.parametrize(
    "article",
    [*(a[1:] for a in NEAR_MISSES), *(a[1:] for a in OFF_TOPIC)],
    ids=lambda a: a[0][:30],
)
def test_demo_near_misses_and_off_topic_stay_silent(article: tuple[str, str, str, str]) -> None:
    title, _source, _date, text = article
    assert not matches(TOPIC, analyze(as_doc(title, text)))


@pytest.mark.parametrize(
    "article", [COLOMBIA_LEAD, DEPORTATION_TO_HONDURAS, VENEZUELA_DIPLOMACY],
    ids=["colombia-lead", "honduras", "venezuela-diplomacy"],
)
def test_own_near_misses_stay_silent(article: tuple[str, str]) -> None:
    adoc = analyze(as_doc(*article))
    assert not matches(TOPIC, adoc)


def test_near_misses_would_match_on_any_mention() -> None:
    """The relevance rules, not missing words, keep the near misses silent."""
    for article in (COLOMBIA_LEAD, DEPORTATION_TO_HONDURAS):
        assert matches(ANY, analyze(as_doc(*article)))
    colombia = NEAR_MISSES[0]
    assert matches(ANY, analyze(as_doc(colombia[1], colombia[4])))


def test_country_in_headline_is_always_central() -> None:
    title = "Venezuela and Colombia: deportation flights resume"
    adoc = analyze(as_doc(title, COLOMBIA_LEAD[1]))
    assert matches(TOPIC, adoc)


def test_headline_and_lead_weigh_more_than_body() -> None:
    q = parse("deportation flights")
    filler = " ".join(["words"] * 80)
    headline = analyze(as_doc("Deportation flights resume", "Text."))
    body = analyze(as_doc("News", f"Text. {filler} deportation flights. deportation flights."))
    assert score(q, headline) > score(q, body)


def test_syndicated_copy_matches_too() -> None:
    adoc = analyze(as_doc(SYNDICATED[1], SYNDICATED[4]))
    assert matches(TOPIC, adoc)
