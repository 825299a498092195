"""Issue 17's red team: every attack that once stopped alerts for everyone, reached another
channel or acted on a terminal, replayed against the real thing (signed requests to the real
Bolt app in HTTP mode, real loopback feed servers, the real console script).

Each test names the attack it replays.  A section per part of the issue.

Sections: replays, the listen address and terminal escapes (parts 2, 6, 8); poison
watches (part 1); other people's channels (part 3); slow and hostile feeds (parts 4, 5, 7).
"""
from __future__ import annotations

import inspect
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.feeds.fetch import Fetcher
from bot.feeds.poller import Poller
from bot.feeds.poller import iso as _feeds_iso
from bot.service import Context
from bot.settings import Settings
from bot.wiring import Wirewatch, build
from tests.feeds.conftest import FeedServer, Route
from tests.hardening_abuse.conftest import ADMIN, HostileServer, snapshot
from tests.slack.conftest import SECRET, sign
from watchlists.decide import iso

ROOT = Path(__file__).resolve().parents[2]

# -- replays: one signature and one timestamp per request; the guard survives restarts -------


def _form(text: str, hook: str) -> str:
    from urllib.parse import urlencode

    return urlencode({"token": "t", "team_id": "T111", "channel_id": "C1", "user_id": "U1",
                      "command": "/news", "text": text, "api_app_id": "A111",
                      "response_url": hook, "trigger_id": "1.2.3"})


def _signed(body: str, ts: int | None = None) -> list[tuple[str, str]]:
    ts = int(time.time()) if ts is None else ts
    return [("Content-Type", "application/x-www-form-urlencoded"),
            ("X-Slack-Request-Timestamp", str(ts)), ("X-Slack-Signature", sign(SECRET, ts, body))]


def _post(url: str, body: str, headers: list[tuple[str, str]]) -> httpx.Response:
    return httpx.post(url, content=body.encode(), headers=headers, timeout=10)


def _hook_calls(fake: Any, name: str) -> list[Any]:
    return [c for c in fake.calls if c.method == f"/hooks/commands/T111/{name}"]


def test_a_replay_with_a_junk_signature_header_first_is_401_and_runs_nothing(
        slack_ww: Any) -> None:
    """Attack: resend a captured signed command with a junk ``X-Slack-Signature`` placed
    before the real one (the guard read the first header, the signature check the last)."""
    hook = slack_ww.response_url("dup")
    body = _form("watch duplicated signatures", hook)
    headers = _signed(body)
    assert _post(slack_ww.server.url, body, headers).status_code == 200
    slack_ww.fake.wait_calls("/hooks/commands/T111/dup", timeout=10)
    real = dict(headers)["X-Slack-Signature"]
    ts = dict(headers)["X-Slack-Request-Timestamp"]
    ctype = ("Content-Type", "application/x-www-form-urlencoded")
    variants = [
        [ctype, ("X-Slack-Request-Timestamp", ts), ("X-Slack-Signature", "v0=" + "0" * 64),
         ("X-Slack-Signature", real)],
        [ctype, ("X-Slack-Request-Timestamp", ts), ("X-Slack-Signature", real),
         ("X-Slack-Signature", "v0=junk")],
        [ctype, ("X-Slack-Request-Timestamp", "1"), ("X-Slack-Request-Timestamp", ts),
         ("X-Slack-Signature", real)],
        [ctype, ("X-Slack-Request-Timestamp", ts), ("X-Slack-Signature", real),
         ("x-slack-signature", real)],  # the same one twice, in another case
    ]
    for n, variant in enumerate(variants):
        assert _post(slack_ww.server.url, body, variant).status_code == 401, n
    time.sleep(0.5)  # a wrongly accepted copy would answer after its ack
    assert len(_hook_calls(slack_ww.fake, "dup")) == 1
    assert len(slack_ww.store.channel_watches("C1")) == 1


def test_a_fresh_request_with_two_signatures_is_401_and_changes_nothing(slack_ww: Any) -> None:
    before = snapshot(slack_ww.store)
    body = _form("watch never stored", slack_ww.response_url("fresh"))
    headers = _signed(body)
    doubled = [*headers, ("X-Slack-Signature", dict(headers)["X-Slack-Signature"])]
    assert _post(slack_ww.server.url, body, doubled).status_code == 401
    time.sleep(0.5)
    assert _hook_calls(slack_ww.fake, "fresh") == []
    assert snapshot(slack_ww.store) == before
    # the same request with one of each is accepted: the refusal was for the duplicate
    assert _post(slack_ww.server.url, body, headers).status_code == 200
    slack_ww.fake.wait_calls("/hooks/commands/T111/fresh", timeout=10)


def test_a_replay_after_a_restart_is_refused(tmp_path: Path) -> None:
    """Attack: restart the server (deploy, crash) and replay a request captured just before;
    the guard was in memory, so a restart reopened the five-minute window."""
    from bot.ingest import ensure_corpus
    from bot.settings import Settings
    from bot.wiring import build
    from tests.slack.conftest import start_app
    from tests.slack.fake_slack import FakeSlack

    fake = FakeSlack(lifetime=60).start()
    settings = Settings(db_path=tmp_path / "restart.db", slack_bot_token="xoxb-restart",
                        slack_signing_secret=SECRET, slack_api_url=fake.api_url)
    hook = f"{fake.url}/hooks/commands/T111/before"
    body = _form("watch restarted flights", hook)
    headers = _signed(body)
    try:
        for run in range(2):
            app = build(settings, seed=False, backfill=False)
            if run == 0:
                ensure_corpus(app.store, None)
            _, server = start_app(settings, app.service, app.store, fake)
            try:
                status = _post(server.url, body, headers).status_code
                assert status == (200 if run == 0 else 401), run
                if run == 0:
                    fake.wait_calls("/hooks/commands/T111/before", timeout=10)
                else:
                    time.sleep(0.5)
                    assert len(_hook_calls(fake, "before")) == 1
                    assert len(app.store.channel_watches("C1")) == 1
            finally:
                server.stop()
                app.close()
    finally:
        fake.stop()


def test_the_guard_forgets_signatures_only_after_they_could_be_replayed(tmp_path: Path) -> None:
    from bot.slack_http import REPLAY_KEEP, REPLAY_WINDOW, ReplayGuard
    from bot.store import Store

    assert REPLAY_KEEP >= 2 * REPLAY_WINDOW  # accepted at ts+300 → replayable until ts+600
    store = Store(tmp_path / "guard.db")
    try:
        guard = ReplayGuard(store, keep=0.2)
        assert guard.reserve("v0=a")
        assert not guard.reserve("v0=a")
        guard.release("v0=a")  # Bolt refused it: a good copy may come later
        assert guard.reserve("v0=a")
        time.sleep(0.3)
        assert guard.reserve("v0=b")  # prunes what expired
        assert guard.reserve("v0=a")
    finally:
        store.close()


# -- the listen address -------------------------------------------------------------------------


def test_http_mode_listens_where_wirewatch_host_says(tmp_path: Path) -> None:
    """HTTP mode always bound 0.0.0.0; WIREWATCH_HOST (and ``serve --host``) choose."""
    from slack_bolt import App

    from bot.settings import load_settings
    from bot.slack_http import SlackHTTPServer
    from bot.store import Store

    assert load_settings({}, dotenv_path=None).host == "0.0.0.0"
    assert load_settings({"WIREWATCH_HOST": "127.0.0.1"}, dotenv_path=None).host == "127.0.0.1"
    assert load_settings({"WIREWATCH_HOST": " [::1] "}, dotenv_path=None).host == "::1"
    settings = load_settings({"WIREWATCH_HOST": "127.0.0.1",
                              "WIREWATCH_DB": str(tmp_path / "h.db")}, dotenv_path=None)
    store = Store(settings.db_path)
    app = App(token="xoxb-h", signing_secret=SECRET, token_verification_enabled=False)
    server = SlackHTTPServer(app, store, host=settings.host, port=0).start()
    try:
        assert server.host == "127.0.0.1"
        assert httpx.get(server.url.replace("/slack/events", "/healthz"), timeout=5).text == "ok"
    finally:
        server.stop()
        store.close()


@pytest.mark.parametrize("bad", ["0.0.0.0; rm -rf /", "http://x", "a b", "-host", "x" * 300])
def test_a_bad_listen_address_is_a_short_config_error(bad: str) -> None:
    from bot.errors import ConfigError
    from bot.settings import load_settings

    with pytest.raises(ConfigError, match="WIREWATCH_HOST"):
        load_settings({"WIREWATCH_HOST": bad}, dotenv_path=None)


# -- terminal escapes: stripped at ingestion, never printed -------------------------------------

ESC_TITLE = ("Deportation flights to Venezuela resume \x1b]0;pwned\x07\x1b]52;c;ZXZpbA==\x07"
             "\x1b[2J\x1b[H\u009b31m\u202etxet\u202c\r after pause")
CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _esc_feed(n: int) -> bytes:
    items = []
    for i in range(n):
        items.append(
            f"<item><guid>esc-{i}</guid><title>{ESC_TITLE} {i}</title>"
            f"<link>http://news.example/story-{i}\x1b[1m</link><author>Ann \x1bc Bo</author>"
            f"<description>Deportation flights to Venezuela resumed \x1b]0;x\x07 on Tuesday, "
            f"the ministry said. Story {i}.</description></item>")
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            "<title>Evil \x1b]0;feed title\x07 Wire</title><link>http://news.example/</link>"
            + "".join(items) + "</channel></rss>").encode()


def _wirewatch(env: dict[str, str], *args: str) -> bytes:
    proc = subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env=env,
                          capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-2000:]
    return proc.stdout + proc.stderr


def test_esc_and_osc_from_a_feed_are_never_printed_nor_stored(tmp_path: Path) -> None:
    """Attack: a feed whose titles, links and text carry ESC/OSC sequences (window title,
    OSC 52 clipboard write, screen clear), C1 CSI and bidi overrides; the console printed
    them raw in `poll` alerts and stored them in titles and links."""
    from bot.store import Store

    server = FeedServer().start()
    server.routes["/esc.xml"] = Route(body=_esc_feed(1))
    db = tmp_path / "esc.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "WIREWATCH_"))}
    env.update(WIREWATCH_DB=str(db), WIREWATCH_ALLOW_PRIVATE_FEEDS="1",
               PYTHONPATH=str(ROOT), PYTHONIOENCODING="utf-8")
    printed = b""
    try:
        printed += _wirewatch(env, "ask", "watch deportation flights to Venezuela")
        printed += _wirewatch(env, "ask", "feed add " + server.url("/esc.xml"))
        server.routes["/esc.xml"] = Route(body=_esc_feed(3))  # two new stories: alerts
        store = Store(db)
        for feed in store.list_feeds():
            store.update_feed(feed["id"], next_check="2000-01-01T00:00:00+00:00")
        store.close()
        poll = _wirewatch(env, "poll", "--once")
        printed += poll
        assert b"Deportation flights to Venezuela resume" in poll  # the alerts printed
        for command in ("feeds", "search deportation flights", "article 6", "status"):
            printed += _wirewatch(env, "ask", command)
        printed += _wirewatch(env, "ask", "--json", "search deportation flights")
    finally:
        server.stop()
    text = printed.decode("utf-8")
    assert not CONTROLS.search(text.replace("\r\n", "\n")), CONTROLS.findall(text)[:5]
    store = Store(db)
    try:
        stored = store.db.execute(
            "SELECT title || url || coalesce(author, '') || text || coalesce(source, '') "
            "FROM articles WHERE feed_id IS NOT NULL").fetchall()
        feeds = store.db.execute("SELECT coalesce(title, '') FROM feeds").fetchall()
    finally:
        store.close()
    assert len(stored) == 3
    for (value,) in stored + feeds:
        assert not CONTROLS.search(value), repr(value)[:200]


def test_the_shell_never_writes_a_control_character(tmp_path: Path) -> None:
    """Alerts reach the shell through ``notify``; text stored before ingestion stripped it
    (an old database) must not reach the terminal either."""
    import io

    from bot.settings import Settings
    from bot.shell import Shell
    from bot.wiring import build

    app = build(Settings(db_path=tmp_path / "shell.db"), seed=False, backfill=False)
    try:
        out = io.StringIO()
        shell = Shell(app, stdin=io.StringIO("help\n"), stdout=out)
        shell.notify("alert: " + ESC_TITLE)
        shell.run()
        assert "alert: Deportation flights" in out.getvalue()
        assert not CONTROLS.search(out.getvalue()), repr(out.getvalue())[:300]
    finally:
        app.close()


def test_the_sanitiser_keeps_text_and_the_renderers_own_bold() -> None:
    from bot.render import BOLD, RESET
    from bot.sanitize import strip_controls, terminal_safe

    assert strip_controls("a\tb\nc\r\nd\x00e\x1b[2Jf\u009bg\u202eh\u2066i") == "a\tb\nc\nde[2Jfghi"
    kept = "Zürich — “quoted” 東京 مرحبا\u200f"  # letters, punctuation, an RLM mark
    assert strip_controls(kept) == kept
    assert terminal_safe(f"{BOLD}x{RESET}\x1b]0;t\x07") == f"{BOLD}x{RESET}]0;t"


# == part 1: one watch must not stop alerts for everyone ==========
# Issue 17 part 1, red team: one watch must not stop alerts for everyone.
#
# The attack: ``watch`` + 242 × ``(`` + ``deportation`` + 242 × ``)`` fits the 500-character
# limit, was stored, and then made the matcher raise RecursionError on every new article
# ("alerting failed (RecursionError); it will be retried") for every watch of every channel,
# retry after retry; made in a DM, not even an admin could remove it.
#
# Replayed here over the real poller (a feed on 127.0.0.1), the real store and the fake Slack
# Web API: the bomb is refused with the limit named; one stored before the fix is set aside as
# broken, its channel told once, and every other watch keeps alerting; an admin removes it.

_watches_BOMB = "(" * 242 + "deportation" + ")" * 242
_watches_EVIL_DM = Context(channel="D0EVIL", user="UEVIL", front_end="slack")
_watches_DESK = Context(channel="C0DESK", user="U1", front_end="slack")
_watches_NEWS = Context(channel="C0NEWS", user="U2", front_end="slack")
_watches_ADMIN = Context(channel="C0DESK", user=ADMIN, front_end="slack")
_watches_START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _watches_rss(items: list[tuple[str, str]]) -> bytes:
    parts = ['<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
             "<title>Wire</title><link>http://example.com/</link>"]
    for n, (title, text) in enumerate(items):
        parts.append(f"<item><guid>wire-{n}</guid><title>{title}</title>"
                     f"<link>http://example.com/{n}</link><description>{text}</description>"
                     "</item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode()


_watches_OLD = ("Port strike ends", "Dockworkers return after a week of talks.")
_watches_NEW = (
    "Deportation flights to Venezuela resume",
    "A charter carrying deported Venezuelans landed in Caracas on Monday, the first of "
    "several repatriation flights agreed this month.",
)


class _watches_Clock:
    def __init__(self) -> None:
        self.now = _watches_START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def _watches_app(tmp_path: Path) -> Iterator[tuple[Wirewatch, Poller, _watches_Clock]]:
    """The wired app (admins set) and a real poller on it (no NLP: plain text matching)."""
    clock = _watches_Clock()
    settings = Settings(db_path=tmp_path / "rt.db", admins=frozenset({ADMIN}),
                        allow_private_feeds=True)
    app = build(settings, clock=clock, seed=False, backfill=False)
    fetcher = Fetcher(allow_private=True, connect_timeout=2, read_timeout=2, total_timeout=5)
    poller = Poller(app.store, settings, fetcher, analyzer=None, clock=clock)
    poller.on_new_articles = app.alerts.on_new_articles
    try:
        yield app, poller, clock
    finally:
        app.close()


def _watches_poll(poller: Poller, clock: _watches_Clock) -> Any:
    clock.now += timedelta(hours=1)
    return poller.poll_all(clock.now)


def test_depth_bomb_other_watches_still_alert(
    _watches_app: tuple[Wirewatch, Poller, _watches_Clock], hostile: HostileServer
) -> None:
    app, poller, clock = _watches_app
    store, service = app.store, app.service
    # 1. the attack, as typed: refused before anything is stored, with the limit named
    before = snapshot(store)
    reply = service.handle(f"watch {_watches_BOMB}", _watches_EVIL_DM).to_dict()
    assert reply["kind"] == "error" and "limit is 20 levels" in reply["message"]
    assert "^" in (reply.get("hint") or "")
    assert snapshot(store) == before
    # 2. the same watch stored before the fix (in a DM), beside the victims' watches
    poison = store.add_watch(channel="D0EVIL", query=_watches_BOMB, understood="",
                             mode="central", created_by="UEVIL", created_at=iso(clock()))
    desk = service.handle("watch deportation flights to Venezuela", _watches_DESK).to_dict()
    news = service.handle("watch Venezuela", _watches_NEWS).to_dict()
    victims = {desk["watch"]["id"], news["watch"]["id"]}
    hostile.routes["/wire"] = hostile.body(_watches_rss([_watches_OLD]))
    store.add_feed(hostile.base + "/wire", now=iso(clock()), channel="C0DESK")
    first = _watches_poll(poller, clock)  # the back catalogue: never alerts
    assert first.new_articles == 1 and first.alerts == [] and first.errors == []
    # 3. a new article: every other watch alerts; nothing is left to retry
    hostile.routes["/wire"] = hostile.body(_watches_rss([_watches_OLD, _watches_NEW]))
    report = _watches_poll(poller, clock)
    assert report.new_articles == 1
    assert not any("alerting failed" in e for e in report.errors), report.errors
    assert {a["watch_id"] for a in report.alerts} == victims
    assert store.pending_alert_articles() == {}
    broken = store.get_watch(poison)
    assert broken is not None and broken.broken and "nests too deep" in broken.broken
    # 4. it stays set aside (and quiet) on the next polls and after a restart
    hostile.routes["/wire"] = hostile.body(_watches_rss(
        [_watches_OLD, _watches_NEW, ("Venezuela deportation flights go on", "More flights.")]))
    again = _watches_poll(poller, clock)
    assert again.errors == [] and {a["watch_id"] for a in again.alerts} == victims
    notices = store.pending_watch_notices()
    assert [(n["watch_id"], n["channel"]) for n in notices] == [(poison, "D0EVIL")]
    # 5. shown as broken where its channel looks
    listing = service.handle("watches", _watches_EVIL_DM).to_dict()
    assert "nests too deep" in listing["watches"][0]["broken"]
    assert all(w["broken"] is None
               for w in service.handle("watches", _watches_DESK).to_dict()["watches"])
    # 6. an admin removes it from another channel
    gone = service.handle(f"unwatch {poison}", _watches_ADMIN).to_dict()
    assert gone["kind"] == "text" and "Stopped watching" in gone["text"]
    assert not store.get_watch(poison).active  # type: ignore[union-attr]


def test_broken_watch_notice_reaches_its_slack_channel_once_escaped(tmp_path: Path) -> None:
    from bot.alerts import AlertPipeline
    from bot.ingest import ArticleDraft, ingest_drafts
    from bot.slack_app import deliver_feed_notices, make_client
    from bot.store import Store
    from tests.slack.fake_slack import FakeSlack

    fake = FakeSlack(lifetime=60).start()
    store = Store(tmp_path / "n.db")
    try:
        query = "<!channel> " + _watches_BOMB[:200]  # an untrusted query, echoed back
        poison = store.add_watch(channel="D0EVIL", query=query, understood="", mode="central",
                                 created_by="UEVIL", created_at=iso(_watches_START))
        pipeline = AlertPipeline(store, clock=lambda: _watches_START)
        ids = ingest_drafts(store, [ArticleDraft(title=_watches_NEW[0], text=_watches_NEW[1])])
        pipeline.on_new_articles(ids.new_ids, backfill=False)
        client = make_client(Settings(db_path=tmp_path / "n.db", slack_bot_token="xoxb-rt",
                                      slack_api_url=fake.api_url))
        assert deliver_feed_notices(store, client) == 1
        assert deliver_feed_notices(store, client) == 0
        posts = fake.of("chat.postMessage")
        assert len(posts) == 1 and posts[0].body["channel"] == "D0EVIL"
        text = posts[0].body["text"]
        assert f"unwatch {poison}" in text and "broken" in text
        assert "<!channel>" not in text and "&lt;!channel&gt;" in text
        assert store.pending_watch_notices() == []
    finally:
        store.close()
        fake.stop()


def test_red_team_watches_without_listed_admins_nobody_unwatches_from_elsewhere(
        tmp_path: Path) -> None:
    """With ``WIREWATCH_ADMINS`` empty everyone counts as an admin inside a channel; the
    "an admin may unwatch from anywhere" rule must not let everyone remove every channel's
    watches from their own DM."""
    from bot.replies import ErrorReply

    app = build(Settings(db_path=tmp_path / "noadmins.db"), seed=False, backfill=False)
    try:
        made = app.service.handle("watch deportation flights", _watches_DESK)
        wid = made.to_dict()["watch"]["id"]
        for ctx in (_watches_EVIL_DM, _watches_NEWS):
            reply = app.service.handle(f"unwatch {wid}", ctx)
            assert isinstance(reply, ErrorReply), reply
        assert [w.id for w in app.store.channel_watches("C0DESK")] == [wid]
    finally:
        app.close()


def _watches_with_little_stack(work: Callable[[], None], headroom: int) -> None:
    """Run ``work`` with only ``headroom`` frames left before the recursion limit (as deep
    in a poller thread as the original report)."""
    def down(n: int) -> None:
        if n > 0:
            down(n - 1)
        else:
            work()

    down(sys.getrecursionlimit() - len(inspect.stack(0)) - headroom)


def test_every_path_over_the_deepest_accepted_query_is_shallow() -> None:
    from watchlists.document import ArticleDoc, analyze
    from watchlists.matcher import Matcher, naive_match
    from watchlists.query import MAX_DEPTH, QueryError, parse
    from watchlists.relevance import reasons, score

    deepest = [
        "(" * MAX_DEPTH + "deportation" + ")" * MAX_DEPTH,
        "(oil OR Venezuela NOT (" * (MAX_DEPTH // 3) + "flights deportation"
        + "))" * (MAX_DEPTH // 3),
        "(oil OR (Venezuela (" * (MAX_DEPTH // 3) + "flights deportation"
        + ")))" * (MAX_DEPTH // 3),
        "deportation " + "NOT " * (MAX_DEPTH - 1) + "x",
        "deportation " + "-(" * (MAX_DEPTH // 2) + "x" + ")" * (MAX_DEPTH // 2),
    ]
    adoc = analyze(ArticleDoc(id=1, title="Deportation flights to Venezuela",
                              text="Venezuela deported oil flights. " * 5))
    done: list[str] = []

    def work() -> None:
        for text in deepest:
            query = parse(text)
            assert query.explain()
            Matcher([(1, query)]).match(adoc)
            naive_match([(1, query)], adoc)
            reasons(query, adoc)
            score(query, adoc)
            done.append(text)
        for bomb in (_watches_BOMB, "NOT " * 120 + "x", "-(" * 120 + "x" + ")" * 120):
            with pytest.raises(QueryError, match="nests too deep"):
                parse(bomb)  # refused the same way however deep the caller is

    _watches_with_little_stack(work, headroom=150)
    assert done == deepest


# == part 3: other people's channels ==========
# Red team, issue 17 part 3 — other people's channels.  Replays the hostile member's
# findings against the real Bolt app (HTTP mode, requests signed as Slack signs them) and the
# fake Slack Web API, with WIREWATCH_ADMINS empty (everyone manages watches: the weakest
# setting, where channel membership is the only fence).
#
# - `watch … in <#private>` by a non-member: refused, nothing stored (no filling its limit).
# - a non-member's App Home shows no watch of that channel, whether or not Slack lists the
#   user's channels.
# - forged, signed `block_actions` naming that channel's watch (Home or message): refused,
#   nothing changes.
# - a watch where wirewatch is not a member: one refused post, then paused (not retried, not
#   counted as alerts), shown with the reason and how to invite wirewatch.
# - the Unwatch button asks to confirm.

_channels_OWNER = "UOWNER"
_channels_EVIL = "UEVIL"
_channels_PRIVATE = "CPRIV"
_channels_PUBLIC = "C111"


@dataclass
class _channels_World:
    app: Any
    server: Any
    sender: Any
    fake: Any

    def hook(self, name: str) -> str:
        return f"{self.fake.url}/hooks/commands/T111/{name}"

    def answer(self, name: str) -> dict[str, Any]:
        [call] = self.fake.wait_calls(f"/hooks/commands/T111/{name}", timeout=10)
        return dict(call.body)


@pytest.fixture
def _channels_world(tmp_path: Path) -> Iterator[_channels_World]:
    from bot.ingest import ensure_corpus
    from bot.settings import Settings
    from bot.wiring import build
    from tests.slack.conftest import SECRET, SlackSender, start_app
    from tests.slack.fake_slack import FakeSlack

    fake = FakeSlack(lifetime=90).start()
    fake.private_channels = {_channels_PRIVATE}
    fake.bot_channels = {_channels_PRIVATE, _channels_PUBLIC}
    fake.channels_for_user = {_channels_OWNER: [_channels_PRIVATE, _channels_PUBLIC],
                              _channels_EVIL: [_channels_PUBLIC]}
    settings = Settings(db_path=tmp_path / "rt.db", slack_bot_token="xoxb-red-team",
                        slack_signing_secret=SECRET, slack_api_url=fake.api_url)
    app = build(settings, seed=False, backfill=False)
    ensure_corpus(app.store, None)
    _, server = start_app(settings, app.service, app.store, fake)
    try:
        yield _channels_World(app, server, SlackSender(server.url), fake)
    finally:
        server.stop()
        fake.stop()
        app.close()


def _channels_private_watch(w: _channels_World) -> int:
    """The owner's watch in the private channel, made the ordinary way (from the channel)."""
    w.sender.command("watch secret merger talks", channel=_channels_PRIVATE,
                     user=_channels_OWNER, response_url=w.hook("own"))
    assert "Watching here" in w.answer("own")["text"]
    [watch] = w.app.store.channel_watches(_channels_PRIVATE)
    return int(watch.id)


def _channels_rows(w: _channels_World) -> list[tuple[Any, ...]]:
    with w.app.store.lock:
        return [tuple(r) for r in w.app.store.db.execute(
            "SELECT * FROM watches ORDER BY id").fetchall()] + [tuple(r) for r in
            w.app.store.db.execute("SELECT * FROM watch_feedback").fetchall()]


def _channels_click(action_id: str, value: str, *, channel: str | None,
                    response_url: str = "") -> dict[str, Any]:
    payload: dict[str, Any] = {
        "type": "block_actions", "user": {"id": _channels_EVIL, "team_id": "T111"},
        "api_app_id": "A111", "token": "verification_token", "team": {"id": "T111"},
        "trigger_id": "9.9.9",
        "actions": [{"action_id": action_id, "block_id": "b", "type": "button",
                     "value": value, "action_ts": "9.9"}],
    }
    if channel is None:
        payload["container"] = {"type": "view", "view_id": "V1"}
        payload["view"] = {"id": "V1", "type": "home"}
    else:
        payload["container"] = {"type": "message", "message_ts": "9.8", "channel_id": channel}
        payload["channel"] = {"id": channel}
        payload["response_url"] = response_url
    return payload


def test_red_team_channels_non_member_cannot_watch_a_private_channel(
        _channels_world: _channels_World) -> None:
    w = _channels_world
    for n in range(3):  # over and over (the 100-watch limit is not the member's to fill)
        w.sender.command(f"watch deportation flights {n} in <#{_channels_PRIVATE}|secret>",
                         channel=_channels_PUBLIC, user=_channels_EVIL,
                         response_url=w.hook(f"evil{n}"))
        text = w.answer(f"evil{n}")["text"]
        assert f"Only members of #{_channels_PRIVATE}" in text, text
    # the same through a mention and a DM
    w.sender.event({"type": "app_mention", "user": _channels_EVIL, "channel": _channels_PUBLIC,
                    "text": f"<@UBOT0001> watch oil in <#{_channels_PRIVATE}|secret>",
                    "ts": "5.1", "event_ts": "5.1"}, event_id="EvRtMention")
    w.sender.event({"type": "message", "channel_type": "im", "user": _channels_EVIL,
                    "channel": "DEVIL", "text": f"watch oil in <#{_channels_PRIVATE}|secret>",
                    "ts": "5.2", "event_ts": "5.2"}, event_id="EvRtDm")
    posts = w.fake.wait_calls("chat.postMessage", 2, timeout=10)
    assert all(f"Only members of #{_channels_PRIVATE}" in p.body["text"] for p in posts)
    assert w.app.store.active_watches() == []
    # Slack cannot say who is in the channel: refused as well (fail closed)
    w.fake.channels_for_user = None
    w.fake.info_error = "missing_scope"
    w.sender.command(f"watch oil in <#{_channels_PRIVATE}|secret>", channel=_channels_PUBLIC,
                     user=_channels_EVIL, response_url=w.hook("blind"))
    assert "can't check" in w.answer("blind")["text"]
    assert w.app.store.active_watches() == []


def test_red_team_channels_non_member_home_shows_no_watch_of_that_channel(
        _channels_world: _channels_World) -> None:
    w = _channels_world
    _channels_private_watch(w)
    w.sender.event({"type": "app_home_opened", "user": _channels_EVIL, "tab": "home",
                    "event_ts": "6.1"}, event_id="EvRtHome1")
    w.fake.channels_for_user = None  # users.conversations refused: channels unknown
    w.sender.event({"type": "app_home_opened", "user": _channels_EVIL, "tab": "home",
                    "event_ts": "6.2"}, event_id="EvRtHome2")
    publishes = w.fake.wait_calls("views.publish", 2, timeout=10)
    for p in publishes:
        view = json.dumps(p.body["view"], ensure_ascii=False)
        assert "secret merger" not in view and _channels_PRIVATE not in view
        buttons = [e for b in p.body["view"]["blocks"] if b["type"] == "actions"
                   for e in b["elements"]]
        assert buttons == []


def test_red_team_channels_forged_buttons_change_nothing(
        _channels_world: _channels_World) -> None:
    w = _channels_world
    wid = _channels_private_watch(w)
    before = _channels_rows(w)
    for n, action in enumerate(("ww_unwatch", "ww_mute", "ww_not_relevant")):
        value = f"{wid}:1" if action == "ww_not_relevant" else str(wid)
        resp = w.sender.action(_channels_click(action, value, channel=None))  # App Home
        assert resp.status_code == 200
        w.fake.wait_calls("views.publish", n + 1, timeout=10)
        resp = w.sender.action(_channels_click(action, value, channel=_channels_PUBLIC,
                                               response_url=w.hook(f"f{n}")))
        assert resp.status_code == 200
        assert "no watch" in w.answer(f"f{n}")["text"]
    notices = [json.dumps(p.body["view"]) for p in w.fake.of("views.publish")]
    assert all(f"Only members of #{_channels_PRIVATE}" in v for v in notices)
    assert _channels_rows(w) == before


def test_red_team_channels_not_in_channel_pauses_instead_of_failing_forever(
        _channels_world: _channels_World) -> None:
    from slack_sdk import WebClient

    from bot.alerts import AlertPipeline
    from bot.ingest import ArticleDraft, ingest_drafts
    from handlers.alerts import SlackSender

    w = _channels_world
    store = w.app.store
    # a watch stored before the fix, in a channel wirewatch was never invited to
    store.add_watch(channel="CNOBOT", query="deportation flights to Venezuela",
                    understood="", mode="central", created_by=_channels_EVIL,
                    created_at="2025-01-01T00:00:00+00:00")
    pipeline = AlertPipeline(store, sleeper=lambda s: None)
    sender = SlackSender(WebClient(token="xoxb-red-team", base_url=w.fake.api_url))
    for n, word in enumerate(["harbour", "ministry", "orchestra"]):
        ids = ingest_drafts(store, [ArticleDraft(
            title=f"Deportation flights to Venezuela: {word} {n}",
            text=f"Deportation flights to Venezuela and the {word} ({n}). More deportation "
                 f"flights to Venezuela are planned near the {word}.",
            url=f"https://news.example/rt/{n}")]).new_ids
        pipeline.on_new_articles(ids, backfill=False)
        pipeline.deliver_pending(sender)
    refused = [c for c in w.fake.of("chat.postMessage") if c.body.get("channel") == "CNOBOT"]
    assert len(refused) == 1  # one refusal, then never again
    w.fake.channels_for_user = {_channels_EVIL: ["CNOBOT"]}
    w.sender.command("watches", channel="CNOBOT", user=_channels_EVIL,
                     response_url=w.hook("paused"))
    blocks = json.dumps(w.answer("paused")["blocks"])
    assert "paused: wirewatch is not in #CNOBOT; /invite @wirewatch there" in blocks
    assert "0 alerts" in blocks


def test_red_team_channels_unwatch_asks_to_confirm(_channels_world: _channels_World) -> None:
    w = _channels_world
    _channels_private_watch(w)
    w.sender.event({"type": "app_home_opened", "user": _channels_OWNER, "tab": "home",
                    "event_ts": "7.1"}, event_id="EvRtHome3")
    [publish] = w.fake.wait_calls("views.publish", timeout=10)
    unwatch = [e for b in publish.body["view"]["blocks"] if b["type"] == "actions"
               for e in b["elements"] if e["action_id"] == "ww_unwatch"]
    assert unwatch and all(e["confirm"]["confirm"]["text"] == "Unwatch" for e in unwatch)


# == parts 4, 5 and 7: slow or hostile feeds cannot starve polling ==========
# Issue 17, parts 4, 5 and 7, replayed: slow or hostile feeds cannot starve polling.
#
# 4. Eight feeds that answer validly but trickle their bytes take the two slots of their host;
#    a healthy feed on another host is fetched within seconds, and a `feed add` during that
#    round answers within seconds (it waited 60 s and 78 s before).
# 5. Six manual `poll`s of a feed that says 503 + Retry-After: one request, and the feed stays on.
# 7. `feed import` of an OPML listing private addresses stores none of them (with
#    WIREWATCH_ALLOW_PRIVATE_FEEDS off), as `feed add` refuses them.
#
# The feed servers are ``HostileServer``s on two loopback addresses (two hosts to the poller),
# each stopped by itself after its lifetime.

_feeds_Behaviour = Callable[[socket.socket], None]


def _feeds_rss(title: str, n: int) -> bytes:
    items = "".join(
        f"<item><title>{title} story {i}</title><link>http://example.org/{title}/{i}</link>"
        f"<guid>{title}-{i}</guid><description>Deportation flights resumed, day {i}."
        "</description></item>"
        for i in range(n)
    )
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>'
            f"<link>http://example.org/</link>{items}</channel></rss>").encode()


def _feeds_send(body: bytes, status: str = "200 OK", extra: str = "") -> _feeds_Behaviour:
    def send(conn: socket.socket) -> None:
        conn.sendall(
            f"HTTP/1.1 {status}\r\nContent-Type: application/rss+xml\r\n{extra}"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body
        )

    return send


def _feeds_trickle(body: bytes, seconds: float) -> _feeds_Behaviour:
    """A valid answer whose body arrives a few bytes at a time over ``seconds``."""

    def trickle(conn: socket.socket) -> None:
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        )
        steps = 20
        size = -(-len(body) // steps)
        for i in range(0, len(body), size):
            conn.sendall(body[i:i + size])
            time.sleep(seconds / steps)

    return trickle


class _feeds_Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def _feeds_servers() -> Iterator[tuple[HostileServer, HostileServer]]:
    slow_host = HostileServer(host="127.0.0.1").start()
    other_host = HostileServer(host="127.0.0.2").start()
    yield slow_host, other_host
    slow_host.stop()
    other_host.stop()


def _feeds_app(tmp_path: Path, clock: _feeds_Clock) -> Any:
    from bot.wiring import build

    settings = Settings(db_path=tmp_path / "rt.db", allow_private_feeds=True,
                        admins=frozenset({ADMIN}))
    return build(settings, fetcher=Fetcher(settings), clock=clock, seed=False, backfill=False)


def test_red_team_4_slow_feeds_do_not_starve_the_others(
    tmp_path: Path, _feeds_servers: tuple[HostileServer, HostileServer]
) -> None:
    slow_host, other_host = _feeds_servers
    clock = _feeds_Clock()
    app = _feeds_app(tmp_path, clock)
    try:
        for n in range(8):
            slow_host.routes[f"/slow{n}"] = _feeds_trickle(_feeds_rss(f"slow{n}", 3), 3.0)
            app.store.add_feed(slow_host.url(f"/slow{n}"), now=_feeds_iso(clock()))
        other_host.routes["/healthy"] = _feeds_send(_feeds_rss("healthy", 2))
        healthy_id, _ = app.store.add_feed(other_host.url("/healthy"), now=_feeds_iso(clock()))
        other_host.routes["/added"] = _feeds_send(_feeds_rss("added", 2))
        # the poller `serve` runs, with the slowness threshold scaled down for the test
        poller = Poller(app.store, app.settings, app.fetcher, analyzer=app.analyzer,
                        clock=clock, slow_seconds=1.0)
        app.service.feed_commands.poller = poller
        started = time.monotonic()
        reports: list[Any] = []
        round_thread = threading.Thread(target=lambda: reports.append(poller.poll_due()))
        round_thread.start()
        try:
            deadline = started + 10
            while "/healthy" not in other_host.first_hit and time.monotonic() < deadline:
                time.sleep(0.02)
            assert other_host.first_hit.get("/healthy", deadline) - started < 2.0
            t0 = time.monotonic()
            added = app.service.handle(f"feed add {other_host.url('/added')}",
                                       Context(channel="C1", user=ADMIN))
            assert time.monotonic() - t0 < 3.0 and round_thread.is_alive()
            assert added.to_dict()["new_articles"] == 2
        finally:
            round_thread.join(60)
        report = reports[0]
        assert report.feeds == 9 and report.deferred == 0
        assert app.store.get_feed(healthy_id)["status"] == "ok"
        slow = [f for f in app.store.list_feeds() if "/slow" in f["url"]]
        # slow but valid: entries read, status "slow" with why, backed off and held
        assert all(f["status"] == "slow" and "slow: took" in f["error"] for f in slow)
        assert all(f["articles"] == 3 and f["hold_until"] == f["next_check"] for f in slow)
        assert all(f["error_count"] == 0 for f in slow)  # slowness never disables
    finally:
        app.close()


def test_red_team_5_manual_polls_respect_retry_after_and_never_disable(
    tmp_path: Path, _feeds_servers: tuple[HostileServer, HostileServer]
) -> None:
    server, other_host = _feeds_servers
    clock = _feeds_Clock()
    app = _feeds_app(tmp_path, clock)
    try:
        server.routes["/wire"] = _feeds_send(_feeds_rss("wire", 2))
        added = app.service.handle(f"feed add {server.url('/wire')}",
                                   Context(channel="C1", user=ADMIN)).to_dict()
        feed_id = added["feed"]["id"]
        other_host.routes["/fine"] = _feeds_send(_feeds_rss("fine", 1))  # always answers
        app.service.handle(f"feed add {other_host.url('/fine')}", Context(user=ADMIN))
        server.routes["/wire"] = _feeds_send(b"busy", "503 Service Unavailable",
                                             "Retry-After: 3600\r\n")
        before = server.hits["/wire"]
        users = [Context(channel=f"C{n}", user=f"U{n}") for n in range(6)]
        replies = []
        for ctx in users:  # six users in six channels, a few seconds apart
            replies.append(app.service.handle("poll", ctx).to_dict())
            clock.now += timedelta(seconds=5)
        same = [app.service.handle("poll", users[0]).to_dict() for _ in range(5)]
        assert server.hits["/wire"] - before == 1  # one request in all
        row = app.store.get_feed(feed_id)
        assert row["status"] == "failing" and row["error_count"] == 0  # still on
        assert replies[0]["feeds"] == 2 and "server said 503" in str(replies[0]["errors"])
        for reply in replies[1:]:  # the healthy feed is checked; the paused one is skipped
            assert reply["feeds"] == 1 and reply["skipped"][0]["feed_id"] == feed_id
            assert reply["skipped"][0]["until"] == row["hold_until"]
        # the same channel again within the minute: a short answer, nothing fetched
        assert all(r["feeds"] == 0 and "once a minute per channel" in str(r["message"])
                   for r in same)
        assert other_host.hits["/fine"] == 1 + 6
        clock.now += timedelta(hours=2)  # the pause is over: a scheduled round tries again
        server.routes["/wire"] = _feeds_send(_feeds_rss("wire", 3))
        assert app.poller.poll_due().new_articles == 1
        assert app.store.get_feed(feed_id)["status"] == "ok"
    finally:
        app.close()


def test_red_team_7_import_skips_private_addresses(ww: Any, tmp_path: Path) -> None:
    private = ["http://127.0.0.1:8080/feed", "http://10.1.2.3/rss", "http://192.168.0.1/rss",
               "http://169.254.169.254/latest/meta-data/", "http://[::1]/feed",
               "http://[::ffff:127.0.0.1]/feed", "http://0x7f000001/", "http://2130706433/",
               "http://100.64.0.1/", "http://localhost/feed"]
    path = tmp_path / "evil.opml"
    outlines = "".join(f'<outline type="rss" xmlUrl="{u}"/>' for u in private)
    path.write_text(f'<opml version="2.0"><body>{outlines}</body></opml>', encoding="utf-8")
    reply = ww.service.handle(f"feed import {path}", Context(user=ADMIN)).to_dict()
    assert reply["added"] == [] and reply["skipped"] == private
    assert all("private, local or reserved" in r["why"] or "could not find" in r["why"]
               for r in reply["refused"])
    assert ww.store.list_feeds() == []  # nothing stored: nothing fires when the guard is off
