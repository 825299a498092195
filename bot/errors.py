"""The one root for errors a user may see.

Anything raised as a ``UserError`` (or a subclass) carries a short, safe message that front
ends show as it is.  Every other exception is a bug: front ends log it with its traceback and
show the user a short apology instead.
"""

from __future__ import annotations


class UserError(Exception):
    """An error whose message is meant for the user: short, clear, no internals."""

    code = "error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class BadCommand(UserError):
    """The text could not be parsed as a command (or its arguments are malformed)."""

    code = "bad_command"


class NotFound(UserError):
    """The thing asked for does not exist."""

    code = "not_found"


class Forbidden(UserError):
    """The user may not do this."""

    code = "forbidden"


class NotAvailable(UserError):
    """The command exists in the grammar but this build cannot do it yet."""

    code = "not_available"


class ConfigError(UserError):
    """A setting has a value that cannot be used."""

    code = "config"
