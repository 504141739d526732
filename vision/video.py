"""Decode a video once, small and at an analysis rate, streaming; read a still picture.

Decoding is the expensive part of looking at a video, so ffmpeg (the binary that imageio-ffmpeg ships) does all
of it in one subprocess: it drops frames to the analysis rate and scales them down before they reach Python,
and the frames arrive through a pipe one at a time, so memory stays flat whatever the video's length. The
deblocking filter is skipped while decoding (invisible at 160 px wide, about a fifth of h264's decode time);
every frame is still decoded, because cut detection needs the real ones.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import lifecycle, media
from ..errors import FramescoreError
from ..media import IMAGE_EXTENSIONS, ffmpeg_exe, ffmpeg_url


class VisionError(FramescoreError):
    """A picture or video that cannot be read or holds nothing to look at."""


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about the first video stream (display orientation)."""

    path: Path
    duration_sec: float  # 0.0 when the container does not say
    fps: float  # 0.0 when the container does not say
    width: int
    height: int
    codec: str


def is_image_path(path: str | os.PathLike) -> bool:
    """True for the still-picture extensions that :func:`read_image` reads."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def _existing_file(path: str | os.PathLike) -> Path:
    p = Path(path)
    if not p.exists():
        raise VisionError(f"no such file: {p}")
    if not p.is_file():
        raise VisionError(f"not a file: {p}")
    return p


def _last_error_line(text: str) -> str:
    """ffmpeg's most telling line, for a one-line message."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for ln in reversed(lines):
        if "Error opening input" in ln or "Invalid data" in ln:
            return ln.split("] ")[-1]
    return lines[-1].split("] ")[-1] if lines else "ffmpeg failed"


def probe(path: str | os.PathLike) -> VideoInfo:
    """Read the container's header (duration, frame rate, size) without decoding, ~20 ms."""
    p = _existing_file(path)
    info = media.probe(p)
    video = info.video
    if video is None:
        text = info.text
        if "Error opening input" in text or "Invalid data" in text:
            raise VisionError(f"not a readable video: {p} ({_last_error_line(text)})")
        raise VisionError(f"no video stream in {p}")
    if video.width is None or video.height is None:
        raise VisionError(f"video stream without a frame size in {p}")
    width, height = video.width, video.height
    if round(abs(info.rotation_deg)) % 180 == 90:
        width, height = height, width  # ffmpeg turns the frames upright when it decodes
    duration = info.duration_sec or 0.0
    if duration <= 0:
        duration = _demuxed_duration(p)
    return VideoInfo(p, duration, video.fps, width, height, video.codec)


def _demuxed_duration(p: Path) -> float:
    """The picture's length from its frames' timestamps, for a container that does not say (a streamed WebM).

    The video stream is read without decoding (``-c copy``): the end of its last frame, in microseconds, is the
    ``out_time_us`` ffmpeg reports last. 0.0 when even that is missing.
    """
    proc = lifecycle.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-i", ffmpeg_url(p), "-map", "0:v:0",
         "-c", "copy", "-f", "null", "-progress", "pipe:1", "-nostats", "-"], text=True, errors="replace",
    )  # fmt: skip
    times = re.findall(r"^out_time_us=(\d+)$", proc.stdout, re.M)
    return int(times[-1]) / 1e6 if times else 0.0


def analysis_size(info: VideoInfo, width: int) -> tuple[int, int]:
    """Frame size for analysis: ``width`` wide (never upscaled), the source's aspect ratio."""
    w = max(1, min(int(width), info.width))
    h = max(1, round(w * info.height / info.width))
    return w, h


def analysis_rate(info: VideoInfo, analysis_fps: float) -> float:
    """The sampling rate actually used: never above the source's, so no frame is shown twice."""
    if analysis_fps <= 0:
        raise VisionError(f"analysis rate must be positive, got {analysis_fps}")
    return min(float(analysis_fps), info.fps) if info.fps > 0 else float(analysis_fps)


def iter_frames(
    info: VideoInfo, analysis_fps: float = 8.0, width: int = 160
) -> Iterator[tuple[float, np.ndarray]]:
    """Yield ``(time_sec, rgb)`` for each analysis frame, ``rgb`` an HxWx3 uint8 array (read-only).

    Frame ``i`` is the source frame nearest ``i / rate`` seconds after the first; a clip shorter than one
    analysis period still gives its first frame (``eof_action=pass``). Raises :class:`VisionError`
    when not a single frame can be decoded; a stream that breaks later just ends early.
    """
    rate = analysis_rate(info, analysis_fps)
    w, h = analysis_size(info, width)
    cmd = [
        ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", "-v", "error",
        "-skip_loop_filter", "all",
        "-i", ffmpeg_url(info.path),
        "-map", "0:v:0", "-an", "-sn", "-dn",
        "-vf", f"fps={rate:.6g}:eof_action=pass,scale={w}:{h}:flags=area",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-",
    ]  # fmt: skip
    frame_bytes = w * h * 3
    with tempfile.TemporaryFile() as errlog:  # a file, not a pipe: a chatty ffmpeg can never block on it
        proc = lifecycle.start(cmd, stdout=subprocess.PIPE, stderr=errlog, bufsize=max(frame_bytes, 1 << 16))
        n = 0
        try:
            assert proc.stdout is not None
            while True:
                buf = proc.stdout.read(frame_bytes)
                if len(buf) < frame_bytes:
                    break
                t = n / rate
                if n > 0 and 0 < info.duration_sec <= t:
                    break  # the frame eof_action=pass repeats after the last full period
                yield t, np.frombuffer(buf, np.uint8).reshape(h, w, 3)
                n += 1
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        if n == 0:
            errlog.seek(0)
            why = _last_error_line(errlog.read().decode(errors="replace")) if proc.returncode else "empty stream"
            raise VisionError(f"no readable frames in {info.path} ({why})")


#: The largest picture read, in pixels (Pillow's own bomb limit is twice its 89.5-Mpx warning): at 3 bytes a
#: pixel, a bigger one could not be held within the memory a run is allowed.
MAX_IMAGE_PIXELS = 100_000_000


def check_image(path: str | os.PathLike) -> tuple[int, int]:
    """Read only a picture's header: its (width, height); :class:`VisionError` if it is no picture or too big."""
    from PIL import Image, UnidentifiedImageError

    p = _existing_file(path)
    try:
        with Image.open(p) as im:
            w, h = im.size
    except Image.DecompressionBombError:
        w, h = _header_size(p)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise VisionError(f"not a readable picture: {p} ({type(e).__name__})") from None
    if w * h > MAX_IMAGE_PIXELS:
        raise VisionError(f"picture too large: {p} is {w}x{h} pixels, over {MAX_IMAGE_PIXELS // 1_000_000} million"
                          " (scale it down first)")
    if w * h == 0:
        raise VisionError(f"empty picture: {p}")
    return w, h


def _header_size(p: Path) -> tuple[int, int]:
    """A picture's size when Pillow refuses to open it at all (a decompression bomb)."""
    from PIL import Image

    limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None  # only the header is read here; the size check follows
    try:
        with Image.open(p) as im:
            return im.size
    finally:
        Image.MAX_IMAGE_PIXELS = limit


def read_image(path: str | os.PathLike, min_width: int | None = None) -> np.ndarray:
    """Read a still picture (jpg, png, webp, anything Pillow knows) as an HxWx3 uint8 RGB array.

    ``min_width``: the caller needs no more than this width, so a JPEG may be decoded at a reduced scale (never
    below it), which keeps a 50-Mpx photo from costing 150 MB.
    """
    from PIL import Image, UnidentifiedImageError

    p = _existing_file(path)
    check_image(p)
    try:
        with Image.open(p) as im:
            if min_width is not None and im.width > min_width:
                im.draft("RGB", (min_width, max(1, round(min_width * im.height / im.width))))
            im.load()
            if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                background = Image.new("RGBA", im.size, (255, 255, 255, 255))
                im = Image.alpha_composite(background, im.convert("RGBA"))  # transparent parts read as white
            rgb = np.asarray(im.convert("RGB"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise VisionError(f"not a readable picture: {p} ({type(e).__name__})") from None
    if rgb.size == 0:
        raise VisionError(f"empty picture: {p}")
    return rgb
