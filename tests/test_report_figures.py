"""Every report figure draws from small and degenerate inputs (one event, one component, no frames), and the
population fractions are right on a hand-counted table."""

import io

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest

from analysis.kinetics import DecayFit
from analysis.report import figures
from analysis.report.html import img, table_html


def _drawn(png: bytes) -> np.ndarray:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = mpimg.imread(io.BytesIO(png))
    assert pixels.shape[0] > 100 and pixels.shape[1] > 100 and pixels[..., :3].std() > 0.01  # not a blank canvas
    return pixels


FRAMES = pd.DataFrame({"trajectory_id": ["T1", "T2", "T3", "T1", "T2", "T1"], "time_fs": [0, 0, 0, 1, 1, 2],
                       "state_label": ["S1", "S1", "S1", "S0", "S1", "S0"], "active_state": [2, 2, 2, 1, 2, 1]})


def test_population_fractions_count_the_trajectories_alive_at_each_time():
    frac = figures.population_fractions(FRAMES)
    assert list(frac.columns) == ["S0", "S1"]
    np.testing.assert_allclose(frac.to_numpy(), [[0.0, 1.0], [0.5, 0.5], [1.0, 0.0]])
    by_index = figures.population_fractions(FRAMES.drop(columns="state_label"))  # S(n−1) from the active state
    pd.testing.assert_frame_equal(by_index, frac, check_names=False)


ASSIGN = pd.DataFrame({"trajectory_id": ["T1", "T2", "T3"], "frame": [1, 1, 1], "channel": ["A1", "A2", "unresolved"],
                       "event_time_fs": [1.0, 1.0, np.nan]})


@pytest.mark.parametrize("assign", [ASSIGN, ASSIGN.head(1)])
def test_event_figures_draw_with_one_or_more_events(assign):
    scores = pd.DataFrame({"trajectory_id": assign.trajectory_id, "frame": 1, "time_fs": 1.0, "PC1": np.arange(len(assign), dtype=float)})
    _drawn(figures.pca_scatter(scores, assign, [1.0], "one component"))  # no PC2: PC1 against time
    _drawn(figures.pca_scatter(scores.assign(PC2=-scores.PC1), assign, [0.6, 0.4], "two components"))
    # PC1 alone carries the variance cut, PC2 is stored and drawn: its share is not in a summary of the kept ones
    _drawn(figures.pca_scatter(scores.assign(PC2=-scores.PC1), assign, [0.95], "one kept, two stored"))
    _drawn(figures.event_times(assign, "hop time", "events"))
    shares = pd.DataFrame({"channel": assign.channel, "important_motion": ["C1 puckering [+]"] + [None] * (len(assign) - 1),
                           "percent": 100.0 / len(assign)})
    _drawn(figures.channel_shares(shares, "shares"))
    _drawn(figures.gap_map(scores.assign(PC2=0.5 * scores.PC1), np.linspace(0.1, 1.0, len(assign)), assign.channel, "gap_S1_S0", "gap"))
    fits = pd.DataFrame({"channel": ["A1"], "tau_fs": [20.0], "t0_fs": [5.0]})
    _drawn(figures.channel_kinetics(FRAMES, assign, fits, "kinetics"))
    _drawn(figures.channel_kinetics(FRAMES.iloc[:0], assign, fits.iloc[:0], "no frames"))


def test_ensemble_and_surrogate_figures_draw():
    fit = DecayFit("S1 population", 3, tau_fs=1.0, t0_fs=0.5, plateau=0.0)
    _drawn(figures.populations_with_fit(FRAMES, fit))
    _drawn(figures.populations_with_fit(FRAMES.iloc[:0]))  # says there is nothing to show
    _drawn(figures.explained_variance([0.7, 0.2, 0.1], "variance"))
    heldout = pd.DataFrame({"S0_true_ev": [0.0, 0.1, 0.2], "S0_pred_ev": [0.01, 0.12, 0.18], "S0_sigma_ev": [0.02] * 3,
                            "S1_true_ev": [4.0, 4.1, 4.3], "S1_pred_ev": [4.05, 4.0, 4.2], "S1_sigma_ev": [0.05] * 3})
    _drawn(figures.parity(heldout, "KRR"))
    _drawn(figures.reliability(np.array([0.5, 0.9]), np.array([0.45, 0.92])))
    curve = pd.DataFrame({"model": ["krr", "krr", "mlp", "mlp"], "n_train_frames": [100, 1000, 100, 1000], "mae_ev": [0.3, 0.1, 0.4, 0.08]})
    _drawn(figures.learning_curve(curve))


def test_inline_image_and_table_html():
    tag = img(b"\x89PNG...", 'a "quoted" alt')
    assert tag.startswith('<img alt="a &quot;quoted&quot; alt" src="data:image/png;base64,iVBORy4uLg==')
    html = table_html(pd.DataFrame({"channel": ["A1"], "percent": [12.345], "tau_fs": [np.nan]}), digits=1)
    assert html.startswith('<div class="scroll">') and "12.3" in html and "12.34" not in html and "–" in html


def test_products_figure_shows_when_trajectories_stop_being_analysed():
    """Cyclohexadiene-like: two ring openings at 21 and 47 fs in trajectories QC cut at 33 and 47 fs, one closed
    ring followed to 400 fs. The product's share stays at 2/3 after they stop; the dashed line says they stopped."""
    ends = [33.0, 47.0, 400.0]
    assert np.allclose(figures.running_percent(ends, [0.0, 33.0, 33.5, 47.0, 47.5, 400.0, 401.0]),
                       [100, 100, 200 / 3, 200 / 3, 100 / 3, 100 / 3, 0])
    assert np.allclose(figures.running_percent([], [1.0, 2.0]), [0, 0])
    products = pd.DataFrame({"trajectory_id": ["T1", "T2", "T3"], "end_time_fs": ends, "product": ["open", "open", "FC bonding"],
                             "formed_at_fs": [21.0, 47.0, np.nan]})
    png = figures.product_formation(products)
    assert mpimg.imread(io.BytesIO(png)).shape[2] in (3, 4)
    assert figures.product_formation(products.assign(formed_at_fs=np.nan)) is None


def test_a_channel_kinetics_title_fits_inside_a_one_channel_figure(monkeypatch):
    """The per-channel populations figure of a run with one channel is 3.6 in wide; its title (a real pyrazine
    report's "S2→S1: populations of each channel's trajectories (dashed: fit)") was cut off at both edges."""
    frames = pd.DataFrame({"trajectory_id": np.repeat(["T1", "T2"], 5), "time_fs": np.tile(np.arange(5) * 10.0, 2),
                           "state_label": ["S2", "S2", "S1", "S1", "S1"] * 2})
    assign = pd.DataFrame({"trajectory_id": ["T1", "T2"], "channel": ["A1B1", "A1B1"]})
    seen = {}
    real_png = figures._png

    def spy(fig, **kwargs):
        fig.tight_layout()
        renderer = fig.canvas.get_renderer()
        seen["title"] = fig._suptitle.get_window_extent(renderer)
        seen["figure"] = fig.bbox
        return real_png(fig, **kwargs)

    monkeypatch.setattr(figures, "_png", spy)
    figures.channel_kinetics(frames, assign, pd.DataFrame(), "S2→S1: populations of each channel's trajectories (dashed: fit)")
    assert seen["figure"].x0 <= seen["title"].x0 and seen["title"].x1 <= seen["figure"].x1, (seen["title"], seen["figure"])
    assert seen["title"].y1 <= seen["figure"].y1


def _spy_png(monkeypatch, seen: dict):
    real_png = figures._png

    def spy(fig, **kwargs):
        fig.tight_layout()
        renderer = fig.canvas.get_renderer()
        seen["axes"] = [ax.get_window_extent(renderer) for ax in fig.axes if ax.axison]
        seen["legends"] = [lg.get_window_extent(renderer) for lg in fig.legends + [ax.get_legend() for ax in fig.axes] if lg]
        return real_png(fig, **kwargs)

    monkeypatch.setattr(figures, "_png", spy)


@pytest.mark.parametrize("channels", [["A1B1"] * 3, ["A1B1", "A1B1", "A2B1"]])
def test_population_legends_lie_beside_the_curves_not_on_them(monkeypatch, channels):
    """A real pyrazine run (six states, populations between 0.2 and 0.6 all along) had the legend box over its
    curves, in the ensemble's populations and in the first panel of the per-channel ones."""
    frames = pd.DataFrame({"trajectory_id": np.repeat(["T1", "T2", "T3"], 6), "time_fs": np.tile(np.arange(6) * 10.0, 3),
                           "state_label": [f"S{k}" for k in range(1, 7)] * 3})
    assign = pd.DataFrame({"trajectory_id": ["T1", "T2", "T3"], "channel": channels})
    for draw in (lambda: figures.populations_with_fit(frames, DecayFit("S1 population", 3, tau_fs=20.0, t0_fs=5.0, plateau=0.1)),
                 lambda: figures.channel_kinetics(frames, assign, pd.DataFrame(), "populations")):
        seen = {}
        _spy_png(monkeypatch, seen)
        pixels = _drawn(draw())
        assert len(seen["legends"]) == 1
        legend = seen["legends"][0]
        assert not any(legend.overlaps(ax) for ax in seen["axes"]), (legend, seen["axes"])
        assert pixels.shape[1] >= legend.x1 * 0.99  # the saved image holds the legend (it lies outside the axes)
