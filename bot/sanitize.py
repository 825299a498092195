"""Control characters out of untrusted text: the one sanitiser for what is stored and for what a
terminal prints.

Feed titles, links and article text come from strangers.  A C0 or C1 control character in them
(ESC starting an OSC sequence that sets the window title or writes the clipboard, CSI clearing
the screen, a carriage return overwriting the line) acts on the terminal that prints it, and a
bidi override reorders what the reader sees.  ``strip_controls`` removes them at ingestion;
``terminal_safe`` is applied by every console sink (``wirewatch ask``/``poll``/``demo`` output,
the shell's answers and alerts), so text stored before this existed is safe too.
"""

from __future__ import annotations

import re

# C0 except tab and newline, DEL, C1, and the bidi embeddings, overrides and isolates
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# the only escape sequences a console renderer writes itself: bold on, attributes off
_OWN_SGR = re.compile(r"(\x1b\[[01]m)")


def strip_controls(text: str) -> str:
    """``text`` without control characters (tab and newline kept; CR LF becomes LF)."""
    return _CONTROLS.sub("", text)


def strip_controls_or_none(text: str | None) -> str | None:
    return None if text is None else strip_controls(text)


def terminal_safe(text: str) -> str:
    """``text`` ready for a terminal: every control character gone except tab, newline and the
    renderer's own bold/reset sequences."""
    parts = _OWN_SGR.split(text)
    return "".join(part if n % 2 else strip_controls(part) for n, part in enumerate(parts))
