"""The job runner: APScheduler ticks the ``Poller``, which polls whatever is due.

The schedule itself lives in the database (each feed's ``next_check``), so the scheduler
holds no state of its own: a restart simply resumes, and several ticks with nothing due cost
one indexed query each.  ``tick()`` is what a job run does; tests call it with an injected
clock instead of waiting.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.feeds.poller import Poller, PollReport

log = logging.getLogger(__name__)

TICK_SECONDS = 30


class PollScheduler:
    def __init__(
        self,
        poller: Poller,
        *,
        tick_seconds: float = TICK_SECONDS,
        clock: Callable[[], datetime] | None = None,
        on_report: Callable[[PollReport], None] | None = None,
    ) -> None:
        self.poller = poller
        self.tick_seconds = tick_seconds
        self.clock = clock or poller.clock
        self.on_report = on_report
        self._scheduler: Any = None

    def tick(self) -> PollReport:
        """Poll the feeds due now (by the injected clock) and hand the report on."""
        report = self.poller.poll_due(self.clock())
        if self.on_report is not None and (report.feeds or report.notices):
            self.on_report(report)
        return report

    def _run(self) -> None:
        try:
            self.tick()
        except Exception:  # logged with traceback; the next tick tries again
            log.exception("scheduled poll failed")

    def start(self) -> None:
        """Start a background scheduler that ticks now and then every ``tick_seconds``."""
        from apscheduler.schedulers.background import BackgroundScheduler

        if self._scheduler is not None:
            return
        scheduler = BackgroundScheduler(timezone="UTC")
        scheduler.add_job(
            self._run,
            "interval",
            seconds=self.tick_seconds,
            id="wirewatch-poll",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            next_run_time=datetime.now().astimezone(),
        )
        scheduler.start()
        self._scheduler = scheduler

    @property
    def running(self) -> bool:
        return self._scheduler is not None and bool(self._scheduler.running)

    def jobs(self) -> list[Any]:
        return [] if self._scheduler is None else list(self._scheduler.get_jobs())

    def shutdown(self, wait: bool = True) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=wait)
            self._scheduler = None
