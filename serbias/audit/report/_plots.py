"""SVG figures of the audit (matplotlib, no GUI; byte-identical for equal inputs).

SVG keeps the report sharp at any zoom and small: text stays text, coordinates are rounded to
0.01 pt, and the HTML report inlines them.
"""

from __future__ import annotations

import io
import math
import re

import numpy as np
import pandas as pd

from serbias import vocab
from serbias.audit._metrics import metric_phrase, split_metric

_DPI = 110
_COLOURS = {
    "gap found": "#c0392b",
    "no gap found": "#1f5fa8",
    "cannot tell": "#d68910",
    "uninformative": "#9a9a9a",
    "not compared": "#9a9a9a",
}
_BAND = "#eadfbf"
_LISTENERS = "#6a3d9a"


def group_metric_figure(
    by_group: pd.DataFrame,
    *,
    metric: str,
    title: str,
    confidence: float,
    gaps: pd.DataFrame | None = None,
    interval: str = "actor-bootstrap",
) -> bytes:
    """One row per group (all axes), the metric with its interval as whiskers.

    Groups too small to compare are drawn hollow and grey; the dashed line is the overall value.
    With ``gaps``, each compared group gets its no-bias band as a shaded bar: the reference
    value plus the chance gap +/- 1.96 chance SDs, where the group would sit without bias.
    """
    rows = by_group[(by_group["metric"] == metric) & (by_group["axis"] != "overall")].reset_index(
        drop=True
    )
    overall = by_group[(by_group["metric"] == metric) & (by_group["axis"] == "overall")]["value"]
    figure, axes = _figure(width=7.5, height=0.26 * len(rows) + 1.3)
    y = np.arange(len(rows))[::-1]
    if gaps is not None:
        compared = gaps[
            (gaps["kind"] == "vs_reference")
            & (gaps["metric"] == metric)
            & gaps["chance_sd"].notna()
        ].set_index(["axis", "group"])
        label = "no-bias band (95%)"
        for position, (axis, group) in enumerate(zip(rows["axis"], rows["group"], strict=True)):
            if (axis, group) not in compared.index:
                continue
            band = compared.loc[(axis, group)]
            centre = float(band["reference_value"]) + float(band["chance_gap"])
            half = 1.96 * float(band["chance_sd"])
            axes.fill_betweenx(
                [y[position] - 0.35, y[position] + 0.35],
                centre - half,
                centre + half,
                color=_BAND,
                linewidth=0,
                label=label,
            )
            label = None
    for flagged, colour, face in ((False, "#1f5fa8", "#1f5fa8"), (True, "#9a9a9a", "white")):
        part = rows["flagged"].astype(bool).to_numpy() == flagged
        if not part.any():
            continue
        values = rows.loc[part, "value"].to_numpy(dtype=float)
        low = rows.loc[part, "ci_low"].to_numpy(dtype=float)
        high = rows.loc[part, "ci_high"].to_numpy(dtype=float)
        # an unbounded bootstrap-t interval (few actors) has no whisker; its table says inf
        error = np.vstack([values - low, high - values])
        error = np.where(np.isfinite(error), error, 0.0)
        axes.errorbar(
            values,
            y[part],
            xerr=error,
            fmt="o",
            color=colour,
            markerfacecolor=face,
            ecolor=colour,
            elinewidth=1.2,
            capsize=2.5,
            markersize=5,
            label="fewer actors than the minimum: not compared" if flagged else None,
        )
    if len(overall):
        axes.axvline(
            float(overall.iloc[0]), color="#555555", linestyle="--", linewidth=1, label="all clips"
        )
    axes.set_yticks(
        y,
        [f"{axis}: {group}" for axis, group in zip(rows["axis"], rows["group"], strict=True)],
        fontsize=8,
    )
    boundaries = np.flatnonzero(rows["axis"].to_numpy()[1:] != rows["axis"].to_numpy()[:-1])
    for boundary in boundaries:
        axes.axhline(y[boundary] - 0.5, color="#dddddd", linewidth=0.8)
    axes.set_xlabel(f"{metric_phrase(metric)} ({round(confidence * 100)}% {interval} interval)")
    axes.set_title(title, fontsize=10, loc="left")
    axes.legend(fontsize=7, loc="lower right", frameon=False)
    axes.grid(axis="x", color="#eeeeee")
    return _svg(figure)


def gap_heatmap(gaps: pd.DataFrame, *, family: str, title: str) -> bytes | None:
    """Gap to the reference group per group (rows) and emotion (columns) for one metric family.

    Cells marked * have an interval excluding 0 and p < 0.05. None when there is nothing to draw.
    """
    rows = gaps[(gaps["kind"] == "vs_reference") & ~gaps["flagged"].astype(bool)].copy()
    parts = rows["metric"].map(split_metric)
    rows = rows[parts.map(lambda p: p[0] == family)]
    if rows.empty:
        return None
    rows["emotion"] = rows["metric"].map(lambda m: split_metric(m)[1])
    rows["row"] = rows["axis"] + ": " + rows["group"] + " vs " + rows["reference"]
    emotions = [e for e in vocab.EMOTION_NAMES if e in set(rows["emotion"])]
    order = list(dict.fromkeys(rows["row"]))
    grid = rows.pivot(index="row", columns="emotion", values="gap").loc[order, emotions]
    marked = ((rows["ci_low"] > 0) | (rows["ci_high"] < 0)) & (rows["p_value"] < 0.05)
    stars = (
        rows.assign(star=marked)
        .pivot(index="row", columns="emotion", values="star")
        .loc[order, emotions]
    )

    figure, axes = _figure(width=1.1 * len(emotions) + 4.2, height=0.3 * len(order) + 1.6)
    limit = max(0.05, float(np.nanmax(np.abs(grid.to_numpy(dtype=float)))))
    image = axes.imshow(
        grid.to_numpy(dtype=float),
        cmap="RdBu",
        vmin=-limit,
        vmax=limit,
        aspect="auto",
        interpolation="none",  # SVG: the cells as a tiny image, not a resampled one
    )
    for i in range(len(order)):
        for j in range(len(emotions)):
            value = grid.iat[i, j]
            if np.isnan(value):
                continue
            text = f"{value:+.2f}" + ("*" if bool(stars.iat[i, j]) else "")
            colour = "white" if abs(value) > 0.6 * limit else "black"
            axes.text(j, i, text, ha="center", va="center", fontsize=7, color=colour)
    axes.set_xticks(range(len(emotions)), emotions, fontsize=8)
    axes.set_yticks(range(len(order)), order, fontsize=7)
    colorbar = figure.colorbar(image, ax=axes, fraction=0.04, pad=0.02)
    colorbar.set_label(f"{family} gap (group - reference)", fontsize=8)
    axes.set_title(title + "  (* 95% CI excludes 0, p < 0.05)", fontsize=9, loc="left")
    return _svg(figure)


def _figure(*, width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, max(height, 2.0)), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot()


_FONT = "font-family: 'DejaVu Sans', sans-serif; "
_NUMBER = re.compile(r"-?\d+\.\d+")
_GEOMETRY = re.compile(r'(\s(?:d|x|y|width|height|transform|points|viewBox)=")([^"]*)(")')


def _svg(figure) -> bytes:
    """The figure as compact SVG: no metadata, coordinates rounded to 0.1 pt, fixed ids."""
    import matplotlib

    buffer = io.BytesIO()
    settings = {
        "svg.fonttype": "none",  # text as text: searchable, sharp, small
        "svg.hashsalt": "serbias",
        "path.simplify": True,
        "font.sans-serif": ["DejaVu Sans"],  # one font named per text, not matplotlib's ten
    }
    with matplotlib.rc_context(settings):
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue().decode("utf-8")
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    text = re.sub(r'<g id="[^"]*">', "<g>", text)  # group ids are never referenced
    text = re.sub(r' transform="rotate\(-?0 [^)]*\)"', "", text)
    # the one font is named once, on the root element, not on every text
    text = text.replace(_FONT, "").replace("<svg ", f'<svg style="{_FONT.strip("; ")}" ', 1)

    def rounded(match: re.Match) -> str:
        values = _NUMBER.sub(lambda n: f"{float(n.group()):.1f}".rstrip("0").rstrip("."), match[2])
        return match[1] + " ".join(values.split()) + match[3]

    text = re.sub(r">\s+<", "><", _GEOMETRY.sub(rounded, text))
    # a group without attributes around one element is no group at all
    return re.sub(r"<g>(<[^<>]*/>)</g>", r"\1", text).encode("utf-8")


def gap_forest_figure(
    verdicts: pd.DataFrame, *, confidence: float, listeners: str | None = None
) -> bytes:
    """The primary axes' macro-F1 gaps of every scored set side by side (one panel per axis):
    a point with its interval per row, coloured by verdict; the shaded bar is the row's
    no-bias band (chance gap ± 1.96 SD); the purple line is the ``listeners`` system's gap."""
    from serbias.audit._verdicts import no_bias_band

    axes_names = list(dict.fromkeys(verdicts["axis"]))
    sets = list(dict.fromkeys(zip(verdicts["system"], verdicts["target"], strict=True)))
    labels = [s if s == listeners else f"{s} ({t})" for s, t in sets]
    y = np.arange(len(sets))[::-1]
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(
        figsize=(6.4, max(0.125 * len(sets) + 0.75, 1.6)), dpi=_DPI, layout="constrained"
    )
    FigureCanvasAgg(figure)
    panels = figure.subplots(1, len(axes_names), sharey=True, squeeze=False)[0]
    for panel, axis in zip(panels, axes_names, strict=True):
        rows = verdicts[verdicts["axis"] == axis].drop_duplicates(["system", "target"])
        by_set = {(r.system, r.target): r for r in rows.itertuples(index=False)}
        panel.axvline(0.0, color="#555555", linewidth=0.8)
        compared = rows[rows["gap"].notna()]
        title = axis
        if not compared.empty:
            first = compared.iloc[0]
            title = f"{first['group']} - {first['reference']}"
        for position, key in zip(y, sets, strict=True):
            row = by_set.get(key)
            if row is None or math.isnan(row.gap):
                continue
            low, high = no_bias_band(pd.Series(row._asdict()))
            if not math.isnan(low):
                panel.fill_betweenx(
                    [position - 0.4, position + 0.4], low, high, color=_BAND, linewidth=0
                )
            error = [[row.gap - row.ci_low], [row.ci_high - row.gap]]
            error = np.where(np.isfinite(error), error, 0.0)
            colour = _COLOURS[row.verdict]
            panel.errorbar(
                [row.gap],
                [position],
                xerr=error,
                fmt="o",
                color=colour,
                ecolor=colour,
                elinewidth=1.0,
                capsize=1.5,
                markersize=3,
            )
            if key[0] == listeners:
                panel.axvline(row.gap, color=_LISTENERS, linestyle=":", linewidth=1.1)
        panel.set_title(title, fontsize=7.5, pad=3)
        panel.tick_params(labelsize=6.5, pad=1.5)
        panel.grid(axis="x", color="#eeeeee")
        panel.set_xlabel(f"macro-F1 gap ({round(confidence * 100)}% CI)", fontsize=6.5, labelpad=1)
    panels[0].set_yticks(y, labels, fontsize=6.5)
    panels[0].set_ylim(-0.7, len(sets) - 0.3)
    return _svg(figure)


def actor_strip_figure(
    by_actor: pd.DataFrame, *, groups: list[tuple[str, str]], metric: str, title: str
) -> bytes:
    """Every actor's ``metric`` as a dot in its group's column (``groups``: (axis, group)
    pairs), jittered sideways, with each group's mean as a bar: speakers seen one by one."""
    figure, axes = _figure(width=0.85 * len(groups) + 1.6, height=2.4)
    rng = np.random.default_rng(0)  # fixed jitter: equal inputs, equal figures
    for x, (axis, group) in enumerate(groups):
        values = by_actor.loc[by_actor[axis].astype(str) == group, metric].to_numpy(dtype=float)
        values = values[np.isfinite(values)]
        if not len(values):
            continue
        jitter = rng.uniform(-0.18, 0.18, len(values))
        axes.scatter(x + jitter, values, s=9, color="#1f5fa8", alpha=0.7, linewidths=0)
        axes.hlines(values.mean(), x - 0.3, x + 0.3, color="#222222", linewidth=1.2)
    axes.set_xticks(range(len(groups)), [g for _, g in groups], fontsize=7)
    axes.set_xlim(-0.6, len(groups) - 0.4)
    axes.tick_params(axis="y", labelsize=7)
    axes.set_ylabel(f"per-actor {metric_phrase(metric)}", fontsize=7)
    axes.set_title(title, fontsize=8, loc="left")
    axes.grid(axis="y", color="#eeeeee")
    return _svg(figure)
