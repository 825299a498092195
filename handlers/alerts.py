"""Alerts in Slack: Block Kit for ``bot.alerts.AlertView``/``DigestView`` and ``SlackSender``,
the ``bot.alerts.Sender`` that posts them with ``chat.postMessage``; and the Slack rendering
of the watch replies (``WatchReply``, ``WatchesReply``), registered with ``handlers.blocks``
on import (``register_all`` imports this module).

Every string of a view is untrusted (feed titles, article text, the user's query): escaped
with ``handlers.mrkdwn``.  Link unfurling is off.  Errors become ``DeliveryError`` so the
alert pipeline retries them without loss: 429 with the server's Retry-After, 5xx and network
errors with backoff; a channel Slack refuses for good (gone, archived, bot not in it) is
``permanent``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block

from bot.access import CHANNEL_ERRORS
from bot.alerts import AlertView, DeliveryError, DigestView
from bot.replies import WatchesReply, WatchReply, WatchView
from handlers.blocks import (
    ACTION_MUTE,
    ACTION_UNWATCH,
    Message,
    Parts,
    button,
    context,
    register,
    section,
)
from handlers.mrkdwn import escape, link

PERMANENT = {"channel_not_found", "not_in_channel", "is_archived", "invalid_channel",
             "restricted_action", "cannot_reply_to_message", "msg_too_long", "invalid_blocks",
             # the ones that pause the whole channel (bot.access): every later post would fail
             *CHANNEL_ERRORS}
MAX_DIGEST_ITEMS = 20
# -- hardening: a feed can send a 1 MiB headline or a 10 kB link.  Slack refuses a message
# whose text is over 40,000 characters (msg_too_long: the alert would fail for good), and a
# link cut by a section's 3,000-character limit breaks.  Titles are shortened, overlong links
# dropped (the title stays), before anything is built.
MAX_TITLE_CHARS = 300
MAX_URL_CHARS = 2000


def _short(text: str | None, limit: int = MAX_TITLE_CHARS) -> str:
    text = text or ""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _bounded(view: AlertView) -> AlertView:
    url = view.url if view.url and len(view.url) <= MAX_URL_CHARS else None
    return replace(view, title=_short(view.title), url=url, watch_query=_short(view.watch_query),
                   source=_short(view.source, 100) if view.source else view.source)

METADATA_TYPE = "wirewatch_alert"  # message metadata of alert posts (find_posted)
DIGEST_METADATA_TYPE = "wirewatch_digest"
LOOKUP_MARGIN = 300.0  # seconds before the attempt to search from (clock skew)
LOOKUP_PAGES = 5


def _event_type(view: AlertView | DigestView) -> str:
    return DIGEST_METADATA_TYPE if isinstance(view, DigestView) else METADATA_TYPE


def _payload(view: AlertView | DigestView) -> dict[str, Any]:
    if isinstance(view, DigestView):  # one digest per watch per period (``since``)
        return {"watch_id": view.watch_id, "since": view.since or ""}
    return {"alert_id": view.alert_id, "watch_id": view.watch_id, "article_id": view.article_id}


def _epoch(iso_time: str) -> float:
    from datetime import datetime

    try:
        return datetime.fromisoformat(iso_time).timestamp()
    except ValueError:
        return 0.0


def _message(text: str, blocks: list[Block]) -> Message:
    return Message(text=text, blocks=[b.to_dict() for b in blocks])


def _meta(view: AlertView) -> str:
    return " · ".join(escape(x) for x in (view.source, view.date) if x)


def alert_message(view: AlertView) -> Message:
    view = _bounded(view)
    title = link(view.url, view.title)
    if view.thread_reply and view.thread_of == view.article_id:
        text = (f"Also matches watch #{view.watch_id} “{escape(view.watch_query)}”: "
                f"{escape(view.title)}")
        return _message(text, [section(f"↳ Also matches watch #{view.watch_id} "
                                       f"“{escape(view.watch_query)}”")])
    if view.thread_reply:
        who = escape(view.source or "another outlet")
        meta = f" ({escape(view.date)})" if view.date else ""
        text = f"Also reported by {who}: {escape(view.title)}"
        return _message(text, [section(f"↳ Also reported by *{who}*: {title}{meta}")])
    why = "; ".join(f"*{escape(w.label)}* ({escape(', '.join(w.where))})" for w in view.why)
    blocks: list[Block] = [
        section(f"🔔 *{title}*" + (f"\n{_meta(view)}" if _meta(view) else "")),
        section(f"Why: {why}"),
    ]
    if view.lead:
        blocks.append(context(escape(view.lead)))
    facts = []
    if view.actors:
        facts.append("Actors: " + ", ".join(escape(a) for a in view.actors[:8]))
    if view.key_event:
        facts.append("Key event: " + escape(view.key_event))
    facts.append(f"Watch #{view.watch_id}: “{escape(view.watch_query)}”")
    blocks.append(context("\n".join(facts)))
    blocks.append(ActionsBlock(elements=[
        button(b.label, b.action_id, b.value) for b in view.buttons
    ]))
    text = f"New article for watch #{view.watch_id}: {escape(view.title)}"
    return _message(text, blocks)


def digest_message(view: DigestView) -> Message:
    view = replace(view, watch_query=_short(view.watch_query),
                   items=[_bounded(i) for i in view.items])
    n = len(view.items)
    head = (f"Daily digest for watch #{view.watch_id} “{escape(view.watch_query)}”: "
            f"{n} article{'s' if n != 1 else ''}")
    # one section per article: a long list cut to Slack's section limit could break a link
    blocks: list[Block] = [section(f"*{head}*")]
    blocks += [section(f"• {link(i.url, i.title)}" + (f" ({_meta(i)})" if _meta(i) else ""))
               for i in view.items[:MAX_DIGEST_ITEMS]]
    if n > MAX_DIGEST_ITEMS:
        blocks.append(context(f"… and {n - MAX_DIGEST_ITEMS} more"))
    return _message(head, blocks)


def _retry_after(headers: Any) -> float | None:
    """Seconds from a Retry-After header (any case); None when absent or not a number."""
    for key, value in dict(headers or {}).items():
        if str(key).lower() == "retry-after":
            try:
                return max(0.0, float(str(value).strip()))
            except ValueError:
                return None
    return None


class SlackSender:
    """``bot.alerts.Sender`` over a slack_sdk ``WebClient`` (the one ``serve`` makes)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def post(self, channel: str, view: AlertView | DigestView, thread_ts: str | None) -> str:
        from slack_sdk.errors import SlackApiError

        message = digest_message(view) if isinstance(view, DigestView) else alert_message(view)
        extra: dict[str, Any] = {}
        # lets find_posted recognise the post after a crash
        extra["metadata"] = {"event_type": _event_type(view), "event_payload": _payload(view)}
        try:
            response = self.client.chat_postMessage(
                channel=channel, thread_ts=thread_ts, unfurl_links=False, unfurl_media=False,
                **message.as_kwargs(), **extra,
            )
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "")
            status = int(getattr(exc.response, "status_code", 0) or 0)
            if status == 429 or error == "ratelimited":
                raise DeliveryError(f"Slack rate limit ({error})",
                                    retry_after=_retry_after(exc.response.headers)) from None
            if status >= 500:
                raise DeliveryError(f"Slack error {status}") from None
            raise DeliveryError(f"Slack refused the post: {error or status}",
                                permanent=error in PERMANENT or not error,
                                channel_error=error if error in CHANNEL_ERRORS else None,
                                ) from None
        except OSError as exc:  # network: retry later; the post may have gone through
            raise DeliveryError(f"cannot reach Slack: {exc}", maybe_posted=True) from None
        return str(response.get("ts") or "")

    def find_posted(
        self, channel: str, view: AlertView | DigestView, thread_ts: str | None, since: str
    ) -> str | None:
        """The ts of ``view``'s post in ``channel`` (or in the thread ``thread_ts``) made
        since ``since`` (ISO time), found by its metadata; None when it is not there.
        Without the history scope (or access to the channel) it says None: post again."""
        from slack_sdk.errors import SlackApiError

        want = _payload(view)
        event_type = _event_type(view)
        oldest = f"{_epoch(since) - LOOKUP_MARGIN:.6f}"
        cursor = None
        try:
            for _ in range(LOOKUP_PAGES):
                args: dict[str, Any] = {"channel": channel, "oldest": oldest, "limit": 200,
                                        "include_all_metadata": True}
                if cursor:
                    args["cursor"] = cursor
                if thread_ts:
                    response = self.client.conversations_replies(ts=thread_ts, **args)
                else:
                    response = self.client.conversations_history(**args)
                for msg in response.get("messages") or []:
                    meta = msg.get("metadata") or {}
                    payload = meta.get("event_payload") or {}
                    if meta.get("event_type") == event_type and all(
                        str(payload.get(k)) == str(v) for k, v in want.items()
                    ):
                        return str(msg.get("ts") or "") or None
                cursor = (response.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    return None
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "")
            status = int(getattr(exc.response, "status_code", 0) or 0)
            if status == 429 or status >= 500 or error == "ratelimited":
                raise DeliveryError(f"Slack history lookup failed ({error or status})",
                                    retry_after=_retry_after(exc.response.headers),
                                    maybe_posted=True) from None
            return None  # missing_scope, not_in_channel…: cannot tell; post again
        except OSError as exc:
            raise DeliveryError(f"cannot reach Slack: {exc}", maybe_posted=True) from None
        return None


# -- watch replies in Slack (`watch`, `watches`, mute/unmute/digest) -------------------------


def _state(w: WatchView) -> str:
    state = []
    if w.muted_until:
        state.append("muted" if w.muted_until.startswith("9999")
                     else f"muted until {escape(w.muted_until)}")
    if w.digest_time:
        state.append(f"daily digest {escape(w.digest_time)} UTC")
    if w.mode == "any":
        state.append("any mention")
    if w.paused:
        state.append(escape(w.paused))
    text = f" _({', '.join(state)})_" if state else ""
    if w.broken:
        text += (f"\n:warning: *broken, no longer alerts:* {escape(w.broken)} "
                 f"(`unwatch {w.id}` removes it)")
    return text


def render_watch(reply: WatchReply) -> Parts:
    w = reply.watch
    text = escape(reply.message)
    parts = Parts(text=text, head=[
        section(f"*{text}*\n*#{w.id}* {escape(w.query)}{_state(w)}"),
        context(escape(w.understood)),
    ])
    if reply.matches:
        parts.head.append(section("Recent articles it would have matched:"))
        for m in reply.matches:
            meta = " · ".join(escape(x) for x in (m.source, m.date) if x)
            parts.items.append([section(
                f"• {link(m.url, m.title)}" + (f" ({meta})" if meta else "")
                + f"\n_why:_ {escape('; '.join(m.why))}"
            )])
    elif reply.created:
        parts.head.append(context("No recent article would have matched; new ones will alert."))
    parts.foot.append(ActionsBlock(elements=[
        button("Mute 24 h", ACTION_MUTE, str(w.id)),
        button("Unwatch", ACTION_UNWATCH, str(w.id)),
    ]))
    return parts


def render_watches(reply: WatchesReply) -> Parts:
    if not reply.watches:
        text = "No watches in this channel. Try `watch deportation flights to Venezuela`."
        return Parts(text=text, head=[section(text)])
    n = len(reply.watches)
    text = f"{n} watch{'es' if n != 1 else ''} in this channel"
    parts = Parts(text=text, head=[section(f"*{text}*")])
    for w in reply.watches:
        counts = f"{w.alerts} alert{'s' if w.alerts != 1 else ''}"
        if w.not_relevant:
            counts += f", {w.not_relevant} marked not relevant"
        parts.items.append([section(f"*#{w.id}* {escape(w.query)}{_state(w)}\n{counts}")])
    parts.foot.append(context("`unwatch ID` · `mute ID for 2h` · `digest ID daily 08:00`"))
    return parts


register(WatchReply, render_watch)
register(WatchesReply, render_watches)
