"""Shot cuts from colour-histogram changes between consecutive analysis frames.

Each frame is summarised by three normalised HSV histograms: hue weighted by saturation (so grey pixels, whose
hue is noise, count for nothing and black-and-white film relies on value alone), saturation, and value. The
change between two frames is the largest of the three total-variation distances (half the L1 distance), so it
lies in [0, 1]: 0 for the same colours, 1 for colours with nothing in common (solid red to solid blue).

A cut is a change that is large, unusual here, and abrupt:

- large: at least ``floor``;
- unusual: at least ``k`` robust standard deviations (1.4826 * MAD) above the median change within
  ``window_sec`` either side, so a busy, shaky clip needs a bigger jump than a calm one;
- abrupt: at least ``isolation`` times the mean change of the two frames either side, because a cut happens
  between two frames while a pan, a passing lorry or a focus pull spreads its change over several.

Of cuts closer together than ``min_shot_sec`` (and of any closer than that to the start) only the strongest is
kept, so flicker and flashes do not chop the film into slivers. Gradual transitions (fades, dissolves) and
jump cuts within one scene are not found: their colours hardly change between two frames.
"""

from __future__ import annotations

import numpy as np

HUE_BINS, SAT_BINS, VAL_BINS = 18, 8, 16
HIST_SIZE = HUE_BINS + SAT_BINS + VAL_BINS


def frame_histogram(hsv: np.ndarray) -> np.ndarray:
    """The frame's colour summary for cut detection, from an OpenCV 8-bit HSV image (H in 0..179)."""
    import cv2

    n = float(hsv.shape[0] * hsv.shape[1])
    hue_sat = cv2.calcHist([hsv], [0, 1], None, [HUE_BINS, SAT_BINS], [0, 180, 0, 256])
    sat_weight = (np.arange(SAT_BINS) + 0.5) / SAT_BINS  # each saturation bin's centre, 0..1
    hue = hue_sat @ sat_weight  # hue weighted by saturation: grey pixels add nothing
    sat = hue_sat.sum(axis=0)
    val = cv2.calcHist([hsv], [2], None, [VAL_BINS], [0, 256]).ravel()
    return (np.concatenate([hue, sat, val]) / n).astype(np.float32)


def histogram_changes(hists: np.ndarray) -> np.ndarray:
    """Change between each frame and the one before it, in [0, 1]; the first frame's change is 0."""
    hists = np.asarray(hists, dtype=np.float64)
    if len(hists) < 2:
        return np.zeros(len(hists))
    diff = np.abs(np.diff(hists, axis=0))
    edges = np.cumsum([0, HUE_BINS, SAT_BINS, VAL_BINS])
    per_channel = [0.5 * diff[:, a:b].sum(axis=1) for a, b in zip(edges[:-1], edges[1:])]
    return np.concatenate([[0.0], np.max(per_channel, axis=0)])


def detect_cuts(
    hists: np.ndarray,
    times: np.ndarray,
    *,
    floor: float = 0.1,
    k: float = 6.0,
    isolation: float = 3.0,
    window_sec: float = 2.0,
    min_shot_sec: float = 1.0,
) -> list[float]:
    """Times (seconds, ascending, never 0) of the first analysis frame of each new shot.

    ``hists`` holds one :func:`frame_histogram` a row, ``times`` each frame's time. See the module docstring
    for what each threshold means.
    """
    times = np.asarray(times, dtype=np.float64)
    d = histogram_changes(hists)
    n = len(d)
    if n < 2:
        return []
    candidates: list[tuple[float, float]] = []
    for i in range(1, n):
        if d[i] < floor:
            continue
        in_window = (np.abs(times - times[i]) <= window_sec) & (np.arange(n) > 0) & (np.arange(n) != i)
        local = d[in_window]
        if local.size:
            median = float(np.median(local))
            spread = 1.4826 * float(np.median(np.abs(local - median)))
            if d[i] < median + k * spread:
                continue
        neighbours = np.concatenate([d[max(1, i - 2) : i], d[i + 1 : i + 3]])
        if neighbours.size and d[i] < isolation * float(neighbours.mean()):
            continue
        candidates.append((float(d[i]), float(times[i])))
    kept: list[float] = []
    for _, t in sorted(candidates, key=lambda c: (-c[0], c[1])):  # strongest first
        if t >= min_shot_sec and all(abs(t - u) >= min_shot_sec for u in kept):
            kept.append(t)
    return sorted(kept)
