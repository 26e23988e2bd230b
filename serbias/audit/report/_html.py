"""The report as one self-contained HTML page: inline CSS, SVG figures inlined (PNGs base64)."""

from __future__ import annotations

import base64
import html
import itertools
import re
from collections.abc import Iterator

from serbias.audit.report._blocks import (
    Block,
    Bullets,
    Contents,
    Details,
    Figure,
    Heading,
    Paragraph,
    Section,
    Table,
)

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 78rem;
       margin: 0.6rem auto; padding: 0 1rem; color: #1d1d1f; line-height: 1.45; }
h1 { font-size: 1.35rem; margin: 0.2rem 0 0.4rem; }
h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.8rem 0 1.4rem; font-size: 0.88rem; }
th, td { border: 1px solid #d6d6d6; padding: 0.25rem 0.5rem; vertical-align: top; }
th { background: #f3f3f3; text-align: left; } td { font-variant-numeric: tabular-nums; }
caption { caption-side: top; text-align: left;
font-weight: 600; padding-bottom: 0.3rem; } figure { margin: 1rem 0; } img { max-width: 100%; }
figure svg { max-width: 100%; height: auto; }
figcaption { font-size: 0.9rem; color: #555; } li { margin: 0.3rem 0; }
.first-screen table { margin: 0 0 0.4rem; font-size: 0.74rem; line-height: 1.15; }
.first-screen th, .first-screen td { padding: 0.02rem 0.35rem; }
.first-screen caption { font-size: 0.8rem; padding-bottom: 0.15rem; }
.first-row { display: grid; grid-template-columns: minmax(0, 1.25fr) minmax(0, 1fr); gap: 1rem;
             align-items: start; }
.first-row figure svg { max-height: 17rem; width: auto; }
.first-row figure { margin: 0; } .first-row figcaption { font-size: 0.72rem; line-height: 1.25; }
.ground-truth { border: 2px solid #6a3d9a; border-radius: 6px; padding: 0.3rem 0.7rem;
                font-size: 0.78rem; line-height: 1.3; background: #faf7fd; }
.ground-truth h3 { margin: 0.1rem 0 0.3rem; font-size: 0.9rem; }
.ground-truth p, .ground-truth ul { margin: 0.25rem 0; } .ground-truth li { margin: 0.1rem 0; }
.legend { font-size: 0.7rem; color: #444; margin: 0 0 0.3rem; line-height: 1.25; }
td.v-found { background: #f6d5d1; font-weight: 600; } td.v-none { background: #dbe8f6; }
td.v-tell { background: #fbe9c8; } td.v-uninformative, td.v-not { color: #777; }
nav.contents ul { columns: 2; font-size: 0.88rem; } details { margin: 0.4rem 0; }
details > summary { font-size: 1.05rem; font-weight: 600; cursor: pointer; padding: 0.2rem 0; }
"""
_MAX_COLUMNS = 24
_CSS += "".join(
    f".n{i} td:nth-child({i + 1}) {{ text-align: right; }}" for i in range(_MAX_COLUMNS)
)


def to_html(title: str, blocks: list[Block]) -> str:
    """A complete HTML document of ``title`` and every block."""
    figures = itertools.count()
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        *_render(blocks, figures),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _render(blocks: list[Block], figures: Iterator[int]) -> Iterator[str]:
    for block in blocks:
        if isinstance(block, Heading):
            anchor = f' id="{html.escape(block.anchor)}"' if block.anchor else ""
            yield f"<h{block.level}{anchor}>{html.escape(block.text)}</h{block.level}>"
        elif isinstance(block, Paragraph):
            yield f"<p>{html.escape(block.text)}</p>"
        elif isinstance(block, Bullets):
            items = "".join(f"<li>{html.escape(item)}</li>" for item in block.items if item)
            yield f"<ul>{items}</ul>"
        elif isinstance(block, Table):
            yield _html_table(block)
        elif isinstance(block, Figure):
            yield _html_figure(block, next(figures))
        elif isinstance(block, Section):
            classes = f' class="{html.escape(block.css_class)}"' if block.css_class else ""
            anchor = f' id="{html.escape(block.anchor)}"' if block.anchor else ""
            title = f"<h3>{html.escape(block.title)}</h3>" if block.title else ""
            inner = "\n".join(_render(block.blocks, figures))
            yield f"<section{classes}{anchor}>{title}{inner}</section>"
        elif isinstance(block, Details):
            anchor = f' id="{html.escape(block.anchor)}"' if block.anchor else ""
            folded = block.blocks
            if folded and isinstance(folded[0], Heading) and folded[0].text == block.summary:
                folded = folded[1:]  # the summary already says it
            inner = "\n".join(_render(folded, figures))
            yield (
                f"<details{anchor}><summary>{html.escape(block.summary)}</summary>{inner}</details>"
            )
        elif isinstance(block, Contents):
            links = "".join(
                f'<li><a href="#{html.escape(anchor)}">{html.escape(text)}</a></li>'
                for anchor, text in block.entries
            )
            yield f'<nav class="contents"><h2>Contents</h2><ul>{links}</ul></nav>'


def _html_figure(figure: Figure, number: int) -> str:
    caption = html.escape(figure.caption)
    anchor = f' id="{html.escape(figure.anchor)}"' if figure.anchor else ""
    if figure.is_svg:
        body = _inline_svg(figure.data.decode("utf-8"), prefix=f"f{number}-", label=caption)
    else:
        data = base64.b64encode(figure.data).decode("ascii")
        body = f'<img alt="{caption}" src="data:image/png;base64,{data}">'
    return f"<figure{anchor}>{body}<figcaption>{caption}</figcaption></figure>"


def _inline_svg(svg: str, *, prefix: str, label: str) -> str:
    """An SVG document as an inline element: no XML prolog, ids made unique to the figure
    (every matplotlib SVG has the same ``figure_1``, ``axes_1`` ids), labelled for readers."""
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r'\bid="', f'id="{prefix}', svg)
    svg = re.sub(r'(href|xlink:href)="#', rf'\1="#{prefix}', svg)
    svg = svg.replace("url(#", f"url(#{prefix}")
    return svg.replace("<svg", f'<svg role="img" aria-label="{label}"', 1)


def _html_table(table: Table) -> str:
    """A table whose numeric columns are right-aligned by a class on the table (``n3``: the
    fourth column), not on each cell: the report's tables have tens of thousands of cells."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    body = []
    for row in table.rows:
        cells = []
        for c in row:
            style = table.styles.get(c)
            cells.append(f'<td class="{style}">' if style else "<td>")
            cells.append(f"{html.escape(c)}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    caption = f"<caption>{html.escape(table.caption)}</caption>" if table.caption else ""
    anchor = f' id="{html.escape(table.anchor)}"' if table.anchor else ""
    numeric = " ".join(f"n{i}" for i in sorted(table.numeric) if i < _MAX_COLUMNS)
    classes = f' class="{numeric}"' if numeric else ""
    return (
        f"<table{anchor}{classes}>{caption}<thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )
