"""Crash safety: ``wirewatch serve --http`` is killed with SIGKILL at random points of its
poll → ingest → match → outbox → deliver cycle (while fetching from a slow feed, mid-ingest,
while a slow Slack holds a post, anywhere) and restarted, many times.  In the end every
(watch, article) alert is in its channel exactly once, every published article is indexed
exactly once, and the database passes ``PRAGMA integrity_check``.

Default: 45 s of kill cycles (``WIREWATCH_CRASH_SECONDS``, seed ``WIREWATCH_CRASH_SEED``).
``WIREWATCH_LONG_TESTS=1`` (or ``-m slow``) also runs the 10-minute variant.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.store import Store
from tests.hardening_crash.fault_slack import Fault, FaultySlack
from tests.hardening_crash.news import TOPIC, TopicFeed

ROOT = Path(__file__).resolve().parents[2]
CHANNELS = ("C111", "C222")
INITIAL = 2  # the feed's back catalogue: never alerts
MODES = ("fetch", "ingest", "post", "anywhere")
# read at import: the top-level conftest clears WIREWATCH_* before each test
CRASH_SECONDS = float(os.environ.get("WIREWATCH_CRASH_SECONDS") or 45)
CRASH_SEED = int(os.environ.get("WIREWATCH_CRASH_SEED") or 8)


@dataclass
class Tally:
    cycles: int = 0
    kills: Counter[str] = field(default_factory=Counter)
    not_reached: Counter[str] = field(default_factory=Counter)  # the trigger never came
    accepted_unanswered: int = 0  # kills while Slack held an accepted post: doubles before
    died_early: list[str] = field(default_factory=list)
    faults: dict[str, int] = field(default_factory=dict)
    backlog: int = 0  # alerts not yet in Slack when the kills stopped
    alerts: int = 0


def _env(db: Path, fake: FaultySlack) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WIREWATCH_", "SLACK_"))}
    env.update(WIREWATCH_DB=str(db), SLACK_BOT_TOKEN="xoxb-crash", SLACK_SIGNING_SECRET="s",
               SLACK_API_URL=fake.api_url, WIREWATCH_ALLOW_PRIVATE_FEEDS="1",
               PYTHONPATH=str(ROOT), PYTHONIOENCODING="utf-8")
    return env


def _run(args: list[str], env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=90)


def _due_now(db: Path) -> None:
    """Make every feed due (the process is dead: nobody else writes)."""
    store = Store(db)
    try:
        for feed in store.list_feeds():
            store.update_feed(feed["id"], next_check="2000-01-01T00:00:00+00:00")
    finally:
        store.close()


def _serve(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--http", "--port", "0"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )


def _wait(cond: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():  # type: ignore[operator]
            return True
        time.sleep(0.01)
    return False


def _stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def _one_cycle(mode: str, rng: random.Random, env: dict[str, str], db: Path, log: Path,
               feed: TopicFeed, fake: FaultySlack, tally: Tally) -> None:
    _due_now(db)
    if rng.random() < 0.3:  # and Slack misbehaves now and then, across the restarts too
        fake.schedule("chat.postMessage", [rng.choice([
            Fault("reset", posted=True), Fault("reset", posted=False),
            Fault("429", retry_after=1), Fault("503")])])
    requests, finished = feed.requests, feed.finished
    posts = len(fake.of("chat.postMessage"))
    proc = _serve(env, log)
    try:
        if mode == "fetch":
            hit = _wait(lambda: feed.requests > requests, 20)
            time.sleep(rng.uniform(0, feed.delay))
        elif mode == "ingest":
            hit = _wait(lambda: feed.finished > finished, 20)
            time.sleep(rng.uniform(0, 0.8))
        elif mode == "post":
            nth = posts + rng.randrange(3)  # the first, second or third post of the run
            hit = _wait(lambda: len(fake.of("chat.postMessage")) > nth, 20)
            time.sleep(rng.uniform(0, fake.post_delay))
        else:
            hit = True
            time.sleep(rng.uniform(0.2, 6.0))
        if proc.poll() is not None:
            tally.died_early.append(f"{mode}: exit {proc.returncode}")
        proc.send_signal(signal.SIGKILL)
        tally.accepted_unanswered += len(fake.unanswered)
        tally.kills[mode] += 1
        if not hit:
            tally.not_reached[mode] += 1
    finally:
        _stop(proc)
    tally.cycles += 1


def _final_run(env: dict[str, str], db: Path, log: Path, feed: TopicFeed,
               fake: FaultySlack, expected: int, tally: Tally) -> None:
    """A clean run with the feed frozen: everything still pending goes out."""
    feed.frozen = True
    _due_now(db)
    tally.backlog = expected - len(_alert_posts(fake))
    requests = feed.requests
    proc = _serve(env, log)
    try:
        assert _wait(lambda: feed.requests > requests, 30), "the final run never polled"

        def delivered() -> bool:
            if len(_alert_posts(fake)) < expected:
                return False
            con = sqlite3.connect(db, timeout=10)
            try:
                return con.execute(
                    "SELECT count(*) FROM alerts WHERE status = 'pending'").fetchone()[0] == 0
            finally:
                con.close()

        # the backlog goes out paced (1 post/s per channel, a slow fake Slack): wait as long
        # as posts keep coming, fail when nothing moved for 45 s
        last, moved = -1, time.monotonic()
        while not delivered():
            now_posts = len(_alert_posts(fake))
            if now_posts != last:
                last, moved = now_posts, time.monotonic()
            assert time.monotonic() - moved < 45, (
                "delivery stalled", now_posts, expected, log.read_text(errors="replace")[-3000:])
            assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
            time.sleep(0.2)
    finally:
        _stop(proc, signal.SIGTERM)


def _alert_posts(fake: FaultySlack) -> list[dict[str, object]]:
    return [m for m in fake.accepted()
            if (m.get("metadata") or {}).get("event_type") == "wirewatch_alert"]


def crash_loop(tmp_path: Path, seconds: float, seed: int) -> Tally:
    rng = random.Random(seed)
    db = tmp_path / "crash.db"
    log = tmp_path / "serve.log"
    fake = FaultySlack(lifetime=seconds + 400, post_delay=0.4, seed=seed).start()
    feed = TopicFeed(initial=INITIAL, per_request=1, delay=0.6, lifetime=seconds + 400,
                     seed=seed)
    feed.frozen = True
    feed.start()
    tally = Tally()
    try:
        env = _env(db, fake)
        for channel in CHANNELS:
            _run(["ask", "--channel", channel, "watch", TOPIC], env)
        store = Store(db)
        store.add_feed(feed.url, now="2000-01-01T00:00:00+00:00", channel=CHANNELS[0],
                       added_by="test")
        store.close()
        _run(["poll", "--once"], env)  # the back catalogue: indexed, never alerted
        feed.frozen = False
        deadline = time.monotonic() + seconds
        n = 0
        while time.monotonic() < deadline:
            _one_cycle(MODES[n % len(MODES)], rng, env, db, log, feed, fake, tally)
            n += 1
        expected = (len(feed.items) - INITIAL) * len(CHANNELS)
        _final_run(env, db, log, feed, fake, expected, tally)
        check(db, feed, fake, log)
        tally.faults = dict(fake.faults_served)
        tally.alerts = expected
    finally:
        feed.stop()
        fake.stop()
    return tally


def check(db: Path, feed: TopicFeed, fake: FaultySlack, log: Path) -> None:
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        urls = Counter(u for (u,) in con.execute(
            "SELECT url FROM articles WHERE url LIKE 'http://news.test/%'"))
        published = {f"http://news.test/{feed.seed}/{i.n}" for i in feed.items}
        assert set(urls) == published, ("lost", published - set(urls))  # none lost
        assert max(urls.values()) == 1, "an article was indexed twice"
        ids = dict(con.execute(
            "SELECT url, id FROM articles WHERE url LIKE 'http://news.test/%'").fetchall())
        back = {ids[f"http://news.test/{feed.seed}/{n}"] for n in range(1, INITIAL + 1)}
        alerts = con.execute(
            "SELECT a.channel, a.article_id, a.status, a.ts FROM alerts a "
            "JOIN articles r ON r.id = a.article_id WHERE r.url LIKE 'http://news.test/%'"
        ).fetchall()
    finally:
        con.close()
    want = {(c, ids[u]) for u in published for c in CHANNELS} - {
        (c, a) for a in back for c in CHANNELS}
    assert {(c, a) for c, a, _, _ in alerts} == want, "an alert is missing or extra"
    assert {s for _, _, s, _ in alerts} == {"sent"}
    posted = Counter((str(m["channel"]), int(m["metadata"]["event_payload"]["article_id"]))
                     for m in _alert_posts(fake))
    doubled = {k: v for k, v in posted.items() if v > 1}
    assert not doubled, f"posted more than once: {doubled}"
    assert set(posted) == want, "a posted alert is missing"
    ts_of = {(str(m["channel"]), int(m["metadata"]["event_payload"]["article_id"])): m["ts"]
             for m in _alert_posts(fake)}
    assert {(c, a): t for c, a, _, t in alerts} == ts_of  # the DB knows each post's ts
    for channel in CHANNELS:  # and they went out in order, across every crash
        order = [int(m["metadata"]["event_payload"]["alert_id"]) for m in _alert_posts(fake)
                 if m["channel"] == channel]
        assert order == sorted(order), f"out of order in {channel}"
    assert "Traceback" not in log.read_text(errors="replace")
    assert fake.pending_faults("chat.postMessage") == 0


def _report(tally: Tally) -> str:
    return (f"{tally.cycles} kill cycles; kills by phase {dict(tally.kills)}; trigger not "
            f"reached {dict(tally.not_reached)}; kills while Slack held an accepted but "
            f"unanswered post: {tally.accepted_unanswered}; Slack faults served "
            f"{tally.faults}; {tally.alerts} alerts, {tally.backlog} of them still to post "
            f"when the kills stopped")


def test_sigkill_at_random_points_loses_and_doubles_nothing(tmp_path: Path) -> None:
    tally = crash_loop(tmp_path, seconds=CRASH_SECONDS, seed=CRASH_SEED)
    print(_report(tally))
    assert not tally.died_early, tally.died_early
    assert tally.cycles >= 8, _report(tally)  # enough kill points to mean something
    assert all(tally.kills[m] >= 2 for m in MODES), _report(tally)


@pytest.mark.slow
def test_sigkill_long_variant(tmp_path: Path) -> None:
    tally = crash_loop(tmp_path, seconds=600, seed=int(time.time()))
    print(_report(tally))
    assert not tally.died_early, tally.died_early
