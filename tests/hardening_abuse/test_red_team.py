"""Issue 17's red team: every attack that once stopped alerts for everyone, reached another
channel or acted on a terminal, replayed against the real thing (signed requests to the real
Bolt app in HTTP mode, real loopback feed servers, the real console script).

Each test names the attack it replays.  A section per part of the issue."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.feeds.conftest import FeedServer, Route
from tests.hardening_abuse.conftest import snapshot
from tests.slack.conftest import SECRET, sign

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
