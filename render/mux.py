"""The video with its new soundtrack, through the ffmpeg binary that imageio-ffmpeg ships.

The picture is kept as it is (``-c:v copy``: no re-encoding, no quality loss, fast); the original audio is
dropped and the mix is encoded to AAC (Opus for a ``.webm`` output). When the input's video codec cannot live in
the output container (a GIF always, VP8 into MP4, H.264 into WebM), the video is re-encoded instead, with libx264
(libvpx-vp9 at its fastest setting for ``.webm``), yuv420p and even dimensions so every player accepts it.
``-shortest`` is not used, since it could cut the picture; the audio is trimmed to the video's duration instead
(the mix is rendered at that length anyway).
"""

from __future__ import annotations

from pathlib import Path

from .. import lifecycle, media
from ..media import MediaInfo, ffmpeg_exe, ffmpeg_url, last_line
from .synth import RenderError

__all__ = ["mux_video", "probe"]


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
    head = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-i", ffmpeg_url(video_in),
            *trim, "-i", ffmpeg_url(audio_wav), "-map", "0:V:0", "-map", "1:a:0"]
    audio = ["-c:a", "libopus", "-b:a", "160k"] if webm else ["-c:a", "aac", "-b:a", "192k"]
    tail = ([] if webm else ["-movflags", "+faststart"]) + [ffmpeg_url(video_out)]
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
