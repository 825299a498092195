"""Events: ``@wirewatch …`` mentions (answered in a thread under the mention) and direct
messages (answered in the DM).  Bot messages, ours included, are ignored; retried deliveries
are dropped before they get here (``bot.slack_app.dedupe_events``)."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from handlers import blocks, common
from handlers.access import SlackAccess
from handlers.mrkdwn import unescape_incoming

if TYPE_CHECKING:
    from slack_bolt import App, BoltContext
    from slack_sdk import WebClient

    from bot.service import Service

log = logging.getLogger("wirewatch.slack")

# Message subtypes that are a person writing; every other subtype (edits, joins, bot
# messages, deletions) is not a command.
_PERSON_SUBTYPES = (None, "file_share", "thread_broadcast")


def strip_mention(text: str, bot_user_id: str | None) -> str:
    """Remove mentions of the bot anywhere in the text (the grammar strips leading ones)."""
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>", " ", text)
    return unescape_incoming(text).strip()


def answer(service: Service, client: WebClient, *, channel: str, user: str | None, text: str,
           thread_ts: str | None, context: BoltContext | None = None) -> None:
    """Run the command and post the reply (after a "working…" that it replaces, if slow)."""
    ctx = common.slack_context(channel, user, SlackAccess.of(client, context))
    posted: dict[str, str] = {}

    def working() -> None:
        resp = client.chat_postMessage(channel=channel, thread_ts=thread_ts,
                                       text=common.WORKING_TEXT)
        posted["ts"] = str(resp["ts"])

    with common.Working(working) as w:
        reply = service.handle(text, ctx)
    message = blocks.render(reply, command=text)
    if w.fired and "ts" in posted:
        client.chat_update(channel=channel, ts=posted["ts"], **message.as_kwargs())
    else:
        client.chat_postMessage(channel=channel, thread_ts=thread_ts, unfurl_links=False,
                                unfurl_media=False, **message.as_kwargs())


def register(app: App, service: Service) -> None:
    @app.event("app_mention")
    def on_mention(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        if common.from_bot(event, context.bot_user_id):
            return
        answer(
            service, client, channel=event["channel"], user=event.get("user"),
            text=strip_mention(event.get("text") or "", context.bot_user_id),
            thread_ts=event.get("thread_ts") or event.get("ts"), context=context,
        )

    @app.event("message")
    def on_message(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        # Every message event lands here (so none is "unhandled"); only a person's DM counts.
        if event.get("channel_type") != "im" or event.get("subtype") not in _PERSON_SUBTYPES:
            return
        if common.from_bot(event, context.bot_user_id):
            return
        answer(
            service, client, channel=event["channel"], user=event.get("user"),
            text=strip_mention(event.get("text") or "", context.bot_user_id),
            thread_ts=event.get("thread_ts"), context=context,
        )

    @app.event("member_joined_channel")
    def on_member_joined(event: dict[str, Any], context: BoltContext) -> None:
        # wirewatch invited (back) into a channel: its paused watches post again
        joined = bool(context.bot_user_id) and event.get("user") == context.bot_user_id
        if joined and service.bot_joined(str(event.get("channel") or "")):
            log.info("wirewatch joined %s: its watches are live again", event.get("channel"))
