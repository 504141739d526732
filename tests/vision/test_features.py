"""Visual features, cuts and decoding, on tiny clips synthesised with ffmpeg (lavfi) and pictures made with PIL."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from framescore.errors import FramescoreError
from framescore.media import ffmpeg_exe
from framescore.vision.cuts import HIST_SIZE, detect_cuts, histogram_changes
from framescore.vision.features import FEATURE_NAMES, analyze, analyze_image, analyze_video
from framescore.vision.video import VisionError, probe, read_image

FPS = 8.0


def make_video(path: Path, graph: str, *, seconds: float | None = None, frames: int | None = None, codec=()) -> Path:
    """Encode a lavfi filter graph to ``path``; mpeg4 (built into every ffmpeg) unless ``codec`` says otherwise."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-v", "error", "-y", "-f", "lavfi", "-i", graph]
    if seconds is not None:
        cmd += ["-t", str(seconds)]
    if frames is not None:
        cmd += ["-frames:v", str(frames)]
    if not codec and path.suffix != ".gif":
        codec = ("-c:v", "mpeg4", "-q:v", "3", "-pix_fmt", "yuv420p")
    subprocess.run([*cmd, *codec, str(path)], check=True)
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("clips")
    return {
        # red for 1.5 s, then blue for 1.5 s: exactly one cut, at 1.5 s
        "two_colours": make_video(
            d / "two.mp4",
            "color=red:s=64x48:r=25:d=1.5[a];color=blue:s=64x48:r=25:d=1.5[b];[a][b]concat=n=2:v=1:a=0",
        ),
        "moving": make_video(
            d / "moving.mp4",
            "color=gray:s=96x64:r=25:d=2[bg];color=white:s=16x16:r=25:d=2[sq];[bg][sq]overlay=x='4+t*36':y=24",
        ),
        "static": make_video(
            d / "static.mp4",
            "color=gray:s=96x64:r=25:d=2[bg];color=white:s=16x16:r=25:d=2[sq];[bg][sq]overlay=x=40:y=24",
        ),
        "one_frame": make_video(d / "one.mp4", "testsrc2=s=64x48:r=25", frames=1),
        "short": make_video(d / "short.mp4", "testsrc2=s=64x48:r=25", seconds=0.3),
    }


def test_two_colours_give_one_cut_at_the_join(clips):
    vf = analyze_video(clips["two_colours"], analysis_fps=FPS)
    assert vf.cuts == [pytest.approx(1.5, abs=1 / FPS)]
    assert vf.duration_sec == pytest.approx(3.0, abs=0.05)
    assert (vf.source_fps, vf.width, vf.height, vf.kind) == (25.0, 64, 48, "video")
    n = len(vf.times)
    assert n == pytest.approx(3.0 * FPS, abs=1)
    assert np.all(np.diff(vf.times) > 0) and vf.times[0] == 0.0
    for name in FEATURE_NAMES:
        assert getattr(vf, name).shape == (n,), name
    red, blue = vf.times < 1.4, vf.times > 1.6
    assert vf.warmth[red].min() > 0.8 and vf.warmth[blue].max() < -0.8
    assert vf.saturation.min() > 0.9 and vf.colourfulness.min() > 0.5
    assert vf.brightness[red].mean() > vf.brightness[blue].mean()  # luma of red > luma of blue
    assert vf.contrast.max() < 0.02 and vf.edges.max() < 0.01  # flat colour
    assert vf.motion.max() < 0.02  # the cut's flow is not counted as motion


def test_moving_square_moves_more_than_a_still_one(clips):
    moving = analyze_video(clips["moving"])
    still = analyze_video(clips["static"])
    assert still.motion.mean() < 0.02
    # 36 px/s on a 96 px wide frame is 0.375 widths per second; flow on a plain square undershoots it
    assert moving.motion.mean() > 0.05 > still.motion.mean()
    assert moving.motion_at(0.5, 1.5) > 5 * still.motion_at(0.5, 1.5)
    assert moving.cuts == [] and still.cuts == []


def test_one_frame_and_sub_second_clips_are_fine(clips):
    one = analyze_video(clips["one_frame"])
    assert len(one.times) == 1 and one.cuts == [] and one.motion.tolist() == [0.0]
    assert 0 < one.duration_sec <= 0.1
    assert len(one.thumbnails) == 1
    short = analyze_video(clips["short"])
    assert 2 <= len(short.times) <= 3
    assert short.duration_sec == pytest.approx(0.3, abs=0.05)
    assert short.motion[0] == short.motion[1]  # the first frame borrows the second's


@pytest.mark.parametrize("ext", ["mov", "avi", "mkv", "gif", "webm"])
def test_container_formats(tmp_path, ext):
    codec = ("-c:v", "libvpx", "-b:v", "200k") if ext == "webm" else ()
    try:
        path = make_video(tmp_path / f"clip.{ext}", "testsrc2=s=64x48:r=10", seconds=1.0, codec=codec)
    except subprocess.CalledProcessError:
        pytest.skip(f"this ffmpeg cannot write .{ext}")
    vf = analyze(path)
    assert vf.kind == "video" and len(vf.times) == 8
    assert vf.duration_sec == pytest.approx(1.0, abs=0.15)
    assert probe(path).width == 64


def test_summary_progress_thumbnails_and_determinism(clips):
    seen: list[float] = []
    vf = analyze_video(clips["two_colours"], progress=seen.append)
    assert seen[-1] == 1.0 and all(b >= a for a, b in zip(seen, seen[1:]))
    summary = json.loads(json.dumps(vf.summary()))
    assert summary["cuts"] == [round(vf.cuts[0], 3)] and set(summary["features"]) == set(FEATURE_NAMES)
    assert summary["features"]["warmth"]["std"] > 0.5
    assert len(vf.thumbnails) == 16
    thumb_times = [t for t, _ in vf.thumbnails]
    assert thumb_times == sorted(thumb_times) and thumb_times[0] == 0.0 and thumb_times[-1] > 2.5
    assert all(img.dtype == np.uint8 and img.shape == (48, 64, 3) for _, img in vf.thumbnails)
    again = analyze_video(clips["two_colours"])
    for name in FEATURE_NAMES:
        np.testing.assert_array_equal(getattr(vf, name), getattr(again, name))


def test_analysis_is_smaller_and_slower_than_the_source(clips):
    vf = analyze_video(clips["moving"], analysis_fps=4.0, width=48)
    assert len(vf.times) == 8 and vf.analysis_fps == 4.0
    assert vf.thumbnails[0][1].shape == (32, 48, 3)
    # never sampled faster than the source: a 25 fps clip asked for at 100 fps gives 25 fps
    assert analyze_video(clips["static"], analysis_fps=100).analysis_fps == 25.0


def test_image(tmp_path):
    rgb = np.zeros((120, 300, 3), np.uint8)
    rgb[:, :150] = (255, 160, 0)  # orange half
    Image.fromarray(rgb).save(tmp_path / "pic.png")
    Image.fromarray(rgb).save(tmp_path / "pic.webp", lossless=True)
    vf = analyze(tmp_path / "pic.png")
    assert vf.kind == "image" and len(vf.times) == 1 and vf.cuts == []
    assert (vf.width, vf.height, vf.duration_sec) == (300, 120, 0.0)
    assert vf.motion.tolist() == [0.0] and vf.motion_at(0, 10) == 0.0
    assert vf.warmth[0] > 0.4 and 0.2 < vf.brightness[0] < 0.5 and vf.edges[0] > 0
    assert vf.thumbnails[0][1].shape[0] <= 96
    np.testing.assert_array_equal(read_image(tmp_path / "pic.webp"), rgb)
    rgba = np.zeros((8, 8, 4), np.uint8)  # fully transparent reads as white
    Image.fromarray(rgba).save(tmp_path / "clear.png")
    assert read_image(tmp_path / "clear.png").min() == 255
    assert analyze_image(tmp_path / "clear.png").brightness[0] == pytest.approx(1.0)


def test_bad_inputs_raise_one_line_errors(tmp_path):
    (tmp_path / "notes.mp4").write_text("not a video\n")
    (tmp_path / "notes.png").write_text("not a picture\n")
    cases = [
        (lambda: analyze_video(tmp_path / "missing.mp4"), "no such file"),
        (lambda: analyze_image(tmp_path / "missing.png"), "no such file"),
        (lambda: analyze_video(tmp_path / "notes.mp4"), "not a readable video"),
        (lambda: analyze(tmp_path / "notes.png"), "not a readable picture"),
        (lambda: read_image(tmp_path / "notes.mp4"), "not a readable picture"),
        (lambda: analyze_video(tmp_path), "not a file"),
    ]
    for call, words in cases:
        with pytest.raises(VisionError, match=words) as info:
            call()
        assert isinstance(info.value, FramescoreError) and "\n" not in str(info.value)


def test_audio_only_file_has_no_video(tmp_path):
    wav = tmp_path / "tone.wav"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "sine=d=0.2", str(wav)], check=True)
    with pytest.raises(VisionError, match="no video stream"):
        analyze_video(wav)


def _hists(colours: list[int]) -> np.ndarray:
    """One-hot value histograms: frames that are each a single grey level (index into the 16 value bins)."""
    h = np.zeros((len(colours), HIST_SIZE))
    for i, c in enumerate(colours):
        h[i, HIST_SIZE - 16 + c] = 1.0
        h[i, 18] = 1.0  # saturation 0
    return h


def test_detect_cuts_rules():
    times = np.arange(40) / 8.0
    assert histogram_changes(_hists([0, 0, 5])).tolist() == [0.0, 0.0, 1.0]
    # one clean change
    assert detect_cuts(_hists([2] * 20 + [9] * 20), times) == [2.5]
    # flicker every frame is the norm here, not a cut
    assert detect_cuts(_hists([2, 9] * 20), times) == []
    # two changes half a second apart: the minimum shot length keeps one
    assert len(detect_cuts(_hists([2] * 20 + [9] * 4 + [5] * 16), times)) == 1
    # none in the first second: a change at 0.5 s opens no shot
    assert detect_cuts(_hists([2] * 4 + [9] * 36), times) == []
    # a dissolve over a second (1/8 of the colours change each frame) is not abrupt enough
    alpha = np.clip((np.arange(40) - 10) / 8, 0, 1)[:, None]
    assert detect_cuts((1 - alpha) * _hists([2] * 40) + alpha * _hists([9] * 40), times) == []
    assert detect_cuts(np.zeros((1, HIST_SIZE)), np.zeros(1)) == []
