"""A tiny document model of the report, rendered as Markdown (report.md) and HTML (report.html)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


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


@dataclass(frozen=True)
class Figure:
    """A PNG: linked by relative path in Markdown, embedded as base64 in HTML."""

    path: str
    png: bytes
    caption: str


Block = Heading | Paragraph | Bullets | Table | Figure
