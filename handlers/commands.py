"""The ``/news`` slash command: ack at once, answer on the response URL, ephemeral unless the
text starts with ``share``."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from handlers import blocks, common
from handlers.access import SlackAccess
from handlers.mrkdwn import unescape_incoming

if TYPE_CHECKING:
    from slack_bolt import Ack, App, BoltContext, Respond
    from slack_sdk import WebClient

    from bot.service import Service

COMMAND = "/news"
_SHARE = re.compile(r"^\s*share\s+(.+)$", re.I | re.S)


def register(app: App, service: Service) -> None:
    @app.command(COMMAND)
    def news(ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient,
             context: BoltContext) -> None:
        ack()  # Slack's limit is 3 s; everything else happens after
        text = unescape_incoming(command.get("text"))
        share = False
        if m := _SHARE.match(text):
            share, text = True, m.group(1)
        ctx = common.slack_context(command.get("channel_id"), command.get("user_id"),
                                   SlackAccess.of(client, context))

        def working() -> None:
            common.send_response(respond, text=common.WORKING_TEXT, response_type="ephemeral")

        with common.Working(working) as w:
            reply = service.handle(text, ctx)
        message = blocks.render(reply, command=text)
        in_channel = share and not reply.is_error
        common.send_response(
            respond,
            **message.as_kwargs(),
            response_type="in_channel" if in_channel else "ephemeral",
            replace_original=w.fired and not in_channel,
        )
