"""Metrics against values worked out by hand (muspy's style), and against muspy itself on real music."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from framescore.symbolic import metrics as M
from framescore.symbolic.chords import Key
from framescore.symbolic.midi_io import write_midi
from framescore.symbolic.piece import Note, Piece, TempoChange, Track, piece_from_plan_grid
from framescore.symbolic.plan import Section, simple_plan

POP909_001 = Path("/work/shared/datasets/pop909/001/001.mid")
Q = 480  # ticks per quarter note


def melody(pitches, durs=None, start=0) -> Piece:
    """One pitched track playing ``pitches`` one after another (a quarter note each unless told)."""
    durs = durs or [Q] * len(pitches)
    notes, t = [], start
    for p, d in zip(pitches, durs):
        notes.append(Note(t, d, p))
        t += d
    return Piece([Track("melody", 0, False, notes)])


def with_chords(plan, transpose: int = 0) -> Piece:
    """The plan's grid with a harmony track sounding each planned chord in root position for as long as it lasts."""
    piece = piece_from_plan_grid(plan)
    tpb, beat = piece.ticks_per_bar, piece.resolution * 4 // piece.meter[1]
    slots = [(b * tpb + round(bt * beat), c) for b in range(plan.n_bars) for bt, c in plan.chords_at(b)]
    notes = []
    for (t0, chord), (t1, _) in zip(slots, slots[1:] + [(plan.n_bars * tpb, None)]):
        notes += [Note(t0, t1 - t0, 48 + chord.root + transpose + (pc - chord.root) % 12) for pc in chord.pitch_classes]
    piece.tracks.append(Track("harmony", 0, False, notes))
    return piece


# ----- music metrics ------------------------------------------------------------------------------------------------
def test_c_major_scale():
    m = M.music_metrics(melody([60, 62, 64, 65, 67, 69, 71]))
    assert m["pitch_class_entropy"] == pytest.approx(math.log2(7))
    assert m["scale_consistency"] == 1.0
    assert m["n_pitch_classes_used"] == 7
    assert m["pitch_range"] == 11
    assert m["polyphony"] == 1.0


def test_sustained_c_major_triad():
    piece = Piece([Track("harmony", 0, False, [Note(0, 4 * Q, p) for p in (60, 64, 67)])])
    m = M.music_metrics(piece)
    assert m["polyphony"] == 3.0
    assert m["pitch_range"] == 7
    assert m["n_pitch_classes_used"] == 3
    assert m["pitch_class_entropy"] == pytest.approx(math.log2(3))


def test_polyphony_counts_overlap_only_where_something_sounds():
    # [0, 960) and [480, 1440): 1920 pitch-ticks over 1440 sounding ticks; a silent gap does not count
    piece = Piece([Track("a", 0, False, [Note(0, 960, 60), Note(480, 960, 64), Note(5000, 480, 60)])])
    assert M.polyphony(piece) == pytest.approx((1920 + 480) / (1440 + 480))


def test_scale_consistency_with_one_chromatic_note():
    # 7 notes of C major and one F#: the best scale (C major or G major) holds 7 of 8
    assert M.scale_consistency(melody([60, 62, 64, 65, 66, 67, 69, 71])) == pytest.approx(7 / 8)


def test_drums_stay_out_of_pitch_metrics_but_count_for_rhythm():
    piece = melody([60, 64])
    piece.tracks.append(Track("drums", 0, True, [Note(0, 60, 36), Note(4 * Q, 60, 42)]))
    m = M.music_metrics(piece)
    assert m["pitch_range"] == 4 and m["n_pitch_classes_used"] == 2 and m["polyphony"] == 1.0
    # beats: notes cover beats 0-2 (an end on a beat line counts, as in muspy), the drum hit beat 4: 1 of 5 empty
    assert m["empty_beat_rate"] == pytest.approx(1 / 5)


def test_empty_beat_rate():
    # notes in beats 0 and 2 of a 3-beat song: beat 1 is empty
    piece = Piece([Track("a", 0, False, [Note(0, Q // 2, 60), Note(2 * Q, Q // 2, 62)])])
    assert M.empty_beat_rate(piece) == pytest.approx(1 / 3)


def test_groove_consistency():
    bar = 4 * Q
    same = Piece([Track("a", 0, False, [Note(0, Q, 60), Note(Q, Q, 62), Note(bar, Q, 60), Note(bar + Q, Q, 62)])])
    assert M.groove_consistency(same) == 1.0
    # second bar lacks the onset on beat 2: one differing cell out of 1920
    one_off = Piece([Track("a", 0, False, [Note(0, Q, 60), Note(Q, Q, 62), Note(bar, Q, 60)])])
    assert M.groove_consistency(one_off) == pytest.approx(1 - 1 / bar)
    assert M.groove_consistency(melody([60])) is None  # under two bars


def test_empty_piece_gives_none_not_nan():
    m = M.music_metrics(Piece([]))
    assert m["n_pitch_classes_used"] == 0
    assert all(v is None for k, v in m.items() if k != "n_pitch_classes_used")
    report = M.score_piece(Piece([]))
    json.dumps(report, allow_nan=False)


# ----- plan adherence -----------------------------------------------------------------------------------------------
def test_chord_accuracy_exact_and_tritone_away():
    plan = simple_plan(8.0, tempo_bpm=120, chords="I vi IV V")  # 4 bars
    assert M.chord_accuracy(with_chords(plan), plan) == (1.0, 8)
    assert M.chord_accuracy(with_chords(plan, transpose=6), plan) == (0.0, 8)


def test_chord_accuracy_sevenths_count_as_their_triads_and_half_bars_split():
    plan = simple_plan(8.0, tempo_bpm=120, chords="Imaj7 vi7 | IV V7 | ii7 V7 | I")
    assert M.chord_accuracy(with_chords(plan), plan) == (1.0, 8)


def test_chord_accuracy_skips_no_chord_and_silence():
    plan = simple_plan(8.0, tempo_bpm=120, chords="I N vi V")
    piece = with_chords(plan)
    assert M.chord_accuracy(piece, plan) == (1.0, 6)  # bar 1 has no chord: its two halves skipped
    piece.tracks[0].notes = [n for n in piece.tracks[0].notes if n.start < 4 * Q]  # only bar 0 sounds
    assert M.chord_accuracy(piece, plan) == (1.0, 2)


def test_key_estimation():
    assert M.estimate_key(melody([60, 62, 64, 65, 67, 69, 71])) == Key(0, "major")
    a_minor = melody([57, 60, 64, 57, 59, 60, 62, 64, 65, 67, 68, 69], [2 * Q] + [Q] * 10 + [4 * Q])
    assert M.estimate_key(a_minor) == Key(9, "minor")
    assert M.estimate_key(Piece([])) is None


def test_key_profiles_differ_where_documented():
    # C major scale with quarters C×3 D×2 E×4 F×1 G×4 A×3 B×4: Krumhansl-Kessler correlates best with E minor
    # (E, G, B long), Albrecht-Shanahan with C major (its profiles weigh the tonic and dominant more).
    piece = melody([60, 62, 64, 65, 67, 69, 71], [3 * Q, 2 * Q, 4 * Q, 1 * Q, 4 * Q, 3 * Q, 4 * Q])
    assert M.estimate_key(piece, "krumhansl-kessler") == Key(4, "minor")
    assert M.estimate_key(piece) == Key(0, "major")
    with pytest.raises(M.MetricsError, match="unknown key profiles"):
        M.estimate_key(piece, "temperley")


def test_key_correlations_are_pearson_r_with_each_rotated_profile():
    major, minor = M.KEY_PROFILES["albrecht-shanahan"]
    r = M.key_correlations(np.roll(minor, 9))  # A minor's own profile
    assert r.shape == (24,) and r[12 + 9] == pytest.approx(1.0)
    profile = np.array([3, 0, 2, 0, 4, 1, 0, 4, 0, 3, 0, 4], float)  # the C major scale, weighted by hand
    for i, base in enumerate((major, minor)):
        for tonic in (0, 4, 9):
            assert r[0] < 1 and M.key_correlations(profile)[12 * i + tonic] == pytest.approx(
                np.corrcoef(profile, np.roll(base, tonic))[0, 1])
    assert np.isnan(M.key_correlations(np.ones(12))).all()


def test_key_agreement_reports_relative_confusion_separately():
    a_minor = melody([57, 60, 64, 57, 59, 60, 62, 64, 65, 67, 68, 69], [2 * Q] + [Q] * 10 + [4 * Q])
    exact = M.key_agreement(a_minor, simple_plan(8.0, key="A minor"))
    assert (exact["key_agreement"], exact["key_agreement_relative"]) == (1.0, 1.0)
    relative = M.key_agreement(a_minor, simple_plan(8.0, key="C major"))
    assert (relative["key_agreement"], relative["key_agreement_relative"]) == (0.0, 1.0)
    wrong = M.key_agreement(a_minor, simple_plan(8.0, key="D major"))
    assert (wrong["key_agreement"], wrong["key_agreement_relative"]) == (0.0, 0.0)
    assert wrong["key_estimated"] == "A minor"


def sectioned_plan(cuts=(4.0,)):
    """4 bars of 4/4: bars 0-1 at 120 bpm (2 s each), bars 2-3 at 90 bpm; a cut opens bar 2 at 4.0 s."""
    plan = simple_plan(8.0, tempo_bpm=120)
    plan.sections = [Section("A", 0, 2, tempo_bpm=120.0), Section("B", 2, 2, cut_sec=cuts[0], tempo_bpm=90.0)]
    return plan.validate()


def test_tempo_meter_and_duration_exact_on_the_plan_grid():
    plan = sectioned_plan()
    piece = with_chords(plan)
    pm = M.plan_metrics(piece, plan)
    assert pm["tempo_max_error_bpm"] == 0.0
    assert pm["meter_match"] is True
    assert pm["duration_error_sec"] < 1e-3
    assert pm["cuts_on_downbeat"] == 1.0 and pm["n_cuts"] == 1


def test_tempo_error_meter_mismatch_and_duration_error():
    plan = sectioned_plan()
    piece = with_chords(plan)
    piece.tempos = [TempoChange(0, 120.0), TempoChange(2 * piece.ticks_per_bar + Q, 80.0)]  # change 1 beat late
    assert M.tempo_max_error_bpm(piece, plan) == pytest.approx(30.0)  # bar 2 starts at 120 instead of 90
    piece.meter = (3, 4)
    assert M.plan_metrics(piece, plan)["meter_match"] is False
    grid = piece_from_plan_grid(simple_plan(8.0, tempo_bpm=120))
    grid.end_tick += Q  # half a second more at 120 bpm
    assert M.plan_metrics(grid)["duration_error_sec"] == pytest.approx(0.5, abs=1e-3)


def test_cuts_on_downbeat():
    plan = sectioned_plan()
    plan.sections = [Section("A", 0, 1, tempo_bpm=120.0), Section("B", 1, 1, cut_sec=2.03, tempo_bpm=120.0),
                     Section("C", 2, 2, cut_sec=4.1, tempo_bpm=90.0)]
    plan.validate()
    piece = piece_from_plan_grid(plan)  # bar lines at 0, 2, 4, 6.67 s
    assert M.cuts_on_downbeat(piece, plan) == (0.5, 2)  # 2.03 is within 50 ms of 2.0; 4.1 is not
    piece.tempos = [TempoChange(0, 100.0)]  # bar lines at 0, 2.4, 4.8 s: both cuts missed
    assert M.cuts_on_downbeat(piece, plan) == (0.0, 2)
    assert M.cuts_on_downbeat(piece, simple_plan(8.0)) == (None, 0)


def test_density_correlation():
    plan = simple_plan(8.0, tempo_bpm=120)
    for bar, d in zip(plan.bars, (0.2, 0.4, 0.6, 0.8)):
        bar.density = d
    piece = piece_from_plan_grid(plan)
    tpb = piece.ticks_per_bar
    onsets = [Note(b * tpb + i * Q, Q, 60) for b in range(4) for i in range(b + 1)]  # 1, 2, 3, 4 onsets
    piece.tracks.append(Track("melody", 0, False, onsets))
    piece.tracks.append(Track("drums", 0, True, [Note(i * Q // 2, 60, 42) for i in range(32)]))  # ignored
    assert M.density_correlation(piece, plan) == pytest.approx(1.0)
    piece.tracks[0].notes = [Note(b * tpb + i * Q, Q, 60) for b in range(4) for i in range(4 - b)]
    assert M.density_correlation(piece, plan) == pytest.approx(-1.0)
    for bar in plan.bars:
        bar.density = 0.5
    assert M.density_correlation(piece, plan) is None  # constant densities: undefined


# ----- reference ------------------------------------------------------------------------------------------------------
def test_overlap_area():
    rng = np.random.default_rng(0)
    a = rng.normal(0, 1, 300)
    assert M.overlap_area(a, a) == pytest.approx(1.0, abs=1e-3)
    assert M.overlap_area(a, a + 100) == pytest.approx(0.0, abs=1e-6)
    assert 0.8 < M.overlap_area(a, rng.normal(0, 1, 300)) < 1.0
    # degenerate samples: equal constants overlap fully, different constants not at all
    assert M.overlap_area([1, 1, 1], [1, 1]) == pytest.approx(1.0, abs=1e-3)
    assert M.overlap_area([0, 0, 0], [1, 1, 1]) == pytest.approx(0.0, abs=1e-6)
    assert M.overlap_area([1.0], a) is None


def test_kde_matches_scipy():
    from scipy.stats import gaussian_kde

    sample = np.random.default_rng(1).gamma(2.0, 1.0, 50)
    grid = np.linspace(-2, 12, 200)
    np.testing.assert_allclose(M._kde(sample, grid, 0.0), gaussian_kde(sample)(grid), rtol=1e-10, atol=1e-14)


def test_overlap_with_reference_and_position():
    ref = {m: list(np.arange(100.0)) for m in M.MUSIC_METRICS}
    gen = {m: list(np.arange(100.0)) for m in M.MUSIC_METRICS}
    gen["polyphony"] = [1000.0, 1001.0, 1002.0]
    oa = M.overlap_with_reference(gen, ref)
    assert oa["pitch_range"] == pytest.approx(1.0, abs=1e-3) and oa["polyphony"] == pytest.approx(0.0, abs=1e-6)
    assert oa["mean"] == pytest.approx(6 / 7, abs=1e-3)
    pos = M.reference_position({"pitch_range": 50, "polyphony": 200.0, "scale_consistency": None}, ref)
    assert pos["pitch_range"] == {"percentile": 50.5, "within_5_95": True}
    assert pos["polyphony"] == {"percentile": 100.0, "within_5_95": False}
    assert "scale_consistency" not in pos


def test_load_reference_caches_and_skips_unreadable(tmp_path, monkeypatch):
    folder = tmp_path / "midi" / "sub"
    folder.mkdir(parents=True)
    write_midi(melody([60, 62, 64, 65, 67, 69, 71]), folder / "scale.mid")
    write_midi(Piece([Track("h", 0, False, [Note(0, 4 * Q, p) for p in (60, 64, 67)])]), tmp_path / "midi" / "c.MID")
    (folder / "bad.mid").write_bytes(b"not midi")
    monkeypatch.setenv("FRAMESCORE_CACHE", str(tmp_path / "cache"))
    ref = M.load_reference(tmp_path / "midi")
    assert sorted(ref["polyphony"]) == [1.0, 3.0]
    cached = list((tmp_path / "cache" / "reference").glob("*.json"))
    assert len(cached) == 1 and json.loads(cached[0].read_text())["skipped"] == ["sub/bad.mid"]
    monkeypatch.setattr(M, "reference_stats", lambda *a: pytest.fail("cache not used"))
    assert M.load_reference(tmp_path / "midi") == ref
    with pytest.raises(M.MetricsError):
        M.load_reference(tmp_path / "nowhere")


def test_first_bars_cuts_at_the_line_and_keeps_shorter_pieces():
    # 4/4 at Q ticks a quarter: bar lines 0, 4Q, 8Q, 12Q; a note over the line is cut, a later one dropped
    piece = Piece([Track("m", 0, False, [Note(0, Q, 60), Note(3 * Q, 3 * Q, 62), Note(4 * Q, Q, 64),
                                         Note(9 * Q, Q, 65)])])
    one = M.first_bars(piece, 1)
    assert [(n.start, n.duration, n.pitch) for n in one.tracks[0].notes] == [(0, Q, 60), (3 * Q, Q, 62)]
    assert one.end_tick == 4 * Q and M.pitch_range(one) == 2
    assert M.first_bars(piece, 3) is piece and M.first_bars(piece, 30) is piece
    assert piece.tracks[0].notes[1].duration == 3 * Q  # the original is untouched


def test_on_grid_snaps_onsets_and_ends_to_the_nearest_sixteenth():
    s = Q // 4  # a sixteenth
    piece = Piece([Track("m", 0, False, [Note(s + 10, 2 * s - 5, 60),  # 130..355 -> 120..360
                                         Note(s // 2 - 1, s, 62),  # 59 -> 0 (nearer 0 than 120)
                                         Note(s // 2, s, 64),  # 60 -> 120 (a half step rounds up)
                                         Note(4 * s - 2, 4, 65)])])  # 478..482 -> 480..482, the end
    snapped = M.on_grid(piece, 4)
    assert [(n.start, n.duration) for n in snapped.tracks[0].notes] == [(s, 2 * s), (0, s), (s, s), (4 * s, 2)]
    assert snapped.end_tick == piece.end_tick == 4 * s + 2  # no longer: the last note ends where the piece does
    assert piece.tracks[0].notes[0].start == s + 10  # the original is untouched


def test_snapping_and_cutting_agree_in_either_order():
    # two bars and a note 5 ticks before the second bar's end, which snaps onto the end of the music
    bar = 4 * Q
    notes = [Note(i * Q, Q, 60 + i) for i in range(8)] + [Note(2 * bar - 5, 5, 67)]
    piece = Piece([Track("m", 0, False, notes)])
    cut_then_snapped = M.on_grid(M.first_bars(piece, 2))
    snapped_then_cut = M.first_bars(M.on_grid(piece), 2)
    assert M.music_metrics(cut_then_snapped) == M.music_metrics(snapped_then_cut)
    assert len(cut_then_snapped.tracks[0].notes) == 8 and cut_then_snapped.end_tick == 2 * bar


def test_a_played_rhythm_snapped_is_one_rhythm():
    # the same two onsets in each of two bars, the second bar's played 7 ticks late: muspy's groove counts two
    # differing cells of 4Q (1 - 4/1920) as played; one rhythm (1.0) on the grid
    bar = 4 * Q
    notes = [Note(0, Q, 60), Note(2 * Q, Q, 62), Note(bar + 7, Q, 60), Note(bar + 2 * Q + 7, Q, 62)]
    played = Piece([Track("m", 0, False, notes)])
    assert M.groove_consistency(played) == pytest.approx(1 - 4 / bar)
    assert M.groove_consistency(M.on_grid(played)) == 1.0
    assert M.reference_stats([played], steps_per_quarter=4)["groove_consistency"] == [1.0]


def test_reference_of_the_pieces_lengths(tmp_path, monkeypatch):
    # two files: a one-bar C and a run up the scale, one note a bar, over seven bars
    write_midi(melody([60, 62, 64, 65, 67, 69, 71], [4 * Q] * 7), tmp_path / "run.mid")
    write_midi(Piece([Track("h", 0, False, [Note(0, 4 * Q, 60)])]), tmp_path / "one.mid")
    monkeypatch.setenv("FRAMESCORE_CACHE", str(tmp_path / "cache"))
    assert sorted(M.load_reference(tmp_path, bars=2)["pitch_range"]) == [0, 2]  # C–D of the run
    assert sorted(M.load_reference(tmp_path)["pitch_range"]) == [0, 11]
    ref = M.matched_reference([2, 2, 7], lambda n: M.load_reference(tmp_path, bars=n))
    assert sorted(ref["pitch_range"]) == [0, 0, 0, 2, 2, 11]  # each file once per piece, at its length


def test_score_piece_report():
    plan = simple_plan(8.0, tempo_bpm=120)
    piece = with_chords(plan)
    ref = M.reference_stats([melody([60, 62, 64]), piece, melody([60, 61, 62, 63])])
    report = M.score_piece(piece, reference=ref)
    assert set(report) == {"music", "plan", "reference"}
    assert report["plan"]["chord_accuracy"] == 1.0 and report["plan"]["key_plan"] == "C major"
    assert set(report["reference"]) <= set(M.MUSIC_METRICS) and report["reference"]
    json.dumps(report, allow_nan=False)
    text = M.format_report(report)
    assert "chord accuracy" in text and "percentile" in text
    assert M.score_piece(melody([60]))["plan"] == {}


# ----- agreement with muspy ------------------------------------------------------------------------------------------
def muspy_values(piece: Piece) -> dict:
    muspy = pytest.importorskip("muspy")
    music = M.to_muspy(piece)
    return {
        "pitch_class_entropy": muspy.pitch_class_entropy(music),
        "scale_consistency": muspy.scale_consistency(music),
        "groove_consistency": muspy.groove_consistency(music, piece.ticks_per_bar),
        "empty_beat_rate": muspy.empty_beat_rate(music),
        "polyphony": muspy.polyphony(music),
        "pitch_range": muspy.pitch_range(music),
        "n_pitch_classes_used": muspy.n_pitch_classes_used(music),
    }


def test_to_muspy():
    plan = sectioned_plan()
    piece = with_chords(plan)
    piece.tracks.append(Track("drums", 0, True, [Note(0, 60, 36)]))
    music = M.to_muspy(piece)
    assert music.resolution == piece.resolution
    assert [(t.time, t.qpm) for t in music.tempos] == [(0, 120.0), (2 * piece.ticks_per_bar, 90.0)]
    assert (music.time_signatures[0].numerator, music.time_signatures[0].denominator) == (4, 4)
    assert music.key_signatures[0].root == 0 and music.key_signatures[0].mode == "major"
    assert [(t.name, t.is_drum) for t in music.tracks] == [("harmony", False), ("drums", True)]
    assert len(music.tracks[0].notes) == len(piece.tracks[0].notes)


def test_equals_muspy_on_a_made_piece():
    rng = np.random.default_rng(3)
    notes = [Note(int(s), int(d), int(p)) for s, d, p in
             zip(rng.integers(0, 20 * Q, 80), rng.integers(1, 3 * Q, 80), rng.integers(40, 90, 80))]
    piece = Piece([Track("a", 0, False, notes), Track("d", 0, True, [Note(i * Q, 30, 36) for i in range(0, 24, 3)])])
    mine, theirs = M.music_metrics(piece), muspy_values(piece)
    for k in M.MUSIC_METRICS:
        assert mine[k] == pytest.approx(float(theirs[k]), abs=1e-12), k


@pytest.mark.skipif(not POP909_001.is_file(), reason="POP909 not available")
def test_equals_muspy_on_pop909():
    from framescore.symbolic.midi_io import read_midi

    piece = read_midi(POP909_001)
    mine, theirs = M.music_metrics(piece), muspy_values(piece)
    for k in M.MUSIC_METRICS:
        assert mine[k] == pytest.approx(float(theirs[k]), abs=1e-12), k


# ----- bars of another length, ramps, the form ---------------------------------------------------------------------
def short_bar_plan(chords: str = "I V vi IV"):
    """4 bars at 120 bpm, bar 1 in 2/4: bar lines at ticks 0, 1920, 2880, 4800, 6720 (0, 2, 3, 5, 7 s)."""
    plan = simple_plan(8.0, tempo_bpm=120, chords=chords)
    plan.bars[1].meter = "2/4"
    plan.duration_sec = plan.bar_start_sec(plan.n_bars)
    return plan.validate()


def sounding_chords(plan) -> Piece:
    """The plan's grid with each planned chord sounding in root position through its span (bars in their own
    meters)."""
    piece = piece_from_plan_grid(plan)
    notes = [Note(sp.start_tick, sp.end_tick - sp.start_tick, 48 + sp.chord.root + (pc - sp.chord.root) % 12)
             for sp in plan.chord_spans() if sp.end_tick > sp.start_tick for pc in sp.chord.pitch_classes]
    piece.tracks.append(Track("harmony", 0, False, notes))
    return piece


def test_chord_accuracy_halves_each_bar_in_its_own_length():
    plan = short_bar_plan()
    assert plan.bar_start_ticks() == [0, 1920, 2880, 4800, 6720]
    # bar 1's halves are [1920, 2400) and [2400, 2880); read at 1920 ticks a bar, half bars 2-7 would be misjudged
    assert M.chord_accuracy(sounding_chords(plan), plan) == (1.0, 8)
    plan.bars[1].chords = [plan.bars[1].chords[0], type(plan.bars[1].chords[0])(1.0, "A:min")]  # V, vi on beat 1
    plan.validate()
    piece = sounding_chords(plan)
    assert M.chord_accuracy(piece, plan) == (1.0, 8)  # the second half of the 2/4 bar judged by its beat 1: vi


def test_tempo_error_reads_a_ramp_beat_by_beat():
    plan = simple_plan(8.0, tempo_bpm=120)
    plan.sections = [Section("A", 0, 2, tempo_bpm=120.0), Section("B", 2, 2, cut_sec=4.0, tempo_bpm=90.0, ramp=True)]
    plan.duration_sec = plan.bar_start_sec(4)
    plan.validate()
    assert plan.beat_tempos(2) == pytest.approx([120 * 0.75 ** (i / 4) for i in (1, 2, 3, 4)])
    piece = piece_from_plan_grid(plan)
    assert len(piece.tempos) == 5 and M.tempo_max_error_bpm(piece, plan) == pytest.approx(0.0)
    piece.tempos = [TempoChange(0, 120.0), TempoChange(2 * 4 * Q, 90.0)]  # a jump instead of the ramp
    assert M.tempo_max_error_bpm(piece, plan) == pytest.approx(120 * 0.75 ** 0.25 - 90)  # beat 1 of bar 2


def test_density_counts_onsets_per_base_bar():
    plan = short_bar_plan()
    for bar, d in zip(plan.bars, (0.2, 0.4, 0.6, 0.8)):
        bar.density = d
    piece = piece_from_plan_grid(plan)
    lines = plan.bar_start_ticks()
    onsets = [Note(lines[0], Q, 60), Note(lines[1], Q, 60)] + [Note(lines[2] + i * Q, Q, 60) for i in range(3)] + \
        [Note(lines[3] + i * Q, Q, 60) for i in range(4)]  # 1, 1 (in half a bar: 2 a bar), 3, 4
    piece.tracks.append(Track("melody", 0, False, onsets))
    assert M.density_correlation(piece, plan) == pytest.approx(1.0)


def test_meter_match_compares_the_meter_changes_too():
    from framescore.symbolic.piece import MeterChange

    plan = short_bar_plan()
    piece = piece_from_plan_grid(plan)
    assert piece.meter_changes == [MeterChange(1920, 2, 4), MeterChange(2880, 4, 4)]
    assert M.meter_match(piece, plan) is True and M.plan_metrics(piece, plan)["meter_match"] is True
    piece.meter_changes = []
    assert M.meter_match(piece, plan) is False
    assert M.meter_match(piece_from_plan_grid(simple_plan(8.0, tempo_bpm=120)), plan) is False


def test_cuts_on_a_beat_and_on_a_downbeat_with_a_short_bar():
    plan = short_bar_plan()  # bar lines at 0, 2, 3, 5, 7 s; beats every 0.5 s
    plan.sections = [Section("A", 0, 2), Section("B", 2, 1, cut_sec=3.0), Section("C", 3, 1, cut_sec=4.52)]
    plan.validate()
    piece = piece_from_plan_grid(plan)
    assert M.cuts_on_downbeat(piece, plan) == (0.5, 2)  # 3.0 is bar 2's line (at 1920 ticks a bar: 3.0 is none)
    assert M.cuts_on_beat(piece, plan) == (1.0, 2)  # 4.52 is 20 ms from beat 3 of bar 2 (4.5 s)
    plan.sections[2].cut_sec = 4.25  # between beats
    assert M.cuts_on_beat(piece, plan) == (0.5, 2)
    pm = M.plan_metrics(piece, plan)
    names = list(pm)
    assert names.index("cuts_on_beat") + 1 == names.index("cuts_on_downbeat") and pm["cuts_on_beat"] == 0.5


def test_a_compound_meter_beats_in_dotted_quarters():
    plan = simple_plan(6.0, tempo_bpm=120, meter="6/8", chords="I IV")  # bars of 1.5 s, beats of 0.75 s
    plan.sections = [Section("A", 0, 1), Section("B", 1, 1, cut_sec=0.75), Section("C", 2, 2, cut_sec=3.25)]
    plan.validate()
    piece = piece_from_plan_grid(plan)
    assert M.beat_ticks(piece)[:5] == [0, 720, 1440, 2160, 2880]
    assert M.cuts_on_beat(piece, plan) == (0.5, 2)  # 0.75 s is a beat; 3.25 s is an eighth (1/6 s of one)
    assert M.cuts_on_downbeat(piece, plan) == (0.0, 2)


def test_groove_consistency_compares_bars_of_their_own_lengths():
    from framescore.symbolic.piece import MeterChange

    notes = [Note(0, Q, 60), Note(Q, Q, 62), Note(1920, Q, 60), Note(1920 + Q, Q, 62), Note(2880, Q, 60)]
    piece = Piece([Track("a", 0, False, notes)], meter_changes=[MeterChange(1920, 2, 4), MeterChange(2880, 4, 4)])
    # bars [0, 1920), [1920, 2880), [2880, 4800): {0, 480}, {0, 480}, {0}: one differing cell, each pair compared
    # over its longer bar (1920 ticks twice)
    assert M.groove_consistency(piece) == pytest.approx(1 - 1 / 3840)
    assert M.music_metrics(piece)["groove_consistency"] == pytest.approx(1 - 1 / 3840)


def test_melody_coverage():
    plan = simple_plan(8.0, tempo_bpm=120)  # 4 bars of 1920 ticks
    plan.bars[1].melody = False
    piece = piece_from_plan_grid(plan)
    assert M.melody_coverage(piece, plan) is None  # no melody track
    piece.tracks.append(Track("melody", 0, False, [Note(0, Q, 60), Note(3 * 1920 + Q, Q, 62)]))
    assert M.melody_coverage(piece, plan) == pytest.approx(2 / 3)  # bars 0, 2, 3 play; 2 lacks an onset
    piece.end_tick = 3 * 1920  # bar 3 is not there: of bars 0 and 2, one has an onset
    assert M.melody_coverage(piece, plan) == pytest.approx(1 / 2)
    for bar in plan.bars:
        bar.melody = False
    assert M.melody_coverage(piece, plan) is None


def test_melody_motion_by_hand():
    piece = piece_from_plan_grid(simple_plan(8.0, tempo_bpm=120))
    assert M.melody_motion(piece) is None  # no melody track
    # 60 60 62 (and a lower 55 with it, not the melody's line) 65 64 72: moves 0, 2, 3, 1, 8
    notes = [Note(i * Q, Q, p) for i, p in enumerate([60, 60, 62, 65, 64, 72])] + [Note(2 * Q, Q, 55)]
    piece.tracks.append(Track("MELODY", 0, False, notes))
    assert M.melody_motion(piece) == {"repeated": 1 / 5, "step": 2 / 5, "leap": 2 / 5, "n": 5}
    piece.tracks[-1].notes = notes[:1]
    assert M.melody_motion(piece) is None  # one note has no interval


def form_piece():
    """Sections A (bars 0-1), B (bar 2), A2 (bars 3-4, returning to A) with a melody worked out by hand."""
    plan = simple_plan(10.0, tempo_bpm=120, chords="I IV V I")  # 5 bars of 1920 ticks
    plan.sections = [Section("A", 0, 2, theme="A"), Section("B", 2, 1, cut_sec=4.0, theme="B", role="contrast"),
                     Section("A2", 3, 2, cut_sec=6.0, theme="A", role="return")]
    plan.validate()
    bar = 1920

    def at(b, notes):
        return [Note(b * bar + off, 240, p) for off, p in notes]

    melody = at(0, [(0, 60), (480, 62), (960, 64), (1440, 65)]) + at(1, [(0, 67), (960, 64)]) + \
        at(2, [(0, 72), (240, 71), (1680, 69)]) + \
        at(3, [(0, 62), (480, 64), (960, 66), (1440, 67)]) + at(4, [(0, 69), (960, 66), (1200, 67)])
    piece = piece_from_plan_grid(plan)
    piece.tracks.append(Track("melody", 0, False, melody))
    return plan, piece


def test_theme_similarity_by_hand():
    plan, piece = form_piece()
    sim = M.theme_similarity(piece, plan)
    # onsets (16ths): bars 0/3 equal (1); bars 1/4 {0, 8} vs {0, 8, 10}: 2/3; mean 5/6. Intervals: 2 2 1 2 -3 against
    # 2 2 1 2 -3 1: 5 of the longer 6 match. Similarity 5/6.
    assert sim["returns"] == [{"first": "A", "second": "A2", "bars": 2, "onsets": pytest.approx(5 / 6),
                               "intervals": pytest.approx(5 / 6), "similarity": pytest.approx(5 / 6)}]
    assert sim["mean"] == pytest.approx(5 / 6)
    # A against B over one bar: {0, 4, 8, 12} vs {0, 2, 14}: 1/6; intervals 2 2 1 vs -1 -2: none of 3
    con = M.contrast_similarity(piece, plan)
    assert [(p["first"], p["second"], p["bars"]) for p in con["pairs"]] == [("A", "B", 1)]
    assert con["pairs"][0]["onsets"] == pytest.approx(1 / 6) and con["pairs"][0]["intervals"] == 0.0
    assert con["mean"] == pytest.approx(1 / 12)
    assert M.theme_similarity(piece_from_plan_grid(plan), plan)["returns"][0]["similarity"] is None  # no melody
    plan.sections[2].theme = "C"
    assert M.theme_similarity(piece, plan) == {"returns": [], "mean": None}


def test_theme_similarity_over_the_common_length_bar_by_bar():
    """A return whose second bar is 3/4 and ends the piece, with a note added in its first bar: compared over
    three beats there, and the added note costs only its own bar's intervals."""
    plan = simple_plan(10.0, tempo_bpm=120, chords="I IV V I")  # 5 bars of 1920 ticks
    plan.sections = [Section("A", 0, 2, theme="A"), Section("B", 2, 1, cut_sec=4.0, theme="B", role="contrast"),
                     Section("A2", 3, 2, cut_sec=6.0, theme="A", role="return")]
    plan.bars[4].meter = "3/4"
    plan.duration_sec = plan.bar_start_sec(5) - 0.25  # the music ends an eighth before the 3/4 bar's end
    plan.validate()
    bar = 1920
    melody = [Note(o, 240, p) for o, p in ((0, 60), (480, 62), (960, 64), (1440, 65))] + \
        [Note(bar + o, 240, p) for o, p in ((0, 67), (960, 64), (1680, 62))] + [Note(2 * bar, 240, 72)] + \
        [Note(3 * bar + o, 240, p) for o, p in ((0, 60), (240, 61), (480, 62), (960, 64), (1440, 65))] + \
        [Note(4 * bar + o, 240, p) for o, p in ((0, 67), (960, 64))]
    piece = piece_from_plan_grid(plan)
    piece.tracks.append(Track("melody", 0, False, melody))
    row = M.theme_similarity(piece, plan)["returns"][0]
    # bar 0 / 3: onsets {0, 4, 8, 12} vs {0, 2, 4, 8, 12}: 4/5; intervals 2 2 1 vs 1 1 2 1: none of 4 (in order).
    # bar 1 / 4 over 3 beats, less the eighth the music lacks (1200 ticks): bar 1's note at 1680 is not compared;
    # onsets {0, 8} both: 1; intervals led in from 65: 2 -3 vs 2 -3: 2 of 2
    assert row["onsets"] == pytest.approx((4 / 5 + 1) / 2)
    assert row["intervals"] == pytest.approx(2 / 6)
    assert row["similarity"] == pytest.approx(((4 / 5 + 1) / 2 + 2 / 6) / 2)


def test_ending():
    plan = simple_plan(8.0, tempo_bpm=120, chords="I IV V I")
    piece = piece_from_plan_grid(plan)
    end = piece.end_tick
    piece.tracks += [Track("melody", 0, False, [Note(end - 960, 950, 72), Note(end - 1920, 480, 74)]),
                     Track("bass", 33, False, [Note(end - 960, 960, 36), Note(end - 960, 960, 43)])]
    e = M.ending(piece, plan)
    assert e == {"chord": "C:maj", "tonic": "C", "bass_last": 36, "bass_pitch_class": "C", "melody_last": 72,
                 "bass_on_tonic": True, "melody_on_tonic": True, "bass_held": True, "melody_held": False,
                 "held_to_end": False}
    pm = M.plan_metrics(piece, plan)
    assert (pm["ending_chord"], pm["ending_bass"], pm["ending_melody"], pm["ending_on_tonic"], pm["ending_held"]) == \
        ("C:maj", "C", 72, True, False)
    assert M.ending(piece_from_plan_grid(plan), plan)["bass_last"] is None


def test_form_figures_in_the_report():
    plan, piece = form_piece()
    pm = M.score_piece(piece, plan)["plan"]
    assert pm["theme_similarity"] == pytest.approx(5 / 6) and pm["n_theme_returns"] == 1
    assert pm["contrast_similarity"] == pytest.approx(1 / 12) and pm["melody_coverage"] == 1.0
    json.dumps(pm, allow_nan=False)
    assert "theme similarity" in M.format_report({"plan": pm})


def test_an_engines_piece_with_a_short_bar_and_a_ramp_keeps_time_exactly():
    from framescore.symbolic.engines import compose

    plan = short_bar_plan()
    plan.sections = [Section("A", 0, 2), Section("B", 2, 2, cut_sec=3.0, tempo_bpm=110.0, ramp=True)]
    plan.duration_sec = plan.bar_start_sec(plan.n_bars) - 0.2
    plan.validate()
    pm = M.plan_metrics(compose(plan, "rule"), plan)
    assert pm["meter_match"] is True and pm["tempo_max_error_bpm"] == pytest.approx(0.0)
    assert pm["cuts_on_downbeat"] == 1.0 and pm["cuts_on_beat"] == 1.0 and pm["melody_coverage"] == 1.0
