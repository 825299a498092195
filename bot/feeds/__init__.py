"""Feeds: fetching (``fetch``), parsing (``parse``), polling (``poller``), scheduling
(``scheduler``) and the feed commands (``commands``).

Importing this package loads neither feedparser nor APScheduler; the modules that need them
import them lazily.
"""
