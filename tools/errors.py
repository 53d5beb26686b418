"""Errors that carry a one-line reason the user can act on.

Anything raised as ``InputError`` is the user's to fix (a bad file, an unknown column, a
cyclic graph); the CLI turns it into exit code 2 and the chat into a reply, so its message
must be a single readable sentence, never a traceback.
"""


class InputError(ValueError):
    """A problem with what the user supplied, explained in one line."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


class GraphError(InputError):
    """A graph that cannot be used as given (cycle, bad syntax, unknown node)."""
