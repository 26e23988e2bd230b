"""The audit's report and files: metrics.json, tidy CSVs, plot data, PNGs, report.md/.html.

``_write`` writes the directory, ``_sections`` and ``_tables`` build the report as blocks of
``_blocks``, which ``_markdown`` and ``_html`` render; ``_plots`` draws the figures.
"""

from __future__ import annotations

from serbias.audit.report._sections import report_blocks
from serbias.audit.report._write import MARKER, TITLE, write_audit

__all__ = ["MARKER", "TITLE", "report_blocks", "write_audit"]
