"""The anomaly detector on synthetic histories with known outliers."""

from __future__ import annotations

import random

from dsa.monitors import detect, explain


def _noise(n: int, seed: int = 7) -> list[float]:
    rng = random.Random(seed)
    return [20_000 + rng.gauss(0, 100) for _ in range(n)]


def test_no_flag_before_the_minimum_history():
    history = _noise(6)
    assert detect(1_000, history, sensitivity=5, min_history=7) is None
    assert detect(1_000, history + [20_050], sensitivity=5, min_history=7) is not None


def test_a_five_sigma_drop_is_flagged_with_its_explanation():
    history = _noise(14)
    sigma = 100
    flag = detect(20_000 - 6 * sigma, history, sensitivity=5, min_history=7)
    assert flag is not None and flag.score < -5 and flag.history == 14
    text = explain("orders", "row_count", flag)
    assert text.startswith("orders.row_count 19,400 is ") and "MADs below its 14-run median 2" in text


def test_ordinary_noise_is_not_flagged():
    rng = random.Random(11)
    history = _noise(30, seed=3)
    flagged = [v for v in (20_000 + rng.gauss(0, 100) for _ in range(200)) if detect(v, history, 5, 7)]
    assert flagged == []


def test_a_constant_history_flags_a_real_move_only():
    history = [100.0] * 10
    assert detect(100.2, history, 5, 7) is None  # 2 floors (0.1% of the median) away: no flag
    assert detect(150, history, 5, 7).score > 5
