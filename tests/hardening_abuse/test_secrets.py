"""Issue 8 part 6: tokens and the signing secret never appear in logs or replies.

A full run of ``wirewatch serve --http`` as a subprocess (logging to its file beside the
database, as configured in production): slash commands, a mention, a button, a bad
signature, Slack failing (an error path with a traceback), then SIGTERM.  Every log line,
stdout, stderr, every reply the fake Slack received and the database file are searched for
each secret value (and for its distinctive halves)."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from tests.slack.conftest import SlackSender
from tests.slack.fake_slack import BOT_USER_ID, FakeSlack

ROOT = Path(__file__).resolve().parents[2]
BOT_TOKEN = "xoxb-4242424242-SECRETBOTTOKEN-q7Zp3x"
APP_TOKEN = "xapp-1-A0SECRETAPPTOKEN-9m2Kd"
SIGNING = "sigsecret5f1e2d3c4b5a69788796a5b4"
SECRETS = [BOT_TOKEN, APP_TOKEN, SIGNING, "SECRETBOTTOKEN", "SECRETAPPTOKEN", SIGNING[9:]]


def _lines(stream: Any, out: queue.Queue[str]) -> None:
    for line in iter(stream.readline, ""):
        out.put(line)


def _env(db: Path, fake: FakeSlack) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WIREWATCH_", "SLACK_"))}
    env.update(WIREWATCH_DB=str(db), SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_APP_TOKEN=APP_TOKEN,
               SLACK_SIGNING_SECRET=SIGNING, SLACK_API_URL=fake.api_url,
               WIREWATCH_ADMINS="UADMIN", PYTHONPATH=str(ROOT), PYTHONIOENCODING="utf-8")
    return env


def _assert_clean(where: str, text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret[:8]}… found in {where}"


def test_a_full_serve_run_never_shows_a_secret(tmp_path: Path) -> None:
    fake = FakeSlack(lifetime=90).start()
    db = tmp_path / "secrets.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--http", "--port", "0"], cwd=ROOT,
        env=_env(db, fake), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    out: queue.Queue[str] = queue.Queue()
    err: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(proc.stdout, out), daemon=True).start()
    threading.Thread(target=_lines, args=(proc.stderr, err), daemon=True).start()
    try:
        line = out.get(timeout=60)
        assert "listening on port" in line, line
        port = int(line.split("listening on port ")[1].split()[0])
        slack = SlackSender(f"http://127.0.0.1:{port}/slack/events", secret=SIGNING)
        hooks = 0
        for text in ("help", "search deportation flights", "watch deportation flights",
                     "watches", "status", "feeds", "who Maduro", "frobnicate",
                     "feed add http://127.0.0.1/", "feed add file:///etc/passwd",
                     "mute 999 for 2h", "who <!channel>"):
            hooks += 1
            resp = slack.command(text, response_url=f"{fake.url}/hooks/s{hooks}",
                                 user="UADMIN")
            assert resp.status_code == 200, text
        fake.wait_for(lambda calls: len([c for c in calls if c.method.startswith("/hooks/s")])
                      >= hooks, timeout=30)
        # a mention whose reply Slack refuses (500 again and again): the error path
        fake.fail_next("chat.postMessage", 500, retry_after=None, times=6)
        resp = slack.event({"type": "app_mention", "user": "U1", "channel": "C1",
                            "text": f"<@{BOT_USER_ID}> status", "ts": "1.000200",
                            "event_ts": "1.000200"}, event_id="EvSecret1")
        assert resp.status_code == 200
        fake.wait_for(lambda calls: len([c for c in calls if c.method == "chat.postMessage"])
                      >= 2, timeout=20)
        # an unknown button, a bad signature, a replay, a malformed body
        assert slack.command("help", response_url=f"{fake.url}/hooks/x",
                             secret="wrong").status_code == 401
        body = "payload=not-json"
        assert slack.post(body, "application/x-www-form-urlencoded").status_code == 400
        # the failed reply is logged once slack_sdk's retries are spent: wait for it
        log_path = db.with_suffix(".log")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if log_path.is_file() and "Traceback" in log_path.read_text(errors="replace"):
                break
            time.sleep(0.2)
        time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        fake.stop()
    time.sleep(0.2)
    stdout = "".join(out.queue)
    stderr = "".join(err.queue)
    log_file = db.with_suffix(".log")
    assert log_file.is_file(), "serve logs to a file beside the database"
    log = log_file.read_text(encoding="utf-8", errors="replace")
    assert "Traceback" in log or "failed" in log.lower(), "the error path was logged"
    _assert_clean("the log file", log)
    _assert_clean("stdout", stdout)
    _assert_clean("stderr", stderr)
    replies = [c for c in fake.calls if c.method != "auth.test"]
    assert len(replies) >= 12
    for call in replies:
        _assert_clean(f"the reply {call.method}", repr(call.body))
    for path in tmp_path.iterdir():  # the database and its WAL
        _assert_clean(path.name, path.read_bytes().decode("latin-1"))


def test_a_rejected_token_is_not_echoed(tmp_path: Path) -> None:
    fake = FakeSlack(lifetime=30).start()
    fake.token_ok = False
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bot", "serve", "--http", "--port", "0"], cwd=ROOT,
            env=_env(tmp_path / "bad.db", fake), capture_output=True, text=True, timeout=60,
        )
    finally:
        fake.stop()
    assert done.returncode != 0
    assert done.stderr.strip() or done.stdout.strip()
    _assert_clean("stdout", done.stdout)
    _assert_clean("stderr", done.stderr)
    log = tmp_path / "bad.log"
    if log.is_file():
        _assert_clean("the log file", log.read_text(encoding="utf-8", errors="replace"))
