"""Per-track audio stems from a :class:`Piece`, rendered offline through FluidSynth.

Each track gets its own synthesizer, so a stem holds that instrument alone (with its own reverb tail) and the
stems sum to the mix. Rendering is offline (no audio driver), in float, a block at a time straight to the stem's
WAV file (memory does not grow with the length), and event-accurate to FluidSynth's 64-sample block; the same
piece and soundfont give the same bytes. A track plays its notes, control changes (sustain pedal, volume, pan,
expression, RPNs such as the pitch-bend range: FluidSynth acts on them itself), pitch bends and program changes,
in time order. Every stem is exactly ``round(piece.duration_sec * sample_rate)`` samples long, so music and
picture end together.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from ..errors import FramescoreError
from ..symbolic.piece import Piece, Track

__all__ = ["RenderError", "find_soundfont", "render_blocks", "render_track", "render_stem", "render_stems",
           "stem_names", "SOUNDFONT_ENV"]

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
    """Import pyfluidsynth, which loads libfluidsynth at import and fails there when it is missing.

    pyfluidsynth 1.4 prints where it found the library to stdout when $CI is set; stdout is the user's (a
    pipeline's, a test's) and the line says nothing a user needs, so it is dropped.
    """
    try:
        with contextlib.redirect_stdout(io.StringIO()):
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
BLOCK = 1 << 16  # samples rendered (and written) at a time: a stem is never held whole
# event kinds, in the order they take effect at one sample: a note ending where another starts is released first,
# then program, controllers and bend change, then notes start with them
NOTE_OFF, PROGRAM, CONTROL, BEND, NOTE_ON = range(5)


def n_samples(piece: Piece, sample_rate: int) -> int:
    """The length of every stem and of the mix, in samples."""
    return round(piece.duration_sec * sample_rate)


def _events(piece: Piece, track: Track, sample_rate: int, length: int) -> list[tuple[int, int, int, int, int]]:
    """(sample, kind, order, a, b) in time order, inside ``[0, length)``.

    Notes: ``a`` = pitch, ``b`` = velocity, ordered by pitch as before; control changes (``a`` = number,
    ``b`` = value), bends (``a`` = -8192..8191) and program changes (``a`` = program) keep the track's order.
    """
    notes = [n for n in track.notes if 0 <= n.pitch <= 127 and n.duration >= 0]
    ticks = [n.start for n in notes] + [n.end for n in notes]
    others = ([(CONTROL, c.tick, c.number, c.value) for c in track.controls]
              + [(BEND, b.tick, b.value, 0) for b in track.pitch_bends]
              + [(PROGRAM, p.tick, p.program, 0) for p in track.programs])
    ticks += [tick for _, tick, _, _ in others]
    samples = {tick: round(sec * sample_rate) for tick, sec in zip(ticks, piece.ticks_to_secs(ticks))}
    events = []
    for n in notes:
        on = samples[n.start]
        if on >= length:
            continue
        off = max(samples[n.end], on + 1)
        events.append((on, NOTE_ON, n.pitch, n.pitch, min(max(int(n.velocity), 1), 127)))
        if off < length:
            events.append((off, NOTE_OFF, n.pitch, n.pitch, 0))
    for order, (kind, tick, a, b) in enumerate(others):
        at = max(samples[tick], 0)
        if at < length:
            events.append((at, kind, order, a, b))
    events.sort()
    return events


def _check_rate(sample_rate: int) -> None:
    if not 8000 <= sample_rate <= 96000:
        raise RenderError(f"sample rate {sample_rate} Hz is outside FluidSynth's 8000-96000 Hz")


def render_blocks(piece: Piece, track: Track, soundfont: str | Path, sample_rate: int = 44100,
                  block: int = BLOCK) -> Iterator[np.ndarray]:
    """One track alone, as consecutive float32 stereo blocks of ``block`` samples (the last one shorter) that
    add up to ``n_samples(piece, sample_rate)``. Each block is a view of one reused buffer: use it (write it,
    copy it) before asking for the next one.

    Events are dispatched at their own sample inside a block (FluidSynth then starts them at its next 64-sample
    step), so the blocks are the same samples, to the bit, as rendering the whole track in one call.
    """
    _check_rate(sample_rate)
    fluidsynth = _fluidsynth()
    write = _write_float(fluidsynth)
    length = n_samples(piece, sample_rate)
    buf = np.zeros((min(block, length), 2), dtype=np.float32)
    events = _events(piece, track, sample_rate, length)
    ramp_len = min(length, round(DECLICK_SEC * sample_rate))
    ramp = np.linspace(1.0, 0.0, ramp_len, dtype=np.float32)[:, None]
    if not events:
        for b0 in range(0, length, block):
            yield buf[:min(block, length - b0)]
        return

    synth = fluidsynth.Synth(gain=SYNTH_GAIN, samplerate=float(sample_rate), channels=16,
                             **{"synth.dynamic-sample-loading": 1, "synth.cpu-cores": 1})
    try:
        sfid = synth.sfload(str(soundfont))
        if sfid < 0:
            raise RenderError(f"FluidSynth cannot load soundfont {soundfont}")
        chan, bank = (DRUM_CHANNEL, DRUM_BANK) if track.is_drum else (0, 0)

        def select(program: int) -> int:
            if synth.sfpreset_name(sfid, bank, program) is None and synth.sfpreset_name(sfid, bank, 0) is not None:
                program = 0  # the soundfont lacks this instrument: its first preset rather than silence
            return synth.program_select(chan, sfid, bank, program)

        if select(track.program) != 0:
            raise RenderError(f"soundfont {soundfont} has no preset for track {track.name!r} "
                              f"(bank {bank}, program {track.program})")

        ptr, sounding, ei, pos = buf.ctypes.data, [0] * 128, 0, 0

        def advance(to: int) -> None:  # synthesize the buffer from `pos` up to `to`
            nonlocal pos
            if to > pos:
                write(synth.synth, to - pos, ptr, 2 * pos, 2, ptr, 2 * pos + 1, 2)
                pos = to

        for b0 in range(0, length, block):
            n = min(block, length - b0)
            buf[:n] = 0.0
            pos = 0
            while ei < len(events) and events[ei][0] < b0 + n:
                sample, kind, _, a, b = events[ei]
                ei += 1
                advance(sample - b0)
                if kind == NOTE_ON:
                    sounding[a] += 1
                    synth.noteon(chan, a, b)
                elif kind == NOTE_OFF:
                    if sounding[a]:
                        sounding[a] -= 1
                        if not sounding[a]:  # an overlapping note of the same pitch keeps sounding
                            synth.noteoff(chan, a)
                elif kind == CONTROL:  # the sustain pedal (64) and RPNs (101/100/6/38) FluidSynth handles itself
                    synth.cc(chan, a, b)
                elif kind == BEND:
                    synth.pitch_bend(chan, a)  # pyfluidsynth takes -8192..8191 and adds the 8192 itself
                else:
                    select(a)
            advance(n)
            out = buf[:n]
            rs = length - ramp_len  # the declick ramp over the last samples of the stem, maybe across two blocks
            r0 = max(b0, rs)
            if r0 < b0 + n:
                out[r0 - b0:] *= ramp[r0 - rs:b0 + n - rs]
            yield out
    finally:
        synth.delete()


def render_track(piece: Piece, track: Track, soundfont: str | Path, sample_rate: int = 44100) -> np.ndarray:
    """One track alone, as float32 stereo of shape ``(n_samples(piece, sample_rate), 2)``, held whole: for short
    pieces and tests; :func:`render_stems` streams to files instead."""
    _check_rate(sample_rate)
    out = np.empty((n_samples(piece, sample_rate), 2), dtype=np.float32)
    at = 0
    for chunk in render_blocks(piece, track, soundfont, sample_rate):
        out[at:at + len(chunk)] = chunk
        at += len(chunk)
    return out


def render_stem(piece: Piece, track: Track, path: str | Path, soundfont: str | Path, sample_rate: int = 44100) -> Path:
    """One track to a 16-bit stereo WAV, block by block (memory does not grow with its length)."""
    import soundfile as sf

    # the path as bytes: soundfile would encode a str strictly, failing on a name with undecodable bytes
    with sf.SoundFile(os.fsencode(path), "w", samplerate=sample_rate, channels=2, subtype="PCM_16",
                      format="WAV") as f:
        for chunk in render_blocks(piece, track, soundfont, sample_rate):
            np.clip(chunk, -1.0, 1.0, out=chunk)
            f.write(chunk)
    return Path(path)


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
                 progress: Callable[[int, int], None] | None = None, parallel: bool = True) -> dict[str, Path]:
    """Write ``out_dir/<track>.wav`` (16-bit PCM, stereo, equal length, time-aligned) for every track.

    Returns stem name → path in track order; the stem name is the track's name (its role, for our own pieces)
    made file-safe and unique. ``progress`` is called as ``progress(done, total)`` as stems are finished.

    With ``parallel`` (and fork, and two cores or more) the tracks are split in two halves of about equal work
    (:func:`_split`): a forked child renders one while this process renders the other. A process of its own, not
    a thread: FluidSynth's soundfont sample cache is shared by every synth in a process, and stems rendered in
    parallel threads came out different now and then under load (a test caught it). Each stem has its own synth
    either way, so the bytes are the same as one after another.
    """
    soundfont = find_soundfont(soundfont)
    _fluidsynth()  # fail with the install hint before any thread or child starts
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = stem_names(piece)
    paths = {name: out_dir / f"{name}.wav" for name in names}
    total, done = len(piece.tracks), 0

    def render(indices: list[int]) -> None:
        nonlocal done
        for i in indices:
            render_stem(piece, piece.tracks[i], paths[names[i]], soundfont, sample_rate)
            done += 1
            if progress is not None:
                progress(done, total)

    mine, theirs = _split(piece) if parallel and _can_fork() else (list(range(total)), [])
    if not theirs:
        render(mine)
        return paths
    from ..lifecycle import ForkedCall

    child = ForkedCall(_render_quietly, piece, [(piece.tracks[i], paths[names[i]]) for i in theirs], soundfont,
                       sample_rate)
    try:
        render(mine)
        child.result()
    finally:
        child.stop()
    done += len(theirs)
    if progress is not None:
        progress(done, total)
    return paths


def _render_quietly(piece: Piece, jobs: list[tuple[Track, Path]], soundfont: str | Path, sample_rate: int) -> None:
    for track, path in jobs:
        render_stem(piece, track, path, soundfont, sample_rate)


def _can_fork() -> bool:
    return hasattr(os, "fork") and (os.cpu_count() or 1) > 1


def _split(piece: Piece) -> tuple[list[int], list[int]]:
    """The tracks' indices in two groups of about equal rendering work (greedy, the largest track first, into
    the first group: this process renders that one, a child the other); the second group is empty when only one
    track has notes.

    The work of a track is its notes plus its sounding beats over two: FluidSynth's time goes to voices, each
    note one at least, for its length and a release (measured on a 30-s piece: harmony, 240 notes, 0.52 s;
    drums, 198 short notes that ring, 0.26 s; melody 0.14 s; bass 0.10 s).
    """
    res = max(piece.resolution, 1)
    work = [len(t.notes) + sum(n.duration for n in t.notes) / res / 2 for t in piece.tracks]
    order = sorted((i for i in range(len(work)) if work[i] > 0), key=lambda i: (-work[i], i))
    if len(order) < 2:
        return list(range(len(work))), []
    groups: list[list[int]] = [[], []]
    loads = [0.0, 0.0]
    for i in order:
        g = 0 if loads[0] <= loads[1] else 1
        groups[g].append(i)
        loads[g] += work[i]
    groups[0] += [i for i in range(len(work)) if work[i] == 0]  # silent stems: nearly free
    return sorted(groups[0]), sorted(groups[1])
