import pytest

from lib.text import clean_label


@pytest.mark.parametrize("raw, shown", [
    ("  Night   Drive \n(bossa) ", "Night Drive (bossa)"),
    ("AC/DC cover", "AC/DC cover"),  # a title, not a path: slashes stay
    ("bell\x07 and\x1b[31m red", "bell and [31m red"),
    ("zero\u200bwidth\u202eflip", "zerowidthflip"),
    ("<b>bold</b>", "<b>bold</b>"),  # stays text; templates escape it
    ("e\u0301", "\u00e9"),  # NFC
    (None, ""),
    ("x" * 250, "x" * 200),
])
def test_clean_label(raw, shown):
    assert clean_label(raw) == shown
