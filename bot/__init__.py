"""wirewatch without Slack: settings, store, NLP, ingestion, feeds, grammar, service, console."""

__version__ = "0.1.0"
