"""Block Kit rendering of the service's replies, built with ``slack_sdk.models.blocks``.

Every message stays within Slack's limits (50 blocks, 3000 characters a section, 150 a
header); a list that does not fit is paged, with a "more" button (``ww_more``) whose value
holds the command and the next page.  Every message also carries a plain ``text`` fallback
(notifications, screen readers).  Every untrusted string goes through ``handlers.mrkdwn``.

Reply kinds without a renderer here (later issues add them) are rendered from
``bot.render.render(reply)``: the console text, escaped, split into sections.
``register(ReplyType, fn)`` adds a Slack renderer for a new kind.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot import render as console
from bot.home import HomeReply
from bot.replies import (
    ArticleReply,
    ErrorReply,
    FeedsReply,
    HelpReply,
    Reply,
    SearchReply,
    StatusReply,
    TextReply,
)
from handlers.mrkdwn import escape, fit, highlight, link, safe_cut, truncate

MAX_BLOCKS = 50
MAX_HOME_BLOCKS = 100
SECTION_CHARS = 3000
FIELD_CHARS = 2000
CONTEXT_CHARS = 2000
HEADER_CHARS = 150
BUTTON_TEXT_CHARS = 75
BUTTON_VALUE_CHARS = 2000
PAGE_CHARS = 12000  # characters of blocks on one page of a long reply
TEXT_CHARS = 3000  # the fallback text: long enough to read, short enough for a notification

ACTION_MORE = "ww_more"
ACTION_MUTE = "ww_mute"
ACTION_UNWATCH = "ww_unwatch"
ACTION_NOT_RELEVANT = "ww_not_relevant"

_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,20}$")
STATUS_ICON = {"ok": "🟢", "new": "⚪", "slow": "🟡", "failing": "🟠", "disabled": "🔴"}


@dataclass
class Message:
    """One Slack message: the fallback ``text`` and the ``blocks`` (as dicts)."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)

    def as_kwargs(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks}


@dataclass
class Parts:
    """What a renderer produces: fixed head and foot blocks around pageable items."""

    text: str
    head: list[Block] = field(default_factory=list)
    items: list[list[Block]] = field(default_factory=list)
    foot: list[Block] = field(default_factory=list)
    more_command: str | None = None  # a command that shows the rest (service-side paging)


Renderer = Callable[[Any], Parts]


# -- building blocks -------------------------------------------------------------------------

def md(text: str, limit: int = SECTION_CHARS) -> MarkdownTextObject:
    """A mrkdwn text object from ALREADY-ESCAPED text; ``verbatim`` so Slack does not turn
    bare names into mentions or links."""
    return MarkdownTextObject(text=fit(text, limit) or " ", verbatim=True)


def section(text: str) -> SectionBlock:
    return SectionBlock(text=md(text))


def fields_section(pairs: Sequence[tuple[str, str]]) -> SectionBlock:
    return SectionBlock(
        fields=[md(f"*{escape(k)}*\n{escape(v)}", FIELD_CHARS) for k, v in pairs[:10]]
    )


def header(text: str) -> HeaderBlock:
    return HeaderBlock(text=PlainTextObject(text=truncate(text, HEADER_CHARS) or " ", emoji=False))


def context(text: str) -> ContextBlock:
    return ContextBlock(elements=[md(text, CONTEXT_CHARS)])


def button(text: str, action_id: str, value: str, *, style: str | None = None,
           confirm: ConfirmObject | None = None) -> ButtonElement:
    if confirm is None and action_id == ACTION_UNWATCH:
        confirm = unwatch_confirm(value)
    return ButtonElement(
        text=PlainTextObject(text=truncate(text, BUTTON_TEXT_CHARS), emoji=True),
        action_id=action_id, value=value[:BUTTON_VALUE_CHARS], style=style, confirm=confirm,
    )


def unwatch_confirm(watch_id: str) -> ConfirmObject:
    """Every Unwatch button asks first (Slack shows the dialog; the click comes after)."""
    return ConfirmObject(
        title="Stop this watch?",
        text=f"Watch {truncate(watch_id, 20)} stops for everyone in its channel.",
        confirm="Unwatch", deny="Keep it", style="danger",
    )


def channel_ref(channel: str) -> str:
    """``<#C123>`` for a real channel ID, the escaped text otherwise."""
    return f"<#{channel}>" if _CHANNEL_ID.match(channel) else escape(channel)


def more_value(command: str, page: int) -> str | None:
    """The ``ww_more`` button value; None when the command is too long to carry."""
    value = json.dumps({"c": command, "p": page}, ensure_ascii=False, separators=(",", ":"))
    return value if len(value) <= BUTTON_VALUE_CHARS else None


def parse_more_value(value: str) -> tuple[str, int]:
    data = json.loads(value)
    command, page = data.get("c"), data.get("p", 1)
    if not isinstance(command, str) or not isinstance(page, int) or page < 1:
        raise ValueError("bad ww_more value")
    return command, page


def split_text(text: str, limit: int = SECTION_CHARS - 100) -> list[str]:
    """Split escaped text into chunks of at most ``limit`` characters on line boundaries."""
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:  # one very long line: cut it, never inside an entity
            cut = safe_cut(line, limit)
            if current:
                chunks.append(current)
                current = ""
            chunks.append(line[:cut])
            line = line[cut:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current.strip():
        chunks.append(current)
    return [c for c in chunks if c.strip()]


def _date(value: str | None) -> str:
    return value or "undated"


# -- renderers --------------------------------------------------------------------------------

def render_error(reply: ErrorReply) -> Parts:
    text = f":warning: {escape(reply.message)}"
    parts = Parts(text=fit(escape(reply.message), TEXT_CHARS), head=[section(text)])
    if reply.hint:
        parts.head.append(context(escape(reply.hint)))
    return parts


def render_text(reply: TextReply) -> Parts:
    escaped = escape(reply.text)
    return Parts(text=fit(escaped, TEXT_CHARS),
                 items=[[section(chunk)] for chunk in split_text(escaped)])


def render_help(reply: HelpReply) -> Parts:
    title = f"help: {reply.topic}" if reply.topic else "wirewatch help"
    parts = Parts(text=title, head=[header(title)])
    if reply.intro:
        parts.head.append(section(escape(reply.intro)))
    for c in reply.commands:
        line = f"`{escape(c.usage)}`\n{escape(c.summary)}"
        if c.examples:
            line += "\n_e.g._ " + " · ".join(f"`{escape(x)}`" for x in c.examples)
        parts.items.append([section(line)])
    if not reply.topic:
        parts.foot.append(context(
            "Use `/news COMMAND`, mention me, or DM me. `help COMMAND` shows examples. "
            "Plain English works too: “who is Jorge Rodríguez?”"
        ))
    return parts


def render_search(reply: SearchReply) -> Parts:
    query = escape(reply.query)
    if reply.total == 0:
        text = f"No articles match “{query}”."
        return Parts(text=text, head=[section(text)])
    first = (reply.page - 1) * 10 + 1
    last = first + len(reply.results) - 1
    head = f"{reply.total} article{'s' if reply.total != 1 else ''} match “{query}”"
    if reply.total > len(reply.results):
        head += f" — {first}–{last} shown"
    parts = Parts(text=fit(head, TEXT_CHARS), head=[section(f"*{head}*")])
    if reply.broadened:
        parts.head.append(context("No article has every word; showing articles with any."))
    for hit in reply.results:
        meta = " · ".join(escape(x) for x in (hit.source, hit.date) if x)
        title = link(hit.url, hit.title) if hit.url else escape(hit.title)
        body = f"*{hit.article_id}* · {title}"
        if meta:
            body += f"  ({meta})"
        body += f"\n{highlight(hit.snippet)}"
        parts.items.append([section(body)])
    if reply.total > last:
        parts.more_command = f"search {reply.query} page {reply.page + 1}"
    parts.foot.append(context("`article ID` shows one article."))
    return parts


def render_article(reply: ArticleReply) -> Parts:
    a = reply.article
    parts = Parts(text=fit(f"Article {a.id}: {escape(a.title)}", TEXT_CHARS),
                  head=[header(f"{a.id} · {a.title}")])
    meta = [escape(_date(a.date))]
    meta += [escape(x) for x in (a.dateline, a.source, a.author) if x]
    meta.append(f"{a.words} words")
    if a.url:
        meta.append(link(a.url, "open article"))
    parts.head.append(context(" · ".join(meta)))
    if a.lead:
        parts.head.append(section(escape(a.lead)))
    if a.actors:
        names = ", ".join(f"{escape(x.name)} ({escape(x.type)})" for x in a.actors)
        parts.items.append([section(f"*Actors*\n{names}")])
    for e in a.events:
        neg = "NOT " if e.negated else ""
        parts.items.append([section(
            f"*{escape(_date(e.date))}* · {neg}{escape(e.type)}\n{escape(e.sentence)}"
        )])
    for q in a.quotes:
        speaker = escape(q.speaker) if q.speaker else "unknown speaker"
        parts.items.append([section(f"“{escape(q.text)}” — {speaker}")])
    return parts


def _feed_line(f: Any) -> str:
    icon = STATUS_ICON.get(f.status, "⚪")
    title = escape(f.title or f.url)
    line = f"{icon} *{f.id}* · {title} — {escape(f.status)}, {f.articles} articles"
    if f.last_polled:
        line += f", polled {escape(f.last_polled)}"
    if f.error:
        line += f"\n_last error:_ {escape(f.error)}"
    return line


def render_status(reply: StatusReply) -> Parts:
    text = (f"wirewatch: {reply.articles} articles, {len(reply.feeds)} feeds, "
            f"{reply.watches} watches")
    parts = Parts(text=text, head=[header("wirewatch status")])
    parts.head.append(fields_section([
        ("Articles", str(reply.articles)), ("Actors", str(reply.actors)),
        ("Events", str(reply.events)), ("Quotes", str(reply.quotes)),
        ("Watches", str(reply.watches)),
        ("Alerts", f"{reply.alerts} ({reply.alerts_pending} waiting)"),
    ]))
    parts.head.append(context(f"Last poll: {escape(reply.last_poll or 'never')}"))
    if reply.alerts_pending:  # -- harden: the delivery backlog, in words
        from bot.render import backlog_words

        parts.head.append(section(f"*Backlog:* {backlog_words(reply.alerts_pending)}"))
    if not reply.feeds:
        parts.head.append(section("No feeds yet: `feed add URL`."))
    for f in reply.feeds:
        parts.items.append([section(_feed_line(f))])
    return parts


def render_feeds(reply: FeedsReply) -> Parts:
    if not reply.feeds:
        text = "No feeds yet. Add one with `feed add URL`."
        return Parts(text=text, head=[section(text)])
    text = f"{len(reply.feeds)} feed{'s' if len(reply.feeds) != 1 else ''}"
    parts = Parts(text=text, head=[section(f"*{text}*")])
    parts.items = [[section(_feed_line(f))] for f in reply.feeds]
    parts.foot.append(context("`feed remove ID` stops following a feed."))
    return parts


def render_generic(reply: Reply) -> Parts:
    """Any reply kind without a Slack renderer: its console text, escaped, in sections."""
    escaped = escape(console.render(reply, ansi=False))
    chunks = split_text(escaped)
    return Parts(text=fit(escaped, TEXT_CHARS), items=[[section(c)] for c in chunks])


_RENDERERS: dict[type[Any], Renderer] = {
    ErrorReply: render_error,
    TextReply: render_text,
    HelpReply: render_help,
    SearchReply: render_search,
    ArticleReply: render_article,
    StatusReply: render_status,
    FeedsReply: render_feeds,
}


def register(reply_type: type[Reply], renderer: Renderer) -> None:
    """Let a later module add the Slack rendering of its own reply kind."""
    _RENDERERS[reply_type] = renderer


# -- paging and assembly ----------------------------------------------------------------------

def _chars(item: list[Block]) -> int:
    return sum(len(json.dumps(b.to_dict(), ensure_ascii=False)) for b in item)


def _pages(items: list[list[Block]], budget: int,
           char_budget: int = PAGE_CHARS) -> list[list[list[Block]]]:
    """Split items into pages of at most ``budget`` blocks and about ``char_budget``
    characters (a message that long is already a lot to read)."""
    pages: list[list[list[Block]]] = [[]]
    used = chars = 0
    for item in items:
        size, weight = len(item), _chars(item)
        if pages[-1] and (used + size > budget or chars + weight > char_budget):
            pages.append([])
            used = chars = 0
        pages[-1].append(item)
        used += size
        chars += weight
    return pages


def render(reply: Reply, *, command: str | None = None, page: int = 1,
           max_blocks: int = MAX_BLOCKS) -> Message:
    """Render ``reply`` as one message (page ``page`` of it when it is long).

    ``command`` is the text that produced the reply; with it, a long reply gets a "more"
    button that runs it again for the next page.
    """
    renderer = _RENDERERS.get(type(reply), render_generic)
    parts = renderer(reply)
    budget = max(1, max_blocks - len(parts.head) - len(parts.foot) - 2)
    pages = _pages(parts.items, budget)
    page = min(max(page, 1), len(pages))
    blocks: list[Block] = list(parts.head if page == 1 else [])
    if page > 1:
        blocks.append(context(f"page {page} of {len(pages)}"))
    blocks += [b for item in pages[page - 1] for b in item]
    more: str | None = None
    if page < len(pages) and command is not None:
        more = more_value(command, page + 1)
    elif page == len(pages) and parts.more_command is not None:
        more = more_value(parts.more_command, 1)
    if page < len(pages) and more is None:
        blocks.append(context(f"… {len(pages) - page} more page(s) not shown; "
                              "narrow the command to see them."))
    blocks += parts.foot
    if more is not None:
        blocks.append(ActionsBlock(elements=[button("More", ACTION_MORE, more)]))
    if not blocks:
        blocks.append(section(parts.text or "(nothing to show)"))
    blocks = blocks[:max_blocks]
    text = parts.text if page == 1 else f"{parts.text} (page {page})"
    return Message(text=fit(text, TEXT_CHARS) or "wirewatch", blocks=[b.to_dict() for b in blocks])


# -- App Home ------------------------------------------------------------------------------

def _watch_line(w: Any) -> str:
    line = f"*{w.id}* · {channel_ref(w.channel)} · `{escape(w.query)}`"
    if w.understood and w.understood != w.query:
        line += f"\n_understood as:_ {escape(w.understood)}"
    notes = []
    if w.muted_until:
        notes.append(f"muted until {escape(w.muted_until)}")
    if w.digest_time:
        notes.append(f"daily digest at {escape(w.digest_time)} UTC")
    if getattr(w, "paused", None):
        notes.append(f":warning: {escape(w.paused)}")
    if notes:
        line += "\n" + ", ".join(notes)
    if getattr(w, "broken", None):
        line += f"\n:warning: *broken, no longer alerts:* {escape(w.broken)}"
    return line


def render_home(home: HomeReply) -> dict[str, Any]:
    """The App Home view (``views.publish``), at most 100 blocks."""
    blocks: list[Block] = [header("wirewatch")]
    if home.notice:
        icon = ":warning: " if home.notice_is_error else ""
        blocks.append(section(icon + escape(home.notice)))
    title = ("Watches in your channels" if home.scope == "channels"
             else "Watches you made")
    blocks += [DividerBlock(), section(f"*{title}* ({len(home.watches)})")]
    if home.scope != "channels":
        blocks.append(context("wirewatch cannot list your channels right now, so only the "
                              "watches you made are shown."))
    shown = home.watches[:25]
    for w in shown:
        blocks.append(section(_watch_line(w)))
        blocks.append(ActionsBlock(elements=[
            button("Mute 24h", ACTION_MUTE, str(w.id)),
            button("Unwatch", ACTION_UNWATCH, str(w.id), style="danger"),
        ]))
    if not home.watches:
        blocks.append(context("No watches yet. In a channel: `/news watch deportation flights`."))
    elif len(home.watches) > len(shown):
        blocks.append(context(f"… and {len(home.watches) - len(shown)} more: "
                              "`/news watches` in each channel lists them all."))
    blocks += [DividerBlock(), section(f"*Feeds* ({len(home.feeds)})")]
    feed_lines = [_feed_line(f) for f in home.feeds[:40]]
    for chunk in split_text("\n".join(feed_lines)) if feed_lines else []:
        blocks.append(section(chunk))
    if not home.feeds:
        blocks.append(context("No feeds yet: `/news feed add URL`."))
    elif len(home.feeds) > 40:
        blocks.append(context(f"… and {len(home.feeds) - 40} more: `/news feeds`."))
    blocks += [DividerBlock(), section("*Commands*")]
    usage = "\n".join(f"`{escape(c.usage)}` — {escape(c.summary)}" for c in home.help.commands)
    blocks += [section(chunk) for chunk in split_text(usage)]
    blocks = blocks[:MAX_HOME_BLOCKS]
    return {"type": "home", "blocks": [b.to_dict() for b in blocks]}
