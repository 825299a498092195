"""`wirewatch serve`: clear one-line errors for missing tokens, and the real command in HTTP
mode answering a signed slash command through the fake Slack."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from typing import Any

import pytest

from bot.cli import main
from tests.conftest import ROOT
from tests.slack.conftest import SECRET, SlackSender
from tests.slack.fake_slack import FakeSlack


@pytest.mark.parametrize(
    ("argv", "env", "needle"),
    [
        (["serve"], {}, "SLACK_BOT_TOKEN is not set"),
        (["serve", "--http"], {"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET is not set"),
        (["serve"], {"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_APP_TOKEN is not set"),
    ],
)
def test_missing_tokens_give_one_clear_line(
    argv: list[str], env: dict[str, str], needle: str, monkeypatch: Any, capsys: Any,
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith("wirewatch: ") and needle in err


def _lines(stream: Any, out: queue.Queue[str]) -> None:
    for line in stream:
        out.put(line)


def test_serve_http_answers_a_signed_slash_command(tmp_path: Any, fake_slack: FakeSlack) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WIREWATCH_", "SLACK_"))}
    env.update({
        "WIREWATCH_DB": str(tmp_path / "serve.db"), "SLACK_BOT_TOKEN": "xoxb-serve",
        "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake_slack.api_url,
        "PYTHONPATH": str(ROOT), "PYTHONIOENCODING": "utf-8",
    })
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--http", "--port", "0"], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    out: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=_lines, args=(proc.stdout, out), daemon=True)
    reader.start()
    try:
        line = out.get(timeout=30)
        assert "listening on port" in line, line
        port = int(line.split("listening on port ")[1].split()[0])
        sender = SlackSender(f"http://127.0.0.1:{port}/slack/events")
        assert fake_slack.of("auth.test"), "the token is checked at start-up"
        start = time.monotonic()
        resp = sender.command("search deportation", response_url=f"{fake_slack.url}/hooks/s1")
        assert resp.status_code == 200 and time.monotonic() - start < 3
        [answer] = fake_slack.wait_calls("/hooks/s1", timeout=15)
        assert "deportation" in answer.body["text"]
        assert sender.command("help", response_url=f"{fake_slack.url}/hooks/s2",
                              secret="wrong").status_code == 401
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert code == 0
    reader.join(timeout=5)
    rest = []
    while not out.empty():
        rest.append(out.get_nowait())
    assert "wirewatch: stopped" in "".join(rest)


def test_rejected_token_gives_one_clear_line(
    fake_slack: FakeSlack, monkeypatch: Any, capsys: Any,
) -> None:
    fake_slack.token_ok = False
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-revoked")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
    monkeypatch.setenv("SLACK_API_URL", fake_slack.api_url)
    assert main(["serve", "--http", "--port", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "Slack rejected SLACK_BOT_TOKEN" in err and "invalid_auth" in err


def test_unreachable_slack_gives_one_clear_line(monkeypatch: Any, capsys: Any) -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
    monkeypatch.setenv("SLACK_API_URL", f"http://127.0.0.1:{port}/api/")
    assert main(["serve", "--http", "--port", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "cannot reach Slack" in err


def test_feed_notices_are_posted_escaped_once(slack_settings: Any, fake_slack: FakeSlack) -> None:
    from bot.slack_app import deliver_feed_notices, make_client
    from bot.store import Store, utcnow_iso

    store = Store(slack_settings.db_path)
    try:
        now = utcnow_iso()
        store.add_feed_notice(1, "C111", "disabled", "Feed 1 (<!channel> news) is off", now)
        store.add_feed_notice(1, "console", "disabled", "Feed 1 is off", now)
        fake_slack.fail_next("chat.postMessage", 429, retry_after=1)
        client = make_client(slack_settings)
        assert deliver_feed_notices(store, client) == 1
        assert deliver_feed_notices(store, client) == 0
        posts = fake_slack.of("chat.postMessage")
        assert len(posts) == 2  # one 429, then the post
        assert posts[1].body["channel"] == "C111"
        assert posts[1].body["text"] == "Feed 1 (&lt;!channel&gt; news) is off"
        assert [n["channel"] for n in store.pending_feed_notices()] == ["console"]
    finally:
        store.close()
