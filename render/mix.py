"""The stems summed into one stereo mix: faded, loudness-normalised (ITU-R BS.1770), kept below clipping.

Order matters: fades first, then the loudness is measured on what will be heard, then a peak ceiling (which can
only turn the mix down, leaving it a little under the target when a loud transient would otherwise clip).
Stems are mixed in blocks, twice over (measure, then apply the gain and write), so memory stays flat however long
the piece and however many its stems.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np

from .synth import RenderError

__all__ = ["mix", "mix_stems", "integrated_loudness", "LoudnessMeter", "TARGET_LUFS", "PEAK_DBFS"]

TARGET_LUFS = -16.0  # streaming platforms' and podcasts' usual target for stereo
PEAK_DBFS = -1.0  # sample-peak ceiling: leaves room for the AAC encoder's overshoot
BLOCK = 1 << 16  # samples mixed (and measured) at a time


def _fast_len(n: int) -> int:
    """The smallest 2^a 3^b 5^c >= n: a length pocketfft transforms fast, less padding than a power of two."""
    best = 1 << (n - 1).bit_length()
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            p = p35 << max(0, (-(-n // p35) - 1).bit_length())  # p35 times the smallest power of 2 reaching n
            best = min(best, p)
            p35 *= 3
        p5 *= 5
    return best


def _k_weighting(n_fft: int, sample_rate: int) -> np.ndarray:
    """BS.1770's K-weighting (high shelf, then high pass) at ``rfft`` bins, designed for any rate as libebur128 does."""
    k = np.tan(np.pi * 1681.974450955533 / sample_rate)
    q, vh = 0.7071752369554196, 10.0 ** (3.999843853973347 / 20.0)
    vb, a0 = vh ** 0.4996667741545416, 1.0 + k / q + k * k
    shelf_b = [(vh + vb * k / q + k * k) / a0, 2.0 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0]
    shelf_a = [1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0]
    k, q = np.tan(np.pi * 38.13547087602444 / sample_rate), 0.5003270373238773
    a0 = 1.0 + k / q + k * k
    hp_b, hp_a = [1.0, -2.0, 1.0], [1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0]
    z = np.exp(np.arange(n_fft // 2 + 1) * (-2j * np.pi / n_fft))  # z^-1 on the unit circle
    response = np.ones_like(z)
    for b, a in ((shelf_b, shelf_a), (hp_b, hp_a)):
        response *= (b[0] + z * (b[1] + z * b[2])) / (a[0] + z * (a[1] + z * a[2]))
    return response.astype(np.complex64)


_FFT_BLOCK = 1 << 17  # overlap-add block: the filter costs O(n log block), not O(n log n) on the whole signal


def _k_kernel(sample_rate: int) -> tuple[np.ndarray, int]:
    """The K-weighting filter's impulse response, kept for half a second, as its spectrum at ``_FFT_BLOCK``."""
    taps = sample_rate // 2
    n_fft = max(_FFT_BLOCK, _fast_len(4 * taps))
    h = np.fft.irfft(_k_weighting(n_fft, sample_rate), n_fft)[:taps]
    return np.fft.rfft(h, n_fft).astype(np.complex64), taps


class _KFilter:
    """The K-weighting of one channel by overlap-add, fed in pieces of any size.

    It cuts the input into the same hops from sample 0 whatever the pieces are, so what comes out is the same,
    to the bit, as filtering the whole signal at once; it holds one FFT frame, not the signal.
    """

    def __init__(self, kernel: tuple[np.ndarray, int]) -> None:
        self.spectrum, taps = kernel
        self.n_fft = 2 * (len(self.spectrum) - 1)
        self.hop = self.n_fft - taps + 1
        self.pending = np.zeros(0, dtype=np.float32)
        self.acc = np.zeros(self.n_fft, dtype=np.float64)

    def _segment(self, seg: np.ndarray) -> np.ndarray:
        self.acc += np.fft.irfft(np.fft.rfft(seg, self.n_fft) * self.spectrum, self.n_fft)
        out = self.acc[:len(seg)].copy()
        self.acc[:-self.hop] = self.acc[self.hop:]
        self.acc[-self.hop:] = 0.0
        return out

    def feed(self, x: np.ndarray) -> list[np.ndarray]:
        """Filtered samples that are final, in order (a hop at a time; none until a hop has come in)."""
        x = np.concatenate([self.pending, np.asarray(x, dtype=np.float32)]) if len(self.pending) else x
        out, at = [], 0
        while len(x) - at >= self.hop:
            out.append(self._segment(x[at:at + self.hop]))
            at += self.hop
        self.pending = np.array(x[at:], dtype=np.float32)
        return out

    def flush(self) -> list[np.ndarray]:
        """The rest, up to the last sample fed (the filter's tail beyond it is dropped, as a signal ends)."""
        seg, self.pending = self.pending, np.zeros(0, dtype=np.float32)
        return [self._segment(seg)] if len(seg) else []


class LoudnessMeter:
    """Integrated loudness (ITU-R BS.1770-4) of a signal fed block by block: memory stays flat with its length.

    K-weighted energy is summed as it streams; the running sum is kept at every 100-ms step and 400 ms after it,
    which is all the gating needs. ``feed`` takes float ``(samples, channels)`` (or mono ``(samples,)``);
    ``loudness()`` ends the measurement.
    """

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self.kernel = _k_kernel(sample_rate)
        self.block, self.step = round(0.4 * sample_rate), round(0.1 * sample_rate)
        self.filters: list[_KFilter] = []
        self.queued: list[list[np.ndarray]] = []  # per channel: filtered samples not yet summed
        self.n = 0  # samples fed
        self.done = 0  # samples summed
        self.energy = 0.0  # running sum of weighted squares over the first `done` samples
        self.at_start = [0.0]  # running sum at k * step
        self.at_end: list[float] = []  # running sum at k * step + block
        self.heard = False

    def feed(self, audio: np.ndarray) -> None:
        x = np.asarray(audio, dtype=np.float32)
        x = x[:, None] if x.ndim == 1 else x
        if not self.filters:
            self.filters = [_KFilter(self.kernel) for _ in range(x.shape[1])]
            self.queued = [[] for _ in range(x.shape[1])]
        self.n += len(x)
        self.heard = self.heard or bool(np.any(x))
        for ch, f in enumerate(self.filters):
            self.queued[ch] += f.feed(x[:, ch])
        self._sum()

    def _sum(self) -> None:
        """Sum what every channel has ready: weighted squares, channel by channel, in one running total."""
        ready = min((sum(len(a) for a in q) for q in self.queued), default=0)
        if not ready:
            return
        power = np.zeros(ready, dtype=np.float64)
        for ch, q in enumerate(self.queued):
            y = np.concatenate(q)
            gain = 1.41 if ch in (3, 4) else 1.0  # surround channels, for completeness
            power += gain * np.square(y[:ready], dtype=np.float64)
            self.queued[ch] = [y[ready:]] if len(y) > ready else []
        cum = self.energy + np.cumsum(power)  # cum[i] = the running sum over samples < done + i + 1
        lo, hi = self.done + 1, self.done + ready
        for marks, offset in ((self.at_start, 0), (self.at_end, self.block)):
            k0 = max(0, -(-(lo - offset) // self.step))
            k1 = (hi - offset) // self.step
            if k1 >= k0:
                marks.extend(cum[offset + self.step * np.arange(k0, k1 + 1) - self.done - 1].tolist())
        self.energy, self.done = float(cum[-1]), hi

    def loudness(self) -> float:
        """LUFS of everything fed; ``-inf`` for silence. Shorter than one 400-ms block: measured as one block."""
        for ch, f in enumerate(self.filters):
            self.queued[ch] += f.flush()
        self._sum()
        n = self.n
        if n == 0 or not self.heard:
            return float("-inf")
        if n < self.block:
            power = np.array([self.energy / n])
        else:
            count = (n - self.block) // self.step + 1
            power = (np.array(self.at_end[:count]) - np.array(self.at_start[:count])) / self.block
        return _gated(power)


def _gated(power: np.ndarray) -> float:
    """BS.1770's gating of 400-ms block powers: absolute at -70 LUFS, then relative at -10 LU."""
    with np.errstate(divide="ignore"):
        loudness = -0.691 + 10.0 * np.log10(power)
    gated = power[loudness > -70.0]
    if not len(gated):
        return float("-inf")
    relative = -0.691 + 10.0 * np.log10(gated.mean()) - 10.0
    return float(-0.691 + 10.0 * np.log10(power[(loudness > -70.0) & (loudness > relative)].mean()))


def integrated_loudness(audio: np.ndarray, sample_rate: int) -> float:
    """Integrated loudness in LUFS (ITU-R BS.1770-4: K-weighted, 400 ms blocks, absolute and relative gates).

    Written with numpy alone: importing scipy.signal (which pyloudnorm filters with) takes longer (~2 s) than
    rendering a short piece. The filter runs in the frequency domain with half a second of zero padding, which
    matches the recursive filter to float32 precision. ``-inf`` for silence; audio shorter than one block is
    measured as a single block. :class:`LoudnessMeter` measures a signal too long to hold.
    """
    meter = LoudnessMeter(sample_rate)
    x = np.asarray(audio)
    for at in range(0, len(x), BLOCK):
        meter.feed(x[at:at + BLOCK])
    return meter.loudness()


# ----- mixing --------------------------------------------------------------------------------------------------
class _Stem:
    """A stem read block by block as float32 stereo: an array, or a WAV file kept open."""

    def __init__(self, name: str, source: np.ndarray | str | Path, sample_rate: int) -> None:
        self.name, self.file, self.array = name, None, None
        if isinstance(source, np.ndarray):
            self.array = _stereo(source, name)
            self.length = len(self.array)
            return
        import soundfile as sf

        try:
            self.file = sf.SoundFile(os.fsencode(source))  # bytes: a name need not decode
        except (OSError, RuntimeError) as e:  # soundfile raises LibsndfileError (a RuntimeError) for bad files
            raise RenderError(f"cannot read stem {source}: {e}") from None
        if self.file.samplerate != sample_rate:
            self.close()
            raise RenderError(f"stem {source} is at {self.file.samplerate} Hz, expected {sample_rate} Hz")
        if self.file.channels not in (1, 2):
            self.close()
            raise RenderError(f"stem {name!r} has {self.file.channels} channels, expected 1 or 2")
        self.length = self.file.frames

    def rewind(self) -> None:
        if self.file is not None:
            self.file.seek(0)

    def add_to(self, out: np.ndarray, start: int) -> None:
        """Add samples ``start:start + len(out)`` (silence past the end) into ``out``."""
        if start >= self.length:
            return
        if self.array is not None:
            part = self.array[start:start + len(out)]
        else:
            part = self.file.read(min(len(out), self.length - start), dtype="float32", always_2d=True)
        out[:len(part)] += part  # broadcasts a mono file over both channels

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


def _fade(n: int, start: int, stop: int) -> np.ndarray:
    """Samples ``start:stop`` of a raised cosine from 1 to 0 over ``n`` samples: no corner at either end."""
    if n == 1:
        return np.ones(stop - start, dtype=np.float32)
    return (0.5 * (1.0 + np.cos(np.arange(start, stop) * (np.pi / (n - 1))))).astype(np.float32)


def _mixed_blocks(stems: list[_Stem], length: int, sample_rate: int, fade_sec: float, fade_in_sec: float,
                  block: int = BLOCK) -> Iterator[tuple[int, np.ndarray]]:
    """(start, the stems' sum there, faded) block by block; the fade-in and fade-out are placed on the length."""
    n_in = min(length, round(max(fade_in_sec, 0.0) * sample_rate))
    n_out = min(round(max(fade_sec, 0.0) * sample_rate), length // 10)
    for stem in stems:
        stem.rewind()
    for b0 in range(0, length, block):
        b1 = min(b0 + block, length)
        out = np.zeros((b1 - b0, 2), dtype=np.float32)
        for stem in stems:
            stem.add_to(out, b0)
        if b0 < n_in:  # the fade-in is the fade-out's curve backwards
            i1 = min(b1, n_in)
            out[:i1 - b0] *= _fade(n_in, n_in - i1, n_in - b0)[::-1, None]
        o0 = length - n_out
        if n_out and b1 > o0:
            s0 = max(b0, o0)
            out[s0 - b0:] *= _fade(n_out, s0 - o0, b1 - o0)[:, None]
        yield b0, out


def _gain(lufs: float, peak: float, target_lufs: float | None, peak_dbfs: float) -> float:
    """The loudness target's gain, then turned down if the peak would pass the ceiling."""
    gain = 1.0
    if target_lufs is not None and np.isfinite(lufs):
        gain = 10.0 ** ((target_lufs - lufs) / 20.0)
    ceiling = 10.0 ** (peak_dbfs / 20.0)
    if peak * gain > ceiling:
        gain *= ceiling / (peak * gain)
    return gain


def _measure(stems: list[_Stem], length: int, sample_rate: int, fade_sec: float, fade_in_sec: float,
             measure_loudness: bool) -> tuple[float, float]:
    """Pass 1: the faded mix's integrated loudness (``nan`` when not asked) and sample peak."""
    meter = LoudnessMeter(sample_rate) if measure_loudness else None
    peak = 0.0
    for _, out in _mixed_blocks(stems, length, sample_rate, fade_sec, fade_in_sec):
        if meter is not None:
            meter.feed(out)
        peak = max(peak, float(np.max(np.abs(out))))
    return (meter.loudness() if meter is not None else float("nan")), peak


def _stereo(audio: np.ndarray, name: str) -> np.ndarray:
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio[:, None]
    if audio.ndim != 2 or audio.shape[1] not in (1, 2):
        raise RenderError(f"stem {name!r} has shape {audio.shape}, expected (samples,) or (samples, 1|2)")
    return np.repeat(audio, 2, axis=1) if audio.shape[1] == 1 else audio


def mix(stems: Mapping[str, np.ndarray], sample_rate: int, target_lufs: float | None = TARGET_LUFS,
        fade_sec: float = 1.0, fade_in_sec: float = 0.005, peak_dbfs: float = PEAK_DBFS) -> np.ndarray:
    """Sum stems (shorter ones padded with silence) into float32 stereo ``(n, 2)``, held whole (for arrays in
    memory; :func:`mix_stems` streams files).

    The fade-out lasts ``min(fade_sec, 10% of the length)``; ``target_lufs=None`` skips loudness normalisation.
    Silence stays silence (no gain, no NaN).
    """
    parts = [_Stem(name, np.asarray(a), sample_rate) for name, a in stems.items()]
    length = max((p.length for p in parts), default=0)
    out = np.zeros((length, 2), dtype=np.float32)
    if not length:
        return out
    lufs, peak = _measure(parts, length, sample_rate, fade_sec, fade_in_sec, target_lufs is not None)
    gain = np.float32(_gain(lufs, peak, target_lufs, peak_dbfs))
    for b0, block in _mixed_blocks(parts, length, sample_rate, fade_sec, fade_in_sec):
        out[b0:b0 + len(block)] = block * gain
    return out


def mix_stems(stems: Mapping[str, np.ndarray | str | Path], out_path: str | Path, sample_rate: int = 44100,
              target_lufs: float | None = TARGET_LUFS, fade_sec: float = 1.0, fade_in_sec: float = 0.005,
              peak_dbfs: float = PEAK_DBFS) -> Path:
    """Mix stems (arrays, or WAV paths as :func:`render_stems` returns) into a 16-bit stereo WAV; see :func:`mix`.

    Streams in two passes over the stems, a block at a time: the first measures the faded mix's loudness and
    peak, the second applies the gain and writes. Memory does not grow with the length or the number of stems.
    """
    import soundfile as sf

    parts: list[_Stem] = []
    try:
        for name, source in stems.items():
            parts.append(_Stem(name, source, sample_rate))
        length = max((p.length for p in parts), default=0)
        lufs, peak = _measure(parts, length, sample_rate, fade_sec, fade_in_sec, target_lufs is not None)
        gain = np.float32(_gain(lufs, peak, target_lufs, peak_dbfs))
        out_path = Path(out_path)
        with sf.SoundFile(os.fsencode(out_path), "w", samplerate=sample_rate, channels=2, subtype="PCM_16",
                          format="WAV") as f:
            for _, block in _mixed_blocks(parts, length, sample_rate, fade_sec, fade_in_sec):
                block *= gain
                np.clip(block, -1.0, 1.0, out=block)
                f.write(block)
    finally:
        for p in parts:
            p.close()
    return out_path
