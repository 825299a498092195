"""Console rendering of replies: readable plain text, highlights in bold on a terminal."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from typing import Any

from bot.replies import (
    ArticleReply,
    ErrorReply,
    FeedImportReply,
    FeedReply,
    FeedsReply,
    FeedView,
    HelpReply,
    PollReply,
    Reply,
    SearchReply,
    StatusReply,
    TextReply,
    WatchesReply,
    WatchReply,
    WatchView,
    plain_highlight,
)
from bot.sanitize import strip_controls, terminal_safe

BOLD, RESET = "\x1b[1m", "\x1b[0m"
WIDTH = 100


def _hl(text: str, ansi: bool) -> str:
    return plain_highlight(text, BOLD, RESET) if ansi else plain_highlight(text, "**", "**")


def _wrap(text: str, indent: str = "    ") -> str:
    return textwrap.fill(
        text, width=WIDTH, initial_indent=indent, subsequent_indent=indent,
        break_long_words=False, break_on_hyphens=False,
    )


def _safe(text: str | None) -> str:
    """Strip terminal control characters from untrusted text (``render`` does it again on the
    whole output)."""
    return strip_controls(text) if text else ""


def render_error(reply: ErrorReply, ansi: bool) -> str:
    out = f"Sorry: {_safe(reply.message)}"
    if reply.hint:
        out += f"\n{_safe(reply.hint)}"
    return out


def render_text(reply: TextReply, ansi: bool) -> str:
    return _safe(reply.text)


def render_help(reply: HelpReply, ansi: bool) -> str:
    lines = []
    if reply.intro:
        lines += [reply.intro, ""]
    width = max((len(c.usage) for c in reply.commands), default=0)
    for c in reply.commands:
        lines.append(f"  {c.usage.ljust(width)}  {c.summary}")
        if reply.topic:
            lines += [f"      e.g. {ex}" for ex in c.examples]
    if not reply.topic:
        lines += ["", "Type `help COMMAND` for examples. Plain English works too: "
                      "\"who is Jorge Rodríguez?\", \"what happened with deportation flights\"."]
    return "\n".join(lines)


def render_search(reply: SearchReply, ansi: bool) -> str:
    if reply.total == 0:
        return f"No articles match “{_safe(reply.query)}”."
    first = (reply.page - 1) * 10 + 1
    head = f"{reply.total} article{'s' if reply.total != 1 else ''} match “{_safe(reply.query)}”"
    if reply.broadened:
        head += " (no article has every word; showing any)"
    if reply.total > len(reply.results):
        head += f" — {first}–{first + len(reply.results) - 1} shown"
    lines = [head + ":"]
    for hit in reply.results:
        meta = " · ".join(x for x in (hit.source, hit.date) if x)
        lines.append("")
        suffix = f"  ({_safe(meta)})" if meta else ""
        lines.append(f"  [{hit.article_id}] {_safe(hit.title)}{suffix}")
        lines.append(_hl(_wrap(_safe(hit.snippet), "      "), ansi))
    if reply.total > first + len(reply.results) - 1:
        lines += ["", f"  more: `search {_safe(reply.query)} page {reply.page + 1}`"]
    lines += ["", "`article ID` shows one article."]
    return "\n".join(lines)


def render_article(reply: ArticleReply, ansi: bool) -> str:
    a = reply.article
    lines = [f"Article {a.id}: {_safe(a.title)}"]
    facts = [
        ("Date", a.date or "unknown"),
        ("Dateline", a.dateline),
        ("Source", a.source),
        ("Author", a.author),
        ("URL", a.url),
        ("Words", str(a.words)),
    ]
    lines += [f"  {k + ':':10}{_safe(v)}" for k, v in facts if v]
    lines += ["", _wrap(_safe(a.lead), "  ")]
    if a.actors:
        lines += ["", "Actors:"]
        lines += [_wrap(", ".join(f"{_safe(x.name)} ({x.type})" for x in a.actors), "  ")]
    if a.events:
        lines += ["", "Events:"]
        for e in a.events:
            when = e.date or "undated"
            neg = "NOT " if e.negated else ""
            lines.append(f"  - {when}: {neg}{e.type} — {_safe(e.sentence)[:200]}")
    if a.quotes:
        lines += ["", "Quotes:"]
        for q in a.quotes:
            lines.append(f"  - “{_safe(q.text)[:300]}” — {_safe(q.speaker) or 'unknown speaker'}")
    return "\n".join(lines)


def render_status(reply: StatusReply, ansi: bool) -> str:
    lines = [
        f"Database: {reply.database}",
        f"Articles {reply.articles} · actors {reply.actors} · events {reply.events} · "
        f"quotes {reply.quotes} · watches {reply.watches} · alerts {reply.alerts} "
        f"({reply.alerts_pending} waiting)",
        f"Last poll: {reply.last_poll or 'never'}",
    ]
    if reply.alerts_pending:  # -- harden: the delivery backlog, in words
        lines.append(f"Backlog: {backlog_words(reply.alerts_pending)}")
    if reply.nlp:
        lines.append(f"NLP: {reply.nlp}")
    if reply.feeds:
        lines.append(f"Feeds ({len(reply.feeds)}):")
        for f in reply.feeds:
            line = f"  [{f.id}] {_safe(f.title or f.url)} — {f.status}, {f.articles} articles"
            if f.error:
                line += f" — last error: {_safe(f.error)}"
            lines.append(line)
    else:
        lines.append("Feeds: none yet (`feed add URL`).")
    return "\n".join(lines)


_RENDERERS: dict[type[Any], Callable[[Any, bool], str]] = {
    ErrorReply: render_error,
    TextReply: render_text,
    HelpReply: render_help,
    SearchReply: render_search,
    ArticleReply: render_article,
    StatusReply: render_status,
}


# -- watch ------------------------------------------------------------------------------------


def _watch_line(w: WatchView) -> str:
    state = []
    if w.muted_until:
        forever = w.muted_until.startswith("9999")
        state.append("muted" if forever else f"muted until {w.muted_until}")
    if w.digest_time:
        state.append(f"daily digest {w.digest_time} UTC")
    if w.mode == "any":
        state.append("any mention")
    if w.broken:
        state.insert(0, "BROKEN: no longer alerts")
    if w.paused:
        state.append(w.paused)
    tail = f" [{', '.join(state)}]" if state else ""
    line = f"  [{w.id}] {_safe(w.query)}{tail}"
    if w.broken:
        line += f"\n      broken: {_safe(w.broken)}; `unwatch {w.id}` removes it"
    return line


def render_watch(reply: WatchReply, ansi: bool) -> str:
    w = reply.watch
    lines = [_safe(reply.message), _watch_line(w), _wrap(_safe(w.understood), "      ")]
    if reply.created or reply.matches:
        if reply.matches:
            lines += ["", "Recent articles it would have matched:"]
            for m in reply.matches:
                meta = " · ".join(x for x in (m.source, m.date) if x)
                suffix = f"  ({_safe(meta)})" if meta else ""
                lines.append(f"  [{m.article_id}] {_safe(m.title)}{suffix}")
                lines.append(_wrap("why: " + _safe("; ".join(m.why)), "      "))
        else:
            lines += ["", "No recent article would have matched; new ones will alert."]
    return "\n".join(lines)


def render_watches(reply: WatchesReply, ansi: bool) -> str:
    if not reply.watches:
        return ("No watches in this channel. Try `watch deportation flights to Venezuela`.")
    lines = [f"Watches in this channel ({len(reply.watches)}):"]
    for w in reply.watches:
        lines.append(_watch_line(w))
        counts = f"{w.alerts} alert{'s' if w.alerts != 1 else ''}"
        if w.not_relevant:
            counts += f", {w.not_relevant} marked not relevant"
        by = f" · by {_safe(w.created_by)}" if w.created_by else ""
        lines.append(f"      {counts}{by}")
    lines += ["", "`unwatch ID`, `mute ID for 2h`, `digest ID daily 08:00` manage them."]
    return "\n".join(lines)


_RENDERERS[WatchReply] = render_watch
_RENDERERS[WatchesReply] = render_watches


def register(reply_type: type[Reply], renderer: Callable[[Any, bool], str]) -> None:
    """Let a module add the console rendering of its own reply type."""
    _RENDERERS[reply_type] = renderer


def render(reply: Reply, *, ansi: bool = False) -> str:
    renderer = _RENDERERS.get(type(reply))
    if renderer is None:
        return terminal_safe(json.dumps(reply.to_dict(), indent=2, ensure_ascii=False))
    return terminal_safe(renderer(reply, ansi))


# -- feeds ------------------------------------------------------------------------------------


def _feed_line(f: FeedView) -> str:
    line = f"  [{f.id}] {_safe(f.title or f.url)} — {f.status}, {f.articles} articles"
    line += f", last checked {f.last_polled or 'never'}"
    if f.status != "disabled" and f.next_check:
        line += f", next {f.next_check}"
    if f.error:
        line += f"\n      problem: {_safe(f.error)}"
    if f.title:
        line += f"\n      {_safe(f.url)}"
    return line


def render_feed(reply: FeedReply, ansi: bool) -> str:
    lines = [_safe(reply.message) if reply.message else f"Feed {reply.feed.id}:"]
    if reply.discovered_from:
        lines.append(f"  (found from the page {_safe(reply.discovered_from)})")
    lines.append(_feed_line(reply.feed))
    return "\n".join(lines)


def render_feeds(reply: FeedsReply, ansi: bool) -> str:
    if not reply.feeds:
        return "No feeds yet. Add one with `feed add URL`."
    failing = sum(1 for f in reply.feeds if f.status in ("failing", "disabled", "slow"))
    head = f"{len(reply.feeds)} feed{'s' if len(reply.feeds) != 1 else ''}"
    if failing:
        head += f" ({failing} with problems)"
    return "\n".join([head + ":", *(_feed_line(f) for f in reply.feeds)])


def render_feed_import(reply: FeedImportReply, ansi: bool) -> str:
    """`feed import`: each skipped entry on its own line, with why."""
    lines = [f"Imported {len(reply.added)} feed(s); {reply.already} already followed."
             " New feeds are checked on the next poll."]
    lines += [f"  [{f.id}] {_safe(f.url)}" for f in reply.added]
    if reply.skipped:
        why = {r["url"]: r["why"] for r in reply.refused}
        lines.append(f"Skipped {len(reply.skipped)} (nothing stored for them):")
        lines += [f"  - {_safe(s)} ({_safe(why[s])})" if s in why else f"  - {_safe(s)}"
                  for s in reply.skipped[:50]]
        if len(reply.skipped) > 50:
            lines.append(f"  … {len(reply.skipped) - 50} more")
    return "\n".join(lines)


def render_poll(reply: PollReply, ansi: bool) -> str:
    """`poll`: what was checked, then what was skipped and why."""
    if reply.message and not reply.feeds:
        return _safe(reply.message)
    lines = [
        f"Checked {reply.feeds} feed(s): {reply.new_articles} new article(s), "
        f"{reply.not_modified} unchanged, {len(reply.alerts)} alert(s)."
    ]
    for alert in reply.alerts[:20]:
        lines.append(
            f"  alert: watch {alert.get('watch_id')} in {_safe(str(alert.get('channel')))}"
            f" — [{alert.get('article_id')}] {_safe(str(alert.get('title') or ''))}"
        )
    for err in reply.errors:
        lines.append(f"  problem: {_safe(err)}")
    for notice in reply.notices:
        lines.append(f"  notice for {_safe(str(notice.get('channel')))}: "
                     f"{_safe(str(notice.get('text')))}")
    for skip in reply.skipped:
        lines.append(_safe(f"  skipped: feed {skip.get('feed_id')} ({skip.get('label')}) — "
                           f"{skip.get('why')}; held until {skip.get('until')}"))
    if reply.deferred:
        lines.append(f"  {reply.deferred} due feed(s) not reached in this round's time budget; "
                     "they are first in line for the next round.")
    if reply.message:
        lines.append(_safe(reply.message))
    return "\n".join(lines)


_RENDERERS.update({
    FeedReply: render_feed,
    FeedsReply: render_feeds,
    FeedImportReply: render_feed_import,
    PollReply: render_poll,
})

# -- nlp: actors, choices, timelines ----------------------------------------------------------

_TYPE_WORDS = {"PERSON": "person", "ORG": "organisation", "GPE": "country/place",
               "LOC": "place", "NORP": "group"}


def _event_line(e: Any) -> str:
    from bot.nlp.lookups import type_label

    when = e.date or (f"“{e.date_text}” (undated)" if e.date_text else "undated")
    what = ("NOT " if e.negated else "") + type_label(e.type)
    if e.modality in ("planned", "future"):
        what += f" ({e.modality})"
    who = ", ".join(e.actors)
    parts = [f"{when}: {what}"]
    if who:
        parts.append(f"by {who}")
    if e.targets:
        parts.append(f"→ {', '.join(e.targets)}")
    route = " → ".join(x for x in (e.origin, e.via, e.destination) if x)
    if route:
        parts.append(f"[{route}]")
    elif e.place:
        parts.append(f"[{e.place}]")
    if e.quantity:
        parts.append(f"({e.quantity})")
    src = ", ".join(str(s) for s in e.sources)
    return _safe(" ".join(parts)) + f"  — article{'s' if len(e.sources) > 1 else ''} {src}"


def _bullet(text: str) -> str:
    return textwrap.fill(text, width=WIDTH, initial_indent="  - ", subsequent_indent="    ",
                         break_long_words=False, break_on_hyphens=False)


def render_actor(reply: Any, ansi: bool) -> str:
    a = reply.actor
    lines = [f"{_safe(a.name)} ({_TYPE_WORDS.get(a.type, a.type.lower())})"]
    if a.aliases:
        lines.append(_wrap("also: " + ", ".join(_safe(x) for x in a.aliases), "  "))
    if a.roles:
        lines.append("  roles: " + "; ".join(_safe(r.role) for r in a.roles[:6]))
    n = max(a.articles_total, len(a.articles))
    seen = f"{a.mentions} mentions in {n} article{'s' if n != 1 else ''}"
    if a.first_seen and a.first_seen != a.last_seen:
        seen += f", {a.first_seen} – {a.last_seen}"
    elif a.first_seen:
        seen += f", {a.first_seen}"
    lines.append("  " + seen)
    if a.quotes:
        lines += ["", "Quotes:"]
        for q in a.quotes[:5]:
            lines.append(_bullet(f"“{_safe(q.text)[:300]}” (article {q.article_id})"))
        n_quotes = max(a.quotes_total, len(a.quotes))
        if n_quotes > 5:
            lines.append(f"  … {n_quotes - 5} more quotes ({n_quotes:,} in all)")
    if a.events:
        lines += ["", "Events:"]
        shown = a.events[:10]
        lines += [f"  - {_event_line(e)}" for e in shown]
        n_events = max(a.events_total, len(a.events))
        if n_events > len(shown):
            lines.append(f"  … {n_events - len(shown)} more (`events {_safe(a.name)}`)")
    if a.related:
        lines += ["", "Related: " + ", ".join(f"{_safe(r.name)} ({r.count})" for r in a.related)]
    if a.articles:
        lines += ["", "Articles:"]
        for art in a.articles[:8]:
            meta = " · ".join(x for x in (art.source, art.date) if x)
            suffix = f"  ({_safe(meta)})" if meta else ""
            lines.append(f"  [{art.id}] {_safe(art.title)}{suffix}")
        if n > 8:
            lines.append(f"  … {n - 8} more articles ({n:,} in all)")
    return "\n".join(lines)


def render_choices(reply: Any, ansi: bool) -> str:
    lines = [f"“{_safe(reply.query)}” could be:"]
    for c in reply.choices:
        lines.append(f"  - {_safe(c.name)} ({_TYPE_WORDS.get(c.type, c.type)}, "
                     f"{c.mentions} mentions)")
    lines.append("Say `who FULL NAME` to pick one.")
    return "\n".join(lines)


def render_not_found(reply: Any, ansi: bool) -> str:
    out = _safe(reply.message) or f"No actor called “{_safe(reply.query)}”."
    if reply.suggestions:
        out += "\nDid you mean: " + ", ".join(_safe(s) for s in reply.suggestions) + "?"
    return out


def render_events(reply: Any, ansi: bool) -> str:
    scope = f" about “{_safe(reply.topic)}”" if reply.topic else ""
    if reply.since or reply.until:
        scope += f" ({reply.since or '…'} to {reply.until or '…'})"
    if not reply.events:
        return f"No events{scope}."
    lines = [f"{reply.total} event{'s' if reply.total != 1 else ''}{scope}, oldest first:"]
    shown = reply.events[:40]
    for e in shown:
        lines.append(f"  - {_event_line(e)}")
        lines.append(_wrap(_safe(e.sentence)[:240], "      "))
    if reply.total > len(shown):
        lines.append(f"  … {reply.total - len(shown)} more: narrow with a topic or `since DATE`.")
    return "\n".join(lines)


def render_article_nlp(reply: ArticleReply, ansi: bool) -> str:
    """The article with its actors, then its events as a timeline and its quotes."""
    from dataclasses import replace

    a = reply.article
    base = render_article(ArticleReply(article=replace(a, events=[], quotes=[])), ansi)
    lines = [base]
    if a.events:
        lines += ["", f"Events ({len(a.events)}):"]
        for e in a.events:
            lines.append(f"  - {_event_line(e)}")
            lines.append(_wrap(_safe(e.sentence)[:240], "      "))
    if a.quotes:
        lines += ["", f"Quotes ({len(a.quotes)}):"]
        for q in a.quotes:
            speaker = _safe(q.speaker) or "unknown speaker"
            lines.append(_bullet(f"“{_safe(q.text)[:300]}” — {speaker}"))
    return "\n".join(lines)


def _register_nlp() -> None:
    from bot.replies import ActorReply, ChoicesReply, EventsReply, NotFoundReply

    _RENDERERS[ArticleReply] = render_article_nlp
    _RENDERERS[ActorReply] = render_actor
    _RENDERERS[ChoicesReply] = render_choices
    _RENDERERS[NotFoundReply] = render_not_found
    _RENDERERS[EventsReply] = render_events


_register_nlp()


# -- harden --------------------------------------------------------------------------------


def backlog_words(pending: int) -> str:
    """The alert outbox, said plainly (console and Slack ``status``)."""
    return (f"{pending} alert{'s' if pending != 1 else ''} waiting to be posted "
            "(retried until Slack accepts them; nothing is dropped)")
