"""The temp track: music or not, and the beat grid, on audio made in code (clicks, silence, noise, a held chord)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from framescore.vision import audio as A

SR = A.SAMPLE_RATE
CLICKS = np.arange(0.25, 10.0, 0.5)  # 120 bpm


def click_track(times=CLICKS, seconds: float = 10.0, sr: int = SR) -> np.ndarray:
    """Short 2-kHz blips (9 ms) at ``times``, silence between."""
    y = np.zeros(int(seconds * sr), np.float32)
    n = 200
    blip = (np.hanning(n) * np.sin(np.arange(n) * 2 * np.pi * 2000 / sr)).astype(np.float32)
    for t in times:
        i = int(round(t * sr))
        y[i:i + n] += blip[:len(y) - i]
    return y


def test_streamed_envelope_is_librosas_onset_strength():
    import librosa

    rng = np.random.default_rng(0)
    y = (0.1 * rng.standard_normal(5 * SR)).astype(np.float32) + click_track(seconds=5.0)
    sink = A.OnsetEnvelope()
    at = 0
    for size in [1, 999, 4096, 70000] * 10:  # blocks of any size, some shorter than a frame
        sink.feed(y[at:at + size])
        at += size
    assert at >= len(y) and sink.n_samples == len(y)
    ours = sink.finish()
    ref = librosa.onset.onset_strength(y=y, sr=SR, n_fft=A.N_FFT, hop_length=A.HOP)
    assert ours.shape == ref.shape == (1 + len(y) // A.HOP,)
    assert np.max(np.abs(ours - ref)) < 0.01 * ref.max()  # log-mel frames kept as float16


def test_tempogram_averaged_in_blocks_is_librosas():
    import librosa

    rng = np.random.default_rng(2)
    env = np.abs(rng.standard_normal(3000))
    env[::43] += 3.0  # a pulse every 43 frames: 120.2 bpm at 86.1 frames a second
    win = int(librosa.time_to_frames(8.0, sr=SR, hop_length=A.HOP))
    whole = librosa.feature.tempogram(onset_envelope=env, sr=SR, hop_length=A.HOP, win_length=win).mean(axis=1)
    ours = A.mean_tempogram(env, block=700)  # blocks that do not divide the length
    assert ours.shape == (win,) and np.max(np.abs(ours - whole)) < 1e-12
    tempo = librosa.feature.tempo(tg=ours[:, None], sr=SR, hop_length=A.HOP, aggregate=None)
    assert float(tempo[0]) == pytest.approx(60 * SR / A.HOP / 43, rel=1e-6)


def test_pulse_clarity_of_an_impulse_train_by_hand():
    # impulses every P frames in one window of N frames: the mean-removed autocorrelation at lag P over lag 0 is
    # (N - P) / N, up to the edges (one impulse fewer overlaps)
    fps = SR / A.HOP
    n, p = int(round(A.CLARITY_WINDOW_SEC * fps)), 43  # 8 s; 43 frames = 0.4993 s, inside 0.25-1.5 s
    env = np.zeros(n)
    env[::p] = 2.0
    clarity, strength, windows = A.pulse_clarity(env)
    assert windows == [pytest.approx(clarity)]
    assert clarity == pytest.approx((n - p) / n, abs=0.02)
    k = len(env[::p])  # impulses of height 2: covariance at lag P = (k - 1) * 4 / n, less the mean's share
    assert strength == pytest.approx(np.sqrt((k - 1) * 4.0 / n), rel=0.1)
    assert A.pulse_clarity(np.zeros(n))[:2] == (0.0, 0.0)  # flat: no pulse


def test_click_track_at_120_bpm_gives_its_grid():
    found = A.analyse_samples(click_track())
    assert found.music, found.reason
    grid = found.grid
    assert grid.tempo_bpm == pytest.approx(120.0, abs=0.5)
    assert grid.confidence >= A.MIN_PULSE_CLARITY and grid.confidence == found.figures["pulse_clarity"]
    assert len(grid.beats) >= 15  # the tracker may trim a weak first or last beat, not more
    errors = [np.min(np.abs(CLICKS - b)) for b in grid.beats]
    assert max(errors) <= 0.040
    assert grid.nearest(3.3) == pytest.approx(3.25, abs=0.04)
    summary = found.summary()
    assert summary["music"] is True and summary["beat_grid"]["tempo_bpm"] == pytest.approx(120.0, abs=0.5)


def test_silence_noise_and_a_held_chord_are_not_music():
    rng = np.random.default_rng(1)
    t = np.arange(10 * SR) / SR
    chord = 0.1 * (np.sin(2 * np.pi * 220 * t) + np.sin(2 * np.pi * 277.2 * t) + np.sin(2 * np.pi * 329.6 * t))
    cases = {
        "silence": (np.zeros(10 * SR, np.float32), "silent"),
        "room tone": ((10 ** (-65 / 20) * rng.standard_normal(10 * SR)).astype(np.float32), "silent"),
        "white noise": ((0.1 * rng.standard_normal(10 * SR)).astype(np.float32), "no steady beat"),
        # its envelope wobbles periodically (partials beating against the frame rate), by a tenth of a dB
        "held chord": (chord.astype(np.float32), "no steady beat"),
    }
    for name, (y, why) in cases.items():
        found = A.analyse_samples(y)
        assert not found.music and found.grid is None, name
        assert why in found.reason, (name, found.reason)
    held = A.analyse_samples(cases["held chord"][0]).figures
    assert held["pulse_clarity"] >= A.MIN_PULSE_CLARITY and held["pulse_strength_db"] < A.MIN_PULSE_DB


def test_too_short_for_a_tempo():
    found = A.analyse_samples(click_track(seconds=2.0, times=CLICKS[CLICKS < 2]))
    assert not found.music and "too short" in found.reason


def test_cuts_seen_near_a_beat_move_onto_it():
    grid = A.BeatGrid(tempo_bpm=120.0, beats=[0.5, 1.0, 1.5, 2.0, 2.5], confidence=0.9)
    # seen at 8 frames a second: 0.125 s either side of where the editor cut
    cuts, moved = A.snap_cuts([0.875, 1.625, 2.25, 0.1], grid, within_sec=0.125)
    assert cuts == [1.0, 1.5, 2.25, 0.1]  # 2.25 is 0.25 s from either beat; 0.1 is 0.4 s from the first
    assert moved == [(0.875, 1.0), (1.625, 1.5)]
    assert A.snap_cuts([], grid, 0.125) == ([], [])


def _ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


@pytest.fixture(scope="module")
def click_video(tmp_path_factory) -> Path:
    """8 s of a test picture over the 120-bpm click track (AAC at 44.1 kHz, as a camera or an editor writes)."""
    import soundfile as sf

    d = tmp_path_factory.mktemp("clicks")
    sf.write(d / "clicks.wav", click_track(CLICKS[CLICKS < 8], seconds=8.0, sr=44100), 44100)
    out = d / "clicks.mp4"
    subprocess.run([_ffmpeg(), "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=s=96x64:r=10:d=8",
                    "-i", str(d / "clicks.wav"), "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac",
                    "-shortest", str(out)], check=True)
    return out


def test_decoded_from_a_video(click_video):
    y = A.decode_audio(click_video)
    assert y is not None and y.dtype == np.float32 and len(y) == pytest.approx(8 * SR, abs=0.05 * SR)
    found = A.analyse_soundtrack(click_video)
    assert found.music, found.reason
    assert found.grid.tempo_bpm == pytest.approx(120.0, abs=0.5)
    clicks = CLICKS[CLICKS < 8]
    assert max(np.min(np.abs(clicks - b)) for b in found.grid.beats) <= 0.040


def test_a_video_without_audio_is_none_with_a_reason(tmp_path):
    clip = tmp_path / "mute.mp4"
    subprocess.run([_ffmpeg(), "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=s=96x64:r=10:d=1",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", str(clip)], check=True)
    assert A.decode_audio(clip) is None
    found = A.analyse_soundtrack(clip)
    assert found.grid is None and found.reason == "the video has no audio stream"
    assert found.summary() == {"music": False, "reason": "the video has no audio stream", "figures": {}}


def test_pipeline_follows_the_audio_only_when_asked(click_video):
    from framescore.pipeline import Stages, plan_picture
    from framescore.vision.mapping import Overrides

    features, plan = plan_picture(click_video, "video", Overrides(follow_audio=True), Stages(quiet=True))
    assert features.soundtrack is not None and features.soundtrack.tempo_bpm == pytest.approx(120.0, abs=0.5)
    src = plan.source["soundtrack"]
    assert src["music"] is True and src["beat_grid"]["tempo_bpm"] == pytest.approx(120.0, abs=0.5)
    assert "steady beat" in src["reason"] and src["cuts_moved_onto_beats"] == []  # one shot: no cuts
    features, plan = plan_picture(click_video, "video", Overrides(), Stages(quiet=True))
    assert features.soundtrack is None and "soundtrack" not in plan.source
