"""Titles that do not fit are elided at a word boundary, with the whole text as a tooltip."""

from __future__ import annotations

import pyqtgraph as pg

from rnnscope.gui.panels.base import ELLIPSIS, add_plot, elide_html, plain_text, set_title, swatch, title_text


def _fits(n: int):
    return lambda text: len(text) <= n


def test_elide_cuts_at_a_word_boundary_and_never_inside_a_number():
    text = "‖∂L/∂h₀‖ / ‖∂L/∂h_T₋₁‖ = 1.2e-05 over 49 steps"
    assert elide_html(text, _fits(100)) == text
    for n in range(1, len(text)):
        got = elide_html(text, _fits(n))
        assert len(got) <= max(n, 1)
        if got != ELLIPSIS:
            kept = got[: -len(ELLIPSIS)]
            assert got.endswith(ELLIPSIS) and text.startswith(kept)
            assert text[len(kept)] == " " or text[len(kept) :].lstrip(" ·:,;=")[:1] != text[len(kept)]
            assert "1.2e-0" not in got or "1.2e-05" in got  # the exponent is never cut off


def test_elide_keeps_colours_and_closes_the_tags_it_cut():
    html = "σᵢ(W_hh) per gate: " + swatch("input i", "#E69F00") + " " + swatch("forget f", "#56B4E9")
    got = elide_html(html, _fits(len("σᵢ(W_hh) per gate: input i") + 1))
    assert plain_text(got) == "σᵢ(W_hh) per gate: input i" + ELLIPSIS
    assert got.count("<span") == got.count("</span>") == 1
    got = elide_html(html, _fits(len("σᵢ(W_hh) per gate: input") + 1))
    assert plain_text(got) == "σᵢ(W_hh) per gate: input" + ELLIPSIS
    assert got.count("<span") == got.count("</span>") == 1  # cut at the span's end: closed


def test_a_title_too_long_for_its_plot_is_elided_with_a_tooltip_and_refitted_on_resize(qtbot):
    glw = pg.GraphicsLayoutWidget()
    qtbot.addWidget(glw)
    plot = add_plot(glw.ci, 0, 0, "x")
    glw.resize(180, 150)
    glw.show()
    qtbot.waitExposed(glw)
    long = "gradient norm reaching t at the shown step · ratio = 1.2e-05"
    set_title(plot, long)
    qtbot.waitUntil(lambda: plot.titleLabel.text.endswith(ELLIPSIS))
    assert title_text(plot) == long
    assert plot.titleLabel.toolTip() == long
    glw.resize(900, 150)
    qtbot.waitUntil(lambda: plot.titleLabel.text == long)
    assert plot.titleLabel.toolTip() == ""


def test_elide_inside_a_coloured_span_closes_it():
    html = "a " + swatch("forget gate f", "#56B4E9") + " tail"
    got = elide_html(html, _fits(len("a forget gate") + 1))
    assert plain_text(got) == "a forget gate" + ELLIPSIS
    assert got.endswith(ELLIPSIS + "</span>")
