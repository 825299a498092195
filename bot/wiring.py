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
    poller: Any = None  # bot.feeds.poller.Poller
    # the alert pipeline: the poller calls alerts.on_new_articles(ids, backfill) and the
    # scheduler/poll loop calls alerts.deliver_pending(sender) after each poll
    alerts: Any = None

    def close(self) -> None:
        if self.fetcher is not None and hasattr(self.fetcher, "close"):
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
    """Build the application.

    On an empty database the bundled corpus is indexed first (``seed``); articles stored
    without NLP are analysed (``backfill``).  The spaCy model loads only when there is
    something to analyse, never for lookups.
    """
    from bot.alerts import AlertPipeline
    from bot.feeds.commands import FeedCommands
    from bot.feeds.fetch import Fetcher
    from bot.feeds.poller import Poller
    from bot.nlp.analyzer import NlpAnalyzer
    from bot.nlp.analyzer import backfill as run_backfill

    store = store or Store(settings.db_path)
    clock = clock or utc_clock
    analyzer = NlpAnalyzer(settings, nlp=nlp)
    service = Service(store, settings, clock=clock)
    fetcher = fetcher or Fetcher(settings)
    poller = Poller(store, settings, fetcher, analyzer=analyzer, clock=clock)
    alerts = AlertPipeline(store, clock=clock)
    poller.on_new_articles = alerts.on_new_articles
    service.feed_commands = FeedCommands(store, settings, fetcher, poller, clock=clock)
    app = Wirewatch(
        settings=settings, store=store, service=service, clock=clock, analyzer=analyzer,
        fetcher=fetcher, slack_client=slack_client, poller=poller, alerts=alerts,
    )
    if seed and not store.get_meta("corpus_seeded") and not store.count_articles():
        seed_analyzer: Analyzer | None = analyzer
        try:
            analyzer.nlp  # noqa: B018  (loads the model: there is work for it)
        except UserError as exc:  # no model installed: index now, analyse on a later start
            log.warning("indexing without NLP: %s", exc.message)
            seed_analyzer = None
        app.seeded = ensure_corpus(store, seed_analyzer)
    if backfill and store.nlp_articles_to_analyse(analyzer.version, limit=1):
        try:
            run_backfill(store, analyzer)  # an article that fails is marked, not retried
        except UserError as exc:
            log.warning("articles left without NLP: %s", exc.message)
        except Exception:  # the app starts anyway; the articles stay searchable without NLP
            log.exception("start-up NLP backfill stopped; articles left without NLP")
    return app
