"""The diffusion engine: a piano-roll DDPM trained on POP909 writes the melody and the accompaniment in
overlapping 4-bar windows, conditioned on the plan's chords laid across the pitch axis, with classifier-free
guidance.

How a plan becomes music (model and sampler: :mod:`framescore.symbolic.models.roll_unet`; layout:
:mod:`framescore.symbolic.roll`):

- the plan's chords and densities, transposed to C major / A minor as in training (by the key, unless the chords
  clearly sit in another one: :func:`~framescore.symbolic.roll.chord_shift`), become condition rolls on a
  sixteenth-note grid, in bars of the plan's own meter;
- the piece is denoised as overlapping windows of 4 bars, one every ``hop_bars`` (3), all in one batch, their
  predictions averaged where they overlap at every step (MultiDiffusion), so a piece of any length is one
  continuous roll, sampled in one pass;
- the form: a bar whose plan gives the melody no part has its melody channels fixed to silence (so the
  accompaniment is written for a bar without tune); a bar of a returning theme has its melody channels tied to
  its statement's at every step, so the theme comes back (the accompaniment is free to differ); every other bar
  that has the tune is asked for at least :data:`MELODY_ONSETS` melody onsets, in the melody's register, by
  raising the predicted roll's strongest melody onsets there when it has fewer (a guidance, like the tone
  guidance: the network re-plans around them at the next step);
- the register: each part is kept in the range that holds 99% of POP909's notes (:data:`REGISTER`) by pulling
  the cells outside it to "off" at every step, as the tone guidance does, so the network re-plans those notes
  (an octave lower, or none) rather than writing the rare high sparkles it learnt from whole songs;
- the density: a bar whose predicted roll holds more onsets than its plan asks (by :data:`DENSITY_TOLERANCE`)
  loses its weakest accompaniment onsets at every step (:class:`~framescore.symbolic.models.roll_unet.DensityGuide`),
  so a sparse bar of the plan stays sparse;
- a user's melody (:func:`compose` with ``melody``, or :func:`compose_with_melody` with a MIDI file) is fixed on
  the melody channels (RePaint replacement at every step): the model writes the accompaniment around it, and the
  melody track is the user's notes as given;
- the roll is read back as notes (an onset above its threshold starts a note, which lasts while the sustain
  stays above its own; the thresholds are fitted once per checkpoint so that the model's rolls are as full as the
  data's, see ``train_diffusion --calibrate``; the melody is read as one voice), transposed back to the plan's
  key, with velocities from the plan's bar dynamics (:func:`~framescore.symbolic.plan.velocity_of`), cut at the
  piece's end. Bass and drums are the rule engine's (:mod:`.rule`): POP909 has neither.

Meters other than 4/4 are laid on the grid in their own bar length (4 bars of 3/4 = 48 steps): the network is
convolutional, so it runs on any window, but it learnt from 4/4 songs only, so the rhythm of other meters is
4/4-flavoured (the chords still change where the plan says).

Same plan and seed, same piece: the noise comes from a ``torch.Generator`` seeded with ``plan.seed`` and sampling
runs the checkpoint's sampler (DDIM, eta 0, or DPM-Solver++) in one torch thread. Two guidances keep the chords:
classifier-free guidance (``guidance``, the network's own conditional against unconditional prediction) and tone
guidance (``tone_guidance``: each step's predicted roll is pulled off the cells outside the sounding chord, and the
network carries on from there; see :func:`~framescore.symbolic.models.roll_unet.sample`); a key guide
(``key_guidance``, :class:`~framescore.symbolic.models.roll_unet.KeyGuide`) keeps the plan's key the one heard;
the checkpoint's config sets all three. ``post_filter`` (off by default) drops notes that start on a beat outside
the sounding chord; it is a stated crutch, measured separately, not part of the model.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from ...errors import FramescoreError
from ..piece import TICKS_PER_QUARTER, Note, Piece
from ..plan import MusicPlan, velocity_of
from . import EngineInfo

__all__ = ["DEFAULTS", "DiffusionError", "ENGINE", "compose", "compose_with_melody", "generate_roll",
           "melody_notes"]

ENGINE = EngineInfo(name="diffusion", order=2, keeps_melody=True, checkpoint="diffusion", needs=("torch", "diffusers"))

#: ``compose(plan)``'s settings; ``None`` takes the checkpoint's own default (its config.json).
DEFAULTS: dict = {"guidance": None, "tone_guidance": None, "key_guidance": None, "steps": None, "hop_bars": None,
                  "post_filter": False, "register_guidance": None, "density_tolerance": None}

#: Each part's register, sounding MIDI pitches: the range that holds 99% of POP909's training notes in the songs'
#: first 32 bars (0.5th to 99.5th percentile, training songs 1-300 of the split; ``tools/diffusion_register.py``
#: prints them). The model writes a few notes far above it (2% of its harmony above E6, against 0.6% in the data),
#: which is most of its pitch range's distance from real music.
REGISTER: dict[str, tuple[int, int]] = {"melody": (56, 89), "harmony": (36, 89)}
#: How far the sampler pulls the cells outside :data:`REGISTER` to "off" at every step (``outside_register`` in
#: :func:`~framescore.symbolic.models.roll_unet.sample`); 0 leaves the register to the model.
REGISTER_GUIDANCE = 1.0
#: How far a bar's onsets may go beyond its plan's count before the density guide thins it (a share; see
#: :class:`~framescore.symbolic.models.roll_unet.DensityGuide`); None leaves the density to the model. Chosen
#: with the harmony's sustain threshold (-0.5 with it, -0.2 without: the notes left ring longer) on validation
#: songs 17+ (``tools/diffusion_density.py``) and evaluate's validation set: density r 0.576 -> 0.846 and
#: 0.503 -> 0.645, overlap 0.690 -> 0.726 and 0.758 -> 0.763, chord accuracy 0.907 -> 0.906 and 0.916 -> 0.919.
DENSITY_TOLERANCE: float | None = 0.3


#: The melody onsets the sampler asks of every bar that has a tune (see ``melody_floor`` in
#: :func:`~framescore.symbolic.models.roll_unet.sample`); 0 leaves the melody to the model alone.
MELODY_ONSETS = 2


#: The melody's re-attack threshold (``reattack`` in :func:`~framescore.symbolic.roll.roll_to_notes`): an onset of
#: the pitch already sounding must rise above it to repeat the note (None: the onset threshold, no hysteresis).
#: Chosen on POP909 validation songs 17-28 (evaluate reports the first 16; ``tools/diffusion_reattack.py``): the
#: threshold at which the melody repeats notes about as often as POP909's training melodies do (0.251 against
#: 0.225; 0.516 without), chord accuracy unchanged (0.927). The first onset of a bar is always kept.
REATTACK: float | None = 0.6


#: The widest leap the melody is read with (semitones): a note further than this from the one before is moved by
#: octaves toward it (:func:`close_octave_leaps`), as a singer takes a line the network wrote across two octaves.
#: A major sixth, the rule engine's singable limit: 12% of the model's melody intervals on validation songs 17-24
#: were wider, 2% of real melodies'.
MELODY_MAX_LEAP = 9


class DiffusionError(FramescoreError):
    """A plan or melody the diffusion engine cannot realize."""


@lru_cache(maxsize=4)
def _load(directory: str):
    from ..models.roll_unet import load_model

    return load_model(directory)


def prepare() -> None:
    """Import torch and load the default checkpoint (:func:`framescore.symbolic.engines.prepare`)."""
    _load(_checkpoint(None))


def _checkpoint(checkpoint: str | Path | None) -> str:
    from ..checkpoints import checkpoint_dir

    return str(Path(checkpoint) if checkpoint is not None else checkpoint_dir("diffusion"))


def melody_notes(melody: Piece) -> list[Note]:
    """The notes of a user's melody: its track named ``melody``, else its first pitched track with notes."""
    pitched = [t for t in melody.tracks if not t.is_drum and t.notes]
    if not pitched:
        raise DiffusionError("the melody has no pitched notes")
    track = next((t for t in pitched if t.name.strip().lower() == "melody"), pitched[0])
    if melody.resolution != 480:
        raise DiffusionError(f"melody resolution {melody.resolution} is not 480 ticks a quarter")
    return sorted(track.notes)


def _window_starts(n_bars: int, window_bars: int, hop_bars: int) -> list[int]:
    """First bars of the windows: every ``hop_bars``, the last one pulled back to end with the piece."""
    if n_bars <= window_bars:
        return [0]
    starts = list(range(0, n_bars - window_bars, hop_bars))
    if starts[-1] + window_bars < n_bars:
        starts.append(n_bars - window_bars)
    return starts


def generate_roll(plan: MusicPlan, checkpoint: str | Path | None = None, melody: list[Note] | None = None,
                  guidance: float | None = None, steps: int | None = None, hop_bars: int | None = None,
                  tone_guidance: float | None = None, melody_onsets: int | None = None,
                  key_guidance: float | None = None, backing_profile=None,
                  melody_tone_share: float | None = None, register_guidance: float | None = None,
                  density_tolerance: float | None = None):
    """The plan's whole roll, ``(4, n_bars * steps_per_bar, n_pitches)`` float32 numpy in [-1, 1], in the
    key-normalised pitch space (see :mod:`framescore.symbolic.roll`), and the spec and shift it was made with.

    ``key_guidance`` (None: the checkpoint's) is the strength of the key guide
    (:class:`~framescore.symbolic.models.roll_unet.KeyGuide`); ``backing_profile`` the ticks each pitch class
    sounds in the parts the model does not write (the rule engine's bass), which the guide counts in;
    ``melody_tone_share`` (None: the checkpoint's) the tone guidance's strength on the melody, as a share;
    ``register_guidance`` (None: :data:`REGISTER_GUIDANCE`) the pull off the cells outside :data:`REGISTER`;
    ``density_tolerance`` (None: :data:`DENSITY_TOLERANCE`; negative: off) the density guide's."""
    import numpy as np
    import torch

    from ..form import melody_bars
    from ..models.roll_unet import KeyGuide, sample
    from ..roll import chord_shift, condition, notes_to_roll, plan_chords, plan_density

    model = _load(_checkpoint(checkpoint))
    cfg, spec = model.config, model.config.spec
    hop = cfg.hop_bars if hop_bars is None else hop_bars
    if hop < 1 or hop > spec.window_bars:
        raise DiffusionError(f"hop of {hop} bars must be 1..{spec.window_bars}")
    try:
        spb = spec.steps_per_bar(plan.meter_tuple)
    except FramescoreError:
        raise DiffusionError(f"meter {plan.meter} does not fit the diffusion engine's sixteenth-note grid") from None
    shift = chord_shift(plan)
    win = spec.window_bars * spb
    padded = -(-win // cfg.time_multiple) * cfg.time_multiple  # the network's window, in steps
    n_steps = plan.n_bars * spb
    total = max(n_steps, spec.window_bars * spb) + padded - win
    mask, root = plan_chords(plan, total, spec, shift)
    cond = torch.from_numpy(condition(mask, root, plan_density(plan, total, spec), spec))
    roll = torch.zeros((4, total, spec.n_pitches))
    known = torch.zeros(roll.shape, dtype=torch.bool)
    sounding = melody_bars(plan)
    returns: dict[int, int] = {}
    if melody is not None:
        mel = notes_to_roll(melody, total, spec, shift)
        roll[:2] = torch.from_numpy(mel).float() * 2 - 1
        known[:2] = True
    else:
        returns = _melody_plan(plan, sounding, roll, known, spb)
    melody_k = MELODY_ONSETS if melody_onsets is None else melody_onsets
    heard_end = heard_ends(plan, spb, spec.steps_per_quarter)
    ties, spans = [], []
    for r, src in returns.items():  # a return's melody is denoised as one with its statement's
        n = heard_end[r] - r * spb  # the steps of the return that are heard
        if n > 0:
            ties.append((r * spb, src * spb, n))
            if n < spb:  # a return cut short: the tune must begin within what is heard of it
                spans.append((src * spb, src * spb + n))
    floor = None
    if melody is None and melody_k > 0:
        spans += [(b * spb, heard_end[b]) for b in range(plan.n_bars)
                  if sounding[b] and b not in returns and heard_end[b] > b * spb]
        floor = (spans, float(cfg.thresholds[0]), melody_k) if spans else None
    starts = [bar * spb for bar in _window_starts(plan.n_bars, spec.window_bars, hop)]
    strength = cfg.key_guidance if key_guidance is None else key_guidance
    guide = None
    if strength > 0:
        key = plan.key_obj
        per_step = TICKS_PER_QUARTER / spec.steps_per_quarter
        backing = np.zeros(12) if backing_profile is None else np.roll(np.asarray(backing_profile, float), shift)
        guide = KeyGuide(12 * (key.mode == "minor") + (key.tonic + shift) % 12, strength,
                         backing=tuple(float(v) for v in backing / per_step))
    pull = REGISTER_GUIDANCE if register_guidance is None else register_guidance
    outside = None
    if pull > 0:  # (1, 4, 1, P): the cells whose sounding pitch lies outside each part's register
        sounding_pitch = spec.pitch_lo + np.arange(spec.n_pitches) - shift
        rows = [(sounding_pitch < lo) | (sounding_pitch > hi) for lo, hi in (REGISTER["melody"], REGISTER["harmony"])]
        cells = np.stack([rows[0], rows[0], rows[1], rows[1]]).astype(np.float32)
        outside = pull * torch.from_numpy(cells)[None, :, None]
    tol = DENSITY_TOLERANCE if density_tolerance is None else density_tolerance
    density = (_density_guide(plan, heard_end, spb, spec.steps_per_quarter, cfg.thresholds, tol, melody is not None)
               if tol is not None and tol >= 0 else None)
    generator = torch.Generator().manual_seed(plan.seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        roll = sample(model, cond[None], generator, steps=steps, guidance=guidance, known=roll[None],
                      known_mask=known[None], tone_guidance=tone_guidance, ties=ties, melody_floor=floor,
                      melody_tone_share=melody_tone_share,
                      windows=(padded, starts), key_guide=guide, outside_register=outside,
                      density_guide=density)[0]
    finally:
        torch.set_num_threads(threads)
    return roll[:, :n_steps].numpy().astype(np.float32), spec, shift


def _density_guide(plan: MusicPlan, heard_end: list[int], spb: int, steps_per_quarter: int, thresholds,
                   tolerance: float, given_melody: bool):
    """The :class:`~framescore.symbolic.models.roll_unet.DensityGuide` of ``plan``: per bar, the steps that are
    heard and the onsets its density asks for there (in the plan's beats), the onset thresholds the roll is read
    with, and a chord's worth of accompaniment kept under a given melody."""
    from ..attributes import density_to_onsets
    from ..models.roll_unet import MIN_ACCOMPANIMENT_ONSETS, DensityGuide

    beats_per_step = plan.meter_tuple[1] / 4 / steps_per_quarter
    bars = tuple((b * spb, end, float(density_to_onsets(plan.bars[b].density, (end - b * spb) * beats_per_step)))
                 for b, end in enumerate(heard_end) if end > b * spb)
    return DensityGuide(bars, (float(thresholds[0]), float(thresholds[2])), float(tolerance),
                        keep=MIN_ACCOMPANIMENT_ONSETS if given_melody else 0)


def close_octave_leaps(notes: list[Note], register: tuple[int, int], max_leap: int = MELODY_MAX_LEAP) -> list[Note]:
    """The melody with each leap wider than ``max_leap`` narrowed by moving the later note an octave (or more)
    toward the one before, while it stays in ``register``: the same pitch classes, so the same chords and key, on
    a line that can be sung. Leaps that no octave narrows (a tritone) are left."""
    lo, hi = register
    out: list[Note] = []
    for n in sorted(notes):
        p = n.pitch
        if out:
            prev = out[-1].pitch
            while abs(p - prev) > max_leap and lo <= p - 12 * (1 if p > prev else -1) <= hi:
                p -= 12 * (1 if p > prev else -1)
        out.append(n if p == n.pitch else Note(n.start, n.duration, p, n.velocity))
    return out


def _sung(notes: list[Note], plan: MusicPlan, bar_ticks: int) -> list[Note]:
    """The model's melody with its wide leaps narrowed (:func:`close_octave_leaps`), a returning theme's bars
    moved as their statement's were, note for note, so the theme comes back as it was first heard: the sampler tied
    the two, and a leap into the return from another note must not move it an octave away from its statement."""
    before = sorted(notes)
    after = close_octave_leaps(before, REGISTER["melody"])
    where = {(n.start, n.pitch): i for i, n in enumerate(before)}
    for r, src in sorted(_returns(plan).items()):  # a statement before its returns, so a return of a return holds
        for i, n in enumerate(before):
            if n.start // bar_ticks == r:
                j = where.get((n.start - (r - src) * bar_ticks, n.pitch))
                if j is not None:
                    after[i] = Note(n.start, n.duration, n.pitch + after[j].pitch - before[j].pitch, n.velocity)
    return after


def _returns(plan: MusicPlan) -> dict[int, int]:
    """``{bar: bar it restates}`` for the bars of a returning theme whose statement has a melody
    (:func:`~framescore.symbolic.form.restated_bars`), earliest statement first."""
    from ..form import melody_bars, restated_bars

    sounding = melody_bars(plan)
    return {r: s for r, s in restated_bars(plan).items() if sounding[r] and sounding[s] and s < r}


def heard_ends(plan: MusicPlan, bar_steps: int, steps_per_quarter: int) -> list[int]:
    """Where each bar's music ends, in steps of ``steps_per_quarter`` from the start (bars of ``bar_steps``): the
    bar's end, the piece's in a last bar cut short, the real bar's when the plan stands in for one with bars of
    other lengths (what lies beyond is cut off, :data:`~.assembly.REAL_BAR_QUARTERS`)."""
    from ..piece import piece_from_plan_grid
    from .assembly import REAL_BAR_QUARTERS

    music_end = -(-piece_from_plan_grid(plan).end_tick * steps_per_quarter // TICKS_PER_QUARTER)
    real = plan.source.get(REAL_BAR_QUARTERS) or [None] * plan.n_bars
    return [min((b + 1) * bar_steps, music_end,
                b * bar_steps + (bar_steps if q is None else int(q * steps_per_quarter))) for b, q in enumerate(real)]


def _melody_plan(plan: MusicPlan, sounding: list[bool], roll, known, spb: int) -> dict[int, int]:
    """Fix the melody's silent bars (``sounding`` False: :func:`~framescore.symbolic.form.melody_bars`) to silence
    on the melody channels, so the model writes the accompaniment of a bar without tune, and return
    ``{bar: bar it restates}`` for the bars of a returning theme whose statement has a melody
    (:func:`~framescore.symbolic.form.restated_bars`)."""
    for b, on in enumerate(sounding):
        if not on:
            roll[:2, b * spb:(b + 1) * spb] = -1.0
            known[:2, b * spb:(b + 1) * spb] = True
    return _returns(plan)


def _sounding(plan: MusicPlan, bar: int, off: int, beat_ticks: int):
    """The chord sounding ``off`` ticks into ``bar``: the bar's last slot at or before it, else the chord carried over
    from an earlier bar (a bar may open with its first chord after the downbeat); None before the first chord."""
    for b in range(bar, -1, -1):
        slots = [c for bt, c in plan.chords_at(b) if b < bar or bt * beat_ticks <= off]
        if slots:
            return slots[-1]
    return None


def drop_off_chord_onsets(notes: list[Note], plan: MusicPlan) -> list[Note]:
    """Drop notes that start on a beat and are not tones of the chord sounding there."""
    num, den = plan.meter_tuple
    beat = TICKS_PER_QUARTER * 4 // den
    tpb = TICKS_PER_QUARTER * 4 * num // den
    out = []
    for n in notes:
        bar, off = divmod(n.start, tpb)
        if off % beat == 0 and bar < plan.n_bars:
            chord = _sounding(plan, bar, off, beat)
            if chord is not None and not chord.is_none and n.pitch % 12 not in chord.pitch_classes:
                continue
        out.append(n)
    return out


def compose(plan: MusicPlan, melody: Piece | None = None, *, checkpoint: str | Path | None = None,
            guidance: float | None = None, steps: int | None = None, hop_bars: int | None = None,
            post_filter: bool | None = None, tone_guidance: float | None = None,
            key_guidance: float | None = None, reattack: float | None = None,
            melody_tone_share: float | None = None, register_guidance: float | None = None,
            density_tolerance: float | None = None) -> Piece:
    """Realize ``plan``; with ``melody`` (a piece whose bar 0 is the plan's bar 0), keep that melody and write
    the accompaniment around it. Keyword arguments override :data:`DEFAULTS` (``None``: the checkpoint's; the
    checkpoint's ``melody_tone_share`` too), and ``reattack`` :data:`REATTACK`. The model's melody ends on the
    tonic (:func:`.assembly.close_on_tonic`); a given one is kept as it is."""
    from ..piece import piece_from_plan_grid
    from ..roll import roll_to_notes
    from .assembly import bass_profile, close_on_tonic, rule_backing, with_backing

    plan.validate()
    guidance = DEFAULTS["guidance"] if guidance is None else guidance
    tone_guidance = DEFAULTS["tone_guidance"] if tone_guidance is None else tone_guidance
    key_guidance = DEFAULTS["key_guidance"] if key_guidance is None else key_guidance
    steps = DEFAULTS["steps"] if steps is None else steps
    hop_bars = DEFAULTS["hop_bars"] if hop_bars is None else hop_bars
    post_filter = DEFAULTS["post_filter"] if post_filter is None else post_filter
    register_guidance = DEFAULTS["register_guidance"] if register_guidance is None else register_guidance
    density_tolerance = DEFAULTS["density_tolerance"] if density_tolerance is None else density_tolerance
    user = melody_notes(melody) if melody is not None else None
    backing = rule_backing(plan)  # composed first, so the key guide hears the bass
    roll, spec, shift = generate_roll(plan, checkpoint, user, guidance, steps, hop_bars, tone_guidance,
                                      key_guidance=key_guidance, backing_profile=bass_profile(backing),
                                      melody_tone_share=melody_tone_share, register_guidance=register_guidance,
                                      density_tolerance=density_tolerance)
    th = _load(_checkpoint(checkpoint)).config.thresholds

    spb = roll.shape[1] // plan.n_bars
    velocity = [int(round(velocity_of(plan.bars[s // spb].dynamics))) for s in range(roll.shape[1])]
    parts = {
        "melody": (user if user is not None else
                   roll_to_notes(roll[:2], spec, shift, (th[0], th[1]), [min(127, v + 6) for v in velocity],
                                 TICKS_PER_QUARTER, monophonic=True,
                                 reattack=REATTACK if reattack is None else reattack, bar_steps=spb)),
        "harmony": roll_to_notes(roll[2:], spec, shift, (th[2], th[3]), [max(1, v - 8) for v in velocity],
                                 TICKS_PER_QUARTER),
    }
    if user is None:  # the last note heard comes home (notes past a bar's heard end are cut when laid on it)
        tps = TICKS_PER_QUARTER // spec.steps_per_quarter
        ends = [e * tps for e in heard_ends(plan, spb, spec.steps_per_quarter)]
        heard = [n for n in parts["melody"] if n.start < ends[min(n.start // (spb * tps), plan.n_bars - 1)]]
        parts["melody"] = close_on_tonic(_sung(heard, plan, spb * tps), plan, piece_from_plan_grid(plan).end_tick)
    if post_filter:
        parts = {k: (v if k == "melody" and user is not None else drop_off_chord_onsets(v, plan))
                 for k, v in parts.items()}
    return with_backing(plan, parts, backing)  # cut at the end of the music, over the rule engine's bass and drums


def compose_with_melody(plan: MusicPlan, melody_path: str | Path, **options) -> Piece:
    """:func:`compose` keeping the melody of a MIDI file (``--melody tune.mid``): its bar 0 is the plan's bar 0.
    It goes through the engines' gate (:func:`framescore.symbolic.engines.compose`), which checks the piece."""
    from . import compose as gate

    return gate(plan, ENGINE.name, melody=Path(melody_path), **options)
