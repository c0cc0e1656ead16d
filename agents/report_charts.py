"""The report's charts: matplotlib, drawn for print and grey scale.

Every series is told apart by line style, marker or hatch, never by colour alone; every
axis names its unit and the time zone. Charts are SVG text (vector: sharp in print and
in the PDF), deterministic for the same figures (fixed hash salt, no date stamp).
"""

from __future__ import annotations

import io
from functools import lru_cache
from datetime import datetime, tzinfo

__all__ = ["volume_chart", "sentiment_chart", "funnel_chart", "time_to_action_chart",
           "trend_curve", "ReportDependencyMissing"]


class ReportDependencyMissing(RuntimeError):
    pass


@lru_cache(maxsize=1)
def _plt():
    try:
        import matplotlib
    except ImportError:
        raise ReportDependencyMissing("reports need matplotlib and weasyprint: "
                                      "pip install 'vigil[report]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.hashsalt": "vigil-report", "font.size": 9,
                         "axes.spines.top": False, "axes.spines.right": False,
                         "svg.fonttype": "none"})
    return plt


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    _plt().close(fig)
    return buf.getvalue()


def _times(starts: list[float], tz: tzinfo) -> list[datetime]:
    return [datetime.fromtimestamp(t, tz) for t in starts]


def _time_axis(ax, tz: tzinfo, tz_name: str, series: dict) -> None:
    import matplotlib.dates as mdates
    from datetime import timedelta

    # the whole period on every time axis, so charts line up one above the other
    starts = _times(series["starts"], tz)
    ax.set_xlim(starts[0], starts[-1] + timedelta(seconds=series["bin_s"]))
    locator = mdates.AutoDateLocator(minticks=4, maxticks=8, tz=tz)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=tz))
    ax.set_xlabel(f"time ({tz_name})")


def volume_chart(series: dict, tz: tzinfo, tz_name: str) -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.2, 2.6))
    x = _times(series["starts"], tz)
    per = f"{series['bin_s'] / 3600:g} h" if series["bin_s"] < 86400 else "day"
    width = series["bin_s"] / 86400 * 0.9
    ax.bar(x, series["current"]["flagged"], width=width, align="edge", color="0.8",
           edgecolor="0.3", hatch="////", label="flagged posts, this period")
    ax.plot(x, series["current"]["posts"], color="black", linewidth=1.6,
            drawstyle="steps-post", label="posts, this period")
    ax.plot(x, series["previous"]["posts"], color="0.45", linewidth=1.2, linestyle="--",
            drawstyle="steps-post", label="posts, previous period (same offset)")
    ax.set_ylabel(f"posts per {per}")
    _time_axis(ax, tz, tz_name, series)
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    return _svg(fig)


def sentiment_chart(series: dict, tz: tzinfo, tz_name: str) -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.2, 2.3))
    x = _times(series["starts"], tz)
    nan = float("nan")
    cur = [nan if v is None else v for v in series["current"]["sentiment"]]
    prev = [nan if v is None else v for v in series["previous"]["sentiment"]]
    ax.axhline(0, color="0.7", linewidth=0.8)
    ax.plot(x, cur, color="black", marker="o", markersize=2.5, linewidth=1.4,
            label="this period")
    ax.plot(x, prev, color="0.45", linestyle="--", linewidth=1.1,
            label="previous period (same offset)")
    ax.set_ylim(-1, 1)
    ax.set_ylabel("mean sentiment\n(VADER compound, -1 to 1)")
    _time_axis(ax, tz, tz_name, series)
    ax.legend(frameon=False, fontsize=8, loc="lower left")
    return _svg(fig)


def funnel_chart(headline: dict) -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.2, 1.9))
    stages = ["raised", "acknowledged", "resolved"]
    values = [headline[s] for s in stages]
    bars = ax.barh(stages[::-1], values[::-1], color=["0.85", "0.6", "0.35"][::-1],
                   edgecolor="black", hatch=None)
    for bar, hatch in zip(bars, ["", "..", "xx"][::-1]):
        bar.set_hatch(hatch)
    for bar, v in zip(bars, values[::-1]):
        ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f" {v}",
                va="center", fontsize=8)
    ax.set_xlabel("incidents raised in the period (count)")
    ax.set_xlim(0, max(values + [1]) * 1.15)
    return _svg(fig)


def time_to_action_chart(durations: dict) -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.2, 2.3))
    names = {"post_to_escalation": "post → escalation", "escalation_to_ack": "escalation → ack",
             "ack_to_resolve": "ack → resolve"}
    data = [[d / 60.0 for d in durations[k]] for k in names]
    labels = [f"{label}\n(n={len(d)})" for label, d in zip(names.values(), data)]
    present = [d if d else [float("nan")] for d in data]
    ax.boxplot(present, orientation="horizontal", tick_labels=labels, whis=(10, 90), showfliers=True,
               medianprops={"color": "black", "linewidth": 1.6},
               flierprops={"marker": "x", "markersize": 3, "markeredgecolor": "0.3"})
    for i, d in enumerate(data, start=1):
        if not d:
            ax.text(0.5, i, "no data", transform=ax.get_yaxis_transform(), ha="center",
                    va="center", fontsize=8, color="0.3")
    ax.set_xlabel("minutes (box: quartiles, whiskers: 10th–90th percentile)")
    if max((max(d) for d in data if d), default=0.0) > 30:
        ax.set_xscale("symlog", linthresh=1.0)  # seconds to days on one axis
    else:
        ax.set_xlim(left=0)
    return _svg(fig)


def trend_curve(curve: list[tuple[float, int]], tz: tzinfo, tz_name: str) -> str:
    plt = _plt()
    curve = sorted(dict(curve).items())  # one point per window: its last signal
    fig, ax = plt.subplots(figsize=(3.0, 1.2))
    x = _times([t for t, _ in curve], tz)
    ax.plot(x, [v for _, v in curve], color="black", marker="o", markersize=2.5, linewidth=1.2)
    if curve[-1][0] - curve[0][0] < 600:  # one window: give the axis a span to label
        from datetime import timedelta

        ax.set_xlim(x[0] - timedelta(minutes=30), x[-1] + timedelta(minutes=30))
    ax.set_ylabel("posts / window", fontsize=7)
    ax.set_ylim(bottom=0)
    ax.tick_params(labelsize=6)
    import matplotlib.dates as mdates

    ax.xaxis.set_major_locator(mdates.AutoDateLocator(maxticks=4))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %H:%M", tz=tz))
    ax.set_xlabel(f"window end ({tz_name})", fontsize=7)
    return _svg(fig)
