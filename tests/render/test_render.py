"""render/: stems from a small piece made in code, the mix and its loudness meter, and muxing onto a clip."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from framescore.errors import FramescoreError
from framescore.render import synth
from framescore.render.mix import integrated_loudness, mix, mix_stems
from framescore.render.mux import ffmpeg_exe, mux_video, probe
from framescore.render.synth import RenderError, find_soundfont, render_stems, render_track, stem_names
from framescore.symbolic.piece import Note, Piece, TempoChange, Track

SR = 44100
Q = 480  # ticks per quarter


@pytest.fixture(scope="module")
def soundfont() -> Path:
    try:
        return find_soundfont()
    except RenderError as e:
        pytest.skip(str(e))


def small_piece() -> Piece:
    """Two bars of 4/4: 120 bpm (2 s), then 150 bpm (1.6 s); melody enters at 1.0 s, drums at 2.4 s."""
    melody = Track("melody", 0, False, [Note(2 * Q, Q, 72, 100), Note(3 * Q, 2 * Q, 76, 90),
                                        Note(3 * Q + Q // 2, Q, 76, 60)])  # overlaps itself on the same pitch
    bass = Track("bass", 33, False, [Note(0, 4 * Q, 36, 90), Note(4 * Q, 4 * Q, 43, 90)])
    drums = Track("drums", 0, True, [Note(5 * Q, Q // 4, 36, 110), Note(6 * Q, Q // 4, 38, 100),
                                     Note(7 * Q, Q // 4, 42, 80)])
    return Piece([melody, bass, drums], [TempoChange(0, 120.0), TempoChange(4 * Q, 150.0)], end_tick=8 * Q)


def first_sound_sec(audio: np.ndarray, threshold: float = 1e-4) -> float:
    return int(np.argmax(np.abs(audio).max(axis=1) > threshold)) / SR


# ----- stems ---------------------------------------------------------------------------------------------------
def test_stems_are_equal_length_aligned_and_deterministic(tmp_path, soundfont):
    piece = small_piece()
    assert piece.duration_sec == pytest.approx(3.6)
    calls = []
    paths = render_stems(piece, tmp_path / "a", soundfont, SR, progress=lambda d, t: calls.append((d, t)))
    assert list(paths) == ["melody", "bass", "drums"]
    assert calls == [(1, 3), (2, 3), (3, 3)]
    audio = {}
    for name, path in paths.items():
        info = sf.info(path)
        assert (info.samplerate, info.channels, info.subtype) == (SR, 2, "PCM_16")
        audio[name], _ = sf.read(path, dtype="float32")
        assert len(audio[name]) == round(3.6 * SR) == 158760
    # each track starts where the tempo map puts it (FluidSynth works in 64-sample blocks, hence the tolerance)
    assert first_sound_sec(audio["bass"]) == pytest.approx(0.0, abs=0.005)
    assert first_sound_sec(audio["melody"]) == pytest.approx(1.0, abs=0.005)
    assert first_sound_sec(audio["drums"]) == pytest.approx(2.4, abs=0.005)  # after the change to 150 bpm
    again = render_stems(piece, tmp_path / "b", soundfont, SR)
    assert [k for k in paths if paths[k].read_bytes() != again[k].read_bytes()] == []


def test_render_track_is_float_stereo_and_cut_at_the_end(soundfont):
    piece = small_piece()
    long_note = Track("pad", 48, False, [Note(0, 100 * Q, 60, 100)])  # rings far past the end
    audio = render_track(piece, long_note, soundfont, 22050)
    assert audio.dtype == np.float32 and audio.shape == (round(3.6 * 22050), 2)
    assert np.abs(audio[len(audio) // 2]).max() > 1e-3  # still sounding in the middle
    assert np.abs(audio[-1]).max() == 0.0  # the declick ramp ends on silence
    assert np.isfinite(audio).all()


def test_empty_tracks_render_silence_of_the_right_length(tmp_path, soundfont):
    piece = Piece([Track("melody"), Track("drums", 0, True)], end_tick=4 * Q)  # 2 s, no notes at all
    paths = render_stems(piece, tmp_path, soundfont, SR)
    for path in paths.values():
        audio, _ = sf.read(path)
        assert audio.shape == (2 * SR, 2) and not audio.any()
    out = mix_stems(paths, tmp_path / "mix.wav", SR)
    audio, _ = sf.read(out)
    assert audio.shape == (2 * SR, 2) and np.isfinite(audio).all() and not audio.any()


def test_stem_names_are_file_safe_and_unique():
    piece = Piece([Track("Piano / Left"), Track("piano_left"), Track(""), Track("..drums"), Track("Drums")])
    assert stem_names(piece) == ["Piano_Left", "piano_left_2", "track_3", "drums", "Drums_2"]


# ----- finding things ------------------------------------------------------------------------------------------
def test_missing_or_bad_soundfont_is_a_one_line_error(tmp_path, monkeypatch):
    with pytest.raises(RenderError, match="nope.sf2 does not exist"):
        find_soundfont(tmp_path / "nope.sf2")
    fake = tmp_path / "fake.sf2"
    fake.write_bytes(b"not a soundfont at all")
    with pytest.raises(RenderError, match="not a SoundFont"):
        find_soundfont(fake)
    monkeypatch.setenv(synth.SOUNDFONT_ENV, str(tmp_path / "gone.sf2"))
    with pytest.raises(RenderError, match=r"\$FRAMESCORE_SOUNDFONT .*gone.sf2 does not exist"):
        find_soundfont()
    monkeypatch.delenv(synth.SOUNDFONT_ENV)
    monkeypatch.setattr(synth, "_search_places", lambda: [tmp_path / "x.sf2", fake])
    with pytest.raises(FramescoreError) as err:
        render_stems(small_piece(), tmp_path / "stems")
    assert "apt-get install fluid-soundfont-gm" in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "stems").exists()


def test_missing_libfluidsynth_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "fluidsynth", None)  # makes `import fluidsynth` raise ImportError
    with pytest.raises(RenderError, match="apt-get install libfluidsynth3"):
        render_track(small_piece(), small_piece().tracks[0], "unused.sf2")


# ----- mix and loudness ----------------------------------------------------------------------------------------
def sine(freq: float, sec: float, amp: float, sr: int = SR) -> np.ndarray:
    return amp * np.sin(2 * np.pi * freq * np.arange(round(sec * sr)) / sr)


def test_loudness_meter_matches_bs1770():
    # BS.1770: a 0 dBFS 997 Hz sine in one channel reads -3.01 LKFS; in both channels at -6 dBFS, about -6.02
    assert integrated_loudness(sine(997, 3, 1.0), SR) == pytest.approx(-3.01, abs=0.02)
    assert integrated_loudness(np.stack([sine(997, 3, 0.5)] * 2, 1), SR) == pytest.approx(-6.02, abs=0.02)
    # the relative gate ignores a long quiet stretch; the absolute gate ignores near-silence
    loud = np.concatenate([sine(997, 2, 0.5), sine(997, 8, 0.5 * 10 ** (-30 / 20))])
    assert integrated_loudness(loud, SR) == pytest.approx(-9.03, abs=0.5)  # ungated it would read -16
    assert integrated_loudness(np.zeros((SR, 2)), SR) == float("-inf")
    assert integrated_loudness(sine(997, 1, 1e-5), SR) == float("-inf")
    assert np.isfinite(integrated_loudness(sine(997, 0.1, 0.5), SR))  # shorter than one 400 ms block


def test_k_weighting_equals_the_standards_48k_filter():
    from framescore.render.mix import _k_weighting

    # the coefficients printed in ITU-R BS.1770-4 for 48 kHz
    stages = [([1.53512485958697, -2.69169618940638, 1.19839281085285], [1.0, -1.69065929318241, 0.73248077421585]),
              ([1.0, -2.0, 1.0], [1.0, -1.99004745483398, 0.99007225036621])]
    n = 4096
    z = np.exp(-2j * np.pi * np.arange(n // 2 + 1) / n)
    expected = np.prod([np.polyval(b[::-1], z) / np.polyval(a[::-1], z) for b, a in stages], axis=0)
    np.testing.assert_allclose(_k_weighting(n, 48000), expected, rtol=1e-4, atol=1e-6)


def test_mix_hits_the_target_without_clipping_and_fades(tmp_path):
    stems = {"a": np.stack([sine(220, 6, 0.05), sine(220, 6, 0.04)], 1), "b": sine(330, 6, 0.03)}
    out = mix_stems(stems, tmp_path / "mix.wav", SR, target_lufs=-16.0, fade_sec=1.0)
    audio, rate = sf.read(out)
    assert rate == SR and audio.shape == (6 * SR, 2) and sf.info(out).subtype == "PCM_16"
    assert integrated_loudness(audio, SR) == pytest.approx(-16.0, abs=0.1)
    assert np.abs(audio).max() <= 10 ** (-1 / 20) + 1e-4
    assert np.abs(audio[:, 0][:10]).max() < 0.01  # a few-ms fade-in
    full = np.abs(audio[SR:2 * SR]).max()

    def level(sec_before_end: float) -> float:  # the envelope near that time (a 10 ms window holds 2 periods)
        at = len(audio) - round(sec_before_end * SR)
        return float(np.abs(audio[at - 220:at + 220]).max()) / full

    # the fade lasts min(1 s, 10% of 6 s) = 0.6 s: full before, half way down at 0.3 s, silent at the end
    assert level(0.7) == pytest.approx(1.0, abs=0.01)
    assert level(0.3) == pytest.approx(0.5, abs=0.05)
    assert np.abs(audio[-1]).max() < 1e-3


def test_mix_limits_peaks_rather_than_clip():
    spiky = np.zeros((4 * SR, 2), np.float32)
    spiky[SR * 2, :] = 0.5  # one click in near-silence: reaching -16 LUFS would need a huge gain
    spiky[:, 0] += sine(100, 4, 1e-3)
    out = mix({"spiky": spiky}, SR)
    assert np.abs(out).max() == pytest.approx(10 ** (-1 / 20), rel=1e-4)
    assert integrated_loudness(out, SR) < -16.0


def test_mixing_stems_from_files_checks_the_rate(tmp_path):
    sf.write(tmp_path / "a.wav", np.zeros((100, 2)), 22050)
    with pytest.raises(RenderError, match="22050 Hz, expected 44100"):
        mix_stems({"a": tmp_path / "a.wav"}, tmp_path / "m.wav", SR)
    with pytest.raises(RenderError, match="cannot read stem"):
        mix_stems({"a": tmp_path / "missing.wav"}, tmp_path / "m.wav", SR)


# ----- muxing --------------------------------------------------------------------------------------------------
def ffmpeg(*args: str) -> str:
    return subprocess.run([ffmpeg_exe(), "-hide_banner", "-v", "error", "-y", *args], check=True,
                          capture_output=True, text=True).stdout


def video_hash(path: Path) -> str:
    """A hash of the video stream's packets: equal only when the stream was copied, not re-encoded."""
    return ffmpeg("-i", str(path), "-map", "0:v", "-c", "copy", "-f", "streamhash", "-")


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """1 s of testsrc (H.264, 160x120) with a sine soundtrack that the mux must drop."""
    path = tmp_path_factory.mktemp("media") / "clip.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=160x120:rate=25:duration=1", "-f", "lavfi", "-i",
           "sine=frequency=440:duration=1", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", str(path))
    return path


@pytest.fixture(scope="module")
def wav(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("audio") / "mix.wav"
    sf.write(path, np.stack([sine(330, 1, 0.3)] * 2, 1), SR, subtype="PCM_16")
    return path


def test_mux_copies_the_picture_and_replaces_the_sound(clip, wav, tmp_path):
    src = probe(clip)
    assert [s.kind for s in src.streams] == ["video", "audio"]
    out = mux_video(clip, wav, tmp_path / "out.mp4")
    info = probe(out)
    assert [(s.kind, s.codec) for s in info.streams] == [("video", "h264"), ("audio", "aac")]
    assert (info.video.width, info.video.height) == (160, 120)
    assert info.duration_sec == pytest.approx(1.0, abs=0.05)
    assert video_hash(out) == video_hash(clip)


def test_mux_reencodes_a_gif(wav, tmp_path):
    gif = tmp_path / "in.gif"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=81x61:rate=10:duration=1", str(gif))
    info = probe(mux_video(gif, wav, tmp_path / "out.mp4"))
    assert [(s.kind, s.codec) for s in info.streams] == [("video", "h264"), ("audio", "aac")]
    assert (info.video.width, info.video.height) == (80, 60)  # yuv420p needs even sizes


def test_mux_errors_are_one_line(clip, wav, tmp_path):
    with pytest.raises(RenderError, match="has no video stream"):
        mux_video(wav, wav, tmp_path / "o.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_text("not a video")
    with pytest.raises(RenderError, match="not a media file") as err:
        mux_video(junk, wav, tmp_path / "o.mp4")
    assert "\n" not in str(err.value)
    with pytest.raises(RenderError, match="does not exist"):
        mux_video(clip, tmp_path / "none.wav", tmp_path / "o.mp4")
    with pytest.raises(RenderError, match="overwrite the input"):
        mux_video(clip, wav, clip)
