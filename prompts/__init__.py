"""Prompt templates kept as Markdown files beside this module.

Prompts are reviewed and tuned as text, so they live in files rather than in code; the
package data setting in pyproject.toml ships them with the wheel.
"""

from functools import cache
from importlib.resources import files


@cache
def load(name: str) -> str:
    """The text of ``prompts/<name>.md``; ``$placeholders`` are left for the caller."""
    return files(__package__).joinpath(f"{name}.md").read_text(encoding="utf-8")
