"""``wirewatch shell``: a read-eval-print loop over the service, like Hubot's shell adapter.

Same grammar as Slack.  History is kept beside the database.  Other parts of the program
(alerts from the poller) print through ``Shell.notify``, which never garbles the prompt.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from bot.render import render
from bot.sanitize import terminal_safe
from bot.service import Context
from bot.wiring import Wirewatch

log = logging.getLogger(__name__)
PROMPT = "wirewatch> "
EXIT_WORDS = {"quit", "exit", "bye", ":q"}


class Shell:
    def __init__(
        self, app: Wirewatch, *, stdin: TextIO | None = None, stdout: TextIO | None = None
    ) -> None:
        self.app = app
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.ansi = self.stdout.isatty()
        self.ctx = Context(channel="console", user="console", front_end="console")
        self._lock = threading.Lock()
        # called after each command (the CLI delivers console alerts there, e.g. after `poll`)
        self.after_command: Callable[[str], None] | None = None

    def notify(self, text: str) -> None:
        """Print a message from elsewhere (an alert) between prompts."""
        with self._lock:
            self.stdout.write(f"\n{terminal_safe(text)}\n")
            self.stdout.flush()

    def answer(self, line: str) -> str:
        try:
            reply = self.app.service.handle(line, self.ctx)
        except Exception:
            log.exception("shell command failed: %r", line[:200])
            return "Sorry, something went wrong with that command; it has been logged."
        return render(reply, ansi=self.ansi)

    def _history(self) -> Path | None:
        if self.app.store.path == ":memory:":
            return None
        return Path(self.app.store.path).with_suffix(".history")

    def run(self) -> int:
        interactive = self.stdin.isatty()
        readline = None
        history = self._history()
        if interactive:
            try:
                import readline as _readline

                readline = _readline
                if history and history.exists():
                    readline.read_history_file(history)
            except (ImportError, OSError):
                readline = None
            self.stdout.write(
                f"wirewatch — {self.app.store.count_articles()} articles indexed. "
                "Type `help`, or `quit` to leave.\n"
            )
        try:
            while True:
                if interactive:
                    try:
                        line = input(PROMPT)
                    except EOFError:
                        self.stdout.write("\n")
                        break
                else:
                    line = self.stdin.readline()
                    if not line:
                        break
                line = line.strip()
                if not line:
                    continue
                if line.lower() in EXIT_WORDS:
                    break
                out = self.answer(line)
                with self._lock:
                    self.stdout.write(terminal_safe(out) + "\n")
                    self.stdout.flush()
                if self.after_command is not None:
                    self.after_command(line)
        except KeyboardInterrupt:
            self.stdout.write("\n")
        finally:
            if readline is not None and history is not None:
                try:
                    readline.set_history_length(1000)
                    readline.write_history_file(history)
                except OSError:
                    pass
        return 0
