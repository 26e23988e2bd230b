"""A tiny document model of the report, rendered as Markdown (report.md) and HTML (report.html)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2
    #: the HTML id a table of contents links to ("" for none)
    anchor: str = ""


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Bullets:
    items: list[str]


@dataclass(frozen=True)
class Table:
    columns: list[str]
    rows: list[list[str]]
    caption: str = ""
    #: columns (by position) aligned right, e.g. numbers
    numeric: frozenset[int] = field(default_factory=frozenset)
    #: CSS class of cells by their exact text (e.g. a verdict word), HTML only
    styles: dict[str, str] = field(default_factory=dict)
    #: the HTML id of the table ("" for none)
    anchor: str = ""


@dataclass(frozen=True)
class Figure:
    """An SVG (or PNG) figure: linked by relative path in Markdown, inlined in HTML."""

    path: str
    data: bytes
    caption: str
    anchor: str = ""

    @property
    def is_svg(self) -> bool:
        return self.path.endswith(".svg")


@dataclass(frozen=True)
class Section:
    """Blocks kept together: a ``<section>`` (with a CSS class and id) in HTML; in Markdown
    the title (if any) as a heading, then the blocks."""

    blocks: list[Block]
    css_class: str = ""
    anchor: str = ""
    title: str = ""


@dataclass(frozen=True)
class Details:
    """Blocks folded under a one-line summary (``<details>`` in HTML; a heading in Markdown)."""

    summary: str
    blocks: list[Block]
    anchor: str = ""


@dataclass(frozen=True)
class Contents:
    """A table of contents: (anchor, text) links to blocks of this report."""

    entries: list[tuple[str, str]]


Block = Heading | Paragraph | Bullets | Table | Figure | Section | Details | Contents
