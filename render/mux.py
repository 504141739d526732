"""The video with its new soundtrack, through the ffmpeg binary that imageio-ffmpeg ships.

The picture is kept as it is (``-c:v copy``: no re-encoding, no quality loss, fast); the original audio is
dropped and the mix is encoded to AAC (Opus for a ``.webm`` output). When the input's video codec cannot live in
the output container (a GIF always, VP8 into MP4, H.264 into WebM), the video is re-encoded instead, with libx264
(libvpx-vp9 at its fastest setting for ``.webm``), yuv420p and even dimensions so every player accepts it.
``-shortest`` is not used, since it could cut the picture; the audio is trimmed to the video's duration instead
(the mix is rendered at that length anyway).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .. import lifecycle
from .synth import RenderError

__all__ = ["mux_video", "probe", "MediaInfo", "StreamInfo", "ffmpeg_exe"]


@dataclass(frozen=True)
class StreamInfo:
    kind: str  # "video", "audio", "subtitle", "data"
    codec: str
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class MediaInfo:
    duration_sec: float | None
    streams: list[StreamInfo] = field(default_factory=list)

    @property
    def video(self) -> StreamInfo | None:
        return next((s for s in self.streams if s.kind == "video"), None)

    @property
    def audio(self) -> StreamInfo | None:
        return next((s for s in self.streams if s.kind == "audio"), None)


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError as e:
        raise RenderError(f"no ffmpeg binary: {e}") from None


_STREAM = re.compile(r"^\s*Stream #\d+:\d+\S*: (Video|Audio|Subtitle|Data): (\w+)(.*)$")
_SIZE = re.compile(r"(?<![\w])(\d{1,5})x(\d{1,5})(?=[\s,\[]|$)")
_DURATION = re.compile(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")


def probe(path: str | Path) -> MediaInfo:
    """Streams and duration of a media file, read from ``ffmpeg -i`` (imageio-ffmpeg ships no ffprobe)."""
    path = Path(path)
    if not path.is_file():
        raise RenderError(f"{path} does not exist")
    err = lifecycle.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", _url(path)], text=True,
                        errors="replace").stderr
    streams = []
    for line in err.splitlines():
        m = _STREAM.match(line)
        if m and "(attached pic)" not in line:
            size = _SIZE.search(m.group(3)) if m.group(1) == "Video" else None
            streams.append(StreamInfo(m.group(1).lower(), m.group(2), *(map(int, size.groups()) if size else ())))
    d = _DURATION.search(err)
    duration = int(d.group(1)) * 3600 + int(d.group(2)) * 60 + float(d.group(3)) if d else None
    if not streams:
        raise RenderError(f"{path} is not a media file ffmpeg can read: {_last_line(err)}")
    return MediaInfo(duration, streams)


def _url(path: Path) -> str:
    """``file:`` keeps ffmpeg from reading a colon in a file name as a protocol (``take:2.mp4``)."""
    return "file:" + str(path)


def _last_line(stderr: str) -> str:
    lines = [re.sub(r"^\[[^\]]*\]\s*", "", ln).strip() for ln in stderr.splitlines()]
    return next((ln for ln in reversed(lines) if ln), "no message")


def _run(cmd: list[str]) -> str | None:
    """Run ffmpeg; None on success, else the last line of its complaint."""
    r = lifecycle.run(cmd, text=True, errors="replace")
    return None if r.returncode == 0 else _last_line(r.stderr)


def mux_video(video_in: str | Path, audio_wav: str | Path, video_out: str | Path) -> Path:
    """Write ``video_out``: the picture of ``video_in`` (copied when possible) with ``audio_wav`` as its only sound."""
    video_in, audio_wav, video_out = Path(video_in), Path(audio_wav), Path(video_out)
    if not audio_wav.is_file():
        raise RenderError(f"audio {audio_wav} does not exist")
    if video_out.resolve() == video_in.resolve():
        raise RenderError(f"output {video_out} would overwrite the input video")
    info = probe(video_in)
    if info.video is None:
        raise RenderError(f"{video_in} has no video stream")
    webm = video_out.suffix.lower() == ".webm"
    trim = ["-t", f"{info.duration_sec:.6f}"] if info.duration_sec else []
    head = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-i", _url(video_in),
            *trim, "-i", _url(audio_wav), "-map", "0:V:0", "-map", "1:a:0"]
    audio = ["-c:a", "libopus", "-b:a", "160k"] if webm else ["-c:a", "aac", "-b:a", "192k"]
    tail = ([] if webm else ["-movflags", "+faststart"]) + [_url(video_out)]
    reencode = (["-c:v", "libvpx-vp9", "-crf", "32", "-b:v", "0", "-deadline", "realtime", "-cpu-used", "8",
                 "-row-mt", "1"] if webm
                else ["-c:v", "libx264", "-crf", "18", "-preset", "fast"])
    reencode += ["-pix_fmt", "yuv420p", "-vf", "scale=trunc(iw/2)*2:trunc(ih/2)*2"]
    # a GIF copied into MOV/MKV is accepted by ffmpeg but by few players, so it is always re-encoded
    error = "gif" if info.video.codec == "gif" else _run(head + ["-c:v", "copy"] + audio + tail)
    if error is not None:  # the codec does not fit the container: re-encode the picture
        error = _run(head + reencode + audio + tail)
    if error is not None:
        video_out.unlink(missing_ok=True)
        raise RenderError(f"ffmpeg could not mux {video_in} with {audio_wav}: {error}")
    return video_out
