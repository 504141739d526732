"""The editor's temp track: is there music under the picture, and if so, its tempo and beats.

Many edits are cut to a piece of music (the temp track). ``--follow-audio`` listens to the input video's own
audio and, when it holds music, hands its beat grid to the timing (``features.soundtrack``), so cuts that were
made on that track's beats stay on the new score's beats.

**Decoding, in flat memory.** ffmpeg (started through :mod:`framescore.lifecycle`, so it ends with the run)
decodes the first audio stream to mono float32 at 22050 Hz and streams it through a pipe; the samples become
log-mel frames as they come (:class:`OnsetEnvelope`: librosa's centred framing, ``n_fft`` 1024 (46 ms), hop 256,
128 bands), kept as float16: 22 kB a second of audio, a quarter of the samples. The onset envelope made from
them is librosa's ``onset_strength`` to rounding, and the tempo comes from librosa's tempogram averaged block by
block (:func:`mean_tempogram`; librosa's own builds the whole at once, 1.7 GB for 10 minutes). Measured on a
10-minute clip: 46 MB above the imports.

**Is it music?** Four conditions, each with its measured figure in :class:`SoundtrackAnalysis`:

1. *Long enough*: at least ``MIN_MUSIC_SEC`` (4 s) of audio, so a tempo has some beats to stand on.
2. *Loud enough*: the RMS level is at least ``MIN_LEVEL_DBFS`` (-50 dBFS). Digital silence and room tone are
   below it; audio mixed for listening is far above (the rendered music here: -26.5 to -20 dBFS).
3. *A clear pulse*: music with a beat has an onset envelope that repeats itself at the beat period. **Pulse
   clarity** is the peak of the envelope's mean-removed, normalised autocorrelation over lags of 0.25-1.5 s
   (240-40 bpm), in 8-s windows every 2 s, the median over the windows (:func:`pulse_clarity`). At least
   ``MIN_PULSE_CLARITY`` (0.30).
4. *A strong pulse*: the same peak as an amplitude, in dB of onset rise, at least ``MIN_PULSE_DB`` (0.30): a held
   chord's envelope is periodic too (its partials beat against the frame rate) but only by a tenth of a dB.

Measured (rendered with FluidSynth from POP909, and made in code): 40 POP909 excerpts (20 songs, their first
10 s and 30 s from 20 s in) have clarity 0.15-0.87, 37 of them at or above 0.30 (median 0.65), strength
0.60-1.78 dB; two rule-engine pieces 0.50 and 0.61; the shared clip moviepy__chaplin.mp4 (piano music) 0.56.
Not music: silence, room tone at -65 dBFS, white and pink noise (clarity 0.08-0.10), noise bursts at random
times (0.15), speech-like syllables (0.13), a held chord (clarity 0.83 but strength 0.15 dB); all refused.
Music under white noise at equal loudness (0 dB SNR) is refused too (clarity 0.25).

With music found, ``librosa.feature.tempo`` and :func:`librosa.beat.beat_track` on the same envelope give the
beats; they are moved ``BEAT_LATENCY_SEC`` earlier (the envelope peaks that much after an attack) and the tempo is
the slope of a line through them (the tracker's estimate is quantised to whole frames of lag, about 1% at
120 bpm, and kept beside it).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import lifecycle, media
from ..errors import FramescoreError

__all__ = ["BEAT_LATENCY_SEC", "BeatGrid", "MIN_LEVEL_DBFS", "MIN_MUSIC_SEC", "MIN_PULSE_CLARITY", "MIN_PULSE_DB",
           "OnsetEnvelope", "SAMPLE_RATE", "SoundtrackAnalysis", "analyse_samples", "analyse_soundtrack",
           "decode_audio", "mean_tempogram", "pulse_clarity", "snap_cuts"]

SAMPLE_RATE = 22050  # librosa's default rate: its beat tracker's settings are tuned for it
N_FFT = 1024
HOP = 256  # 11.6 ms frames, 86 a second
N_MELS = 128
TOP_DB = 80.0  # librosa.power_to_db's floor below the loudest bin
MIN_MUSIC_SEC = 4.0
MIN_LEVEL_DBFS = -50.0
MIN_PULSE_CLARITY = 0.30
MIN_PULSE_DB = 0.30
CLARITY_WINDOW_SEC = 8.0
CLARITY_STEP_SEC = 2.0
CLARITY_LAGS_SEC = (0.25, 1.5)  # beat periods looked for: 240 .. 40 bpm
DECODE_BLOCK = 1 << 16  # samples read from ffmpeg at a time
#: How late the onset envelope's peaks come after the attacks that make them, with this window (46 ms): measured
#: on clicks and tone bursts made in code (5-19 ms) and on FluidSynth piano and drums at known note-ons (8-26 ms,
#: median 12.6 ms). The beats are moved earlier by it, so they fall on the attacks an editor cuts on.
BEAT_LATENCY_SEC = 0.012


@dataclass(frozen=True)
class BeatGrid:
    """The beats of the video's own music: what the timing follows with ``--follow-audio``.

    ``tempo_bpm`` is the straight-line fit through ``beats`` (seconds from the start of the video);
    ``confidence`` is the pulse clarity (0..1) that let the music through.
    """

    tempo_bpm: float
    beats: list[float]
    confidence: float
    tracker_tempo_bpm: float = 0.0  # librosa.beat.beat_track's own estimate, quantised to whole frames of lag
    level_dbfs: float = 0.0

    @property
    def period_sec(self) -> float:
        return 60.0 / self.tempo_bpm

    @property
    def first_beat_sec(self) -> float:
        return self.beats[0] if self.beats else 0.0

    def nearest(self, t: float) -> float:
        """The beat nearest ``t`` seconds (``t`` itself when there are no beats)."""
        if not self.beats:
            return t
        b = np.asarray(self.beats)
        return float(b[np.argmin(np.abs(b - t))])

    def summary(self) -> dict[str, Any]:
        """JSON-able, for the plan's ``source`` (the beats rounded to the millisecond)."""
        d = asdict(self)
        d["beats"] = [round(float(b), 3) for b in self.beats]
        return {k: (round(float(v), 4) if isinstance(v, float) else v) for k, v in d.items()}


@dataclass
class SoundtrackAnalysis:
    """What listening to a video's audio found: ``grid`` when there is music, else None; ``reason`` says why,
    ``figures`` holds the measured values the rule compared (for the plan's ``source``)."""

    grid: BeatGrid | None
    reason: str
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def music(self) -> bool:
        return self.grid is not None

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"music": self.music, "reason": self.reason,
                               "figures": {k: (round(float(v), 4) if isinstance(v, float) else v)
                                           for k, v in self.figures.items()}}
        if self.grid is not None:
            out["beat_grid"] = self.grid.summary()
        return out


class AudioError(FramescoreError):
    """ffmpeg could not decode the audio stream (the caller turns it into a 'no music' reason)."""


# ----- the onset envelope, streamed ----------------------------------------------------------------------------
class OnsetEnvelope:
    """librosa's ``onset_strength(y, sr)`` fed a block of samples at a time, holding log-mel frames only.

    The framing is librosa's centred STFT (``n_fft // 2`` zeros before the first sample and after the last), so
    frame ``k`` is centred on sample ``k * hop``; the 80-dB floor of ``power_to_db`` is applied at the end,
    against the loudest bin of the whole signal, as librosa does. Also sums the squares for the RMS level.
    """

    def __init__(self, sr: int = SAMPLE_RATE, n_fft: int = N_FFT, hop: int = HOP, n_mels: int = N_MELS) -> None:
        import librosa

        self.sr, self.n_fft, self.hop = sr, n_fft, hop
        self._mel = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels).astype(np.float32)
        self._window = librosa.filters.get_window("hann", n_fft, fftbins=True).astype(np.float32)
        self._pending = np.zeros(n_fft // 2, dtype=np.float32)
        self._frames: list[np.ndarray] = []  # log-mel frames (bands x frames), float16, one array a block fed
        self._max_db = -100.0
        self.n_samples = 0
        self._sum_sq = 0.0

    def feed(self, x: np.ndarray) -> None:
        x = np.asarray(x, dtype=np.float32).ravel()
        self.n_samples += len(x)
        self._sum_sq += float(np.dot(x.astype(np.float64), x))
        self._frame(x)

    def _frame(self, x: np.ndarray) -> None:
        import librosa

        buf = np.concatenate([self._pending, x])
        n = 1 + (len(buf) - self.n_fft) // self.hop if len(buf) >= self.n_fft else 0
        if n > 0:
            seg = buf[:(n - 1) * self.hop + self.n_fft]
            spec = librosa.stft(seg, n_fft=self.n_fft, hop_length=self.hop, window=self._window, center=False)
            power = np.abs(spec) ** 2
            db = 10.0 * np.log10(np.maximum(1e-10, self._mel @ power))  # power_to_db, ref 1, floor applied later
            self._max_db = max(self._max_db, float(db.max()))
            self._frames.append(db.astype(np.float16))  # dB to 0.06 dB: half the memory, rises unchanged
        self._pending = buf[n * self.hop:]

    @property
    def seconds(self) -> float:
        return self.n_samples / self.sr

    @property
    def level_dbfs(self) -> float:
        """RMS level of everything fed, in dB below a full-scale square wave (-inf for silence: -200)."""
        if self.n_samples == 0:
            return -200.0
        ms = self._sum_sq / self.n_samples
        return float(10.0 * np.log10(ms)) if ms > 1e-20 else -200.0

    def finish(self) -> np.ndarray:
        """The onset envelope, one value per frame (``1 + n_samples // hop`` of them).

        librosa's ``onset_strength`` on the frames, block by block so nothing the size of the whole is made: each
        bin floored 80 dB below the loudest, the mean over the bands of each rise over the frame before, and as
        many zeros in front as librosa puts there (the lag and the centring shift, ``n_fft // (2 * hop)``).
        """
        self._frame(np.zeros(self.n_fft // 2, dtype=np.float32))
        n = 1 + self.n_samples // self.hop
        rises, prev = [np.zeros(1 + self.n_fft // (2 * self.hop), dtype=np.float32)], None
        floor = self._max_db - TOP_DB
        for block in self._frames:
            db = np.maximum(block.astype(np.float32), floor)
            step = np.diff(db if prev is None else np.concatenate([prev, db], axis=1), axis=1)
            rises.append(np.maximum(step, 0.0).mean(axis=0))
            prev = db[:, -1:]
        self._frames = []
        env = np.concatenate(rises)[:n]
        return np.pad(env, (0, n - len(env)))


def pulse_clarity(env: np.ndarray, sr: int = SAMPLE_RATE, hop: int = HOP) -> tuple[float, float, list[float]]:
    """How clearly the onset envelope repeats at a beat period, in 8-s windows every 2 s (the whole envelope when
    shorter): ``(clarity, strength, per-window clarity)``.

    A window's *clarity* is the peak of the mean-removed autocorrelation at lags of 0.25-1.5 s over its value at
    lag 0 (0..1: how much of the envelope's variation repeats); its *strength* is the square root of that peak
    (the biased covariance), in the envelope's own unit, dB of rise per frame averaged over the mel bands: a
    sustained chord's envelope wobbles with a period too (its partials beat against the frame rate) but by a
    tenth of a dB, a beat rises by whole dBs. The clip's figures are the medians over its windows.
    """
    import librosa

    fps = sr / hop
    lo, hi = (int(round(s * fps)) for s in CLARITY_LAGS_SEC)
    win, step = int(round(CLARITY_WINDOW_SEC * fps)), int(round(CLARITY_STEP_SEC * fps))
    env = np.asarray(env, dtype=np.float64)
    if len(env) <= win:
        starts, win = [0], len(env)
    else:
        starts = list(range(0, len(env) - win + 1, step))
    clarity, strength = [], []
    for s in starts:
        x = env[s:s + win] - env[s:s + win].mean()
        if len(x) <= lo + 1:
            clarity.append(0.0)
            strength.append(0.0)
            continue
        ac = librosa.autocorrelate(x, max_size=min(hi, len(x) - 1) + 1) / len(x)
        peak = float(ac[lo:].max())
        clarity.append(peak / float(ac[0]) if ac[0] > 1e-12 else 0.0)
        strength.append(float(np.sqrt(max(peak, 0.0))))
    return float(np.median(clarity)), float(np.median(strength)), clarity


# ----- decoding --------------------------------------------------------------------------------------------------
def _audio_stream(path: Path) -> bool:
    return media.probe(path).audio is not None


def _decode_into(path: Path, sink: OnsetEnvelope, sr: int) -> None:
    """Stream the first audio stream, mono at ``sr``, into ``sink``; :class:`AudioError` if ffmpeg fails."""
    cmd = [media.ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", "-v", "error",
           "-i", media.ffmpeg_url(path), "-map", "0:a:0", "-vn", "-sn", "-dn",
           "-ac", "1", "-ar", str(sr), "-f", "f32le", "-"]
    block = DECODE_BLOCK * 4
    with tempfile.TemporaryFile() as errlog:  # a file, not a pipe: a chatty ffmpeg never blocks on it
        proc = lifecycle.start(cmd, stdout=subprocess.PIPE, stderr=errlog, bufsize=block)
        rest = b""
        try:
            assert proc.stdout is not None
            while True:
                buf = proc.stdout.read(block)
                if not buf:
                    break
                buf = rest + buf
                usable = len(buf) - len(buf) % 4
                rest = buf[usable:]
                if usable:
                    sink.feed(np.frombuffer(buf[:usable], dtype="<f4"))
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        if proc.returncode != 0 and sink.n_samples == 0:
            errlog.seek(0)
            raise AudioError(media.last_line(errlog.read().decode(errors="replace")))


def decode_audio(path: str | os.PathLike, sr: int = SAMPLE_RATE) -> np.ndarray | None:
    """The first audio stream as mono float32 at ``sr`` (held whole: for tests and short clips); None without
    an audio stream."""
    p = Path(path)
    if not _audio_stream(p):
        return None
    chunks: list[np.ndarray] = []

    class _Collect:
        n_samples = 0

        def feed(self, x: np.ndarray) -> None:
            chunks.append(np.array(x, dtype=np.float32))
            self.n_samples += len(x)

    _decode_into(p, _Collect(), sr)  # type: ignore[arg-type]
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)


# ----- the decision ----------------------------------------------------------------------------------------------
def _decide(sink: OnsetEnvelope) -> SoundtrackAnalysis:
    seconds, level = sink.seconds, sink.level_dbfs
    figures: dict[str, Any] = {"seconds": seconds, "level_dbfs": level}
    rule = (f"music needs >= {MIN_MUSIC_SEC:g} s, a level >= {MIN_LEVEL_DBFS:g} dBFS, a pulse clarity >= "
            f"{MIN_PULSE_CLARITY:g} and strength >= {MIN_PULSE_DB:g} dB")
    if seconds < MIN_MUSIC_SEC:
        sink.finish()
        return SoundtrackAnalysis(None, f"the audio is {seconds:.1f} s long, too short for a tempo ({rule})", figures)
    env = sink.finish()
    clarity, strength, windows = pulse_clarity(env, sink.sr, sink.hop)
    figures["pulse_clarity"] = clarity
    figures["pulse_strength_db"] = strength
    figures["periodic_windows"] = f"{sum(v >= MIN_PULSE_CLARITY for v in windows)}/{len(windows)}"
    if level < MIN_LEVEL_DBFS:
        return SoundtrackAnalysis(None, f"the audio is silent or nearly so ({level:.1f} dBFS; {rule})", figures)
    if clarity < MIN_PULSE_CLARITY or strength < MIN_PULSE_DB:
        return SoundtrackAnalysis(None, f"no steady beat in the audio (pulse clarity {clarity:.2f}, strength "
                                        f"{strength:.2f} dB; {rule})", figures)
    grid = _beat_grid(env, sink.sr, sink.hop, clarity, level)
    if grid is None:
        return SoundtrackAnalysis(None, "the beat tracker found too few beats", figures)
    figures["tempo_bpm"] = grid.tempo_bpm
    return SoundtrackAnalysis(grid, f"music: a steady beat at {grid.tempo_bpm:.1f} bpm "
                                    f"(pulse clarity {clarity:.2f}, {level:.1f} dBFS; {rule})", figures)


def mean_tempogram(env: np.ndarray, sr: int = SAMPLE_RATE, hop: int = HOP, block: int = 1024) -> np.ndarray:
    """librosa's tempogram (8-s autocorrelation windows, as ``librosa.feature.tempo`` makes it) averaged over
    time, made ``block`` frames at a time: the whole tempogram of a 10-minute track is 689 lags by 52,000 frames,
    and librosa builds it (and its FFT) at once, 1.7 GB; averaged block by block it is the same numbers."""
    import librosa

    win = int(librosa.time_to_frames(8.0, sr=sr, hop_length=hop))
    n = len(env)
    padded = np.pad(np.asarray(env, dtype=np.float64), (win // 2, win // 2), mode="linear_ramp", end_values=[0, 0])
    window = librosa.filters.get_window("hann", win, fftbins=True)[:, None]
    total = np.zeros(win)
    for at in range(0, n, block):
        frames = librosa.util.frame(padded[at:at + min(block, n - at) + win - 1], frame_length=win, hop_length=1)
        tg = librosa.util.normalize(librosa.autocorrelate(frames * window, axis=0), norm=np.inf, axis=0)
        total += tg.sum(axis=1)
    return total / max(n, 1)


def _beat_grid(env: np.ndarray, sr: int, hop: int, clarity: float, level: float) -> BeatGrid | None:
    """librosa's tempo estimate (from the mean tempogram) and beat tracker on the envelope; the grid's tempo from
    a line fitted through its beats."""
    import librosa

    tempo = librosa.feature.tempo(tg=mean_tempogram(env, sr, hop)[:, None], sr=sr, hop_length=hop, aggregate=None)
    tempo = float(np.atleast_1d(tempo).ravel()[0])
    _, beats = librosa.beat.beat_track(onset_envelope=env, sr=sr, hop_length=hop, bpm=tempo, units="time")
    beats = np.asarray(beats, dtype=np.float64) - BEAT_LATENCY_SEC
    beats = beats[beats >= 0.0]
    if len(beats) < 4:
        return None
    slope, _ = np.polyfit(np.arange(len(beats)), beats, 1)
    return BeatGrid(tempo_bpm=float(60.0 / slope), beats=[float(b) for b in beats], confidence=clarity,
                    tracker_tempo_bpm=tempo, level_dbfs=level)


def snap_cuts(cuts: list[float], grid: BeatGrid, within_sec: float) -> tuple[list[float], list[tuple[float, float]]]:
    """Each cut within ``within_sec`` of a beat of the video's music moved onto that beat; the cuts, and the
    (from, to) of each one moved.

    An edit cut to a temp track has its cuts on the track's beats, but the picture is looked at only a few frames
    a second (8 by default), so a cut is found up to one analysis period from where it was made; the beat, found
    to about 10 ms, says where that was. A cut no beat is near stays where it was seen.
    """
    out, moved = [], []
    for c in cuts:
        b = grid.nearest(c)
        if b != c and abs(b - c) <= within_sec and b > 0.0:
            out.append(b)
            moved.append((c, b))
        else:
            out.append(c)
    return out, moved


def analyse_samples(y: np.ndarray, sr: int = SAMPLE_RATE) -> SoundtrackAnalysis:
    """The decision and beat grid for mono samples at ``sr`` (what :func:`analyse_soundtrack` does to a file)."""
    sink = OnsetEnvelope(sr)
    y = np.asarray(y, dtype=np.float32).ravel()
    for at in range(0, len(y), DECODE_BLOCK):
        sink.feed(y[at:at + DECODE_BLOCK])
    return _decide(sink)


def analyse_soundtrack(path: str | os.PathLike) -> SoundtrackAnalysis:
    """Listen to a video's own audio: a :class:`SoundtrackAnalysis` whose ``grid`` is None (with the reason) for
    a video without an audio stream, one that cannot be decoded, or audio that is not music."""
    p = Path(path)
    if not _audio_stream(p):
        return SoundtrackAnalysis(None, "the video has no audio stream")
    sink = OnsetEnvelope(SAMPLE_RATE)
    try:
        _decode_into(p, sink, SAMPLE_RATE)
    except AudioError as e:
        return SoundtrackAnalysis(None, f"the audio stream cannot be decoded ({e})")
    return _decide(sink)
