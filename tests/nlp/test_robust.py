"""Odd input never breaks the analyzer (property-based, with the real model)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.ingest import ArticleDraft
from bot.nlp.analyzer import NlpAnalyzer
from bot.nlp.extract import _quote_spans

pytestmark = pytest.mark.model

PIECES = st.sampled_from([
    "Maduro", "said", "“", "”", '"', "«", "—", "-", "Trump", "U.S.", "on Saturday", "tomorrow",
    "238", "about 900", "migrants", "were deported to", "El Salvador", "\n\n", ".", ",", "he",
    "would no longer accept", "flights", "Caracas", "the", "President", "José", "’s", "?", " ",
    "résumé", "🙂", "\u202e", "0", "1999", "next week", "30 days", "Ms.", "Bárcena",
])
TEXTS = st.lists(PIECES, min_size=1, max_size=40).map(" ".join)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(title=TEXTS, body=TEXTS, dated=st.booleans())
def test_analyzer_survives_odd_text(nlp: Any, title: str, body: str, dated: bool) -> None:
    draft = ArticleDraft(title=title, text=body, published="2025-03-23" if dated else None)
    out = NlpAnalyzer(None, nlp=nlp).analyze([draft])
    assert len(out) == 1
    for m in out[0].mentions:
        if m.start is not None and m.end is not None:
            # offsets are into the stored text (control characters stripped at ingestion)
            assert draft.text[m.start : m.end] == m.text
    for ev in out[0].events:
        assert ev.date is None or ev.date[:4].isdigit()


def test_a_quote_running_into_the_next_paragraph() -> None:
    text = "“We will come back,” he said. “And we will stay"
    spans = _quote_spans(text)
    assert [text[a:b] for a, b in spans][-1] == "“And we will stay"


_ROOT = Path(__file__).resolve().parents[2]
_CANDIDATES = (_ROOT.parent / "shared" / "realfeeds", _ROOT.parent.parent / "shared" / "realfeeds")
REALFEEDS = next((p for p in _CANDIDATES if p.is_dir()), _ROOT / "missing-realfeeds")


@pytest.mark.skipif(not REALFEEDS.is_dir(), reason="../shared/realfeeds is not here")
def test_real_feed_items(tmp_path: Path, nlp: Any) -> None:
    """150 real feed items: stored without error, countries stay places."""
    import feedparser

    from bot.ingest import draft_from_record, ingest_drafts
    from bot.nlp.canon import load_alias_table
    from bot.store import Store

    drafts = []
    for path in sorted(REALFEEDS.iterdir()):
        if path.suffix == ".md":
            continue
        for entry in feedparser.parse(str(path)).entries:
            record = {"title": entry.get("title"), "url": entry.get("link"),
                      "text": entry.get("summary") or entry.get("title")}
            draft = draft_from_record(record)
            if draft is not None:
                drafts.append(draft)
        if len(drafts) >= 150:
            break
    store = Store(tmp_path / "feeds.db")
    try:
        result = ingest_drafts(store, drafts[:150], NlpAnalyzer(None, nlp=nlp))
        assert result.new_ids and all(e.endswith("no text") for e in result.errors)
        table = load_alias_table()
        actors = store.nlp_all_actors()
        assert actors
        for actor in actors:
            known = table.known(str(actor["key"]))
            if known is not None:
                assert actor["type"] == known.type, actor
            assert str(actor["name"])[:1].isalnum(), actor
    finally:
        store.close()
