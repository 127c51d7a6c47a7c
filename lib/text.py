"""Text people type or upload, made fit to show."""

import re
import unicodedata

CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def clean_label(text, max_length=200):
    """One line with no control or invisible characters, whitespace collapsed, at most
    `max_length` characters. HTML in it stays text (templates escape it)."""
    text = unicodedata.normalize("NFC", str(text or ""))
    text = "".join(
        " " if CONTROL.match(ch) else ch
        for ch in text
        if unicodedata.category(ch) not in ("Cf", "Co", "Cs")
    )
    return " ".join(text.split())[:max_length].strip()
