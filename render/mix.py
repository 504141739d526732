"""The stems summed into one stereo mix: faded, loudness-normalised (ITU-R BS.1770), kept below clipping.

Order matters: fades first, then the loudness is measured on what will be heard, then a peak ceiling (which can
only turn the mix down, leaving it a little under the target when a loud transient would otherwise clip).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .synth import RenderError

__all__ = ["mix", "mix_stems", "integrated_loudness", "TARGET_LUFS", "PEAK_DBFS"]

TARGET_LUFS = -16.0  # streaming platforms' and podcasts' usual target for stereo
PEAK_DBFS = -1.0  # sample-peak ceiling: leaves room for the AAC encoder's overshoot


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


def _filter(x: np.ndarray, kernel: tuple[np.ndarray, int]) -> np.ndarray:
    """Convolve with the kernel by overlap-add, in blocks: fast on long audio, exact up to float32."""
    spectrum, taps = kernel
    n_fft = 2 * (len(spectrum) - 1)
    hop = n_fft - taps + 1
    out = np.zeros(len(x) + n_fft, dtype=np.float64)
    for start in range(0, len(x), hop):
        seg = x[start:start + hop]
        out[start:start + n_fft] += np.fft.irfft(np.fft.rfft(seg, n_fft) * spectrum, n_fft)
    return out[:len(x)]


def integrated_loudness(audio: np.ndarray, sample_rate: int) -> float:
    """Integrated loudness in LUFS (ITU-R BS.1770-4: K-weighted, 400 ms blocks, absolute and relative gates).

    Written with numpy alone: importing scipy.signal (which pyloudnorm filters with) takes longer (~2 s) than
    rendering a short piece. The filter runs in the frequency domain with half a second of zero padding, which
    matches the recursive filter to float32 precision. ``-inf`` for silence; audio shorter than one block is
    measured as a single block.
    """
    x = np.asarray(audio, dtype=np.float32)
    x = x[:, None] if x.ndim == 1 else x
    n = len(x)
    if n == 0 or not np.any(x):
        return float("-inf")
    kernel = _k_kernel(sample_rate)
    block, step = min(round(0.4 * sample_rate), n), round(0.1 * sample_rate)
    starts = np.arange(0, n - block + 1, step)
    power = np.zeros(len(starts))
    for ch in range(x.shape[1]):
        y = _filter(x[:, ch], kernel)
        energy = np.concatenate(([0.0], np.cumsum(np.square(y, dtype=np.float64))))
        gain = 1.41 if ch in (3, 4) else 1.0  # surround channels, for completeness
        power += gain * (energy[starts + block] - energy[starts]) / block
    with np.errstate(divide="ignore"):
        loudness = -0.691 + 10.0 * np.log10(power)
    gated = power[loudness > -70.0]
    if not len(gated):
        return float("-inf")
    relative = -0.691 + 10.0 * np.log10(gated.mean()) - 10.0
    return float(-0.691 + 10.0 * np.log10(power[(loudness > -70.0) & (loudness > relative)].mean()))


def _stereo(audio: np.ndarray, name: str) -> np.ndarray:
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio[:, None]
    if audio.ndim != 2 or audio.shape[1] not in (1, 2):
        raise RenderError(f"stem {name!r} has shape {audio.shape}, expected (samples,) or (samples, 1|2)")
    return np.repeat(audio, 2, axis=1) if audio.shape[1] == 1 else audio


def _fade_curve(n: int) -> np.ndarray:
    """Raised cosine from 1 to 0: no corner at either end."""
    return (0.5 * (1.0 + np.cos(np.linspace(0.0, np.pi, n)))).astype(np.float32)


def mix(stems: Mapping[str, np.ndarray], sample_rate: int, target_lufs: float | None = TARGET_LUFS,
        fade_sec: float = 1.0, fade_in_sec: float = 0.005, peak_dbfs: float = PEAK_DBFS) -> np.ndarray:
    """Sum stems (shorter ones padded with silence) into float32 stereo ``(n, 2)``.

    The fade-out lasts ``min(fade_sec, 10% of the length)``; ``target_lufs=None`` skips loudness normalisation.
    Silence stays silence (no gain, no NaN).
    """
    arrays = [_stereo(a, name) for name, a in stems.items()]
    length = max((len(a) for a in arrays), default=0)
    out = np.zeros((length, 2), dtype=np.float32)
    for a in arrays:
        out[: len(a)] += a
    if not length:
        return out
    n_in = min(length, round(max(fade_in_sec, 0.0) * sample_rate))
    if n_in:
        out[:n_in] *= _fade_curve(n_in)[::-1, None]
    n_out = min(round(max(fade_sec, 0.0) * sample_rate), length // 10)
    if n_out:
        out[-n_out:] *= _fade_curve(n_out)[:, None]
    gain = 1.0
    if target_lufs is not None:
        lufs = integrated_loudness(out, sample_rate)
        if np.isfinite(lufs):
            gain = 10.0 ** ((target_lufs - lufs) / 20.0)
    peak = float(np.max(np.abs(out))) * gain
    ceiling = 10.0 ** (peak_dbfs / 20.0)
    if peak > ceiling:
        gain *= ceiling / peak
    out *= np.float32(gain)
    return out


def _read(path: str | Path, sample_rate: int) -> np.ndarray:
    import soundfile as sf

    try:
        audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (OSError, RuntimeError) as e:  # soundfile raises LibsndfileError (a RuntimeError) for bad files
        raise RenderError(f"cannot read stem {path}: {e}") from None
    if rate != sample_rate:
        raise RenderError(f"stem {path} is at {rate} Hz, expected {sample_rate} Hz")
    return audio


def mix_stems(stems: Mapping[str, np.ndarray | str | Path], out_path: str | Path, sample_rate: int = 44100,
              target_lufs: float | None = TARGET_LUFS, fade_sec: float = 1.0, fade_in_sec: float = 0.005,
              peak_dbfs: float = PEAK_DBFS) -> Path:
    """Mix stems (arrays, or WAV paths as :func:`render_stems` returns) into a 16-bit stereo WAV; see :func:`mix`."""
    import soundfile as sf

    arrays = {name: s if isinstance(s, np.ndarray) else _read(s, sample_rate) for name, s in stems.items()}
    audio = mix(arrays, sample_rate, target_lufs, fade_sec, fade_in_sec, peak_dbfs)
    out_path = Path(out_path)
    sf.write(out_path, np.clip(audio, -1.0, 1.0), sample_rate, subtype="PCM_16")
    return out_path
