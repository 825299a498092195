"""Precision and recall against a hand-annotated gold file (two seed articles).

Reports the figures per category and fails when any falls below 0.85.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.nlp.canon import fold

pytestmark = pytest.mark.model

HERE = Path(__file__).parent
GOLD = json.loads((HERE / "gold.json").read_text(encoding="utf-8"))
GOLD_UNSEEN = json.loads((HERE / "gold_unseen.json").read_text(encoding="utf-8"))
THRESHOLD = 0.85


def _article_id(seeded: Any, filename: str) -> int:
    for aid in seeded.store.article_ids():
        row = seeded.store.get_article(aid)
        if row is not None and (row.origin or "").endswith(filename):
            return aid
    raise AssertionError(f"{filename} is not in the seeded database")


def _norm(text: str) -> str:
    return " ".join(fold(text).replace("’", "'").replace("“", '"').split())


def score(seeded: Any, gold_file: dict[str, Any] = GOLD) -> dict[str, tuple[int, int, int]]:
    """category → (true positives, predicted, gold)."""
    totals = {c: [0, 0, 0] for c in ("actors", "quotes", "events", "arguments", "dates")}
    store = seeded.store
    for filename, gold in gold_file.items():
        if filename.startswith("_"):
            continue
        aid = _article_id(seeded, filename)
        # actors
        predicted = {(a["name"], a["type"]) for a in store.nlp_article_actors(aid)}
        wanted = {tuple(x) for x in gold["actors"]}
        t = totals["actors"]
        t[0] += len(predicted & wanted)
        t[1] += len(predicted)
        t[2] += len(wanted)
        # quotes: same speaker and the gold opening
        quotes = store.nlp_article_quotes(aid)
        matched_q = 0
        used: set[int] = set()
        for speaker, start in gold["quotes"]:
            for q in quotes:
                if q["id"] in used:
                    continue
                if _norm(q["text"]).startswith(_norm(start)) and q["speaker"] == speaker:
                    used.add(q["id"])
                    matched_q += 1
                    break
        t = totals["quotes"]
        t[0] += matched_q
        t[1] += len(quotes)
        t[2] += len(gold["quotes"])
        # events: same type in the sentence the gold snippet names; dates on matched events
        events = store.nlp_event_rows(article_id=aid)
        used = set()
        matched_e = 0
        date_ok = 0
        gold_dated = sum(1 for g in gold["events"] if g.get("date"))
        for g in gold["events"]:
            for e in events:
                if e["id"] in used or e["type"] != g["type"]:
                    continue
                if _norm(g["snippet"]) not in _norm(e["sentence"]):
                    continue
                if bool(g.get("negated")) != bool(e["negated"]):
                    continue
                used.add(e["id"])
                matched_e += 1
                if g.get("date") and e["date"] == g["date"]:
                    date_ok += 1
                _score_arguments(g, e, totals["arguments"])
                break
        t = totals["events"]
        t[0] += matched_e
        t[1] += len(events)
        t[2] += len(gold["events"])
        t = totals["dates"]
        t[0] += date_ok
        t[1] += sum(1 for e in events if e["date"])
        t[2] += gold_dated
    return {c: (v[0], v[1], v[2]) for c, v in totals.items()}


def report(figures: dict[str, tuple[int, int, int]], title: str) -> tuple[list[str], list[str]]:
    lines = ["", title, "category   precision  recall   (tp / predicted / gold)"]
    failing = []
    for category, (tp, predicted, gold) in figures.items():
        precision = tp / predicted if predicted else 0.0
        recall = tp / gold if gold else 0.0
        lines.append(
            f"{category:10} {precision:9.2f} {recall:7.2f}   ({tp} / {predicted} / {gold})"
        )
        if precision < THRESHOLD or recall < THRESHOLD:
            failing.append(category)
    return lines, failing


ARGUMENTS = ("actors", "targets", "origin", "destination", "via", "quantity")


def _score_arguments(gold: dict[str, Any], event: dict[str, Any], total: list[int]) -> None:
    """Each annotated argument value is one item (actors and targets are sets of names)."""
    for key in ARGUMENTS:
        if key not in gold:
            continue
        want = gold[key]
        wanted = set(want) if isinstance(want, list) else {want}
        if key in ("actors", "targets"):
            got = set(json.loads(event[key] or "[]"))
        else:
            value = event["quantity_text"] if key == "quantity" else event[key]
            got = {value} if value else set()
        total[0] += len(got & wanted)
        total[1] += len(got)
        total[2] += len(wanted)


def test_precision_and_recall_against_gold(seeded: Any, capsys: pytest.CaptureFixture[str]) -> None:
    lines, failing = report(score(seeded), "gold: seeds 003 and 004")
    with capsys.disabled():
        print("\n".join(lines))
    assert not failing, "below 0.85: " + ", ".join(failing) + "\n" + "\n".join(lines)


def test_precision_and_recall_on_unseen_articles(
    tmp_path: Path, nlp: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.ingest import ingest_paths
    from bot.settings import Settings
    from bot.wiring import build

    app = build(Settings(db_path=tmp_path / "unseen-gold.db"), nlp=nlp, seed=False)
    try:
        ingest_paths(app.store, [HERE / "articles"], analyzer=app.analyzer)
        lines, failing = report(score(app, GOLD_UNSEEN), "gold: three articles written for tests")
    finally:
        app.close()
    with capsys.disabled():
        print("\n".join(lines))
    assert not failing, "below 0.85: " + ", ".join(failing) + "\n" + "\n".join(lines)
