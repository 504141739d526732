"""The transformer engine: the real generation path on the tiny debug checkpoint, the numpy decoder against
transformers' GPT-2, the nucleus sampler, and a few training steps on a fake corpus made here."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from framescore.symbolic.midi_io import to_symusic
from framescore.symbolic.plan import simple_plan

REPO = Path(__file__).resolve().parents[2]
DEBUG = REPO / "checkpoints" / "transformer-debug"


def _midi_bytes(piece) -> bytes:
    return bytes(to_symusic(piece).dumps_midi())


@pytest.fixture(scope="module")
def engine():
    from framescore.symbolic.engines import transformer

    return transformer


def test_registered_with_the_engines(engine):
    from framescore.symbolic.engines import get_engine

    assert get_engine("transformer") is engine.compose


@pytest.mark.parametrize("meter,key", [("4/4", "D minor"), ("3/4", "Bb major"), ("6/8", "E major")])
def test_compose_honours_the_plan_grid_and_is_reproducible(engine, meter, key):
    plan = simple_plan(9.5, tempo_bpm=120, key=key, meter=meter, seed=5)
    piece = engine.compose(plan, checkpoint=DEBUG)
    assert [t.name for t in piece.tracks] == ["melody", "harmony", "bass", "drums"]
    assert tuple(piece.meter) == plan.meter_tuple and piece.key == plan.key
    assert piece.end_tick < plan.n_bars * piece.ticks_per_bar  # 9.5 s: the last bar is cut short
    for t in piece.tracks:
        assert t.program == plan.instrumentation[t.name]
        assert all(0 <= n.start and n.end <= piece.end_tick and n.duration >= 1 for n in t.notes)
    assert piece.track("melody").notes or piece.track("harmony").notes
    assert _midi_bytes(engine.compose(plan, checkpoint=DEBUG)) == _midi_bytes(piece)
    plan.seed = 6
    assert _midi_bytes(engine.compose(plan, checkpoint=DEBUG)) != _midi_bytes(piece)


def test_bass_and_drums_are_the_rule_engines(engine):
    from framescore.symbolic.engines import rule

    plan = simple_plan(8, seed=2)
    ours, theirs = engine.compose(plan, checkpoint=DEBUG), rule.compose(plan)
    for role in ("bass", "drums"):
        assert ours.track(role).notes == theirs.track(role).notes


def test_tokens_follow_the_grammar_and_the_plan(engine):
    from framescore.symbolic.remi import PlanTokenizer

    tok = PlanTokenizer.load(DEBUG / "tokenizer.json")
    plan = simple_plan(40, tempo_bpm=150, meter="3/4", key="G major", seed=1)  # 34 bars: the 128-token context refills
    ids = engine.generate_tokens(plan, DEBUG)
    words = [tok.vocab[i] for i in ids]
    bars = [i for i, w in enumerate(words) if w == "Bar_None"]
    assert len(bars) == plan.n_bars
    for b, (lo, hi) in enumerate(zip(bars, bars[1:] + [len(words)])):
        header = tok.bar_header_ids(plan, b)
        assert ids[lo:lo + len(header)] == header  # inserted as planned
        body = words[lo + len(header):hi]
        positions = [int(w.split("_")[1]) for w in body if w.startswith("Position_")]
        assert positions == sorted(set(positions)) and all(0 <= p < 12 for p in positions)
        expect = {"Position": ("Program",), "Program": ("Pitch",), "Pitch": ("Velocity",), "Velocity": ("Duration",),
                  "Duration": ("Program", "Position")}
        for a, c in zip(body, body[1:]):
            assert c.split("_")[0] in expect[a.split("_")[0]], (a, c)
        assert not body or body[0].startswith("Position_")
        assert not body or body[-1].startswith("Duration_")


def test_the_form_a_tune_in_every_bar_that_has_one_and_themes_that_return(engine):
    from framescore.symbolic.metrics import melody_coverage, theme_similarity
    from framescore.symbolic.plan import Section

    plan = simple_plan(8 * 2.4 - 0.5, tempo_bpm=100, key="E minor", chords="i VI III VII iv", seed=3)
    plan.sections = [Section("A", 0, 3, theme="A"), Section("B", 3, 2, cut_sec=7.2, theme="B"),
                     Section("A2", 5, 3, cut_sec=12.0, theme="A", role="return")]
    plan.bars[3].melody = False
    plan.validate()  # bars 5-7 have bars 0-2's chords
    piece = engine.compose(plan, DEBUG)
    assert melody_coverage(piece, plan) == 1.0
    bar = piece.ticks_per_bar
    notes = piece.track("melody").notes
    assert not [n for n in notes if 3 * bar <= n.start < 4 * bar]
    statement = [(n.start, n.pitch) for n in notes if n.start < 2 * bar]
    restated = [(n.start - 5 * bar, n.pitch) for n in notes if 5 * bar <= n.start < 7 * bar]
    assert statement and restated == statement  # bars 5-6 (7 is cut short) bring bars 0-1 back as they were
    assert theme_similarity(piece, plan)["mean"] > 0.9
    # without the form's help, the debug model leaves bars without a tune
    free = engine.compose(plan, DEBUG, melody_tries=0, restate_themes=False)
    assert melody_coverage(free, plan) < 1.0 and theme_similarity(free, plan)["mean"] < 0.9


def test_chord_tones_all_keeps_every_note_in_the_chord(engine):
    from framescore.symbolic.chords import parse_chord

    plan = simple_plan(12, key="E minor", chords="i VI III VII", seed=4)
    piece = engine.compose(plan, checkpoint=DEBUG, chord_tones="all")
    tpb = piece.ticks_per_bar
    for role in ("melody", "harmony"):
        for n in piece.track(role).notes:
            slots = plan.bars[n.start // tpb].chords
            symbol = [s.chord for s in slots if s.beat * 480 <= n.start % tpb][-1]
            assert n.pitch % 12 in parse_chord(symbol).pitch_classes, (role, n, symbol)


def test_errors_are_one_line_framescore_errors(engine, tmp_path):
    from framescore.errors import FramescoreError

    plan = simple_plan(4)
    with pytest.raises(FramescoreError, match="lacks"):
        engine.compose(plan, checkpoint=tmp_path)
    with pytest.raises(FramescoreError, match="chord_tones"):
        engine.compose(plan, checkpoint=DEBUG, chord_tones="some")
    plan.meter = "11/16"
    plan.bars = plan.bars[:1]
    plan.sections[0].n_bars = 1
    plan.duration_sec = 1.0
    with pytest.raises(FramescoreError, match="11/16"):
        engine.compose(plan, checkpoint=DEBUG)


def test_nucleus_sampling_keeps_the_smallest_head_reaching_top_p(engine):
    # logits log(0.5), log(0.3), log(0.15), log(0.05) on ids 10..13 (hidden 1-D, rows the identity)
    probs = np.array([0.3, 0.5, 0.05, 0.15], np.float32)
    allowed = (np.array([11, 10, 13, 12]), np.eye(4, dtype=np.float32))
    hidden = np.log(probs)

    def counts(top_p: float, temperature: float = 1.0, n: int = 4000) -> dict[int, float]:
        rng = np.random.default_rng(0)
        got = [engine._sample(hidden, allowed, temperature, top_p, rng) for _ in range(n)]
        return {i: got.count(i) / n for i in (10, 11, 12, 13)}

    assert counts(0.5)[10] == 1.0  # 0.5 alone reaches 0.5
    c = counts(0.8)  # 0.5 + 0.3 reaches 0.8: ids 10 and 11, renormalised to 5/8 and 3/8
    assert c[12] == c[13] == 0 and abs(c[10] - 0.625) < 0.03
    c = counts(0.81)  # needs the third: 0.5, 0.3, 0.15 over 0.95
    assert c[13] == 0 and abs(c[12] - 0.15 / 0.95) < 0.03
    c = counts(1.0)
    assert abs(c[13] - 0.05) < 0.015
    assert counts(0.9, temperature=0)[10] == 1.0  # greedy
    rng_a, rng_b = np.random.default_rng(3), np.random.default_rng(3)
    assert ([engine._sample(hidden, allowed, 1.0, 0.95, rng_a) for _ in range(50)]
            == [engine._sample(hidden, allowed, 1.0, 0.95, rng_b) for _ in range(50)])


def test_key_guide_pushes_towards_the_plans_key_only_while_it_is_unclear(engine):
    from framescore.symbolic.metrics import key_correlations

    # the white keys, equally long: C major leads A minor; the plan asks for A minor (index 12 + 9)
    profile = np.array([1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1], float)
    guide = engine._KeyGuide(21, 2.0, 0.1, profile)
    r = key_correlations(profile)
    assert np.argmax(r) == 0
    pcs = np.array([0, 4, 7, 9])  # C, E, G, A: the tones of an A minor or C major chord
    bias = guide.bias(pcs)
    assert bias.dtype == np.float32 and bias[3] > bias[0] and bias[1] > bias[2]  # A over C, E over G
    margins = []
    for _ in range(6):  # write what it favours most, a beat at a time, until A minor leads by the margin
        best = int(pcs[np.argmax(guide.bias(pcs))])
        guide.add(best, 1.0)
        r = key_correlations(guide.profile)
        margins.append(r[21] - np.delete(r, 21).max())
        if guide.bias(pcs) is None:
            break
    assert margins == sorted(margins) and margins[-1] >= 0.1
    assert engine._KeyGuide(21, 2.0, 0.1, np.zeros(12)).bias(pcs) is None  # nothing written yet


def test_key_guidance_makes_an_ambiguous_progression_sound_in_the_plans_key(engine):
    from framescore.symbolic.metrics import estimate_key

    # i VI VII III in C# minor is vi IV V I in E major: without guidance the debug model's music reads as E major
    plan = simple_plan(12, key="C# minor", chords="i VI VII III", seed=0)
    plain, guided = (engine.compose(plan, checkpoint=DEBUG, key_guidance=g) for g in (0.0, 3.0))
    assert estimate_key(plain).name == "E major" and estimate_key(guided).name == "C# minor"
    assert _midi_bytes(engine.compose(plan, checkpoint=DEBUG, key_guidance=3.0)) == _midi_bytes(guided)


def test_dark_plans_hold_the_key_harder_unless_told(engine, monkeypatch):
    seen = []
    real = engine.generate_tokens
    monkeypatch.setattr(engine, "generate_tokens",
                        lambda plan, *a, **k: seen.append((k["key_guidance"], k["key_margin"])) or real(plan, *a, **k))
    plan = simple_plan(6, key="A minor", chords="i VI III VII", seed=0)
    for valence in (0.4, -0.4):
        plan.valence = valence
        engine.compose(plan, checkpoint=DEBUG)
    engine.compose(plan, checkpoint=DEBUG, key_guidance=1.0)  # the caller's setting wins
    d, dark = engine.DEFAULTS, engine.DARK_KEY_GUIDE
    assert seen == [(d["key_guidance"], d["key_margin"]), (dark["key_guidance"], dark["key_margin"]),
                    (1.0, dark["key_margin"])]


def test_leap_and_repeat_costs_make_the_melody_move_by_step(engine):
    from framescore.symbolic.metrics import melody_motion

    plan = simple_plan(24, chords="I vi IV V", seed=3)
    free = melody_motion(engine.compose(plan, checkpoint=DEBUG, melody_leap_cost=0.0, melody_repeat_cost=0.0))
    led = melody_motion(engine.compose(plan, checkpoint=DEBUG, melody_leap_cost=2.0, melody_repeat_cost=3.0))
    held = melody_motion(engine.compose(plan, checkpoint=DEBUG, melody_leap_cost=2.0, melody_repeat_cost=0.0))
    assert led["step"] > free["step"] + 0.2 and led["leap"] < free["leap"]
    assert held["repeated"] > led["repeated"]  # a leap cost alone makes the nearest chord tone, itself, win


def test_numpy_decoder_matches_transformers(tmp_path):
    import torch

    from framescore.symbolic.remi import PlanTokenizer
    from framescore.symbolic.models.remi_gpt import Decoder, ModelSize, new_model, save_checkpoint

    tok = PlanTokenizer.load(DEBUG / "tokenizer.json")
    model = new_model(tok, ModelSize(n_layer=2, n_embd=48, n_head=3, n_ctx=64), seed=1).eval()
    save_checkpoint(tmp_path, model, tok)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "model.safetensors", "tokenizer.json"]
    ids = torch.randint(0, len(tok), (1, 40), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ref = model(ids).logits[0]
    dec = Decoder.load(tmp_path)
    np.testing.assert_allclose(dec.feed(ids[0, :30].tolist()), ref[29].numpy(), atol=1e-4, rtol=1e-4)
    for j in range(30, 40):
        np.testing.assert_allclose(dec.feed([int(ids[0, j])]), ref[j].numpy(), atol=1e-4, rtol=1e-4)
    with pytest.raises(ValueError, match="context"):
        dec.feed([1] * 30)


def _fake_corpus(directory: Path) -> None:
    """A corpus in the builder's layout from random pieces over random plans (no dataset needed)."""
    from framescore.symbolic.remi import PlanTokenizer
    from framescore.symbolic.piece import Note, Piece, Track

    tok = PlanTokenizer()
    directory.mkdir(parents=True)
    tok.save(directory / "tokenizer.json")
    rng = np.random.default_rng(0)
    for split, n_songs in (("train", 6), ("validation", 2)):
        seqs = []
        for s in range(n_songs):
            plan = simple_plan(16, key=["C major", "A minor", "F major"][s % 3], seed=s)
            notes = [Note(int(rng.integers(0, 32)) * 240, 240, int(rng.integers(55, 80)), 79) for _ in range(60)]
            notes = sorted({(n.start, n.pitch): n for n in notes}.values())
            piece = Piece(tracks=[Track("melody", 0, False, notes[::2]), Track("harmony", 0, False, notes[1::2])])
            seqs.append(tok.encode(piece, plan))
        np.save(directory / f"{split}.npy", np.concatenate(seqs))
        np.save(directory / f"{split}_offsets.npy", np.concatenate([[0], np.cumsum([len(q) for q in seqs])]))


def test_training_runs_saves_and_resumes(tmp_path):
    from framescore.symbolic.models.remi_gpt import Decoder
    from framescore.datasets.train_transformer import main

    _fake_corpus(tmp_path / "corpus")
    common = ["--corpus", str(tmp_path / "corpus"), "--out", str(tmp_path / "ck"), "--state",
              str(tmp_path / "state" / "state.pt"), "--layers", "1", "--dim", "32", "--heads", "2", "--ctx", "64",
              "--batch", "2", "--eval-every", "3", "--eval-windows", "4", "--warmup", "2", "--log-every", "2"]
    assert main(common + ["--steps", "6"]) == 0
    result = json.loads((tmp_path / "state" / "result.json").read_text())
    assert result["steps"] == 6 and np.isfinite(result["best_val_loss"])
    assert result["bigram"]["nll"] > 0
    assert [h["step"] for h in result["history"]] == [3, 6]
    assert result["history"][-1]["val_loss"] < result["history"][0]["val_loss"] + 0.5
    Decoder.load(tmp_path / "ck")  # a usable checkpoint
    assert main(common + ["--steps", "8", "--resume"]) == 0
    result = json.loads((tmp_path / "state" / "result.json").read_text())
    assert result["steps"] == 8 and [h["step"] for h in result["history"]] == [3, 6, 8]


def test_bigram_baseline_learns_a_deterministic_sequence():
    from framescore.datasets.train_transformer import Windows, bigram_nll

    seq = np.tile(np.array([3, 4, 5, 6, 7], dtype=np.uint16), 50)  # a bar (3) every 5 tokens
    scored = np.ones(10, dtype=bool)
    w = Windows(seq, np.array([0, len(seq)]), bar_id=3, pad_id=0, scored=scored, n_ctx=16)
    nll, k = bigram_nll(w, [w.window(i) for i in range(3)], vocab=10)
    assert nll < 0.05


def test_default_keeps_accompaniment_on_chord_tones_and_passing_tones_short(engine):
    from framescore.symbolic.chords import parse_chord

    plan = simple_plan(12, key="A major", chords="I | IV V", seed=8)
    piece = engine.compose(plan, checkpoint=DEBUG)
    tpb = piece.ticks_per_bar

    def chord_at(tick: int) -> set[int]:
        slots = plan.bars[tick // tpb].chords
        return set(parse_chord([s.chord for s in slots if s.beat * 480 <= tick % tpb][-1]).pitch_classes)

    assert all(n.pitch % 12 in chord_at(n.start) for n in piece.track("harmony").notes)
    for n in piece.track("melody").notes:
        assert n.pitch % 12 in chord_at(n.start) or n.duration <= 240, n


def test_a_melody_note_on_beat_one_or_three_is_a_chord_tone_and_may_lean_on_two_and_four(engine):
    from framescore.symbolic.chords import parse_chord

    plan = simple_plan(24, key="C major", chords="I | IV | V | I", seed=5)
    tpb, beat = 4 * 480, 480
    melody = [n for seed in range(4) for n in engine.compose(dataclasses.replace(plan, seed=seed),
                                                             checkpoint=DEBUG).track("melody").notes]
    pcs = lambda n: set(parse_chord(plan.bars[n.start // tpb].chords[0].chord).pitch_classes)  # noqa: E731
    strong = [n for n in melody if n.start % (2 * beat) == 0]
    weak_beats = [n for n in melody if n.start % (2 * beat) == beat]
    assert strong and all(n.pitch % 12 in pcs(n) for n in strong)
    assert any(n.pitch % 12 not in pcs(n) for n in weak_beats)  # the debug model leans on beats 2 and 4
    every = [n for seed in range(4) for n in engine.compose(dataclasses.replace(plan, seed=seed), checkpoint=DEBUG,
                                                            strong_beats=1).track("melody").notes]
    assert all(n.pitch % 12 in pcs(n) for n in every if n.start % beat == 0)


@pytest.mark.parametrize("key, scale", [("A major", {9, 11, 1, 2, 4, 6, 8}), ("D minor", {2, 4, 5, 7, 9, 10, 0, 1})])
def test_passing_tones_stay_in_the_key_unless_told(engine, key, scale):
    from framescore.symbolic.chords import parse_chord

    # a chromatic chord (the major II) in the progression: its own tones are allowed, other notes keep to the scale
    plan = simple_plan(24, key=key, chords="I II IV V" if key.endswith("major") else "i II iv V", seed=3)
    tpb = 4 * 480
    chord_pcs = {b: set(parse_chord(plan.bars[b].chords[0].chord).pitch_classes) for b in range(plan.n_bars)}
    melody = engine.compose(plan, checkpoint=DEBUG).track("melody").notes
    assert melody and all(n.pitch % 12 in scale | chord_pcs[n.start // tpb] for n in melody)
    loose = [n for seed in range(4) for n in engine.compose(dataclasses.replace(plan, seed=seed), checkpoint=DEBUG,
                                                             diatonic_passing=False).track("melody").notes]
    assert any(n.pitch % 12 not in scale | chord_pcs[n.start // tpb] for n in loose)  # the debug model strays


def test_other_key_finders_judge_a_plain_cadence():
    from framescore.symbolic.chords import Key
    from framescore.datasets.train_transformer import OTHER_KEY_FINDERS, _other_key_finders
    from framescore.symbolic.piece import Note, Piece, Track

    # C major: I IV V I block chords over a tonic-dominant bass, plus a drum track the finders must ignore
    chords = [(60, 64, 67), (60, 65, 69), (59, 62, 67), (60, 64, 67)]
    notes = [Note(i * 1920, 1920, p, 80) for i, c in enumerate(chords) for p in c]
    bass = [Note(i * 1920, 1920, p, 80) for i, p in enumerate((48, 53, 43, 48))]
    drums = [Note(i * 480, 120, 42, 80) for i in range(16)]
    piece = Piece(tracks=[Track("harmony", 0, False, notes), Track("bass", 32, False, bass),
                          Track("drums", 0, True, drums)])
    assert _other_key_finders(piece, Key(0, "major")) == {name: 1.0 for name in OTHER_KEY_FINDERS}
    assert set(_other_key_finders(piece, Key(7, "major")).values()) == {0.0}
