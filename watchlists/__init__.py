"""Watches: the query language, the matcher and alert decisions.  Pure Python.

This package imports no slack_bolt, spacy, feedparser or apscheduler.
"""
