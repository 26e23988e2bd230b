"""The report as Markdown: figures are linked by their relative path, folds become headings."""

from __future__ import annotations

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


def to_markdown(title: str, blocks: list[Block]) -> str:
    """``# title`` then every block; tables as pipe tables, numbers right-aligned."""
    lines = [f"# {title}", "", *_lines(blocks)]
    return "\n".join(lines).rstrip() + "\n"


def _lines(blocks: list[Block]) -> list[str]:
    lines: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            lines += [f"{'#' * block.level} {block.text}", ""]
        elif isinstance(block, Paragraph):
            lines += [block.text, ""]
        elif isinstance(block, Bullets):
            lines += [f"- {item}" for item in block.items if item] + [""]
        elif isinstance(block, Table):
            if block.caption:
                lines += [f"**{block.caption}**", ""]
            align = ["---:" if i in block.numeric else "---" for i in range(len(block.columns))]
            lines.append("| " + " | ".join(_md_cell(c) for c in block.columns) + " |")
            lines.append("| " + " | ".join(align) + " |")
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows]
            lines.append("")
        elif isinstance(block, Figure):
            lines += [f"![{block.caption}]({block.path})", "", f"*{block.caption}*", ""]
        elif isinstance(block, Section):
            lines += ([f"### {block.title}", ""] if block.title else []) + _lines(block.blocks)
        elif isinstance(block, Details):
            leads = block.blocks and isinstance(block.blocks[0], Heading)
            lines += ([] if leads else [f"## {block.summary}", ""]) + _lines(block.blocks)
        elif isinstance(block, Contents):
            pass  # Markdown viewers list the headings themselves
    return lines


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")
