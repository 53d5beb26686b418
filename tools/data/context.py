"""The user's description of the data: a codebook or a paragraph, kept with the dataset.

It tells what a column means and when it was measured ("at baseline", "follow-up"), and how
the data arose ("randomly assigned", "a cutoff on the score"). It is untrusted text: it is
read as words and never executed, it is capped in size, and whatever reads it quotes it.
"""

from pathlib import Path

from causal_assistant.tools.data.intake import load_table
from causal_assistant.tools.errors import InputError, ProseError

MAX_CONTEXT_CHARS = 20_000
CONTEXT_SUFFIXES = (".txt", ".md", ".markdown", "")
MARKDOWN_SUFFIXES = (".md", ".markdown")


def read_context(path: Path) -> str:
    """The description in ``path`` as text, refused in one line when it is not text."""
    if not path.is_file():
        raise InputError(f"No context file at {path}; give the path of a .txt or .md file.")
    if path.suffix.lower() not in CONTEXT_SUFFIXES:
        raise InputError(
            f"The context file '{path.name}' should be plain text (.txt or .md), "
            f"not '{path.suffix}'."
        )
    raw = path.read_bytes()[: MAX_CONTEXT_CHARS * 4]
    if b"\x00" in raw:
        raise InputError(f"'{path.name}' is not a text file; save the description as .txt.")
    return clean_context(raw.decode("utf-8", errors="replace"))


def clean_context(text: str) -> str:
    """At most ``MAX_CONTEXT_CHARS`` characters, without control characters."""
    kept = "".join(ch for ch in text if ch.isprintable() or ch in "\n\t")
    return kept.strip()[:MAX_CONTEXT_CHARS]


def is_description(path: Path) -> bool:
    """Whether an uploaded file is a description of the data rather than the data: Markdown
    always is; a ``.txt`` file is when it reads as prose (a ``.txt`` can also be a table)."""
    suffix = path.suffix.lower()
    if suffix in MARKDOWN_SUFFIXES:
        return True
    if suffix != ".txt":
        return False
    try:
        load_table(path)
    except ProseError:
        return True
    except InputError:
        return False
    return False
