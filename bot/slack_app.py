"""The Bolt app factory: settings, service and store in, a ready ``slack_bolt.App`` out.

This module knows Bolt but not the listeners: those live in ``handlers/`` (the Slack adapter)
and are passed in, or found through the ``wirewatch.frontends`` entry point group, so ``bot/``
never imports ``handlers`` (the dependency rule ``watchlists ← bot ← handlers``).

Importing this module loads slack_bolt; ``bot.service`` and the rest of the core never import
it (``wirewatch serve`` imports it lazily).
"""

from __future__ import annotations

import itertools
import logging
import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.errors import ConfigError, NotAvailable
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.service import Service
    from bot.store import Store

log = logging.getLogger("wirewatch.slack")

FRONTEND_GROUP = "wirewatch.frontends"
# Used when the package metadata has no entry point in the group (e.g. running from a source
# tree whose installed metadata predates the entry point).  Resolved by name, like an entry
# point, so bot/ holds no import of the adapter.
DEFAULT_FRONTEND = "handlers:register_all"

Register = Callable[[App, "Service"], None]

# Listeners ack first and then do the slow work on the same thread; Bolt's default pool of 5
# would let five slow answers (a poll, a slow feed) hold back every other ack past Slack's
# 3 s.  Threads are cheap next to that; the store serialises the database work anyway.
LISTENER_THREADS = 32
# -- hardening: a pool of 32 still lets 32 stuck answers (32 people typing `poll` while a feed
# is slow: polls run one at a time) hold back the next command's ack — Bolt runs the ack in
# the same executor.  Each listener now gets its own thread, up to this many at once.
LISTENER_THREADS_MAX = 512


class ElasticExecutor(Executor):
    """One daemon thread per task, up to ``limit`` at once (then ``submit`` waits for a
    slot), so a task never waits behind busy ones for a pool thread."""

    def __init__(self, limit: int = LISTENER_THREADS_MAX) -> None:
        self._slots = threading.BoundedSemaphore(limit)
        self._count = itertools.count(1)
        self._running: set[threading.Thread] = set()
        self._lock = threading.Lock()

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        self._slots.acquire()

        def run() -> None:
            try:
                if future.set_running_or_notify_cancel():
                    try:
                        future.set_result(fn(*args, **kwargs))
                    except BaseException as exc:  # handed to the future, as a pool does
                        future.set_exception(exc)
            finally:
                with self._lock:
                    self._running.discard(threading.current_thread())
                self._slots.release()

        thread = threading.Thread(target=run, name=f"wirewatch-slack-{next(self._count)}",
                                  daemon=True)
        try:
            with self._lock:
                self._running.add(thread)
            thread.start()
        except BaseException:
            with self._lock:
                self._running.discard(thread)
            self._slots.release()
            raise
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """With ``wait``, return once the tasks running now are done (new ones still run)."""
        if wait:
            with self._lock:
                running = list(self._running)
            for thread in running:
                thread.join()


def make_client(settings: Settings, *, token: str | None = None) -> WebClient:
    """A Web API client on ``SLACK_API_URL`` that retries 429s (honouring Retry-After),
    connection errors and 5xx responses."""
    return WebClient(
        token=token if token is not None else settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=30,
        retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=3),
            ConnectionErrorRetryHandler(max_retry_count=2),
            ServerErrorRetryHandler(max_retry_count=2),
        ],
    )


def load_frontends() -> list[Register]:
    """The listener registrations installed in the ``wirewatch.frontends`` group."""
    found = sorted(entry_points(group=FRONTEND_GROUP), key=lambda ep: ep.name)
    if not found:
        found = [EntryPoint(name="slack", value=DEFAULT_FRONTEND, group=FRONTEND_GROUP)]
    registers: list[Register] = []
    for ep in found:
        registers.append(ep.load())
    return registers


def dedupe_events(store: Store) -> Callable[..., BoltResponse | None]:
    """Global middleware: an Events API delivery whose ``event_id`` was seen is acked, not run.

    Slack retries a delivery (``X-Slack-Retry-Num``) when it did not see a 200 in time; the
    ``event_id`` stays the same, and it is remembered in the ``slack_events`` table, so a
    restart between the two deliveries does not process it twice.
    """

    def middleware(body: dict[str, Any], next: Callable[[], BoltResponse]) -> BoltResponse | None:
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if isinstance(event_id, str) and event_id and not store.slack_remember_event(event_id):
            log.info("ignoring retried delivery of event %s", event_id)
            return BoltResponse(status=200, body="")
        return next()

    return middleware


def create_app(
    settings: Settings,
    service: Service,
    store: Store,
    *,
    client: WebClient | None = None,
    listeners: Sequence[Register] | None = None,
    verify_token: bool = True,
) -> App:
    """Build the Bolt app: Web client, dedupe middleware, then the listeners.

    ``listeners`` are ``register(app, service)`` callables (``handlers.register_all`` in
    production, found with ``load_frontends()`` when not given).  ``verify_token=False``
    skips the ``auth.test`` call at start-up.
    """
    if not settings.slack_bot_token:
        raise ConfigError(
            "SLACK_BOT_TOKEN is not set: give the bot token (xoxb-…) from the app's "
            "OAuth & Permissions page."
        )
    client = client or make_client(settings)
    if client.token is None:
        client.token = settings.slack_bot_token
    app = App(
        client=client,
        signing_secret=settings.slack_signing_secret or "",
        process_before_response=False,
        token_verification_enabled=verify_token,
        listener_executor=ElasticExecutor(LISTENER_THREADS_MAX),
        logger=logging.getLogger("wirewatch.slack.bolt"),
    )
    app.use(dedupe_events(store))
    for register in load_frontends() if listeners is None else listeners:
        register(app, service)
    return app


def check_tokens(settings: Settings, *, http: bool) -> None:
    """One clear line for each missing setting, before anything starts."""
    if not settings.slack_bot_token:
        raise ConfigError(
            "SLACK_BOT_TOKEN is not set: give the bot token (xoxb-…) from the app's "
            "OAuth & Permissions page."
        )
    if http and not settings.slack_signing_secret:
        raise ConfigError(
            "SLACK_SIGNING_SECRET is not set: HTTP mode needs the signing secret from the "
            "app's Basic Information page."
        )
    if not http and not settings.slack_app_token:
        raise ConfigError(
            "SLACK_APP_TOKEN is not set: Socket Mode needs an app-level token (xapp-…) with "
            "connections:write; or run `wirewatch serve --http`."
        )


_SLACK_CHANNEL = re.compile(r"^[CGD][A-Z0-9]{2,20}$")


def _mrkdwn_escape(text: str) -> str:
    # the same three characters as handlers.mrkdwn.escape (bot/ does not import handlers)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def deliver_feed_notices(store: Store, client: WebClient) -> int:
    """Post pending one-time feed notices (e.g. "feed 3 was switched off") and watch notices
    ("watch 5 is broken") to their Slack channels; returns how many were posted.  A notice
    Slack refuses for good (channel gone, bot not in it) is logged and not tried again;
    notices for non-Slack channels (the console) are left for their own front end."""
    from slack_sdk.errors import SlackApiError

    from bot.store import utcnow_iso

    posted = 0
    for notice in store.pending_feed_notices():
        channel = str(notice["channel"])
        if not _SLACK_CHANNEL.match(channel):
            continue
        try:
            # -- harden: killed after an earlier post of this notice? then it is there
            if _notice_posted(client, channel, notice):
                store.mark_feed_notice_delivered(int(notice["id"]), utcnow_iso())
                continue
            client.chat_postMessage(channel=channel, text=_mrkdwn_escape(str(notice["text"])),
                                    unfurl_links=False, unfurl_media=False,
                                    metadata={"event_type": NOTICE_METADATA,
                                              "event_payload": {"notice_id": int(notice["id"])}})
            posted += 1
        except SlackApiError as exc:
            log.warning("feed notice %s not delivered to %s: %s", notice["id"], channel,
                        exc.response.get("error"))
        store.mark_feed_notice_delivered(int(notice["id"]), utcnow_iso())
    return posted


NOTICE_METADATA = "wirewatch_notice"  # -- harden --


def _notice_posted(client: WebClient, channel: str, notice: dict[str, Any]) -> bool:
    """-- harden: whether ``notice`` is already in ``channel`` (by its message metadata).
    A notice is posted then marked delivered; a crash in between must not post it twice.
    When the history cannot be read (no scope, not in the channel) it says False."""
    from datetime import datetime

    from slack_sdk.errors import SlackApiError

    try:
        since = datetime.fromisoformat(str(notice["created_at"])).timestamp() - 300
    except (TypeError, ValueError):
        since = 0.0
    try:
        response = client.conversations_history(
            channel=channel, oldest=f"{since:.6f}", limit=200, include_all_metadata=True)
    except SlackApiError:
        return False
    for msg in response.get("messages") or []:
        meta = msg.get("metadata") or {}
        if meta.get("event_type") == NOTICE_METADATA and str(
                (meta.get("event_payload") or {}).get("notice_id")) == str(notice["id"]):
            return True
    return False


# -- watch: alerts to Slack -------------------------------------------------------------------

ALERT_SENDER = "handlers.alerts:SlackSender"  # resolved by name: bot/ never imports handlers
ALERT_TICK = 30.0


ALERT_TIMEOUT = 15  # seconds per Slack call when posting alerts


def make_alert_sender(client: WebClient) -> Any:
    """The Slack ``bot.alerts.Sender`` (``handlers.alerts.SlackSender``) on a client like
    ``client`` but WITHOUT slack_sdk's own retries: a post retried after a timeout or a
    connection reset may already be in the channel (a doubled alert).  The alert pipeline
    retries instead, after asking Slack whether the earlier post went through."""
    factory = EntryPoint(name="alerts", value=ALERT_SENDER, group=FRONTEND_GROUP).load()
    alert_client = WebClient(token=client.token, base_url=client.base_url,
                             timeout=ALERT_TIMEOUT, retry_handlers=[])
    return factory(alert_client)


def deliver_alerts(ww: Any, sender: Any) -> None:
    """Drain the alert outbox to Slack channels (console watches are left to the console).
    A failure is logged with its traceback; the alerts stay pending for the next run."""
    if getattr(ww, "alerts", None) is None:
        return
    try:
        ww.alerts.deliver_pending(sender, channels=lambda c: bool(_SLACK_CHANNEL.match(c)))
    except Exception:
        log.exception("delivering alerts failed; they stay pending")


def start_alert_loop(ww: Any, sender: Any, stop: Any, every: float = ALERT_TICK) -> Any:
    import threading

    def loop() -> None:
        while not stop.wait(every):
            deliver_alerts(ww, sender)

    thread = threading.Thread(target=loop, name="wirewatch-alerts", daemon=True)
    thread.start()
    return thread


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def serve(settings: Settings, *, http: bool = False, port: int | None = None,
          host: str | None = None,
          out: Callable[[str], None] = print) -> int:
    """``wirewatch serve``: the Slack bot in Socket Mode (default) or HTTP mode.

    Runs until interrupted (Ctrl-C, or SIGTERM from the platform).
    """
    import signal
    import threading

    from slack_bolt.error import BoltError

    from bot.wiring import build

    check_tokens(settings, http=http)
    client = make_client(settings)
    ww = build(settings, slack_client=client)
    try:
        try:
            app = create_app(settings, ww.service, ww.store, client=client)
        except OSError as exc:  # URLError, timeouts: after the retry handlers gave up
            raise NotAvailable(
                f"cannot reach Slack at {settings.slack_api_url} ({exc}); check the network "
                "or SLACK_API_URL."
            ) from None
        except BoltError as exc:
            detail = " ".join(str(exc).split())[:300]
            raise ConfigError(f"Slack rejected SLACK_BOT_TOKEN: {detail}") from None
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        # The feed scheduler runs here, in this one process (the Procfile runs one worker).
        scheduler = None
        alerts_stop = threading.Event()  # -- watch --
        alert_loop: threading.Thread | None = None
        if getattr(ww, "poller", None) is not None:
            from bot.feeds.scheduler import PollScheduler

            alert_sender = make_alert_sender(client)  # -- watch --

            def on_report(report: object) -> None:
                deliver_feed_notices(ww.store, client)
                deliver_alerts(ww, alert_sender)  # -- watch --

            scheduler = PollScheduler(ww.poller, on_report=on_report)
            deliver_feed_notices(ww.store, client)
            scheduler.start()
            # -- watch: digests and retries go out even when no feed brings anything --
            alert_loop = start_alert_loop(ww, alert_sender, alerts_stop)
        try:
            _run(app, settings, client, ww.store, http=http, host=host, port=port, out=out)
        finally:
            alerts_stop.set()  # -- watch --
            if scheduler is not None:
                scheduler.shutdown(wait=True)  # let a running poll finish its transaction
            if alert_loop is not None:  # -- watch --
                alert_loop.join(timeout=10)
    except KeyboardInterrupt:
        out("wirewatch: stopped")
    finally:
        ww.close()
    return 0


def _run(app: App, settings: Settings, client: WebClient, store: Store, *, http: bool,
         host: str | None, port: int | None,
         out: Callable[[str], None]) -> None:
    """Serve until interrupted."""
    import threading

    if http:
        from bot.slack_http import SlackHTTPServer

        server = SlackHTTPServer(app, store, host=settings.host if host is None else host,
                                 port=settings.port if port is None else port)
        out(f"wirewatch: HTTP mode, listening on port {server.port} at /slack/events "
            f"(address {server.host})")
        server.serve_forever()
    else:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        handler = SocketModeHandler(app, settings.slack_app_token, web_client=client)
        handler.connect()  # type: ignore[no-untyped-call]
        out("wirewatch: Socket Mode, connected to Slack")
        try:
            threading.Event().wait()
        finally:
            handler.close()  # type: ignore[no-untyped-call]
