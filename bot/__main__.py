"""``python -m bot`` is the ``wirewatch`` command."""

from bot.cli import main

raise SystemExit(main())
