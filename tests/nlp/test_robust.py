"""Odd input never breaks the analyzer (property-based, with the real model)."""

from __future__ import annotations

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
            assert body[m.start : m.end] == m.text
    for ev in out[0].events:
        assert ev.date is None or ev.date[:4].isdigit()


def test_a_quote_running_into_the_next_paragraph() -> None:
    text = "“We will come back,” he said. “And we will stay"
    spans = _quote_spans(text)
    assert [text[a:b] for a, b in spans][-1] == "“And we will stay"
