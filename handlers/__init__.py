"""The Slack adapter: listeners by kind, Block Kit rendering, mrkdwn escaping.

``register_all(app, service)`` installs every listener on a Bolt app; it is the
``wirewatch.frontends`` entry point that ``wirewatch serve`` finds (bot/ never imports this
package).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from slack_bolt import App

    from bot.service import Service


def register_all(app: App, service: Service) -> None:
    import handlers.alerts  # noqa: F401  -- watch: registers the Slack renderers of watches
    from handlers import actions, commands, errors, events, views

    errors.register(app, service)
    commands.register(app, service)
    events.register(app, service)
    views.register(app, service)
    actions.register(app, service)  # last: it ends with the catch-all for unknown actions
