"""The video with its new soundtrack, through the ffmpeg binary that imageio-ffmpeg ships.

The output container follows the picture's codec, so the picture is copied (``-c:v copy``: no re-encoding, no
quality loss, well under a second) into a file every common player opens: H.264, HEVC, AV1 and MPEG-4 Part 2 go
into ``video.mp4``, VP8 and VP9 into ``video.webm`` (:data:`COPY`, :func:`output_name`). Any other picture (a GIF,
FFV1, MJPEG, PNG frames, raw video) is re-encoded once to H.264 in ``video.mp4`` with libx264's ``veryfast`` preset
(CRF 20, yuv420p, even dimensions): ffmpeg would copy some of those into an MP4 too, into files most players
cannot open. The original audio is dropped and the mix is encoded once, to AAC in MP4 and Opus in WebM.
``-shortest`` is not used, since it could cut the picture; the audio is trimmed to the video's duration instead
(the mix is rendered at that length anyway).
"""

from __future__ import annotations

from pathlib import Path

from .. import lifecycle, media
from ..media import MediaInfo, ffmpeg_exe, ffmpeg_url, last_line
from .synth import RenderError

__all__ = ["COPY", "mux_video", "output_name", "probe", "copies"]

#: The picture codecs (ffmpeg's names) that are copied as they are, and the container each is copied into: the
#: pairs that browsers, VLC, QuickTime (HEVC tagged ``hvc1``) and the editors open.
COPY: dict[str, str] = {"h264": ".mp4", "hevc": ".mp4", "av1": ".mp4", "mpeg4": ".mp4",
                        "vp8": ".webm", "vp9": ".webm"}

#: libx264's settings for a picture that cannot be copied: ``veryfast`` takes a 30-s 720p clip in about 9 s on two
#: cores (``fast`` took 21 s for a file half again as large at CRF 18).
REENCODE = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20"]

#: The mix in MP4: ffmpeg's AAC encoder with its ``fast`` coder, which takes 0.27 s for 30 s of stereo where the
#: default ``twoloop`` takes 0.61 s; its maintainer made ``fast`` the default in 2018 as sounding better at high
#: bitrates (ffmpeg commit fcb681ac), on a 30-s mix both decode back at 24 dB SNR against the WAV.
AAC = ["-c:a", "aac", "-aac_coder", "fast", "-b:a", "192k"]
#: The mix in WebM (0.30 s for 30 s of stereo).
OPUS = ["-c:a", "libopus", "-b:a", "160k"]


def output_name(codec: str | None) -> str:
    """The file the video with its soundtrack is written to, for a picture in ``codec``: ``video.webm`` for VP8
    and VP9, ``video.mp4`` for everything else (copied or re-encoded to H.264)."""
    return "video" + COPY.get((codec or "").lower(), ".mp4")


def copies(codec: str | None, suffix: str) -> bool:
    """Whether a picture in ``codec`` is copied, not re-encoded, into a file ending in ``suffix``."""
    return COPY.get((codec or "").lower()) == suffix.lower()


def probe(path: str | Path) -> MediaInfo:
    """Streams and duration of a media file (:func:`framescore.media.probe`); :class:`RenderError` when ffmpeg
    finds none."""
    path = Path(path)
    if not path.is_file():
        raise RenderError(f"{path} does not exist")
    info = media.probe(path)
    if not info.streams:
        raise RenderError(f"{path} is not a media file ffmpeg can read: {last_line(info.text)}")
    return info


def _run(cmd: list[str]) -> str | None:
    """Run ffmpeg; None on success, else the last line of its complaint."""
    r = lifecycle.run(cmd, text=True, errors="replace")
    return None if r.returncode == 0 else last_line(r.stderr)


def mux_video(video_in: str | Path, audio_wav: str | Path, video_out: str | Path) -> Path:
    """Write ``video_out``: the picture of ``video_in`` (copied when :func:`copies` says so, else re-encoded) with
    ``audio_wav`` as its only sound. ``video_out``'s suffix is the container (:func:`output_name` picks it)."""
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
    head = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-i", ffmpeg_url(video_in),
            *trim, "-i", ffmpeg_url(audio_wav), "-map", "0:V:0", "-map", "1:a:0"]
    audio = OPUS if webm else AAC
    tail = ([] if webm else ["-movflags", "+faststart"]) + [ffmpeg_url(video_out)]
    reencode = (["-c:v", "libvpx-vp9", "-crf", "32", "-b:v", "0", "-deadline", "realtime", "-cpu-used", "8",
                 "-row-mt", "1"] if webm else list(REENCODE))
    reencode += ["-pix_fmt", "yuv420p", "-vf", "scale=trunc(iw/2)*2:trunc(ih/2)*2"]
    copy = ["-c:v", "copy"] + (["-tag:v", "hvc1"] if info.video.codec == "hevc" and not webm else [])
    error = _run(head + copy + audio + tail) if copies(info.video.codec, video_out.suffix) else "not copied"
    if error is not None:  # a codec that is not copied, or a stream the container refused: re-encode the picture
        error = _run(head + reencode + audio + tail)
    if error is not None:
        video_out.unlink(missing_ok=True)
        raise RenderError(f"ffmpeg could not mux {video_in} with {audio_wav}: {error}")
    return video_out
