"""Text cells made safe for spreadsheets before they go into a CSV.

Session names, marker notes and uploaded file names are typed by users. A cell that
starts with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage return) is run as a formula
when the CSV is opened in Excel, LibreOffice or Google Sheets ("CSV injection"); a name
like ``=HYPERLINK(...)`` would become a live link. Such text gets a leading apostrophe,
which spreadsheets show as text (OWASP's advice). Numbers are never touched.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value: Any) -> Any:
    """``value`` with a leading apostrophe if it is text a spreadsheet would evaluate."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_table(table: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``table`` whose text columns are :func:`safe_text`-ed."""
    text = [
        c
        for c in table.columns
        if table[c].dtype == object or pd.api.types.is_string_dtype(table[c])
    ]
    if not text:
        return table
    return table.assign(**{c: table[c].map(safe_text) for c in text})
