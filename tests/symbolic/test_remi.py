"""REMI + plan tokens: layout, key normalisation, round trips piece → tokens → piece, files, unseen tokens."""

from __future__ import annotations

import numpy as np
import pytest

from framescore.symbolic.chords import parse_key
from framescore.symbolic.piece import Note, Piece, Track
from framescore.symbolic.plan import BarPlan, ChordSlot, MusicPlan, Section, simple_plan
from framescore.symbolic.remi import PlanTokenizer, TokenizerError, key_shift

VELOCITIES = (15, 31, 47, 63, 79, 95, 111, 127)  # miditok's 8 bins: these survive unchanged


@pytest.fixture(scope="module")
def tok() -> PlanTokenizer:
    return PlanTokenizer()


def _plan(meter: str, key: str, n_bars: int, chords: str = "I IV V I") -> MusicPlan:
    num, den = (int(x) for x in meter.split("/"))
    bar_sec = num * 4 / den * 60 / 120
    return simple_plan(bar_sec * n_bars, tempo_bpm=120, key=key, meter=meter, chords=chords)


def _on_grid_piece(plan: MusicPlan, seed: int) -> Piece:
    """Notes exactly on the token grid (16ths, durations and velocities the vocabulary holds), both tracks."""
    rng = np.random.default_rng(seed)
    num, den = plan.meter_tuple
    step = 480 * 4 // den // 4
    n_steps = plan.n_bars * num * 4
    durations = [step * k for k in range(1, 17)] + [step * k for k in range(18, 33, 2)]
    tracks = []
    for name, (lo, hi) in (("melody", (60, 84)), ("harmony", (40, 72))):
        notes = set()
        for _ in range(40):
            start = int(rng.integers(0, n_steps)) * step
            notes.add(Note(start, int(rng.choice(durations)), int(rng.integers(lo, hi)), int(rng.choice(VELOCITIES))))
        by_onset = {(n.start, n.pitch): n for n in sorted(notes)}  # one note per onset and pitch
        tracks.append(Track(name, 0, False, sorted(by_onset.values())))
    return Piece(tracks=tracks, meter=plan.meter_tuple, key=plan.key)


@pytest.mark.parametrize("meter,key,seed", [("4/4", "C major", 0), ("4/4", "Eb major", 1), ("3/4", "F# minor", 2),
                                            ("6/8", "A minor", 3), ("2/4", "B major", 4)])
def test_round_trip_on_grid_is_exact(tok, meter, key, seed):
    plan = _plan(meter, key, 6)
    piece = _on_grid_piece(plan, seed)
    ids = tok.encode(piece, plan)
    back = {t.name: t for t in tok.decode(ids, plan)}
    for t in piece.tracks:
        assert back[t.name].notes == t.notes, t.name


def test_round_trip_off_grid_within_quantisation(tok):
    plan = _plan("4/4", "D major", 4)
    rng = np.random.default_rng(7)
    notes = sorted({Note(int(s), int(d), int(p), int(v)) for s, d, p, v in zip(
        rng.integers(0, 4 * 1920 - 200, 60), rng.integers(60, 1500, 60), rng.integers(55, 80, 60),
        rng.integers(20, 127, 60))})
    notes = sorted({(n.start, n.pitch): n for n in notes}.values())
    piece = Piece(tracks=[Track("melody", 0, False, notes)], meter=(4, 4))
    out = tok.decode(tok.encode(piece, plan), plan)[0].notes
    assert len(out) >= len(notes) - 3  # two notes may land on one grid onset and merge
    for n in notes:
        m = min((o for o in out if o.pitch == n.pitch), key=lambda o: abs(o.start - n.start))
        assert abs(m.start - n.start) <= 60  # half a 16th
        assert abs(m.velocity - n.velocity) <= 9
        assert abs(m.duration - n.duration) <= 120


def test_key_shift_moves_to_c_major_or_a_minor_by_at_most_six():
    assert key_shift(parse_key("C major")) == 0
    assert key_shift(parse_key("A minor")) == 0
    assert key_shift(parse_key("G major")) == 5
    assert key_shift(parse_key("D major")) == -2
    assert key_shift(parse_key("E minor")) == 5
    assert all(-6 <= key_shift(parse_key(f"{n} {m}")) <= 5 for n in "CDEFGAB" for m in ("major", "minor"))


def test_sequence_layout_and_key_relative_chords(tok):
    plan = MusicPlan(duration_sec=4.0, tempo_bpm=120, meter="4/4", key="G major",
                     bars=[BarPlan([ChordSlot(0, "G:maj"), ChordSlot(2, "D:7/3")], 0.4, 0.8),
                           BarPlan([ChordSlot(0, "E:min")], 0.0, 0.1)],
                     sections=[Section("A", 0, 2)], valence=0.7, arousal=-0.7).validate()
    piece = Piece(tracks=[Track("melody", 0, False, [Note(0, 480, 67, 80)])], meter=(4, 4))
    words = [tok.vocab[i] for i in tok.encode(piece, plan)]
    assert words[:5] == ["BOS_None", "Mode_major", "TempoBin_7", "Valence_4", "Arousal_0"]
    assert words[5:13] == ["Bar_None", "TimeSig_4/4", "ChordPos_0", "Chord_C:maj", "ChordPos_8", "Chord_G:7",
                           "Density_3", "Dynamics_6"]
    assert words[13:18] == ["Position_0", "Program_0", "Pitch_72", "Velocity_79", "Duration_1.0.4"]  # G4 up 5
    assert words[18:24] == ["Bar_None", "TimeSig_4/4", "ChordPos_0", "Chord_A:min", "Density_0", "Dynamics_0"]
    assert words[-1] == "EOS_None" and words.count("Bar_None") == plan.n_bars


def test_empty_bars_and_bars_past_the_music_are_kept(tok):
    plan = _plan("4/4", "C major", 5)
    piece = Piece(tracks=[Track("harmony", 0, False, [Note(1920 * 2, 480, 60, 63)])], meter=(4, 4))
    ids = tok.encode(piece, plan)
    assert [tok.vocab[i] for i in ids].count("Bar_None") == 5
    back = tok.decode(ids, plan)
    assert back[1].name == "harmony" and back[1].notes == [Note(3840, 480, 60, 63)]
    assert back[0].notes == []


def test_plan_tokens_are_marked_and_skipped_on_decoding(tok):
    plan = _plan("3/4", "E minor", 2)
    for i in tok.bar_header_ids(plan, 0)[1:]:
        assert tok.is_plan_token(i)
    assert not tok.is_plan_token(tok.bar_id)
    assert not tok.is_plan_token(tok.ids["Pitch_60"])


def test_unsupported_meter_is_a_clear_error(tok):
    plan = _plan("4/4", "C major", 2)
    plan.meter = "11/16"
    with pytest.raises(TokenizerError, match="11/16"):
        tok.bar_header_ids(plan, 0)


def test_save_and_load_give_the_same_vocabulary(tok, tmp_path):
    tok.save(tmp_path / "tokenizer.json")
    again = PlanTokenizer.load(tmp_path / "tokenizer.json")
    assert again.vocab == tok.vocab and len(again) == len(tok)
    text = (tmp_path / "tokenizer.json").read_text().replace('"Chord_C:maj"', '"Chord_X:maj"')
    (tmp_path / "bad.json").write_text(text)
    with pytest.raises(TokenizerError, match="vocabulary"):
        PlanTokenizer.load(tmp_path / "bad.json")
    (tmp_path / "junk.json").write_text("{}")
    with pytest.raises(TokenizerError):
        PlanTokenizer.load(tmp_path / "junk.json")
    # a vocabulary this miditok would not make is read (no miditok at load), and refused when miditok is built
    text = (tmp_path / "tokenizer.json").read_text().replace('"Pitch_60"', '"Pitch_600"')
    (tmp_path / "other.json").write_text(text)
    other = PlanTokenizer.load(tmp_path / "other.json")
    with pytest.raises(TokenizerError, match="differs from the stored one"):
        other.remi


def test_the_decoder_is_miditoks(tok):
    """The tokenizer decodes without miditok (:meth:`PlanTokenizer._notes`) to miditok's notes, on random streams
    in five meters, with notes cut short and stray tokens."""
    import random

    rng = random.Random(0)
    kinds: dict[str, list[int]] = {}
    for i, t in enumerate(tok.vocab[:tok.n_remi]):
        kinds.setdefault(t.split("_")[0], []).append(i)
    for trial in range(300):
        meter = ["4/4", "3/4", "6/8", "2/2", "5/4"][trial % 5]
        ids = [tok.bar_id, tok.ids[f"TimeSig_{meter}"]]
        for _ in range(rng.randint(0, 80)):
            r = rng.random()
            if r < 0.05:
                ids.append(tok.bar_id)
            elif r < 0.25:
                ids.append(rng.choice(kinds["Position"]))
            elif r < 0.3:
                ids.append(rng.choice(kinds["Program"]))
            elif r < 0.95:
                ids += [rng.choice(kinds[k]) for k in ("Pitch", "Velocity", "Duration")]
            else:
                ids.append(rng.choice(kinds[rng.choice(["Pitch", "Velocity", "Duration"])]))
        ids = ids[:len(ids) - (trial % 3 == 0)]
        score = tok.remi.decode(ids)
        f = 480 / score.ticks_per_quarter
        want = sorted((int(st.program), round(n.time * f), round(n.duration * f), int(n.pitch), int(n.velocity))
                      for st in score.tracks for n in st.notes)
        assert sorted(tok._notes(ids, 480)) == want, (meter, ids)


def test_generating_imports_neither_miditok_nor_torch():
    """The transformer engine composes from its stored vocabulary and numpy network: no miditok, torch or
    transformers (seconds of imports); the rule engine imports none of them either."""
    import subprocess
    import sys

    code = ("import sys\n"
            "from framescore.symbolic.engines import compose\n"
            "from framescore.symbolic.plan import simple_plan\n"
            "for engine in ('rule', 'transformer'):\n"
            "    compose(simple_plan(4.8, seed=0), engine)\n"
            "    heavy = sorted(m for m in ('miditok', 'torch', 'transformers', 'symusic', 'librosa', 'scipy')\n"
            "                   if m in sys.modules)\n"
            "    assert not heavy, (engine, heavy)\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_unseen_plan_tokens_fall_back_to_the_nearest_seen_ones(tmp_path):
    tok = PlanTokenizer()
    seen = ["Valence_2", "Arousal_2", "TimeSig_3/4", "TimeSig_4/4", "ChordPos_0", "ChordPos_4", "ChordPos_8",
            "ChordPos_12", "Chord_C:maj", "Chord_A:min", "Density_3", "Dynamics_5", "TempoBin_4", "Mode_major"]
    train = np.array([tok.ids[t] for t in seen] + [tok.ids["Pitch_60"]], dtype=np.uint16)
    tok.mark_unseen(train)
    assert "Valence_4" in tok.unseen and "Pitch_61" not in tok.unseen  # only plan tokens are tracked
    tok.save(tmp_path / "tokenizer.json")
    tok = PlanTokenizer.load(tmp_path / "tokenizer.json")
    plan = MusicPlan(duration_sec=1.0, tempo_bpm=150, meter="6/8", key="A minor",
                     bars=[BarPlan([ChordSlot(0, "A:minmaj7"), ChordSlot(1.5, "C:maj7")], 0.95, 0.05)],
                     sections=[Section("A", 0, 1)], valence=0.9, arousal=-0.9).validate()
    words = [tok.vocab[i] for i in tok.prefix_ids(plan) + tok.bar_header_ids(plan, 0)]
    assert words == ["BOS_None", "Mode_minor", "TempoBin_4", "Valence_2", "Arousal_2", "Bar_None", "TimeSig_4/4",
                     "ChordPos_0", "Chord_A:min", "ChordPos_8", "Chord_C:maj", "Density_3", "Dynamics_5"]


def test_plan_density_is_rescaled_to_the_scale_the_model_learnt(tok, tmp_path):
    from framescore.symbolic.attributes import DENSITY_ONSETS_PER_BEAT

    plan = MusicPlan(duration_sec=2.0, tempo_bpm=120, meter="4/4", key="C major",
                     bars=[BarPlan([ChordSlot(0, "C:maj")], 0.3, 0.5)], sections=[Section("A", 0, 1)]).validate()
    assert tok.vocab[tok.bar_header_ids(plan, 0)[-2]] == "Density_2"  # today's scale: 0.3 → bin 2
    d = tok.to_dict()
    del d["spec"]["density_onsets_per_beat"]  # a file from before the scale was recorded (labels at 8 a beat)
    (tmp_path / "old.json").write_text(__import__("json").dumps(d))
    old = PlanTokenizer.load(tmp_path / "old.json")
    expect = min(7, int(0.3 * DENSITY_ONSETS_PER_BEAT / 8.0 * 8))
    assert old.vocab[old.bar_header_ids(plan, 0)[-2]] == f"Density_{expect}"
