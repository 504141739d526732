"""What a picture looks like, frame by frame: the visual time series that the plan is mapped from.

Every analysis frame (by default 8 a second, 160 px wide) gets these numbers, computed in one pass as the
frames stream out of ffmpeg, with OpenCV on the small frame:

- ``brightness``: mean luma (BT.601), 0 black .. 1 white;
- ``saturation``: mean HSV saturation, 0 grey .. 1 fully saturated;
- ``colourfulness``: Hasler & Süsstrunk's M (2003) on 0..255 RGB, divided by 100: about 0.15 "slightly",
  0.45 "averagely", 0.6 "quite", 1.1 "extremely colourful"; can exceed 1 for synthetic colours;
- ``warmth``: (mean R - mean B) / 255, -1 all blue .. +1 all red, 0 neutral;
- ``contrast``: standard deviation of luma / 255, 0 flat .. 0.5 half black and half white;
- ``edges``: share of pixels on a Canny edge (thresholds 100/200), 0 smooth .. ~0.3 very busy;
- ``motion``: mean optical-flow speed (OpenCV's DIS flow, ultrafast preset) between the frame and the one
  before it, in frame widths per second, so it does not depend on the analysis size or rate; 0 still, ~0.1 a
  slow pan, ~1 a whip pan. The first frame takes the second's value, and a frame that opens a new shot takes
  the value of the frame before (flow across a cut is not motion).

Cuts come from :mod:`framescore.vision.cuts`, on histograms gathered in the same pass.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from framescore.vision.video import (VisionError, analysis_rate, check_image, is_image_path, iter_frames, probe,
                                    read_image)

if TYPE_CHECKING:
    from framescore.vision.audio import BeatGrid

FEATURE_NAMES = ("brightness", "saturation", "colourfulness", "warmth", "contrast", "edges", "motion")
THUMBNAIL_COUNT = 16
THUMBNAIL_HEIGHT = 96


@dataclass
class VisualFeatures:
    """Per-analysis-frame visual time series of one video or picture, plus its cuts and a few thumbnails."""

    times: np.ndarray  # seconds of each analysis frame
    brightness: np.ndarray
    saturation: np.ndarray
    colourfulness: np.ndarray
    warmth: np.ndarray
    contrast: np.ndarray
    edges: np.ndarray
    motion: np.ndarray
    cuts: list[float]  # seconds where a new shot starts (never 0)
    duration_sec: float
    source_fps: float
    width: int
    height: int
    thumbnails: list[tuple[float, np.ndarray]] = field(default_factory=list)  # (time, small RGB frame)
    kind: str = "video"  # "video" or "image"
    analysis_fps: float = 0.0  # rate of the time series (0 for a picture)
    soundtrack: BeatGrid | None = None  # the video's own music (--follow-audio, vision/audio.py); None: none/not asked

    def __len__(self) -> int:
        return len(self.times)

    def summary(self) -> dict:
        """JSON-able overview for ``plan.source``: mean and std of each feature, the cuts, the sizes."""
        stats = {}
        for name in FEATURE_NAMES:
            values = np.asarray(getattr(self, name), dtype=np.float64)
            stats[name] = {
                "mean": round(float(values.mean()), 4) if values.size else 0.0,
                "std": round(float(values.std()), 4) if values.size else 0.0,
            }
        return {
            "kind": self.kind,
            "duration_sec": round(float(self.duration_sec), 3),
            "source_fps": round(float(self.source_fps), 3),
            "width": int(self.width),
            "height": int(self.height),
            "analysis_fps": round(float(self.analysis_fps), 3),
            "frames_analysed": len(self.times),
            "cuts": [round(float(t), 3) for t in self.cuts],
            "features": stats,
        }

    def motion_at(self, t0: float, t1: float) -> float:
        """Mean motion of the frames in [t0, t1); a span between two frames reads the motion interpolated."""
        if len(self.times) == 0:
            return 0.0
        inside = (self.times >= t0) & (self.times < t1)
        if inside.any():
            return float(self.motion[inside].mean())
        return float(np.interp(0.5 * (t0 + max(t0, t1)), self.times, self.motion))


def _frame_stats(rgb: np.ndarray, gray: np.ndarray, hsv: np.ndarray) -> tuple[float, ...]:
    """brightness, saturation, colourfulness, warmth, contrast, edges of one frame."""
    import cv2

    luma_mean, luma_std = (float(x[0, 0]) for x in cv2.meanStdDev(gray))
    saturation = float(cv2.mean(hsv[..., 1])[0]) / 255.0
    f = rgb.astype(np.float32)
    rg = f[..., 0] - f[..., 1]
    yb = 0.5 * (f[..., 0] + f[..., 1]) - f[..., 2]
    rg_mean, rg_std = (float(x[0, 0]) for x in cv2.meanStdDev(rg))
    yb_mean, yb_std = (float(x[0, 0]) for x in cv2.meanStdDev(yb))
    colourfulness = (np.hypot(rg_std, yb_std) + 0.3 * np.hypot(rg_mean, yb_mean)) / 100.0
    r_mean, _, b_mean, _ = cv2.mean(rgb)
    warmth = (r_mean - b_mean) / 255.0
    edges = float(np.count_nonzero(cv2.Canny(gray, 100, 200))) / gray.size
    return luma_mean / 255.0, saturation, float(colourfulness), warmth, luma_std / 255.0, edges


def _thumbnail(rgb: np.ndarray) -> np.ndarray:
    import cv2

    h, w = rgb.shape[:2]
    if h <= THUMBNAIL_HEIGHT:
        return rgb.copy()
    size = (max(1, round(w * THUMBNAIL_HEIGHT / h)), THUMBNAIL_HEIGHT)
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


class _Thumbnails:
    """Keeps evenly spaced frames of a stream of unknown length: every ``stride``-th, halved when too many."""

    def __init__(self, count: int = THUMBNAIL_COUNT):
        self.count = count
        self.stride = 1
        self.kept: list[tuple[float, np.ndarray]] = []

    def offer(self, index: int, t: float, rgb: np.ndarray) -> None:
        if index % self.stride == 0:
            self.kept.append((t, _thumbnail(rgb)))
            if len(self.kept) > 2 * self.count:
                self.kept = self.kept[::2]
                self.stride *= 2

    def result(self) -> list[tuple[float, np.ndarray]]:
        if len(self.kept) <= self.count:
            return list(self.kept)
        picks = np.unique(np.linspace(0, len(self.kept) - 1, self.count).round().astype(int))
        return [self.kept[i] for i in picks]


def _analyse_frames(frames: Iterable[tuple[float, np.ndarray]], rate: float, on_frame: Callable[[float], None]):
    """The single pass: per-frame statistics, flow speed, cut histograms and thumbnails."""
    import cv2

    from framescore.vision.cuts import frame_histogram

    flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
    times: list[float] = []
    stats: list[tuple[float, ...]] = []
    motion: list[float] = []
    hists: list[np.ndarray] = []
    thumbs = _Thumbnails()
    prev_gray = None
    for i, (t, rgb) in enumerate(frames):
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
        times.append(t)
        stats.append(_frame_stats(rgb, gray, hsv))
        hists.append(frame_histogram(hsv))
        if prev_gray is not None:
            uv = flow.calc(prev_gray, gray, None)
            speed_px = float(cv2.magnitude(uv[..., 0], uv[..., 1]).mean())
            motion.append(speed_px / gray.shape[1] * rate)
        prev_gray = gray
        thumbs.offer(i, t, rgb)
        on_frame(t)
    columns = [np.ascontiguousarray(c) for c in np.asarray(stats, dtype=np.float64).reshape(-1, 6).T]
    motion = [motion[0] if motion else 0.0] + motion if times else []
    return np.asarray(times), columns, np.asarray(motion), np.asarray(hists), thumbs.result()


def analyze_video(
    path: str | os.PathLike,
    analysis_fps: float = 8.0,
    width: int = 160,
    progress: Callable[[float], None] | None = None,
) -> VisualFeatures:
    """Decode ``path`` once and measure every analysis frame; ``progress`` gets the fraction done (0..1)."""
    from framescore.vision.cuts import detect_cuts

    info = probe(path)
    rate = analysis_rate(info, analysis_fps)

    def on_frame(t: float) -> None:
        if progress is not None and info.duration_sec > 0:
            progress(min(1.0, t / info.duration_sec))

    with contextlib.closing(iter_frames(info, rate, width)) as frames:  # ffmpeg ends here, even on a stop
        times, columns, motion, hists, thumbs = _analyse_frames(frames, rate, on_frame)
    cuts = detect_cuts(hists, times)
    for t in cuts:  # flow across a cut is not motion: keep the previous frame's
        i = int(np.searchsorted(times, t))
        if 0 < i < len(motion):
            motion[i] = motion[i - 1]
    if progress is not None:
        progress(1.0)
    duration = info.duration_sec if info.duration_sec > 0 else len(times) / rate
    return VisualFeatures(
        times, *columns, motion=motion, cuts=cuts, duration_sec=float(duration), source_fps=info.fps,
        width=info.width, height=info.height, thumbnails=thumbs, kind="video", analysis_fps=rate,
    )  # fmt: skip


def analyze_image(path: str | os.PathLike, width: int = 160) -> VisualFeatures:
    """One frame of a still picture, measured at the same analysis width as video; duration 0 (caller sets it)."""
    import cv2

    w, h = check_image(path)
    rgb = read_image(path, min_width=4 * int(width))  # a JPEG decodes at a reduced scale: the measures are at width
    small = rgb
    if rgb.shape[1] > width:
        small = cv2.resize(rgb, (int(width), max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)
    times, columns, motion, _, thumbs = _analyse_frames([(0.0, small)], 1.0, lambda t: None)
    return VisualFeatures(
        times, *columns, motion=np.zeros(1), cuts=[], duration_sec=0.0, source_fps=0.0,
        width=w, height=h, thumbnails=thumbs, kind="image", analysis_fps=0.0,
    )  # fmt: skip


def analyze(path: str | os.PathLike, **kwargs) -> VisualFeatures:
    """:func:`analyze_image` for picture extensions (jpg, png, webp), :func:`analyze_video` for the rest."""
    if is_image_path(path):
        return analyze_image(path)
    return analyze_video(path, **kwargs)


__all__ = ["FEATURE_NAMES", "VisualFeatures", "VisionError", "analyze", "analyze_image", "analyze_video"]
