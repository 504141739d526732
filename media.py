"""ffmpeg for the whole project: the binary, the header probe, and the file extensions framescore reads.

A base module beside :mod:`.errors` and :mod:`.lifecycle`: :mod:`.vision` decodes videos with ffmpeg and
:mod:`.render` muxes them, and neither may import the other, so what they share about ffmpeg lives here. The
binary is the one imageio-ffmpeg ships (or the one ``IMAGEIO_FFMPEG_EXE`` names); it ships no ffprobe, so a
file's streams and duration are read from what ``ffmpeg -i`` prints (about 20 ms, nothing decoded). Every ffmpeg
child is started through :mod:`.lifecycle`, so it ends with the run.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from . import lifecycle
from .errors import FramescoreError

__all__ = ["IMAGE_EXTENSIONS", "VIDEO_EXTENSIONS", "MediaError", "MediaInfo", "StreamInfo", "ffmpeg_exe",
           "ffmpeg_url", "last_line", "probe"]

#: File extensions read as videos (ffmpeg decodes them) and as still pictures (Pillow reads them), lower case.
VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".avi", ".webm", ".mkv", ".gif", ".m4v"})
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp"})


class MediaError(FramescoreError):
    """No ffmpeg binary to run."""


@dataclass(frozen=True)
class StreamInfo:
    """One stream of a media file, as ``ffmpeg -i`` describes it (attached cover pictures are left out)."""

    kind: str  # "video", "audio", "subtitle", "data"
    codec: str
    width: int | None = None  # video only
    height: int | None = None
    fps: float = 0.0  # video only: its frame rate (or tbr), 0.0 when ffmpeg does not say


@dataclass(frozen=True)
class MediaInfo:
    """Streams, duration and rotation of a media file; ``text`` is ffmpeg's whole description."""

    duration_sec: float | None  # None when the container does not say
    streams: list[StreamInfo] = field(default_factory=list)
    rotation_deg: float = 0.0  # the display matrix's rotation, 0.0 when none
    text: str = ""

    @property
    def video(self) -> StreamInfo | None:
        return next((s for s in self.streams if s.kind == "video"), None)

    @property
    def audio(self) -> StreamInfo | None:
        return next((s for s in self.streams if s.kind == "audio"), None)


def ffmpeg_exe() -> str:
    """The ffmpeg binary that imageio-ffmpeg ships (or the one ``IMAGEIO_FFMPEG_EXE`` names)."""
    import imageio_ffmpeg

    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError as e:
        raise MediaError(f"no ffmpeg binary: {e}") from None


def ffmpeg_url(path: str | os.PathLike) -> str:
    """``file:`` keeps ffmpeg from reading a colon in a file name as a protocol (``take:2.mp4``)."""
    return "file:" + str(path)


_STREAM = re.compile(r"^\s*Stream #\d+:\d+\S*: (Video|Audio|Subtitle|Data): (\w+)(.*)$")
_SIZE = re.compile(r"(?<![\w])(\d{1,5})x(\d{1,5})(?=[\s,\[]|$)")
_FPS = (re.compile(r"([\d.]+)\s+fps"), re.compile(r"([\d.]+)\s+tbr"))
_DURATION = re.compile(r"Duration:\s*(\d+):(\d+):(\d+(?:\.\d+)?)")
_ROTATION = re.compile(r"rotation of (-?[\d.]+) degrees")


def probe(path: str | os.PathLike) -> MediaInfo:
    """Read a media file's header with ``ffmpeg -i`` (nothing decoded). A file ffmpeg cannot read comes back
    with no streams and ffmpeg's complaint in ``text``: the caller says what that means for it."""
    text = lifecycle.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", ffmpeg_url(Path(path))], text=True,
                         errors="replace").stderr
    streams = []
    for line in text.splitlines():
        m = _STREAM.match(line)
        if m is None or "(attached pic)" in line:
            continue
        kind, codec, rest = m.group(1).lower(), m.group(2), m.group(3)
        if kind != "video":
            streams.append(StreamInfo(kind, codec))
            continue
        size = _SIZE.search(rest)
        rate = _FPS[0].search(line) or _FPS[1].search(line)
        streams.append(StreamInfo(kind, codec, *(map(int, size.groups()) if size else (None, None)),
                                  fps=float(rate.group(1)) if rate else 0.0))
    d = _DURATION.search(text)
    duration = int(d.group(1)) * 3600 + int(d.group(2)) * 60 + float(d.group(3)) if d else None
    rotation = _ROTATION.search(text)
    return MediaInfo(duration, streams, float(rotation.group(1)) if rotation else 0.0, text)


def last_line(stderr: str) -> str:
    """ffmpeg's last non-empty line without its ``[component @ 0x…]`` prefix, for a one-line message."""
    lines = [re.sub(r"^\[[^\]]*\]\s*", "", ln).strip() for ln in stderr.splitlines()]
    return next((ln for ln in reversed(lines) if ln), "no message")
