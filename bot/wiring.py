"""The one place that wires wirewatch together.

``build()`` takes settings and, optionally, the outside world (store, NLP, feed fetcher, Slack
client, clock) so tests can put the real application around fakes of what cannot run here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.ingest import Analyzer, IngestResult, ensure_corpus
from bot.service import Clock, Service, utc_clock
from bot.settings import Settings
from bot.store import Store


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
) -> Wirewatch:
    """Build the application; on an empty database, index the bundled corpus first."""
    store = store or Store(settings.db_path)
    clock = clock or utc_clock
    analyzer: Analyzer | None = None
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
    # -- watch: new articles from the poller go through the alert pipeline --
    from bot.alerts import AlertPipeline

    app.alerts = AlertPipeline(store, clock=clock)
    app.poller.on_new_articles = app.alerts.on_new_articles
    if seed:
        app.seeded = ensure_corpus(store, analyzer)
    return app
