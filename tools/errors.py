"""Errors that carry a one-line reason the user can act on.

Anything raised as ``InputError`` is the user's to fix (a bad file, an unknown column, a
cyclic graph); the CLI turns it into exit code 2 and the chat into a reply, so its message
must be a single readable sentence, never a traceback.
"""


class InputError(ValueError):
    """A problem with what the user supplied, explained in one line."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


class ProseError(InputError):
    """A text file that holds sentences rather than a table; the chat keeps such a file as
    the user's description of the data instead of refusing it."""


class GraphError(InputError):
    """A graph that cannot be used as given (cycle, bad syntax, unknown node)."""


class ChoiceNeeded(InputError):
    """The user must pick among named candidates (which column is the treatment, say);
    the chat offers them as buttons, the CLI lists them beside the flag to pass."""

    def __init__(self, message: str, choices: dict[str, list[str]]) -> None:
        super().__init__(message)
        self.choices = choices
