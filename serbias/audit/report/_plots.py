"""PNG figures of the audit (matplotlib's Agg canvas; no GUI, byte-identical for equal inputs)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from serbias import vocab
from serbias.audit._metrics import metric_phrase, split_metric

_DPI = 110


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
                color="#eadfbf",
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
    return _png(figure)


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
        grid.to_numpy(dtype=float), cmap="RdBu", vmin=-limit, vmax=limit, aspect="auto"
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
    return _png(figure)


def _figure(*, width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, max(height, 2.0)), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot()


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI, metadata={"Software": None})
    return buffer.getvalue()
