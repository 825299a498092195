"""The ``wirewatch`` command line (also ``python -m bot``)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.errors import UserError
from bot.sanitize import terminal_safe
from bot.settings import Settings, load_settings

log = logging.getLogger("wirewatch")



def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wirewatch",
        description="Follow a news story: index articles, answer lookups, watch feeds.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("shell", help="console front end: type commands, see replies")
    demo = sub.add_parser("demo", help="shell plus a local replay feed and a ready watch")
    # -- watch: demo options --
    demo.add_argument("--interval", type=float, default=4.0,
                      help="seconds between articles released by the replay feed (default 4)")
    demo.add_argument("--seconds", type=float, default=None,
                      help="run without the shell for this many seconds, printing alerts")
    demo.add_argument("--db", type=Path, default=None,
                      help="database file for the demo (default: a fresh temporary one)")
    ask = sub.add_parser("ask", help="run one command and print the reply")
    ask.add_argument("text", nargs="+", help="the command, e.g. \"search deportation flights\"")
    ask.add_argument("--json", action="store_true", help="print the structured reply")
    ask.add_argument("--channel", default="console", help="channel the command runs in")
    ask.add_argument("--user", default=None, help="user the command runs as")
    ingest = sub.add_parser("ingest", help="index text/HTML/JSON-lines files or folders")
    ingest.add_argument("paths", nargs="+", type=Path)
    poll = sub.add_parser("poll", help="poll feeds and deliver alerts")
    poll.add_argument("--once", action="store_true", help="poll due feeds once and exit")
    serve = sub.add_parser("serve", help="run the Slack bot (Socket Mode; --http for HTTP)")
    serve.add_argument("--http", action="store_true", help="Events API over HTTP")
    serve.add_argument("--port", type=int, default=None, help="HTTP port (default: PORT)")
    serve.add_argument("--host", default=None,
                       help="HTTP listen address (default: WIREWATCH_HOST)")
    return parser


def setup_logging(settings: Settings, *, verbose: bool = False) -> Path | None:
    """Log to a file beside the database; the console only sees warnings."""
    root = logging.getLogger()
    if root.handlers:
        return None
    root.setLevel(logging.INFO)
    path: Path | None = None
    if str(settings.db_path) != ":memory:":
        path = Path(settings.db_path).with_suffix(".log")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handler: logging.Handler = logging.FileHandler(path, encoding="utf-8")
            handler.setFormatter(
                logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
            )
            root.addHandler(handler)
        except OSError:
            path = None
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.INFO if verbose else logging.ERROR)
    console.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    root.addHandler(console)
    for noisy in ("httpx", "httpcore", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return path


def _print(text: str) -> None:
    text = terminal_safe(text)  # feed titles and links reach here: no terminal escapes
    try:
        print(text, flush=True)
    except UnicodeEncodeError:
        print(text.encode("ascii", "replace").decode("ascii"), flush=True)


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from bot.render import render
    from bot.service import Context
    from bot.wiring import build

    app = build(settings)
    try:
        reply = app.service.handle(
            " ".join(args.text), Context(channel=args.channel, user=args.user, front_end="ask")
        )
    finally:
        app.close()
    if args.json:
        _print(json.dumps(reply.to_dict(), ensure_ascii=False, indent=2))
    else:
        _print(render(reply, ansi=sys.stdout.isatty()))
    return 1 if reply.is_error else 0


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from bot.ingest import ingest_paths
    from bot.wiring import build

    app = build(settings, seed=False)
    try:
        with Progress(
            TextColumn("indexing"), BarColumn(), MofNCompleteColumn(), transient=False,
            disable=not sys.stderr.isatty(),
        ) as bar:
            task = bar.add_task("files", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            result = ingest_paths(
                app.store, args.paths, analyzer=app.analyzer, progress=progress,
                processes=settings.nlp_processes,
            )
    finally:
        app.close()
    _print(
        f"Indexed {len(result.new_ids)} new article(s); {result.duplicates} already known."
    )
    for err in result.errors[:20]:
        _print(f"  skipped: {err}")
    if len(result.errors) > 20:
        _print(f"  … and {len(result.errors) - 20} more")
    return 0


def cmd_shell(args: argparse.Namespace, settings: Settings) -> int:
    """The console front end; feeds are polled on their schedule in the background and the
    alerts of console watches print between prompts."""
    from bot.alerts import ConsoleSender
    from bot.feeds.scheduler import PollScheduler
    from bot.shell import Shell
    from bot.wiring import build

    app = build(settings)
    shell = Shell(app)

    def deliver(*_: object) -> None:
        app.alerts.deliver_pending(
            ConsoleSender(shell.notify), channels=lambda c: c == "console"
        )

    shell.after_command = deliver
    scheduler = PollScheduler(app.poller, on_report=deliver)
    scheduler.start()
    try:
        return shell.run()
    finally:
        scheduler.shutdown(wait=False)
        app.close()


# -- slack: `wirewatch serve` ------------------------------------------------------------------

def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from bot.slack_app import check_tokens

    check_tokens(settings, http=args.http)  # before importing Bolt: fast, clear errors
    from bot.slack_app import serve

    return serve(settings, http=args.http, port=args.port, host=args.host, out=_print)


# -- end slack ---------------------------------------------------------------------------------


# -- feeds ---------------------------------------------------------------------------------


def cmd_poll(args: argparse.Namespace, settings: Settings) -> int:
    """`wirewatch poll --once`: poll due feeds and exit; without it, poll on the schedule."""
    import threading

    from bot.feeds.commands import poll_reply
    from bot.feeds.poller import PollReport
    from bot.feeds.scheduler import PollScheduler
    from bot.render import render
    from bot.wiring import build

    app = build(settings)
    try:
        if args.once:
            report = app.poller.poll_due(app.clock())
            _print(render(poll_reply(report)))
            deliver_console_alerts(app)  # -- watch --
            return 0

        def show(report: PollReport) -> None:
            _print(render(poll_reply(report)))
            deliver_console_alerts(app)  # -- watch --

        scheduler = PollScheduler(app.poller, on_report=show)
        _print(
            f"Polling feeds every {settings.poll_seconds} s per feed (checking what is due "
            "every 30 s). Ctrl-C stops."
        )
        scheduler.start()
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            _print("Stopping (finishing the current poll)…")
        finally:
            scheduler.shutdown(wait=True)
        return 0
    finally:
        app.close()


# -- watch: demo ---------------------------------------------------------------------------------


def deliver_console_alerts(app: Any) -> None:
    """Print the alerts of console watches (channel "console"); Slack channels' alerts are
    left for the Slack sender."""
    from bot.alerts import ConsoleSender

    app.alerts.deliver_pending(ConsoleSender(_print), channels=lambda c: c == "console")


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    """Replay feed on 127.0.0.1 + a ready watch + alerts printed in the console."""
    import dataclasses
    import tempfile
    import threading
    import time

    from bot.alerts import ConsoleSender
    from bot.demo import DEMO_QUERY, DemoFeedServer, add_demo_feeds, run_demo_loop
    from bot.render import render
    from bot.service import Context
    from bot.shell import Shell
    from bot.wiring import build
    from watchlists.decide import iso

    tmp = None
    if args.db is None:
        tmp = tempfile.TemporaryDirectory(prefix="wirewatch-demo-")
        db = Path(tmp.name) / "demo.db"
    else:
        db = args.db
    # the replay feeds are on 127.0.0.1: allow private addresses for this demo app only
    app = build(dataclasses.replace(settings, db_path=db, allow_private_feeds=True), seed=False)
    server = DemoFeedServer(interval=max(0.5, args.interval))
    stop = threading.Event()
    try:
        base = server.start()
        add_demo_feeds(app.store, server, now=iso(app.clock()))
        shell = Shell(app)
        headless = args.seconds is not None
        emit = _print if headless else shell.notify
        ctx = Context(channel="console", user="demo", front_end="console")
        _print(f"wirewatch demo — {len(server.feed_urls())} replay feeds at {base}/feeds/, "
               f"one new article every {server.interval:g}s; database {db}")
        _print(render(app.service.handle(f"watch {DEMO_QUERY}", ctx)))
        _print("The first article is the feeds' back catalogue (no alert). Watch alerts arrive "
               "below; type commands meanwhile (`watches`, `feeds`, `search Caracas`, `quit`).")
        pipeline = app.alerts

        def report(exc: Exception) -> None:
            log.exception("demo poll failed", exc_info=exc)
            emit(f"(demo poll failed: {type(exc).__name__}; retrying)")

        loop = threading.Thread(
            target=run_demo_loop, args=(app.poller, pipeline, ConsoleSender(emit), stop),
            kwargs={"every": 1.0, "on_error": report}, name="demo-poll", daemon=True,
        )
        loop.start()
        if headless:
            time.sleep(max(0.0, args.seconds))
            return 0
        return shell.run()
    finally:
        stop.set()
        server.stop()
        time.sleep(0.1)
        app.close()
        if tmp is not None:
            tmp.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    command = args.command or "shell"
    try:
        settings = load_settings()
    except UserError as exc:
        print(f"wirewatch: {terminal_safe(exc.message)}", file=sys.stderr)
        return 2
    logfile = setup_logging(settings)
    try:
        commands = {
            "ask": cmd_ask, "ingest": cmd_ingest, "shell": cmd_shell, "serve": cmd_serve,
            "poll": cmd_poll, "demo": cmd_demo,
        }
        return commands[command](args, settings)
    except UserError as exc:
        print(f"wirewatch: {terminal_safe(exc.message)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception:
        log.exception("wirewatch %s failed", command)
        where = f" (details in {logfile})" if logfile else ""
        print(f"wirewatch: sorry, something went wrong{where}.", file=sys.stderr)
        return 1
