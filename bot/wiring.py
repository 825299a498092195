"""The one place that wires wirewatch together.

``build()`` takes settings and, optionally, the outside world (store, NLP, feed fetcher, Slack
client, clock) so tests can put the real application around fakes of what cannot run here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from bot.errors import UserError
from bot.ingest import Analyzer, IngestResult, ensure_corpus
from bot.service import Clock, Service, utc_clock
from bot.settings import Settings
from bot.store import Store

log = logging.getLogger(__name__)


@dataclass
class Wirewatch:
    settings: Settings
    store: Store
    service: Service
    clock: Clock
    analyzer: Analyzer | None = None
    fetcher: Any = None
    slack_client: Any = None
    seeded: IngestResult | None = None
    poller: Any = None  # -- feeds: a bot.feeds.poller.Poller
    # -- watch: the alert pipeline; the poller calls alerts.on_new_articles(ids, backfill)
    # and the scheduler/poll loop calls alerts.deliver_pending(sender) after each poll --
    alerts: Any = None

    def close(self) -> None:
        if self.fetcher is not None and hasattr(self.fetcher, "close"):  # -- feeds --
            self.fetcher.close()
        self.store.close()


def build(
    settings: Settings,
    *,
    store: Store | None = None,
    nlp: Any = None,
    fetcher: Any = None,
    slack_client: Any = None,
    clock: Clock | None = None,
    seed: bool = True,
    backfill: bool = True,
) -> Wirewatch:
    """Build the application; on an empty database, index the bundled corpus first."""
    store = store or Store(settings.db_path)
    clock = clock or utc_clock
    analyzer: Analyzer | None = None
    # -- nlp: the analyzer loads its spaCy model only when there are articles to analyse
    from bot.nlp.analyzer import NlpAnalyzer

    nlp_analyzer = NlpAnalyzer(settings, nlp=nlp)
    analyzer = nlp_analyzer
    # -- end nlp
    service = Service(store, settings, clock=clock)
    app = Wirewatch(
        settings=settings, store=store, service=service, clock=clock, analyzer=analyzer,
        fetcher=fetcher, slack_client=slack_client,
    )
    # -- feeds --
    from bot.feeds.commands import FeedCommands
    from bot.feeds.fetch import Fetcher
    from bot.feeds.poller import Poller

    app.fetcher = fetcher or Fetcher(settings)
    app.poller = Poller(store, settings, app.fetcher, analyzer=app.analyzer, clock=clock)
    service.feed_commands = FeedCommands(store, settings, app.fetcher, app.poller, clock=clock)

    # -- nlp: with no spaCy model installed, the corpus is indexed without analysis (it is
    # analysed on a later start, once a model loads); lookups keep working either way
    if seed and not store.get_meta("corpus_seeded") and not store.count_articles():
        try:
            nlp_analyzer.nlp  # noqa: B018  (loads the model: there is work for it)
        except UserError as exc:
            log.warning("indexing without NLP: %s", exc.message)
            analyzer = None
    # -- end nlp

    # -- watch: new articles from the poller go through the alert pipeline --
    from bot.alerts import AlertPipeline

    app.alerts = AlertPipeline(store, clock=clock)
    app.poller.on_new_articles = app.alerts.on_new_articles
    if seed:
        app.seeded = ensure_corpus(store, analyzer)
    # -- nlp: articles stored without NLP (or by an older version) are analysed now
    if backfill and store.nlp_articles_to_analyse(nlp_analyzer.version, limit=1):
        from bot.nlp.analyzer import backfill as run_backfill

        try:
            run_backfill(store, nlp_analyzer)  # (an article that fails is marked, not retried)
        except UserError as exc:
            log.warning("articles left without NLP: %s", exc.message)
        except Exception:  # the app starts anyway; the articles stay searchable without NLP
            log.exception("start-up NLP backfill stopped; articles left without NLP")
    # -- end nlp
    return app
