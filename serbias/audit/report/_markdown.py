"""The report as Markdown: figures are linked by their relative path."""

from __future__ import annotations

from serbias.audit.report._blocks import Block, Bullets, Figure, Heading, Paragraph, Table


def to_markdown(title: str, blocks: list[Block]) -> str:
    """``# title`` then every block; tables as pipe tables, numbers right-aligned."""
    lines = [f"# {title}", ""]
    for block in blocks:
        if isinstance(block, Heading):
            lines += [f"{'#' * block.level} {block.text}", ""]
        elif isinstance(block, Paragraph):
            lines += [block.text, ""]
        elif isinstance(block, Bullets):
            lines += [f"- {item}" for item in block.items] + [""]
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
    return "\n".join(lines).rstrip() + "\n"


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")
