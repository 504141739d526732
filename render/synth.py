"""Per-track audio stems from a :class:`Piece`, rendered offline through FluidSynth.

Each track gets its own synthesizer, so a stem holds that instrument alone (with its own reverb tail) and the
stems sum to the mix. Rendering is offline (no audio driver), in float, straight into the output buffer, and
event-accurate to FluidSynth's 64-sample block; the same piece and soundfont give the same bytes. Every stem is
exactly ``round(piece.duration_sec * sample_rate)`` samples long, so music and picture end together.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..errors import FramescoreError
from ..symbolic.piece import Piece, Track

__all__ = ["RenderError", "find_soundfont", "render_track", "render_stems", "stem_names", "SOUNDFONT_ENV"]

SAMPLE_RATE = 44100  # CD rate: what DAWs and video editors expect
SOUNDFONT_ENV = "FRAMESCORE_SOUNDFONT"
DRUM_CHANNEL = 9
DRUM_BANK = 128
SYNTH_GAIN = 0.2  # FluidSynth's default: a dense track stays well below full scale
DECLICK_SEC = 0.01  # ramp at the very end of a stem, so a note cut by the end does not click

_HOWTO = ("install one with `apt-get install fluid-soundfont-gm` (macOS: `brew install fluid-synth` and fetch "
          "FluidR3_GM.sf2) or pass --soundfont FILE.sf2")


class RenderError(FramescoreError):
    """Audio could not be rendered or muxed: no soundfont, no FluidSynth library, ffmpeg failed."""


# ----- finding things ------------------------------------------------------------------------------------------
def _search_places() -> list[Path]:
    """Where soundfonts usually live, most specific first (Debian, Fedora/Arch, Homebrew, per-user)."""
    home = Path.home()
    exact = [Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"), Path("/usr/share/sounds/sf2/default-GM.sf2"),
             Path("/usr/share/soundfonts/FluidR3_GM.sf2"), Path("/usr/share/soundfonts/default.sf2"),
             home / ".fluidsynth/default_sound_font.sf2"]
    folders = [Path("/usr/share/sounds/sf2"), Path("/usr/share/soundfonts"), Path("/usr/local/share/soundfonts"),
               Path("/opt/homebrew/share/soundfonts"), Path("/opt/homebrew/share/fluid-synth"),
               home / ".local/share/soundfonts", home / "Library/Audio/Sounds/Banks"]
    found = list(exact)
    for d in folders:
        if d.is_dir():
            found += sorted(p for p in d.iterdir() if p.suffix.lower() in (".sf2", ".sf3"))
    return found


def _is_soundfont(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError:
        return False
    return head[:4] == b"RIFF" and head[8:12] == b"sfbk"


def find_soundfont(explicit: str | Path | None = None) -> Path:
    """The soundfont to use: ``explicit`` if given, else ``$FRAMESCORE_SOUNDFONT``, else the usual places."""
    for given, what in ((explicit, "soundfont"), (os.environ.get(SOUNDFONT_ENV) or None, f"${SOUNDFONT_ENV}")):
        if given is None:
            continue
        path = Path(given).expanduser()
        if not path.is_file() or not os.access(path, os.R_OK):
            raise RenderError(f"{what} {path} does not exist or cannot be read")
        if not _is_soundfont(path):
            raise RenderError(f"{what} {path} is not a SoundFont (.sf2/.sf3) file")
        return path
    for path in _search_places():
        if path.is_file() and os.access(path, os.R_OK) and _is_soundfont(path):
            return path
    raise RenderError(f"no General MIDI soundfont found: {_HOWTO}")


def _fluidsynth():
    """Import pyfluidsynth, which loads libfluidsynth at import and fails there when it is missing."""
    try:
        import fluidsynth
    except (ImportError, OSError) as e:
        raise RenderError(f"the FluidSynth library cannot be loaded ({e}): install it with "
                          "`apt-get install libfluidsynth3` (macOS: `brew install fluid-synth`)") from None
    return fluidsynth


@functools.cache
def _write_float(fluidsynth):
    """``fluid_synth_write_float``: float output without the dither (and its global random table) of the s16 path."""
    import ctypes

    fn = fluidsynth._fl.fluid_synth_write_float
    c_int, c_void_p = ctypes.c_int, ctypes.c_void_p
    fn.argtypes = [c_void_p, c_int, c_void_p, c_int, c_int, c_void_p, c_int, c_int]
    fn.restype = c_int
    return fn


# ----- rendering -----------------------------------------------------------------------------------------------
def n_samples(piece: Piece, sample_rate: int) -> int:
    """The length of every stem and of the mix, in samples."""
    return round(piece.duration_sec * sample_rate)


def _events(piece: Piece, track: Track, sample_rate: int, length: int) -> list[tuple[int, int, int, int]]:
    """(sample, kind, pitch, velocity) in time order; kind 0 = off before 1 = on, so repeated notes retrigger."""
    cache: dict[int, int] = {}

    def at(tick: int) -> int:
        if tick not in cache:
            cache[tick] = round(piece.tick_to_sec(tick) * sample_rate)
        return cache[tick]

    events = []
    for n in track.notes:
        if not 0 <= n.pitch <= 127 or n.duration < 0:
            continue
        on = at(n.start)
        if on >= length:
            continue
        off = max(at(n.end), on + 1)
        events.append((on, 1, n.pitch, min(max(int(n.velocity), 1), 127)))
        if off < length:
            events.append((off, 0, n.pitch, 0))
    events.sort()
    return events


def render_track(piece: Piece, track: Track, soundfont: str | Path, sample_rate: int = 44100) -> np.ndarray:
    """One track alone, as float32 stereo of shape ``(n_samples(piece, sample_rate), 2)``."""
    if not 8000 <= sample_rate <= 96000:
        raise RenderError(f"sample rate {sample_rate} Hz is outside FluidSynth's 8000-96000 Hz")
    fluidsynth = _fluidsynth()
    write = _write_float(fluidsynth)
    length = n_samples(piece, sample_rate)
    out = np.zeros((length, 2), dtype=np.float32)
    events = _events(piece, track, sample_rate, length)
    if not events:
        return out

    synth = fluidsynth.Synth(gain=SYNTH_GAIN, samplerate=float(sample_rate), channels=16,
                             **{"synth.dynamic-sample-loading": 1, "synth.cpu-cores": 1})
    try:
        sfid = synth.sfload(str(soundfont))
        if sfid < 0:
            raise RenderError(f"FluidSynth cannot load soundfont {soundfont}")
        chan, bank = (DRUM_CHANNEL, DRUM_BANK) if track.is_drum else (0, 0)
        program = track.program
        if synth.sfpreset_name(sfid, bank, program) is None and synth.sfpreset_name(sfid, bank, 0) is not None:
            program = 0  # the soundfont lacks this instrument: its first preset rather than silence
        if synth.program_select(chan, sfid, bank, program) != 0:
            raise RenderError(f"soundfont {soundfont} has no preset for track {track.name!r} "
                              f"(bank {bank}, program {track.program})")

        ptr, pos, sounding = out.ctypes.data, 0, [0] * 128

        def advance(to: int) -> None:
            nonlocal pos
            if to > pos:
                write(synth.synth, to - pos, ptr, 2 * pos, 2, ptr, 2 * pos + 1, 2)
                pos = to

        for sample, kind, pitch, velocity in events:
            advance(sample)
            if kind:
                sounding[pitch] += 1
                synth.noteon(chan, pitch, velocity)
            elif sounding[pitch]:
                sounding[pitch] -= 1
                if not sounding[pitch]:  # an overlapping note of the same pitch keeps sounding
                    synth.noteoff(chan, pitch)
        advance(length)
    finally:
        synth.delete()
    ramp = min(length, round(DECLICK_SEC * sample_rate))
    if ramp:
        out[-ramp:] *= np.linspace(1.0, 0.0, ramp, dtype=np.float32)[:, None]
    return out


def stem_names(piece: Piece) -> list[str]:
    """A file-safe, unique (also ignoring case) name per track, in track order: ``melody``, ``drums``, ``track_3``."""
    names: list[str] = []
    taken: set[str] = set()
    for i, t in enumerate(piece.tracks):
        base = re.sub(r"[^A-Za-z0-9._-]+", "_", t.name.strip()).strip("._") or f"track_{i + 1}"
        name, k = base[:64], 2
        while name.lower() in taken:
            name, k = f"{base[:60]}_{k}", k + 1
        taken.add(name.lower())
        names.append(name)
    return names


def render_stems(piece: Piece, out_dir: str | Path, soundfont: str | Path | None = None, sample_rate: int = 44100,
                 progress: Callable[[int, int], None] | None = None) -> dict[str, Path]:
    """Write ``out_dir/<track>.wav`` (16-bit PCM, stereo, equal length, time-aligned) for every track.

    Returns stem name → path in track order; the stem name is the track's name (its role, for our own pieces)
    made file-safe and unique. Tracks render one after another (see the note in the body); ``progress``
    is called as ``progress(done, total)`` after each stem.
    """
    import soundfile as sf

    soundfont = find_soundfont(soundfont)
    _fluidsynth()  # fail with the install hint before any thread starts
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = stem_names(piece)
    paths = {name: out_dir / f"{name}.wav" for name in names}
    total, done = len(piece.tracks), 0

    def one(i: int) -> None:
        audio = render_track(piece, piece.tracks[i], soundfont, sample_rate)
        sf.write(paths[names[i]], np.clip(audio, -1.0, 1.0), sample_rate, subtype="PCM_16")

    # One track after another: FluidSynth's soundfont sample cache is shared by every synth in the process, and
    # stems rendered in parallel threads came out different now and then under load (a test caught it).
    for i in range(total):
        one(i)
        done += 1
        if progress is not None:
            progress(done, total)
    return paths
