"""Text a device sends, made fit for a log line, a page and a cell: short, printable, one line.

Names, models, serials and firmware come from whoever answers at a device's address. A line break
would forge a log line, a terminal escape would repaint an operator's screen, a megabyte model
name would fill a page: each control character becomes a space and the text is cut at `limit`.
"""

from __future__ import annotations

MAX_TEXT = 255  # characters of any one name, model, serial or version a device gives


def plain_text(text: str, limit: int = MAX_TEXT) -> str:
    """`text` cut at `limit` characters, control and other unprintable characters as spaces, stripped."""
    text = text[:limit]
    if not text.isprintable():
        text = "".join(c if c.isprintable() else " " for c in text)
    return text.strip()
