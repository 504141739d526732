"""The engines' contract: every registered engine, over a matrix of plans, gives a piece the gate accepts
(:func:`framescore.symbolic.contract.check_piece`), the same bytes for the same plan and seed; and the check
itself catches each way a piece can break its plan (pieces broken by hand).

Trained engines run on their debug checkpoints (``checkpoints/<checkpoint>-debug``, tiny), so the file takes
seconds. A new engine is picked up from the registry with nothing to add here.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from functools import lru_cache
from pathlib import Path

import pytest

from framescore.errors import FramescoreError
from framescore.symbolic.contract import check_piece, tuneless_bars, violations
from framescore.symbolic.engines import EngineError, compose, registry
from framescore.symbolic.midi_io import write_midi
from framescore.symbolic.metrics import ending
from framescore.symbolic.piece import ControlChange, Note, Piece, TempoChange, Track, piece_from_plan_grid
from framescore.symbolic.plan import MusicPlan, Section, simple_plan

REPO = Path(__file__).resolve().parents[2]
#: Fewer sampling steps than the debug checkpoint's own, so the matrix stays quick; the windows, the inpainting,
#: the read-back and the cut at the end are the same (the default steps run in the first case).
FAST = {"diffusion": {"steps": 2}}


# ----- the plans -----------------------------------------------------------------------------------------------
def _sections(plan: MusicPlan, tempos: list[float]) -> MusicPlan:
    """``plan`` cut into one section per tempo (bars shared out evenly), each section at its own tempo."""
    n, k = plan.n_bars, len(tempos)
    starts = [i * n // k for i in range(k)] + [n]
    plan.sections = [Section(chr(65 + i), starts[i], starts[i + 1] - starts[i], cut_sec=None if i == 0 else 1.0,
                             tempo_bpm=t) for i, t in enumerate(tempos)]
    plan.duration_sec = plan.bar_start_sec(n) - 0.3  # the last bar cut short, at the last tempo
    return plan.validate()


def _anticipated(plan: MusicPlan) -> MusicPlan:
    """Every bar after the first opens on the previous bar's chord: its own comes on beat 1.5 (a push)."""
    for bar in plan.bars[1:]:
        bar.chords[0].beat = 1.5
    return plan.validate()


def _meters(plan: MusicPlan, meters: dict[int, str], melody_off: tuple[int, ...] = (),
            cut: float = 0.3) -> MusicPlan:
    """``plan`` with bars of another length (bar -> meter), the melody off in ``melody_off``, the last bar cut
    ``cut`` s short. A chord on a beat the shorter bar lacks moves to its downbeat."""
    for b, m in meters.items():
        plan.bars[b].meter = m
        num = int(m.split("/")[0])
        plan.bars[b].chords = [c for c in plan.bars[b].chords if c.beat < num] or plan.bars[b].chords[:1]
        plan.bars[b].chords[0].beat = 0.0
    for b in melody_off:
        plan.bars[b].melody = False
    plan.duration_sec = plan.bar_start_sec(plan.n_bars) - cut
    return plan.validate()


def _ramped(plan: MusicPlan) -> MusicPlan:
    """Every section after the first reaches its tempo over its first bar (an accel. or rit.)."""
    for s in plan.sections[1:]:
        s.ramp = True
    plan.duration_sec = plan.bar_start_sec(plan.n_bars) - 0.3
    return plan.validate()


def _roles(plan: MusicPlan, instrumentation: dict[str, int]) -> MusicPlan:
    plan.instrumentation = instrumentation
    return plan.validate()


CASES = {
    "2/4 F major": lambda: simple_plan(6.0, 132, "F major", "2/4", "I IV V I", seed=3),
    "3/4 A minor": lambda: simple_plan(8.0, 120, "A minor", "3/4", "i iv V i", seed=2),
    "4/4 C major, last bar cut short": lambda: simple_plan(9.5, 100, "C major", "4/4", "I vi IV V", seed=1),
    "5/4 E minor": lambda: simple_plan(10.0, 110, "E minor", "5/4", "i VI III VII", seed=4),
    "6/8 D major": lambda: simple_plan(8.0, 90, "D major", "6/8", "I IV I V", seed=5),
    "7/8 Bb major": lambda: simple_plan(7.0, 140, "Bb major", "7/8", "I ii V I", seed=6),
    "4/4 F# minor (sharps)": lambda: simple_plan(8.0, 96, "F# minor", "4/4", "i iv v i", valence=-0.6, seed=7),
    "4/4 Eb major (flats)": lambda: simple_plan(8.0, 104, "Eb major", "4/4", "I vi ii V", seed=8),
    "3/4 G minor (flats), a tempo per section": lambda: _sections(
        simple_plan(14.0, 100, "G minor", "3/4", "i iv VII III", seed=9), [84, 100, 126]),
    "4/4 B major (sharps), a tempo per section": lambda: _sections(
        simple_plan(12.0, 100, "B major", "4/4", "I V vi IV", seed=15), [140, 72]),
    "one bar": lambda: simple_plan(2.0, 120, "D minor", "4/4", "i", seed=11),
    "100 bars": lambda: simple_plan(200.0, 120, "C minor", "4/4", "i VI III VII", seed=12, arousal=0.8),
    "4/4 chords twice a bar": lambda: simple_plan(8.0, 100, "C major", "4/4", "I V | vi IV | ii V | I", seed=10),
    "3/4 chords twice a bar (beat 1.5)": lambda: simple_plan(6.0, 120, "A major", "3/4", "I V | IV I", seed=16),
    "chords pushed past the downbeat": lambda: _anticipated(simple_plan(8.0, 100, "D major", "4/4", "I vi IV V",
                                                                        seed=17)),
    "drums off, other programs": lambda: _roles(simple_plan(8.0, 100, "A major", "4/4", "I IV V IV", seed=13),
                                                {"melody": 73, "harmony": 4, "bass": 32}),
    "melody and bass only": lambda: _roles(simple_plan(6.0, 100, "E major", "6/8", "I V", seed=14),
                                           {"melody": 40, "bass": 33}),
    # bars of another length (composed on a uniform proxy, mapped onto the real bars), ramps, melody off
    "4/4 with a 2/4 and a 1/4 bar, melody off at the start": lambda: _meters(
        simple_plan(14.0, 100, "C major", "4/4", "I vi IV V", seed=18), {2: "2/4", 4: "1/4"}, melody_off=(0, 1)),
    "3/4 with a 2/4 bar, a ramp into each section": lambda: _meters(_ramped(_sections(
        simple_plan(12.0, 100, "G minor", "3/4", "i iv VII III", seed=19), [96, 102, 90])), {3: "2/4"}),
    "6/8 with a 3/8 bar, melody off in the middle": lambda: _meters(
        simple_plan(9.0, 90, "D major", "6/8", "I IV I V", seed=20), {2: "3/8"}, melody_off=(3,)),
    "4/4, the melody off in two bars (all bars 4/4)": lambda: _meters(
        simple_plan(10.0, 100, "A minor", "4/4", "i iv V i", seed=22), {}, melody_off=(1, 2)),
    "4/4 ending on a 2/4 bar": lambda: _meters(
        simple_plan(10.0, 100, "A minor", "4/4", "i iv V i", seed=23), {4: "2/4"}, cut=0.0),
    "4/4 with a longer 5/4 bar (a user's edit), chords twice a bar": lambda: _meters(
        simple_plan(9.0, 110, "Bb major", "4/4", "I V | vi IV", seed=21), {1: "5/4", 3: "2/4"}, cut=0.1),
}
#: The cases composed twice, to check the same plan and seed give the same bytes.
TWICE = ("5/4 E minor", "3/4 G minor (flats), a tempo per section", "4/4 chords twice a bar",
         "4/4 with a 2/4 and a 1/4 bar, melody off at the start")


def test_the_matrix_covers_what_the_contract_is_about():
    plans = {name: make() for name, make in CASES.items()}
    assert {p.meter for p in plans.values()} >= {"2/4", "3/4", "4/4", "5/4", "6/8", "7/8"}
    keys = [p.key_obj for p in plans.values()]
    for mode in ("major", "minor"):
        assert any(k.mode == mode and k.fifths < 0 for k in keys)
        assert any(k.mode == mode and k.fifths > 0 for k in keys)
    assert {p.n_bars for p in plans.values()} >= {1, 100}
    assert any(len({s.tempo_bpm for s in p.sections}) > 1 for p in plans.values())
    assert any(all(len(b.chords) == 2 for b in p.bars) for p in plans.values())
    assert any("drums" not in p.instrumentation for p in plans.values())
    inner = {(p.meter, p.bars[b].meter) for p in plans.values() for b in range(p.n_bars) if p.bars[b].meter}
    assert inner >= {("4/4", "2/4"), ("3/4", "2/4"), ("6/8", "3/8"), ("4/4", "1/4"), ("4/4", "5/4")}
    assert any(s.ramp for p in plans.values() for s in p.sections)
    assert any(not b.melody for p in plans.values() for b in p.bars)


# ----- every engine over the matrix ----------------------------------------------------------------------------
def _options(name: str) -> dict:
    info = registry()[name]
    for module in info.needs:
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"the {name} engine needs {module}, which is not installed")
    options = dict(FAST.get(name, {}))
    if info.checkpoint is not None:
        debug = REPO / "checkpoints" / f"{info.checkpoint}-debug"
        assert debug.is_dir(), f"{debug} (the {name} engine's debug checkpoint) is missing"
        options["checkpoint"] = debug
    return options


def _midi(piece: Piece, tmp_path: Path) -> bytes:
    path = tmp_path / "piece.mid"
    write_midi(piece, path)
    return path.read_bytes()


@lru_cache(maxsize=None)
def _composed(engine: str, case: str, fast: bool = True) -> tuple[MusicPlan, Piece]:
    plan = CASES[case]()
    options = _options(engine)
    if not fast:
        options = {k: v for k, v in options.items() if k not in FAST.get(engine, {})}
    return plan, compose(plan, engine, **options)


ENGINE_CASES = [pytest.param(engine, case, id=f"{engine}-{case}") for engine in registry() for case in CASES]


@pytest.mark.parametrize("engine,case", ENGINE_CASES)
def test_every_engine_keeps_the_contract(engine, case):
    plan, piece = _composed(engine, case)  # the gate has checked it; check again, all violations at once
    assert list(violations(piece, plan)) == []
    assert piece.tracks and any(t.notes for t in piece.tracks)
    assert tuneless_bars(piece, plan) == []  # every bar that has the tune hears it


#: The cases with bars of another length or bars without melody.
SHAPED = [c for c in CASES if not (p := CASES[c]()).uniform or not all(b.melody for b in p.bars)]


@pytest.mark.parametrize("engine,case", [pytest.param(e, c, id=f"{e}-{c}") for e in registry() for c in SHAPED])
def test_bars_of_another_length_hold_their_share_of_the_music(engine, case):
    """Each bar of another length is its own length in the piece (the meter changes), holds notes from its own
    start, and no melody note starts in a bar whose melody is off."""
    plan, piece = _composed(engine, case)
    lines = plan.bar_start_ticks()
    assert piece.bar_starts()[:plan.n_bars] == lines[:plan.n_bars]
    onsets = {b for t in piece.tracks for b in piece.bar_of(n.start for n in t.notes)}
    assert onsets >= {b for b in range(plan.n_bars) if plan.bars[b].meter}
    melody = piece.track("melody")
    off = {b for b in range(plan.n_bars) if not plan.bars[b].melody}
    assert not off & set(piece.bar_of(n.start for n in melody.notes))
    assert not [n for n in melody.notes for b in off if n.start < lines[b] < n.end]  # none rings on into one


#: The cases whose last bar sings over a chord that holds the key's tonic: a cadence can come home there.
HOME = [c for c in CASES if (p := CASES[c]()).bars[-1].melody and p.key_obj.tonic in
        p.chord_spans()[-1].chord.pitch_classes]


@pytest.mark.parametrize("engine,case", [pytest.param(e, c, id=f"{e}-{c}") for e in registry() for c in HOME])
def test_the_tune_comes_home_to_the_tonic_and_holds_it_to_the_end(engine, case):
    """In a last bar over the tonic chord, the last melody note heard is the tonic, held to the end, whatever
    the last bar's length (a bar cut short, or a shorter meter mapped from a uniform proxy)."""
    plan, piece = _composed(engine, case)
    end = ending(piece, plan)
    assert end["melody_on_tonic"] and end["melody_held"], end


@pytest.mark.parametrize("engine", list(registry()))
def test_every_engine_keeps_the_contract_with_its_own_settings(engine):
    plan, piece = _composed(engine, "4/4 C major, last bar cut short", fast=False)
    assert list(violations(piece, plan)) == []


@pytest.mark.parametrize("engine,case", [pytest.param(e, c, id=f"{e}-{c}") for e in registry() for c in TWICE])
def test_same_plan_and_seed_same_bytes(engine, case, tmp_path):
    plan, piece = _composed(engine, case)
    again = compose(CASES[case](), engine, **_options(engine))
    assert _midi(again, tmp_path) == _midi(piece, tmp_path)


# ----- the check catches each violation ------------------------------------------------------------------------
def _plan() -> MusicPlan:
    return simple_plan(9.0, 100, "D major", "4/4", "I vi IV V", seed=1)  # 4 bars, the last one cut short


def _by_hand(plan: MusicPlan) -> Piece:
    """A piece that keeps the contract, made by hand: the plan's grid, a track per role, notes inside."""
    piece = piece_from_plan_grid(plan)
    end = piece.end_tick
    for role, program in plan.instrumentation.items():
        pitch = 36 if role == "drums" else 62
        piece.tracks.append(Track(role, program, role == "drums", [Note(0, 480, pitch, 80),
                                                                   Note(end - 240, 240, pitch + 4, 127)]))
    return piece


def _refused(piece: Piece, plan: MusicPlan, match: str) -> str:
    with pytest.raises(EngineError, match=match) as e:
        check_piece(piece, plan, "handmade")
    assert isinstance(e.value, FramescoreError) and str(e.value).startswith("the handmade engine broke its plan: ")
    assert "\n" not in str(e.value)
    return str(e.value)


def test_a_piece_made_by_hand_on_the_grid_passes():
    plan = _plan()
    piece = _by_hand(plan)
    assert check_piece(piece, plan) is piece
    assert list(violations(piece, plan)) == []


def test_a_note_past_the_end_is_caught_with_its_bar_track_and_note():
    plan = _plan()
    piece = _by_hand(plan)
    end = piece.end_tick
    piece.track("harmony").notes.append(Note(end - 100, 101, 66, 80))
    msg = _refused(piece, plan, f"ends at tick {end + 1}, after the music's end")
    assert f"bar {(end - 100) // piece.ticks_per_bar}, track 'harmony', note (start {end - 100}, duration 101" in msg


def test_a_wrong_program_is_caught():
    plan = _plan()
    piece = _by_hand(plan)
    piece.track("bass").program = 34
    _refused(piece, plan, "track 'bass': program 34, the instrumentation's is 33")


def test_a_program_change_to_another_instrument_is_caught():
    from framescore.symbolic.piece import ProgramChange

    plan = _plan()
    piece = _by_hand(plan)
    piece.track("melody").programs.append(ProgramChange(960, 40))
    _refused(piece, plan, "bar 0, track 'melody': program change to 40")


def test_a_missing_role_track_is_caught():
    plan = _plan()
    piece = _by_hand(plan)
    piece.tracks = [t for t in piece.tracks if t.name != "bass"]
    _refused(piece, plan, "track 'bass' of the instrumentation is missing")


def test_a_track_the_instrumentation_lacks_or_twice_is_caught():
    plan = _roles(_plan(), {"melody": 0, "harmony": 0, "bass": 33})
    piece = _by_hand(_plan())  # it has drums
    _refused(piece, plan, "track 'drums' is not in the instrumentation")
    piece = _by_hand(plan)
    piece.tracks.append(dataclasses.replace(piece.tracks[0]))
    _refused(piece, plan, "track 'melody' appears twice")


def test_the_drum_channel_is_for_drums_only():
    plan = _plan()
    piece = _by_hand(plan)
    piece.track("drums").is_drum = False
    _refused(piece, plan, r"track 'drums': not on the drum channel \(10\)")
    piece = _by_hand(plan)
    piece.track("bass").is_drum = True
    _refused(piece, plan, r"track 'bass': on the drum channel \(10\)")


def test_a_zero_duration_is_caught():
    plan = _plan()
    piece = _by_hand(plan)
    piece.track("melody").notes.append(Note(1920, 0, 64, 80))
    _refused(piece, plan, r"bar 1, track 'melody', note \(start 1920, duration 0, .*\): duration 0")


def test_pitches_velocities_and_starts_outside_midi_or_the_music_are_caught():
    plan = _plan()
    for note, match in ((Note(0, 480, 128, 80), "pitch 128 outside"), (Note(0, 480, 60, 0), "velocity 0 outside"),
                        (Note(0, 480, 60, 128), "velocity 128 outside"), (Note(-10, 480, 60, 80), "starts before")):
        piece = _by_hand(plan)
        piece.track("melody").notes.append(note)
        _refused(piece, plan, match)
    piece = _by_hand(plan)
    piece.track("harmony").controls.append(ControlChange(piece.end_tick + 1, 64, 127))
    _refused(piece, plan, "control change at tick .* outside the music")


def test_a_different_meter_is_caught():
    plan = _plan()
    piece = _by_hand(plan)
    piece.meter = (3, 4)
    _refused(piece, plan, "time signature 3/4, the plan's is 4/4")


def test_other_meter_changes_are_caught_and_bars_are_the_plans():
    from framescore.symbolic.piece import MeterChange

    plan = _meters(_plan(), {1: "2/4"}, cut=0.2)  # bars 0 (4/4), 1 (2/4), 2, 3 (4/4): lines 0, 1920, 2880, 4800
    piece = _by_hand(plan)
    assert piece.meter_changes == [MeterChange(1920, 2, 4), MeterChange(2880, 4, 4)]
    assert list(violations(piece, plan)) == []
    piece.meter_changes = []
    _refused(piece, plan, "meter changes none, the plan's are 2/4 at tick 1920, 4/4 at tick 2880")
    piece = _by_hand(plan)
    piece.track("bass").notes.append(Note(3000, 0, 40, 80))  # bar 2 by the plan's bars (3000 // 1920 is 1)
    _refused(piece, plan, r"bar 2, track 'bass', note \(start 3000, duration 0")


def test_a_melody_note_in_a_bar_whose_melody_is_off_is_caught():
    plan = _plan()
    plan.bars[1].melody = False
    piece = _by_hand(plan)
    assert list(violations(piece, plan)) == []  # a note from bar 0 may end in bar 0; none starts in bar 1
    piece.track("harmony").notes.append(Note(2000, 100, 60, 80))  # only the melody is silenced
    assert list(violations(piece, plan)) == []
    piece.track("melody").notes.append(Note(1920 + 480, 100, 64, 80))
    _refused(piece, plan, r"bar 1, track 'melody', note \(start 2400, .*\): starts in a bar whose melody is off")


def test_a_different_grid_is_caught():
    plan = _plan()
    for change, match in ((lambda p: setattr(p, "tempos", [TempoChange(0, 101.0)]), "tempo map 101 bpm at tick 0"),
                          (lambda p: setattr(p, "end_tick", p.end_tick + 480), "ends at tick"),
                          (lambda p: setattr(p, "key", "B minor"), "key 'B minor'"),
                          (lambda p: p.markers.pop(), "marker"),
                          (lambda p: setattr(p, "resolution", 960), "resolution 960")):
        piece = _by_hand(plan)
        change(piece)
        _refused(piece, plan, match)


def test_the_gate_refuses_an_engine_that_breaks_the_contract(monkeypatch):
    from framescore.symbolic.engines import rule

    real = rule.compose

    def sloppy(plan):
        piece = real(plan)
        piece.track("bass").program = 0
        return piece

    monkeypatch.setattr(rule, "compose", sloppy)
    with pytest.raises(EngineError, match="the rule engine broke its plan: track 'bass': program 0"):
        compose(_plan(), "rule")


def test_tuneless_bars_names_the_bars_that_should_carry_the_tune_and_do_not():
    plan = simple_plan(8.0, 120, "C major", "4/4", "I IV V I", seed=0)  # 4 bars of 2 s
    plan.bars[3].melody = False
    piece = piece_from_plan_grid(plan)
    bar = piece.ticks_per_bar
    melody = Track(name="melody", program=plan.instrumentation["melody"],
                   notes=[Note(0, bar + bar // 2, 72, 80)])  # bar 0, ringing on into bar 1
    piece.tracks = [melody]
    assert tuneless_bars(piece, plan) == [2]  # bar 1 hears the held note; bar 3 has no tune to carry
    plan.instrumentation = {"harmony": 0}
    assert tuneless_bars(piece, plan) == []
