"""render/: stems from small pieces made in code (notes, pedal, bends, controllers, program changes), the mix and
its loudness meter, streaming in flat memory, and muxing onto a clip."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import mido
import numpy as np
import pytest
import soundfile as sf

from framescore.errors import FramescoreError
from framescore.media import ffmpeg_exe
from framescore.render import synth
from framescore.render.mix import integrated_loudness, mix, mix_stems
from framescore.render.mux import copies, mux_video, output_name, probe
from framescore.render import synth
from framescore.render.synth import RenderError, find_soundfont, render_stems, render_track, stem_names
from framescore.symbolic.piece import ControlChange, Note, Piece, PitchBend, ProgramChange, TempoChange, Track

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
    paths = render_stems(piece, tmp_path / "a", soundfont, SR, progress=lambda d, t: calls.append((d, t)),
                         parallel=False)
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
    calls = []
    again = render_stems(piece, tmp_path / "b", soundfont, SR, progress=lambda d, t: calls.append((d, t)))
    assert [k for k in paths if paths[k].read_bytes() != again[k].read_bytes()] == []  # forked half: same bytes
    assert calls[-1] == (3, 3) and calls == sorted(calls)


def test_stems_split_in_two_halves_of_about_equal_work():
    busy = [Note(i * Q, Q, 60, 90) for i in range(40)]
    piece = Piece([Track("harmony", 0, False, busy), Track("silent"), Track("melody", 0, False, busy[:20]),
                   Track("bass", 33, False, busy[:20])], end_tick=40 * Q)
    assert synth._split(piece) == ([0, 1], [2, 3])  # the silent stem goes with the first half: nearly free
    assert synth._split(Piece([Track("melody", 0, False, busy), Track("drums", 0, True)])) == ([0, 1], [])


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


def test_loading_fluidsynth_writes_nothing_to_stdout(monkeypatch, capsys):
    # pyfluidsynth 1.4 prints "'fluidsynth' was found at ..." on import when $CI is set, as CI machines do
    monkeypatch.setenv("CI", "1")
    monkeypatch.delitem(sys.modules, "fluidsynth", raising=False)
    synth._fluidsynth()
    assert capsys.readouterr().out == ""


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


def test_the_container_follows_the_codec():
    assert [output_name(c) for c in ("h264", "hevc", "av1", "mpeg4", "vp8", "vp9")] == ["video.mp4"] * 4 + [
        "video.webm"] * 2
    assert [output_name(c) for c in ("gif", "ffv1", "mjpeg", "png", "rawvideo", None)] == ["video.mp4"] * 6
    assert copies("vp8", ".webm") and copies("h264", ".MP4")
    assert not copies("vp8", ".mp4") and not copies("ffv1", ".mp4") and not copies("h264", ".webm")


def test_mux_copies_vp8_into_webm(wav, tmp_path):
    vp8 = tmp_path / "in.webm"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=160x120:rate=25:duration=1", "-c:v", "libvpx", "-deadline",
           "realtime", str(vp8))
    out = mux_video(vp8, wav, tmp_path / output_name(probe(vp8).video.codec))
    assert out.name == "video.webm"
    assert [(s.kind, s.codec) for s in probe(out).streams] == [("video", "vp8"), ("audio", "opus")]
    assert video_hash(out) == video_hash(vp8)


@pytest.mark.parametrize("codec, ext", [("ffv1", "mkv"), ("mjpeg", "avi"), ("png", "mov")])
def test_mux_reencodes_what_players_do_not_open(codec, ext, wav, tmp_path):
    """ffmpeg would copy FFV1, MJPEG and PNG frames into an MP4 most players cannot open: they become H.264."""
    src = tmp_path / f"in.{ext}"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=160x120:rate=25:duration=1", "-c:v", codec, str(src))
    assert probe(src).video.codec == codec
    out = mux_video(src, wav, tmp_path / output_name(codec))
    assert [(s.kind, s.codec) for s in probe(out).streams] == [("video", "h264"), ("audio", "aac")]
    assert probe(out).duration_sec == pytest.approx(1.0, abs=0.05)


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


# ----- streaming: stems and mix in blocks ----------------------------------------------------------------------
def test_stems_render_the_same_in_any_block_size(soundfont):
    piece = small_piece()
    track = piece.tracks[0]
    track.controls = [ControlChange(Q, 64, 127), ControlChange(5 * Q, 64, 0)]
    whole = render_track(piece, track, soundfont, SR)
    # 1100-sample blocks: events fall inside blocks and the 441-sample declick ramp spans the last two
    assert len(whole) % 1100 < round(0.01 * SR)
    blocks = np.concatenate([b.copy() for b in synth.render_blocks(piece, track, soundfont, SR, block=1100)])
    assert np.array_equal(blocks, whole)


def long_stem(path: Path, sec: float, freq: float, channels: int = 2) -> Path:
    """A stem written a block at a time, so making it holds no long array."""
    with sf.SoundFile(path, "w", SR, channels, "PCM_16") as f:
        for at in range(0, round(sec * SR), SR):
            t = np.arange(at, min(at + SR, round(sec * SR))) / SR
            block = 0.2 * np.sin(2 * np.pi * freq * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 0.1 * t))
            f.write(np.repeat(block[:, None], channels, axis=1))
    return path


def test_mixing_files_streams_in_flat_memory_and_equals_the_mix_in_memory(tmp_path):
    import tracemalloc

    paths = {f"s{i}": long_stem(tmp_path / f"s{i}.wav", 90 - 20 * i, 110 * (i + 1), channels=1 + (i > 0))
             for i in range(3)}  # different lengths, one mono
    tracemalloc.start()
    try:
        out = mix_stems(paths, tmp_path / "mix.wav", SR)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 12e6  # one 90-s stem alone is 32 MB as float32 stereo
    arrays = {k: sf.read(p, dtype="float32", always_2d=True)[0] for k, p in paths.items()}
    expected = tmp_path / "expected.wav"
    sf.write(expected, np.clip(mix(arrays, SR), -1.0, 1.0), SR, subtype="PCM_16")
    assert out.read_bytes() == expected.read_bytes()
    audio, _ = sf.read(out)
    assert len(audio) == 90 * SR and integrated_loudness(audio, SR) == pytest.approx(-16.0, abs=0.05)


def test_rendering_a_long_track_streams_in_flat_memory(tmp_path, soundfont):
    import tracemalloc

    notes = [Note(i * Q, Q // 2, 60 + i % 12, 90) for i in range(240)]  # 2 minutes at 120 bpm
    piece = Piece([Track("piano", 0, False, notes)], end_tick=240 * Q)
    tracemalloc.start()
    try:
        paths = render_stems(piece, tmp_path, soundfont, SR)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8e6  # the whole stem would be 42 MB as float32 stereo
    assert sf.info(paths["piano"]).frames == 120 * SR


def whole_array_loudness(audio: np.ndarray, sample_rate: int) -> float:
    """The meter as it was before streaming (filter the whole signal, then gate): the reference for the new one."""
    from framescore.render.mix import _k_kernel

    x = np.asarray(audio, dtype=np.float32)
    x = x[:, None] if x.ndim == 1 else x
    n = len(x)
    if n == 0 or not np.any(x):
        return float("-inf")
    spectrum, taps = _k_kernel(sample_rate)
    n_fft = 2 * (len(spectrum) - 1)
    hop = n_fft - taps + 1
    block, step = min(round(0.4 * sample_rate), n), round(0.1 * sample_rate)
    starts = np.arange(0, n - block + 1, step)
    power = np.zeros(len(starts))
    for ch in range(x.shape[1]):
        y = np.zeros(n + n_fft)
        for start in range(0, n, hop):
            y[start:start + n_fft] += np.fft.irfft(np.fft.rfft(x[start:start + hop, ch], n_fft) * spectrum, n_fft)
        energy = np.concatenate(([0.0], np.cumsum(np.square(y[:n], dtype=np.float64))))
        power += (energy[starts + block] - energy[starts]) / block
    with np.errstate(divide="ignore"):
        loudness = -0.691 + 10.0 * np.log10(power)
    gated = power[loudness > -70.0]
    if not len(gated):
        return float("-inf")
    relative = -0.691 + 10.0 * np.log10(gated.mean()) - 10.0
    return float(-0.691 + 10.0 * np.log10(power[(loudness > -70.0) & (loudness > relative)].mean()))


@pytest.mark.parametrize("sr", [44100, 48000, 11025])
def test_streaming_loudness_equals_the_whole_array_meter(sr):
    from framescore.render.mix import LoudnessMeter

    rng = np.random.default_rng(sr)
    for sec in (0.25, 0.4, 7.3):
        n = round(sec * sr)
        x = (rng.standard_normal((n, 2)) * np.linspace(0.01, 0.3, n)[:, None]).astype(np.float32)
        x[: n // 3] *= 0.01  # a quiet stretch for the relative gate
        reference = whole_array_loudness(x, sr)
        assert integrated_loudness(x, sr) == pytest.approx(reference, abs=1e-6)
        meter = LoudnessMeter(sr)
        for at in range(0, n, 3001):  # pieces of any size, not a multiple of anything
            meter.feed(x[at:at + 3001])
        assert meter.loudness() == pytest.approx(reference, abs=1e-6)


# ----- what a MIDI file holds reaches the audio ----------------------------------------------------------------
def sounds_until(audio: np.ndarray, floor_db: float = -60.0) -> float:
    """The last time (s) the 10-ms envelope is within ``floor_db`` of the peak."""
    hop = SR // 100
    mono = np.abs(audio).max(axis=1)
    env = mono[: len(mono) // hop * hop].reshape(-1, hop).max(axis=1)
    return (np.nonzero(env > env.max() * 10 ** (floor_db / 20))[0][-1] + 1) * hop / SR


def peak_hz(audio: np.ndarray, start: float, stop: float) -> float:
    seg = audio[round(start * SR):round(stop * SR)].mean(axis=1)
    spectrum = np.abs(np.fft.rfft(seg * np.hanning(len(seg))))
    return float(np.argmax(spectrum) * SR / len(seg))


def one_note(program: int = 0, sec: float = 4.0, **events) -> tuple[Piece, Track]:
    """A 1-s C4 (or A4 for bends) alone in a ``sec``-long piece, with the given events."""
    pitch = 69 if "pitch_bends" in events else 60
    track = Track("solo", program, False, [Note(0, 2 * Q, pitch, 90)], **events)
    return Piece([track], end_tick=round(sec * 2 * Q)), track


def test_the_sustain_pedal_rings_a_note_past_its_note_off(soundfont):
    dry = render_track(*one_note(), soundfont, SR)
    pedal = render_track(*one_note(controls=[ControlChange(0, 64, 127), ControlChange(6 * Q, 64, 0)]), soundfont, SR)
    assert sounds_until(dry) < 1.8  # the note-off at 1 s, then the release
    assert sounds_until(pedal) > 3.0  # held by the pedal (up at 3 s), then the release


def test_pitch_bends_and_the_bend_range_rpn_move_the_pitch(soundfont):
    flute = 73
    plain = peak_hz(render_track(*one_note(flute, pitch_bends=[]), soundfont, SR), 0.2, 0.9)
    up = peak_hz(render_track(*one_note(flute, pitch_bends=[PitchBend(0, 4096)]), soundfont, SR), 0.2, 0.9)
    octave = peak_hz(render_track(*one_note(flute, pitch_bends=[PitchBend(0, 8191)], controls=[
        ControlChange(0, 101, 0), ControlChange(0, 100, 0), ControlChange(0, 6, 12), ControlChange(0, 38, 0)]),
        soundfont, SR), 0.2, 0.9)
    assert up / plain == pytest.approx(2 ** (1 / 12), rel=0.01)  # half the default 2-semitone range
    assert octave / plain == pytest.approx(2.0, rel=0.01)  # the whole of a 12-semitone range


def test_volume_and_pan_controllers_are_played(soundfont):
    loud = render_track(*one_note(), soundfont, SR)
    muted = render_track(*one_note(controls=[ControlChange(0, 7, 0)]), soundfont, SR)
    assert np.abs(muted).max() < 1e-3 * np.abs(loud).max()

    def left_over_right_db(pan: int | None) -> float:  # an organ: a mono sample (the reverb stays stereo)
        audio = render_track(*one_note(19, controls=[] if pan is None else [ControlChange(0, 10, pan)]), soundfont, SR)
        rms = np.sqrt(np.mean(np.square(audio), axis=0))
        return float(20 * np.log10(rms[0] / rms[1]))

    assert abs(left_over_right_db(None)) < 1.0
    assert left_over_right_db(0) > 12.0 and left_over_right_db(127) < -12.0


def test_a_program_change_mid_track_changes_the_instrument(soundfont):
    notes = [Note(0, 2 * Q, 60, 90), Note(4 * Q, 2 * Q, 60, 90)]  # C4 at 0 s and again at 2 s
    piece = Piece([Track("x", 0, False, notes)], end_tick=8 * Q)
    piano = render_track(piece, piece.tracks[0], soundfont, SR)
    changed = Track("x", 0, False, notes, programs=[ProgramChange(3 * Q, 40)])  # violin from 1.5 s
    violin = render_track(piece, changed, soundfont, SR)
    assert np.array_equal(piano[: round(1.5 * SR)], violin[: round(1.5 * SR)])

    def spectrum(a: np.ndarray) -> np.ndarray:
        s = np.abs(np.fft.rfft(a[round(2.2 * SR):round(2.8 * SR)].mean(axis=1)))
        return s / np.linalg.norm(s)

    assert float(spectrum(piano) @ spectrum(violin)) < 0.7


def midi_file(path: Path, *events: tuple[int, mido.Message], name: str = "piano") -> Path:
    track, last = mido.MidiTrack([mido.MetaMessage("track_name", name=name)]), 0
    for tick, m in sorted(events, key=lambda e: e[0]):
        track.append(m.copy(time=tick - last))
        last = tick
    f = mido.MidiFile(type=1, ticks_per_beat=Q)
    f.tracks.append(track)
    f.save(path)
    return path


def test_a_foreign_files_pedal_survives_into_the_mix(tmp_path, soundfont):
    from framescore.symbolic.midi_io import read_midi

    def rendered(pedal: bool) -> np.ndarray:
        events = [(0, mido.Message("note_on", note=60, velocity=90)), (2 * Q, mido.Message("note_off", note=60)),
                  (8 * Q, mido.Message("control_change", control=7, value=100))]  # the file lasts 4 s
        if pedal:
            events += [(0, mido.Message("control_change", control=64, value=127)),
                       (6 * Q, mido.Message("control_change", control=64, value=0))]
        out = tmp_path / ("pedal" if pedal else "dry")
        stems = render_stems(read_midi(midi_file(out.with_suffix(".mid"), *events)), out, soundfont, SR)
        audio, _ = sf.read(mix_stems(stems, out / "mix.wav", SR, fade_sec=0.0))
        return audio

    assert sounds_until(rendered(False)) < 1.8
    assert sounds_until(rendered(True)) > 3.0


def test_a_note_without_note_off_sounds_until_its_track_ends(tmp_path, soundfont):
    from framescore.symbolic.midi_io import read_midi

    organ = [(0, mido.Message("program_change", program=19)), (0, mido.Message("note_on", note=60, velocity=90)),
             (6 * Q, mido.Message("control_change", control=7, value=100))]  # no note-off; the track ends at 3 s
    piece = read_midi(midi_file(tmp_path / "a.mid", *organ))
    audio = render_track(piece, piece.tracks[0], soundfont, SR)
    assert len(audio) == 3 * SR
    late, early = (np.sqrt(np.mean(np.square(audio[round(a * SR):round(b * SR)]))) for a, b in ((2.5, 2.9), (0.5, 0.9)))
    assert late > 0.5 * early
