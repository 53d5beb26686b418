"""Showing text from the data (column names, category levels, cells) safely as Markdown.

Whoever made the file chose its column names, so a name such as ``![x](http://evil/x.png)``
would load a remote image in the chat (a beacon), ``[a](http://x)`` would be a link, and
``<img src=x>`` raw HTML; a ``|`` breaks a table. Two tools, both pure:

- ``escape_markdown`` for one piece of data text placed into Markdown we write (a table
  cell, a heading): every character Markdown could read as syntax is escaped.
- ``neutralize`` for a whole message already written as Markdown around such text: our own
  emphasis, lists, tables and code stay, but nothing outside code becomes a link, an image,
  an autolink or HTML. It is idempotent, so applying it at several layers is harmless.
"""

from __future__ import annotations

import re

# Every ASCII punctuation character may be backslash-escaped in CommonMark; these are the
# ones that start syntax (links, images, HTML, emphasis, code, tables, headings, lists).
_SYNTAX = re.compile(r"([\\`*_{}\[\]()<>#+\-!|~@:])")
# In a message: brackets (links, images, references), '<' (HTML, autolinks) and '@'
# (e-mail autolinks), unless already escaped (an odd number of backslashes before).
_ACTIVE = re.compile(r"(?<!\\)((?:\\\\)*)([\[\]<@])")
# Bare addresses GitHub-flavoured Markdown turns into links by itself.
_LITERAL_LINK = re.compile(r"(?i)(?<![\\\w])(https?|ftp|mailto)(:)|(?<![\\\w])(www)(\.)")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_BACKTICKS = re.compile(r"`+")


def escape_markdown(text: object) -> str:
    """One line of data text, shown literally wherever Markdown is rendered."""
    flat = " ".join(str(text).split())
    return _escape_literal_links(_SYNTAX.sub(r"\\\1", flat))


def table_cell(text: object) -> str:
    """A Markdown table cell: one line, pipes escaped, no link, image or HTML in it."""
    return neutralize(" ".join(str(text).split()).replace("|", "\\|"))


def code_block(code: str, language: str = "python") -> str:
    """A fenced block that no backtick run inside ``code`` can close early."""
    runs = [len(run) for run in _BACKTICKS.findall(code)]
    fence = "`" * max(3, max(runs, default=0) + 1)
    return f"{fence}{language}\n{code.rstrip()}\n{fence}"


def neutralize(markdown: str) -> str:
    """``markdown`` with no link, image, autolink or HTML outside code blocks and spans."""
    out: list[str] = []
    fence: str | None = None
    prose: list[str] = []
    for line in markdown.splitlines(keepends=True):
        opened = _FENCE.match(line)
        if fence is None and opened:
            out.append(_neutralize_prose("".join(prose)))
            prose, fence = [], opened.group(1)
            out.append(line)
        elif fence is not None:
            out.append(line)
            closing = _FENCE.match(line)
            if closing and closing.group(1)[0] == fence[0] and len(closing.group(1)) >= len(fence):
                if not line.strip().strip(fence[0]):
                    fence = None
        else:
            prose.append(line)
    out.append(_neutralize_prose("".join(prose)))
    return "".join(out)


def _neutralize_prose(text: str) -> str:
    """Escape outside inline code spans (a run of n backticks up to the next run of n)."""
    pieces: list[str] = []
    position = 0
    while position < len(text):
        start = _BACKTICKS.search(text, position)
        if start is None:
            break
        closing = _closing_run(text, start.end(), len(start.group()))
        if closing is None:  # an unmatched run is literal backticks
            pieces.append(_escape_active(text[position : start.end()]))
            position = start.end()
            continue
        pieces.append(_escape_active(text[position : start.start()]))
        pieces.append(text[start.start() : closing])
        position = closing
    pieces.append(_escape_active(text[position:]))
    return "".join(pieces)


def _closing_run(text: str, after: int, length: int) -> int | None:
    for run in _BACKTICKS.finditer(text, after):
        if len(run.group()) == length:
            return run.end()
    return None


def _escape_active(text: str) -> str:
    return _escape_literal_links(_ACTIVE.sub(lambda m: f"{m.group(1)}\\{m.group(2)}", text))


def _escape_literal_links(text: str) -> str:
    return _LITERAL_LINK.sub(
        lambda m: f"{m.group(1)}\\{m.group(2)}" if m.group(1) else f"{m.group(3)}\\{m.group(4)}",
        text,
    )
