"""The chart of `assistant compare`: mean scores (%) per metric, one bar per mode."""

from __future__ import annotations

from textual_plotext import PlotextPlot


def chart_series(result) -> tuple[list[str], dict[str, list[float]]]:
    """(metric labels, mode → mean × 100 per metric) for the share metrics any mode has."""
    from assistant.evaluation.metrics import METRICS

    shares = [m for m in METRICS if m.percent and any(m.key in result.summary.get(x, {}) for x in result.modes)]
    values = {mode: [100 * result.summary[mode][m.key].mean if m.key in result.summary.get(mode, {}) else 0.0
                     for m in shares] for mode in result.modes}
    return [m.label for m in shares], values


class MetricsChart(PlotextPlot):
    def show(self, result) -> None:
        labels, values = chart_series(result)
        plt = self.plt
        plt.clear_data()
        plt.title("mean (%) by mode")
        if labels:
            plt.multiple_bar(labels, list(values.values()), labels=list(values))
            plt.ylim(0, 100)
        self.refresh()
