"""`wirewatch serve` in Socket Mode (the default) against a local WebSocket server: it opens
the connection through apps.connections.open, acks envelopes and answers a mention."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from typing import Any

from tests.conftest import ROOT
from tests.slack.fake_slack import BOT_USER_ID, FakeSlack
from tests.slack.fake_socket import FakeSocketMode


def test_socket_mode_starts_acks_and_answers(tmp_path: Any, fake_slack: FakeSlack) -> None:
    ws = FakeSocketMode(lifetime=60).start()
    fake_slack.socket_url = ws.url  # type: ignore[attr-defined]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WIREWATCH_", "SLACK_"))}
    env.update({
        "WIREWATCH_DB": str(tmp_path / "socket.db"), "SLACK_BOT_TOKEN": "xoxb-socket",
        "SLACK_APP_TOKEN": "xapp-socket", "SLACK_API_URL": fake_slack.api_url,
        "PYTHONPATH": str(ROOT), "PYTHONIOENCODING": "utf-8",
    })
    proc = subprocess.Popen([sys.executable, "-m", "bot", "serve"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout or []],
                              daemon=True)
    reader.start()
    try:
        assert "Socket Mode, connected" in lines.get(timeout=30)
        assert ws.connected.wait(10)
        [opened] = fake_slack.of("apps.connections.open")
        assert opened.headers["authorization"] == "Bearer xapp-socket"
        event = {"type": "app_mention", "user": "U2", "text": f"<@{BOT_USER_ID}> help",
                 "ts": "1700000005.000100", "channel": "C111"}
        ws.send({
            "envelope_id": "env-1", "type": "events_api", "accepts_response_payload": False,
            "retry_attempt": 0, "retry_reason": "",
            "payload": {"type": "event_callback", "event_id": "EvSock1", "team_id": "T111",
                        "api_app_id": "A111", "event": event, "event_time": int(time.time())},
        })
        ws.wait_received(lambda m: m.get("envelope_id") == "env-1")
        [post] = fake_slack.wait_calls("chat.postMessage", timeout=15)
        assert post.body["thread_ts"] == "1700000005.000100"
        assert post.headers["authorization"] == "Bearer xoxb-socket"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        finally:
            ws.stop()
    assert code == 0, proc.stderr.read() if proc.stderr else ""
