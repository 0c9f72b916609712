"""HTML pieces of the self-contained report: images inline (base64), tables that scroll inside their box."""

from __future__ import annotations

import base64
import html

import pandas as pd

STYLE = """body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
.scroll{overflow-x:auto;max-width:100%} .tbl{border-collapse:collapse;font-size:0.92em}
.tbl td,.tbl th{padding:3px 8px;border-bottom:1px solid #ddd;text-align:left;white-space:nowrap}
img{max-width:100%} code{background:#f4f4f4} .warn{background:#fff4e0;border-left:4px solid #e0a030;padding:0.5em 1em}
nav ul{columns:2} .row{display:flex;flex-wrap:wrap;gap:8px;align-items:flex-start} .row img{max-width:100%}
tr.changed td{background:#fff4c2;font-weight:bold}"""

CARD_STYLE = """.cards{display:flex;flex-wrap:wrap;gap:12px;margin:0.5em 0}
.card{border:1px solid #ccc;border-radius:6px;padding:8px 10px;width:500px;max-width:100%;box-sizing:border-box;
display:flex;flex-wrap:wrap;gap:8px;background:#fcfcfc} .card img{width:210px;height:auto}
.card dl{margin:0;font-size:0.86em;flex:1;min-width:220px} .card dt{font-weight:bold;margin-top:3px}
.card dd{margin:0 0 0 0.6em} .card h4{margin:0 0 4px 0;width:100%} .tent{color:#b35900}"""


def img(png: bytes, alt: str) -> str:
    """An inline PNG."""
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def table_html(df: pd.DataFrame, digits: int = 1) -> str:
    """A table inside a horizontally scrolling box (never wider than the page); floats to ``digits`` decimals."""
    body = df.to_html(index=False, float_format=lambda v: f"{v:.{digits}f}", na_rep="–", border=0, classes="tbl")
    return f'<div class="scroll">{body}</div>'


def page(title: str, toc: list[tuple[str, str]], body: str) -> str:
    """The whole document: title, table of contents (anchor, text), body."""
    nav = "".join(f'<li><a href="#{html.escape(a)}">{html.escape(t)}</a></li>' for a, t in toc)
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">'
            f"<title>{html.escape(title)}</title><style>{STYLE}\n{CARD_STYLE}</style></head><body>"
            f"<h1>{html.escape(title)}</h1><nav><ul>{nav}</ul></nav>{body}</body></html>")
