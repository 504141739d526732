"""The diffusion engine: model files, sampler (guidance, inpainting), a few training steps, and compose()."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from framescore.datasets.rolls import RollCache
from framescore.symbolic.checkpoints import checkpoint_dir
from framescore.symbolic.models.roll_unet import (
    CheckpointError,
    ModelConfig,
    denoise,
    load_model,
    new_model,
    sample,
    save_model,
)
from framescore.symbolic.piece import Note, Piece, Track
from framescore.symbolic.plan import simple_plan
from framescore.symbolic.roll import RollSpec

torch = pytest.importorskip("torch")

TINY = ModelConfig(block_out_channels=(8, 16), norm_num_groups=4, sampling_steps=4)
DEBUG = checkpoint_dir("diffusion-debug")


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One torch thread, as the engine and the trainer use: on a shared 2-core machine more threads are slower."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def tiny():
    return new_model(TINY, seed=0)


def _cond(b: int = 1, t: int = 64) -> torch.Tensor:
    c = torch.zeros(b, 3, t, 64)
    c[:, 0, :, ::4] = 1
    c[:, 2] = 0.4
    return c


def test_save_and_load_give_the_same_network(tiny, tmp_path):
    save_model(tiny, tmp_path / "ck", info={"steps": 0})
    assert {p.name for p in (tmp_path / "ck").iterdir()} >= {"config.json", "diffusion_pytorch_model.safetensors",
                                                              "scheduler_config.json"}
    back = load_model(tmp_path / "ck")
    assert back.config == TINY and back.info == {"steps": 0}
    x, t = torch.randn(2, 4, 64, 64), torch.tensor([10, 900])
    with torch.no_grad():
        assert torch.equal(denoise(tiny, x, t, _cond(2)), denoise(back, x, t, _cond(2)))


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(CheckpointError, match="framescore train diffusion"):
        load_model(tmp_path)


def test_sampling_is_deterministic_and_guidance_matters(tiny):
    def run(seed, w):
        return sample(tiny, _cond(), torch.Generator().manual_seed(seed), guidance=w)

    a = run(0, 3.0)
    assert a.shape == (1, 4, 64, 64) and a.abs().max() <= 1.0
    assert torch.equal(a, run(0, 3.0))
    assert not torch.equal(a, run(1, 3.0))
    assert not torch.equal(a, run(0, 1.0))


def test_inpainting_keeps_the_known_region_exactly(tiny):
    g = torch.Generator().manual_seed(5)
    known = torch.where(torch.rand(1, 4, 64, 64, generator=g) < 0.1, 1.0, -1.0)
    mask = torch.zeros(1, 4, 64, 64, dtype=torch.bool)
    mask[:, :, :16] = True  # the first bar, every channel (a window's overlap)
    mask[:, :2] = True  # the melody everywhere (a user's melody)
    out = sample(tiny, _cond(), torch.Generator().manual_seed(0), known=known, known_mask=mask)
    assert torch.equal(out[mask], known[mask])
    assert not torch.equal(out[~mask], known[~mask])


def test_tone_guidance_pulls_the_roll_off_non_chord_tones(tiny):
    off = (_cond()[:, :1] == 0).expand(1, 4, 64, 64)  # every cell whose pitch is not a chord tone

    def run(s):
        return sample(tiny, _cond(), torch.Generator().manual_seed(0), tone_guidance=s)

    free, half, full = run(0.0), run(0.5), run(1.0)
    assert (free[off] > 0).any()  # the untrained network puts notes anywhere
    # at full strength the accompaniment ends "off" (-1, to float precision) outside the chord; the melody is
    # pulled half as hard
    assert full[:, 2:][off[:, 2:]].max() < -0.9999
    assert free[:, :2][off[:, :2]].mean() > half[:, :2][off[:, :2]].mean() > full[:, :2][off[:, :2]].mean()
    with pytest.raises(CheckpointError, match="tone guidance"):
        run(1.5)
    # the melody's share of the pull: all of it ends the melody "off" outside the chord too, none leaves it free
    whole = sample(tiny, _cond(), torch.Generator().manual_seed(0), tone_guidance=1.0, melody_tone_share=1.0)
    assert whole[:, :2][off[:, :2]].max() < -0.9999
    none = sample(tiny, _cond(), torch.Generator().manual_seed(0), tone_guidance=1.0, melody_tone_share=0.0)
    assert (none[:, :2][off[:, :2]] > 0).any()


def test_outside_register_pulls_those_cells_off_and_leaves_the_rest(tiny):
    high = torch.zeros(1, 4, 1, 64)
    high[..., 48:] = 1.0  # every part's top 16 pitches
    free = sample(tiny, _cond(), torch.Generator().manual_seed(0))
    kept = sample(tiny, _cond(), torch.Generator().manual_seed(0), outside_register=high)
    assert (free[..., 48:] > 0).any()  # the untrained network writes up there
    assert kept[..., 48:].max() < -0.9999  # pulled all the way: nothing sounds above the register
    assert not torch.equal(kept[..., :48], free[..., :48])  # the network re-plans the rest around it
    # with the tone guidance, the stronger pull of the two counts
    both = sample(tiny, _cond(), torch.Generator().manual_seed(0), outside_register=high, tone_guidance=1.0)
    assert both[..., 48:].max() < -0.9999


def test_the_density_guide_thins_a_bar_busier_than_its_plan_asks():
    from framescore.symbolic.models.roll_unet import DensityGuide, _x0_of

    x0 = torch.full((1, 4, 32, 64), -1.0)
    x0[0, 0, 0, 60] = 0.5  # bar 0 (steps 0-15): one melody onset...
    x0[0, 2, :10, 30] = torch.linspace(0.1, 0.9, 10)  # ...and ten accompaniment onsets
    x0[0, 2, 16:18, 30] = 0.5  # bar 1: two accompaniment onsets
    x = torch.zeros_like(x0)
    alpha = torch.tensor(0.5)
    out = (x - alpha.sqrt() * x0) / (1 - alpha).sqrt()  # the epsilon that predicts x0 from x
    guide = DensityGuide(((0, 16, 4.0), (16, 32, 8.0)), (0.0, 0.0), 0.25)
    got = _x0_of(guide.steer(out, x, alpha, "epsilon"), x, alpha, "epsilon")
    # bar 0: 11 onsets for 4 asked: the 7 weakest accompaniment onsets go, the 3 strongest and the melody stay
    assert int((got[0, 2, :16] > 0).sum()) == 3
    assert torch.allclose(got[0, 2, 7:10, 30], x0[0, 2, 7:10, 30], atol=1e-5)
    assert abs(float(got[0, 0, 0, 60] - x0[0, 0, 0, 60])) < 1e-5
    # bar 1: 2 for 8 asked: a sparser bar is the network's to fill; nothing is raised
    assert torch.allclose(got[0, :, 16:], x0[0, :, 16:], atol=1e-5)
    # a melody that alone fills the plan's count: its accompaniment goes, unless the guide keeps some (a user's
    # melody keeps a chord, its strongest three onsets)
    busy = x0.clone()
    busy[0, 0, :16, 60] = 0.5  # sixteen melody onsets for 4 asked
    out_busy = (x - alpha.sqrt() * busy) / (1 - alpha).sqrt()
    bare = _x0_of(guide.steer(out_busy, x, alpha, "epsilon"), x, alpha, "epsilon")
    assert int((bare[0, 2, :16] > 0).sum()) == 0
    keeping = DensityGuide(guide.bars, guide.levels, guide.tolerance, keep=3)
    kept = _x0_of(keeping.steer(out_busy, x, alpha, "epsilon"), x, alpha, "epsilon")
    assert int((kept[0, 2, :16] > 0).sum()) == 3 and bool((kept[0, 2, 7:10, 30] > 0).all())
    with pytest.raises(CheckpointError, match="batch"):
        guide.steer(out.repeat(2, 1, 1, 1), x.repeat(2, 1, 1, 1), alpha, "epsilon")
    # within the tolerance nothing moves
    same = DensityGuide(((0, 16, 10.0),), (0.0, 0.0), 0.25)
    assert torch.equal(same.steer(out, x, alpha, "epsilon"), out)


def test_the_engines_density_guide_keeps_sparse_bars_sparse(engine):
    import numpy as np

    plan = _plan(8)
    for b, d in zip(plan.bars, [0.05, 0.7] * 4):
        b.density = d  # 0.05: 2.4 onsets a 4/4 bar

    def counts(tol, part):
        piece = engine.compose(plan, steps=3, density_tolerance=tol)
        return np.histogram([n.start for n in piece.track(part).notes], bins=plan.bar_start_ticks())[0]

    free, guided = counts(-1.0, "harmony"), counts(0.2, "harmony")
    assert free[0::2].min() > 3 and guided[0::2].max() <= 2  # the sparse bars lose their surplus accompaniment
    assert guided[1::2].min() > 4 * guided[0::2].max()  # the busy bars stay busy
    assert counts(0.2, "melody")[0::2].min() >= 2  # the tune is not thinned


def test_windows_denoise_one_long_roll_in_a_batch(tiny):
    cond = _cond(t=112)  # 7 bars, as windows of 4 bars at bars 0 and 3
    run = lambda starts: sample(tiny, cond, torch.Generator().manual_seed(0), windows=(64, starts))  # noqa: E731
    a = run([0, 48])
    assert a.shape == (1, 4, 112, 64) and torch.equal(a, run([0, 48]))
    one = sample(tiny, _cond(), torch.Generator().manual_seed(0))
    assert torch.equal(sample(tiny, _cond(), torch.Generator().manual_seed(0), windows=(64, [0])), one)
    with pytest.raises(CheckpointError, match="do not cover"):
        run([0, 32])


def test_ties_make_two_passages_one_melody_and_leave_the_rest_free(tiny):
    out = sample(tiny, _cond(), torch.Generator().manual_seed(3), ties=[(32, 0, 16)])
    assert torch.equal(out[:, :2, 32:48], out[:, :2, 0:16])
    assert not torch.equal(out[:, 2:, 32:48], out[:, 2:, 0:16])  # the accompaniment is its own


def test_the_melody_floor_raises_onsets_where_a_tune_is_asked_for():
    from framescore.symbolic.models.roll_unet import MELODY_REGISTER

    debug = load_model(DEBUG)  # trained a little: it writes few melody onsets of its own

    def strongest(floor):  # per step of bar 0, the strongest melody onset in the melody's register
        out = sample(debug, _cond(), torch.Generator().manual_seed(0), tone_guidance=0.0, melody_floor=floor)
        return out[0, 0, :16, MELODY_REGISTER[0]:MELODY_REGISTER[1]].amax(-1)

    free = strongest(None)
    level = float(free.sort().values[-3])  # two steps of the free roll lie above it
    assert int((free > level).sum()) == 2
    assert int((strongest(([(0, 16)], level, 8)) > level).sum()) >= 8


def test_the_melody_floor_counts_only_the_onsets_the_register_guide_allows():
    from framescore.symbolic.models.roll_unet import MELODY_REGISTER, _raise_melody, _x0_of

    lo, hi = MELODY_REGISTER
    x0 = torch.full((1, 4, 16, 64), -1.0)
    x0[0, 0, :, lo] = 0.9  # strong onsets at the register's bottom, on every step: the floor is met there...
    allowed = torch.ones(1, 16, 64, dtype=torch.bool)
    allowed[:, :, lo] = False  # ...but the register guide pulls that pitch off
    x = torch.zeros_like(x0)
    alpha = torch.tensor(0.5)
    out = (x - alpha.sqrt() * x0) / (1 - alpha).sqrt()  # the epsilon that predicts x0 from x

    def raised(allow):
        return _x0_of(_raise_melody(out, x, alpha, ([(0, 16)], 0.0, 4), "epsilon", allow), x, alpha, "epsilon")

    assert torch.allclose(raised(None), x0, atol=1e-5)  # counted over every cell: nothing to raise
    got = raised(allowed)  # counted over the allowed cells: they are raised, the pulled pitch is left as it was
    assert (got[0, 0, :, lo + 1:hi] > 0.0).all() and torch.allclose(got[0, 0, :, lo], x0[0, 0, :, lo], atol=1e-5)


def _fake_cache(n_songs: int = 3, bars: int = 8) -> RollCache:
    """Songs whose accompaniment plays the chord tones on every beat: an easy pattern to start learning."""
    spec = RollSpec()
    steps = n_songs * bars * 16
    roll = np.zeros((steps, 4, 64), dtype=np.uint8)
    mask = np.full(steps, (1 << 0) | (1 << 4) | (1 << 7), dtype=np.uint16)
    for s in range(0, steps, 4):
        roll[s, 2, [24, 28, 31]] = 1  # C4 E4 G4 onsets
        roll[s:s + 4, 3, [24, 28, 31]] = 1
        if s % 16 == 0:  # a melody note on every downbeat
            roll[s, 0, 40] = 1
            roll[s:s + 2, 1, 40] = 1
    starts = np.array([i * bars * 16 + b * 16 for i in range(n_songs) for b in range(bars - 3)])
    return RollCache(spec, np.packbits(roll, axis=-1), mask, np.zeros(steps, np.int8),
                     np.full(steps, 0.4, np.float32), starts, np.array(["a", "b", "c"][:n_songs]),
                     np.arange(n_songs + 1) * bars * 16)


def test_a_few_training_steps_lower_the_validation_loss(tmp_path):
    from framescore.datasets.train_diffusion import calibrate, train, validation_loss

    cache = _fake_cache()
    model = new_model(TINY, seed=1)
    before = validation_loss(model, cache, n_windows=8, batch=8)
    opts = argparse.Namespace(batch=8, lr=3e-3, warmup=1, steps=30, max_minutes=5.0, ema=0.5, seed=0, log_every=10,
                              eval_every=0, eval_windows=8, save_minutes=60.0, out=tmp_path / "ck",
                              state_path=tmp_path / "state.pt", argv=["--steps", "30"])
    figures = train(model, cache, cache, opts, log=lambda _: None)
    assert figures["steps"] == 30 and figures["val_loss"] < before
    assert load_model(tmp_path / "ck").info["steps"] == 30
    assert (tmp_path / "ck" / "card.md").read_text().startswith("# diffusion")
    assert (tmp_path / "state.pt").is_file()
    # the reading thresholds are fitted to the data's fullness and travel with the checkpoint
    fitted = calibrate(load_model(tmp_path / "ck"), cache, n_windows=4, batch=4, log=lambda _: None)
    assert len(fitted.config.thresholds) == 4 and all(-0.9 <= t <= 0.9 for t in fitted.config.thresholds)
    save_model(fitted, tmp_path / "ck")
    assert load_model(tmp_path / "ck").config.thresholds == fitted.config.thresholds


# ----- the engine, on the tiny debug checkpoint ----------------------------------------------------------------------
@pytest.fixture()
def engine(monkeypatch):
    monkeypatch.setenv("FRAMESCORE_DIFFUSION_CHECKPOINT", str(DEBUG))
    from framescore.symbolic.engines import diffusion

    return diffusion


def _plan(bars: int = 8, **kw):
    kw.setdefault("tempo_bpm", 100)
    kw.setdefault("key", "E minor")
    kw.setdefault("chords", "i VI III VII")
    return simple_plan(bars * 2.4 - 0.5, engine="diffusion", seed=kw.pop("seed", 7), **kw)


def test_compose_gives_the_plan_its_parts_within_the_end(engine):
    from framescore.symbolic.engines import get_engine
    from framescore.symbolic.engines.rule import compose as rule

    plan = _plan()
    piece = get_engine("diffusion")(plan)
    assert [t.name for t in piece.tracks] == ["melody", "harmony", "bass", "drums"]
    assert piece.plan is plan and piece.meter == (4, 4)
    assert all(0 <= n.start and n.end <= piece.end_tick and n.duration > 0 and 1 <= n.velocity <= 127
               for t in piece.tracks for n in t.notes)
    assert piece.track("harmony").notes
    base = rule(plan)
    assert piece.track("bass").notes == base.track("bass").notes
    assert piece.track("drums").notes == base.track("drums").notes


def test_compose_is_deterministic_for_a_seed(engine):
    a, b = engine.compose(_plan(), steps=3), engine.compose(_plan(), steps=3)
    c = engine.compose(_plan(seed=8), steps=3)
    assert [t.notes for t in a.tracks] == [t.notes for t in b.tracks]
    assert a.track("harmony").notes != c.track("harmony").notes


def test_long_pieces_are_one_continuous_inpainted_roll(engine):
    from framescore.symbolic.roll import key_shift

    plan = _plan(11)
    roll, spec, shift = engine.generate_roll(plan, steps=3)
    assert roll.shape == (4, 11 * 16, 64) and shift == key_shift(plan.key_obj)
    assert engine._window_starts(11, 4, 3) == [0, 3, 6, 7]
    assert engine._window_starts(3, 4, 3) == [0]


def test_the_form_silent_bars_returning_themes_and_a_tune_in_every_other_bar(engine):
    from framescore.symbolic.metrics import melody_coverage, theme_similarity
    from framescore.symbolic.plan import Section

    plan = _plan(8)
    plan.sections = [Section("A", 0, 3, theme="A"), Section("B", 3, 2, cut_sec=7.2, theme="B"),
                     Section("A2", 5, 3, cut_sec=12.0, theme="A", role="return")]
    plan.bars[3].melody = False
    plan.validate()
    roll, spec, _ = engine.generate_roll(plan, steps=3)
    assert roll[:2, 48:64].max() == -1.0  # bar 3: the melody's channels are silence
    assert np.array_equal(roll[:2, 80:112], roll[:2, 0:32])  # bars 5-6 restate bars 0-1 (bar 7 is cut short)
    piece = engine.compose(plan, steps=3)
    assert melody_coverage(piece, plan) == 1.0
    assert theme_similarity(piece, plan)["mean"] > 0.5


def test_a_busy_users_melody_keeps_its_chords_under_a_sparse_plan(engine):
    import numpy as np

    from framescore.symbolic.models.roll_unet import MIN_ACCOMPANIMENT_ONSETS

    plan = _plan(8)
    for b in plan.bars:
        b.density = 0.15  # 7 onsets a bar, against the melody's 16
    bar = plan.bar_start_ticks()[1]
    tune = Piece([Track("melody", 0, False, [Note(t, 120, 64 + (t // 120) % 5) for t in range(0, 8 * bar, 120)])])
    piece = engine.compose(plan, tune, steps=3)
    counts = np.histogram([n.start for n in piece.track("harmony").notes], bins=plan.bar_start_ticks())[0]
    assert counts.min() >= MIN_ACCOMPANIMENT_ONSETS


def test_a_returning_theme_comes_back_note_for_note_after_the_leaps_are_narrowed(engine):
    from framescore.symbolic.plan import Section

    for seed in range(7, 13):  # seeds where a leap into the return had moved it an octave off its statement
        plan = _plan(8, seed=seed)
        plan.sections = [Section("A", 0, 3, theme="A"), Section("B", 3, 2, cut_sec=7.2, theme="B"),
                         Section("A2", 5, 3, cut_sec=12.0, theme="A", role="return")]
        plan.validate()
        piece = engine.compose(plan, steps=3)
        bar = piece.ticks_per_bar
        melody = piece.track("melody").notes

        def line(first: int) -> list[tuple[int, int]]:
            return [(n.start - first * bar, n.pitch) for n in melody if first * bar <= n.start < (first + 2) * bar]

        assert line(5) == line(0), seed  # bars 5-6 restate bars 0-1


def test_a_users_melody_is_kept_and_accompanied(engine, tmp_path):
    from framescore.symbolic.midi_io import write_midi

    plan = _plan()
    tune = [Note(i * 480, 480, 64 + (i % 3) * 2, 90) for i in range(40)]
    melody = Piece([Track("lead", 73, False, tune)], end_tick=40 * 480)
    piece = engine.compose(plan, melody, steps=3)
    end = piece.end_tick
    assert piece.track("melody").notes == [Note(n.start, min(n.end, end) - n.start, n.pitch, n.velocity)
                                           for n in tune if n.start < end]
    assert piece.track("melody").program == plan.instrumentation["melody"]
    assert piece.track("harmony").notes
    path = tmp_path / "tune.mid"
    write_midi(melody, path)
    again = engine.compose_with_melody(plan, path)
    assert [n.pitch for n in again.track("melody").notes] == [n.pitch for n in piece.track("melody").notes]


def test_a_melody_without_notes_is_refused(engine):
    with pytest.raises(engine.DiffusionError, match="no pitched notes"):
        engine.compose(_plan(), Piece([Track("melody", 0, False, [])], end_tick=480))


def test_three_four_plans_are_laid_on_their_own_bars(engine):
    plan = _plan(6, meter="3/4", chords="I IV V I")
    piece = engine.compose(plan, steps=3)
    assert piece.meter == (3, 4)
    assert all(n.end <= piece.end_tick for t in piece.tracks for n in t.notes)


def test_post_filter_drops_off_chord_notes_on_beats(engine):
    plan = _plan()
    piece = engine.compose(plan, steps=3, post_filter=True)
    tpb, beat = piece.ticks_per_bar, 480
    for n in piece.track("harmony").notes:
        bar, off = divmod(n.start, tpb)
        if off % beat == 0:
            chord = [c for b, c in plan.chords_at(bar) if b * beat <= off][-1]
            assert n.pitch % 12 in chord.pitch_classes


def test_the_register_guide_keeps_every_part_in_its_register(engine):
    lo_m, hi_m = engine.REGISTER["melody"]
    lo_h, hi_h = engine.REGISTER["harmony"]
    for seed in (7, 8):
        piece = engine.compose(_plan(seed=seed), steps=3)
        assert all(lo_m <= n.pitch <= hi_m for n in piece.track("melody").notes[:-1])  # the last: the tonic close
        assert all(lo_h <= n.pitch <= hi_h for n in piece.track("harmony").notes)
    free = engine.compose(_plan(seed=7), steps=3, register_guidance=0.0)
    assert free.track("harmony").notes != engine.compose(_plan(seed=7), steps=3).track("harmony").notes


def test_wide_melody_leaps_are_read_an_octave_nearer():
    from framescore.symbolic.engines.diffusion import close_octave_leaps

    def line(*pitches):
        return [Note(i * 120, 120, p) for i, p in enumerate(pitches)]

    got = close_octave_leaps(line(60, 74, 62, 50, 66, 72, 84), (56, 89), max_leap=9)
    # 60 -> 74 (a ninth) becomes 62; 62 -> 50 (an octave) 62, a repeat; 62 -> 66 a third, kept; 66 -> 72 a
    # tritone (no octave narrows it), kept; 72 -> 84 an octave, 72
    assert [n.pitch for n in got] == [60, 62, 62, 62, 66, 72, 72]
    assert [(n.start, n.duration, n.velocity) for n in got] == [(n.start, n.duration, n.velocity)
                                                                for n in line(60, 74, 62, 50, 66, 72, 84)]
    assert [n.pitch for n in close_octave_leaps(line(80, 60), (56, 89))] == [80, 72]  # moved up, toward 80
    assert [n.pitch for n in close_octave_leaps(line(86, 60), (56, 70))] == [86, 60]  # 72 lies outside: kept


def test_a_plan_shorter_than_a_window(engine):
    plan = simple_plan(1.5, tempo_bpm=120, key="Bb major", chords="I", engine="diffusion")
    piece = engine.compose(plan, steps=2)
    assert plan.n_bars == 1 and all(n.end <= piece.end_tick for t in piece.tracks for n in t.notes)


def test_the_post_filter_reads_the_chord_carried_over_a_barline():
    """A bar whose first chord comes after the downbeat opens on the previous bar's chord (the filter once found
    no chord there and raised IndexError)."""
    from framescore.symbolic.engines import compose
    from framescore.symbolic.plan import simple_plan

    plan = simple_plan(8.0, 100, "D major", "4/4", "I vi IV V", seed=17)
    for bar in plan.bars[1:]:
        bar.chords[0].beat = 1.5
    plan.validate()
    debug = checkpoint_dir("diffusion-debug")
    piece = compose(plan, "diffusion", checkpoint=debug, steps=2, post_filter=True)
    beat, bar_ticks = 480, 4 * 480
    for track in piece.tracks:
        if track.name not in ("melody", "harmony"):
            continue
        for n in track.notes:
            bar, off = divmod(n.start, bar_ticks)
            if 0 < bar < plan.n_bars and off % beat == 0 and off < 1.5 * beat:  # before the bar's own chord
                carried = plan.chords_at(bar - 1)[-1][1]
                assert n.pitch % 12 in carried.pitch_classes, (bar, off, n)


def test_the_key_guide_pushes_only_while_another_key_rivals_the_plans():
    from framescore.symbolic.models.roll_unet import KeyGuide

    e_major = np.zeros(12)
    e_major[[4, 6, 8, 9, 11, 1, 3]] = 1.0
    e_major[[4, 11]] = 3.0  # dwelling on E and B: heard as E major
    guide = KeyGuide(target=12 + 1, strength=0.5)  # the plan says C# minor (same notes)
    push = guide.push(e_major)
    assert push is not None and push[1] > 0 > push[4]  # towards C#, away from E
    c_sharp_minor = e_major.copy()
    c_sharp_minor[[1, 8]] = 6.0  # tonic and dominant dwelt on
    assert guide.push(c_sharp_minor) is None
    assert KeyGuide(target=4, strength=0.5).push(e_major) is None  # E major is clear already
