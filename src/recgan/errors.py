"""User-facing errors. The CLI prints them as one line and exits with code 2."""


class RecganError(Exception):
    """A problem with the caller's input (file, field, id, value), not a bug in recgan.

    The message names the file, line or field at fault.
    """


class UnknownIdError(RecganError, KeyError):
    """A user or item id that the model or data set does not know."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "unknown id"


class FoldInNotSupported(RecganError):
    """The model cannot score a user from a history alone."""
