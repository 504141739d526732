"""Re-composing a bar range with the rest kept (`compose --bars 9-16 --keep score.mid`), in the engines' gate."""

from __future__ import annotations

import pytest

from framescore.symbolic.engines import EngineError, compose
from framescore.symbolic.midi_io import read_midi, write_midi
from framescore.symbolic.plan import ChordSlot
from framescore.vision.mapping import Overrides, plan_from_text


def _outside(piece, lo: int, hi: int) -> dict:
    return {t.name: [(n.start, n.duration, n.pitch) for n in t.notes if n.start < lo or n.start >= hi]
            for t in piece.tracks}


def _inside(piece, lo: int, hi: int) -> dict:
    return {t.name: [(n.start, n.pitch) for n in t.notes if lo <= n.start < hi] for t in piece.tracks}


@pytest.mark.parametrize("engine", ["rule", "transformer"])
def test_only_the_bars_asked_for_change(engine, tmp_path):
    plan = plan_from_text("a happy tune", 16.0, Overrides(tempo_bpm=120.0, engine=engine, seed=2,
                                                        instruments="melody=flute,harmony=piano,harmony+=strings"))
    first = compose(plan)
    path = tmp_path / "score.mid"
    write_midi(first, path)
    plan.bars[3].chords = [ChordSlot(0.0, "F#:dim")]  # an edit in bar 4 (counted from 1)
    plan.seed = 7
    lines = plan.bar_start_ticks(first.resolution)
    again = compose(plan, bars=range(2, 4), keep=path)
    lo, hi = lines[2], lines[4]
    kept = _outside(first, lo, hi)
    # outside bars 3-4 every note is the old one (a note that rang into the range is cut at its line)
    for name, notes in _outside(again, lo, hi).items():
        assert sorted((s, p) for s, _, p in notes) == sorted((s, p) for s, _, p in kept[name]), name
    assert _inside(again, lo, hi) != _inside(first, lo, hi)
    assert all(n.end <= hi for t in again.tracks for n in t.notes if lo <= n.start < hi)
    bar4 = [n.pitch % 12 for t in again.tracks if t.name == "harmony" for n in t.notes
            if lines[3] <= n.start < lines[4]]
    assert bar4 and set(bar4) <= {6, 9, 0}  # the edited chord is what bar 4 now plays


def test_a_piece_of_another_grid_cannot_be_kept(tmp_path):
    plan = plan_from_text("a happy tune", 8.0, Overrides(tempo_bpm=120.0))
    other = compose(plan_from_text("a happy waltz", 8.0, Overrides(tempo_bpm=120.0, meter="3/4")))
    with pytest.raises(EngineError, match="line up"):
        compose(plan, bars=range(0, 1), keep=other)
    with pytest.raises(EngineError, match="outside"):
        compose(plan, bars=range(0, plan.n_bars + 3), keep=compose(plan))
    with pytest.raises(EngineError, match="both"):
        compose(plan, bars=range(0, 1))


def test_the_command_line_recomposes_bars_in_place(tmp_path, capsys):
    import json

    from framescore.cli import main

    out = tmp_path / "out"
    assert main(["text", "a calm evening in D major", "-o", str(out), "--duration", "12", "-q"]) == 0
    before = read_midi(out / "score.mid")
    plan = json.loads((out / "plan.json").read_text())
    plan["bars"][1]["chords"] = [{"beat": 0.0, "chord": "B:min"}]
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(plan))
    assert main(["compose", str(edited), "-o", str(out), "--bars", "2", "--keep", str(out / "score.mid"),
                 "-q"]) == 0
    after = read_midi(out / "score.mid")
    lines = before.bar_starts()
    assert _outside(after, lines[1], lines[2]).keys() == _outside(before, lines[1], lines[2]).keys()
    for name, notes in _outside(after, lines[1], lines[2]).items():
        assert sorted((s, p) for s, _, p in notes) == sorted((s, p) for s, _, p in
                                                             _outside(before, lines[1], lines[2])[name])
    assert main(["compose", str(edited), "-o", str(tmp_path / "x"), "--bars", "40-41", "--keep",
                 str(out / "score.mid")]) == 1
    assert "the plan has bars" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
