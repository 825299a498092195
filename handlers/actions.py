"""Interactivity: buttons routed by ``action_id`` to the service.

| action_id         | value                    | runs                            |
|-------------------|--------------------------|---------------------------------|
| `ww_mute`         | watch ID                 | `mute ID for 24h`               |
| `ww_unwatch`      | watch ID                 | `unwatch ID`                    |
| `ww_not_relevant` | `WATCH_ID:ARTICLE_ID`    | `service.not_relevant(…)` when the service has it |
| `ww_more`         | `{"c": command, "p": N}` | the command again, page N       |

Any other action is acknowledged and logged.  A click on a message is answered ephemerally
on its response URL; a click in App Home re-publishes the Home with the result on top.

Whatever a button's value names, the service acts on a watch only for a member of its
channel, its creator or a listed admin (asked of Slack at the click: ``handlers.access``);
a watch of another channel than the clicked message's is "not found".
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from bot import render as console
from bot.errors import BadCommand
from bot.replies import Reply, TextReply
from handlers import blocks, common
from handlers.access import SlackAccess
from handlers.views import publish_home

if TYPE_CHECKING:
    from slack_bolt import Ack, App, BoltContext, Respond
    from slack_sdk import WebClient

    from bot.service import Context, Service

log = logging.getLogger("wirewatch.slack")

STALE = "That button is out of date; try the command again."


def _watch_id(value: str | None) -> int:
    if not value or not re.fullmatch(r"\d{1,12}", value.strip()):
        raise BadCommand(STALE)
    return int(value)


def _where(service: Service, body: dict[str, Any], watch_id: int | None = None,
           client: WebClient | None = None, context: BoltContext | None = None) -> Context:
    """The click's context.  In App Home (no channel) it is the watch's own channel, marked
    ``via="home"``; on a message, the message's channel, ``via="button"``.  Either way the
    service re-checks with Slack (``access``) that the user may act on the watch."""
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id"
    )
    via = "button"
    if channel is None and watch_id is not None:
        channel, via = service.store.slack_watch_channel(watch_id), "home"
    access = SlackAccess.of(client, context) if client is not None else None
    return common.slack_context(channel, (body.get("user") or {}).get("id"), access, via=via)


def _deliver(service: Service, body: dict[str, Any], reply: Reply, respond: Respond | None,
             client: WebClient, *, command: str | None = None, page: int = 1) -> None:
    user = (body.get("user") or {}).get("id")
    if (body.get("container") or {}).get("type") == "view" or body.get("view"):
        if user:
            publish_home(service, client, user, notice=console.render(reply),
                         notice_is_error=reply.is_error)
        return
    if respond is None or not body.get("response_url"):
        log.warning("no response_url for action; reply dropped: %s", reply.kind)
        return
    message = blocks.render(reply, command=command, page=page)
    common.send_response(respond, **message.as_kwargs(), response_type="ephemeral",
                         replace_original=False)


def register(app: App, service: Service) -> None:
    @app.action(blocks.ACTION_MUTE)
    def on_mute(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond,
                client: WebClient, context: BoltContext) -> None:
        ack()
        wid = _watch_id(action.get("value"))
        reply = service.handle(f"mute {wid} for 24h", _where(service, body, wid, client, context))
        _deliver(service, body, reply, respond, client)

    @app.action(blocks.ACTION_UNWATCH)
    def on_unwatch(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond,
                   client: WebClient, context: BoltContext) -> None:
        ack()
        wid = _watch_id(action.get("value"))
        reply = service.handle(f"unwatch {wid}", _where(service, body, wid, client, context))
        _deliver(service, body, reply, respond, client)

    @app.action(blocks.ACTION_NOT_RELEVANT)
    def on_not_relevant(ack: Ack, body: dict[str, Any], action: dict[str, Any],
                        respond: Respond, client: WebClient, context: BoltContext) -> None:
        ack()
        m = re.fullmatch(r"(\d{1,12}):(\d{1,12})", (action.get("value") or "").strip())
        if not m:
            raise BadCommand(STALE)
        wid, aid = int(m.group(1)), int(m.group(2))
        ctx = _where(service, body, wid, client, context)
        handler = getattr(service, "not_relevant", None)
        if callable(handler):
            reply: Reply = handler(wid, aid, ctx)
        else:
            log.info("not relevant: watch %s article %s (by %s)", wid, aid, ctx.user)
            reply = TextReply(text=f"Thanks — noted that article {aid} is not relevant "
                                   f"to watch {wid}.")
        _deliver(service, body, reply, respond, client)

    @app.action(blocks.ACTION_MORE)
    def on_more(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond,
                client: WebClient, context: BoltContext) -> None:
        ack()
        try:
            command, page = blocks.parse_more_value(action.get("value") or "")
        except ValueError:
            raise BadCommand(STALE) from None
        reply = service.handle(command, _where(service, body, None, client, context))
        _deliver(service, body, reply, respond, client, command=command, page=page)

    @app.action(re.compile(r".*"))
    def on_unknown(ack: Ack, action: dict[str, Any]) -> None:
        ack()
        log.info("unknown action %r acknowledged", str(action.get("action_id"))[:100])
