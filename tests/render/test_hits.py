"""Hits you can hear: onsets of a mix made in code at known times, found at the cuts on them and not elsewhere."""

from __future__ import annotations

import numpy as np
import pytest

from framescore.render import hits as H
from framescore.symbolic.metrics import CUT_TOLERANCE_SEC

SR = 44100
BURSTS = [0.2, 1.0, 2.0, 3.1]


def mix(seconds: float = 5.0) -> np.ndarray:
    """A held low chord throughout (quiet) and four struck tone bursts (a click and a decaying 440 Hz) on it."""
    t = np.arange(int(seconds * SR)) / SR
    y = 0.05 * (np.sin(2 * np.pi * 110 * t) + np.sin(2 * np.pi * 164.8 * t))
    n = int(0.3 * SR)
    k = np.arange(n) / SR
    burst = 0.4 * np.exp(-k / 0.05) * np.sin(2 * np.pi * 440 * k)
    burst[:64] += 0.3 * np.hanning(64)
    for b in BURSTS:
        i = int(round(b * SR))
        y[i:i + n] += burst[:len(y) - i]
    return np.stack([y, y], axis=1).astype(np.float32)


@pytest.fixture(scope="module")
def mix_wav(tmp_path_factory):
    import soundfile as sf

    path = tmp_path_factory.mktemp("hits") / "mix.wav"
    sf.write(path, mix(), SR, subtype="PCM_16")
    return path


def test_cuts_on_bursts_are_heard_and_others_not(mix_wav):
    tol = CUT_TOLERANCE_SEC
    cuts = [0.2, 1.0, 2.0, 3.1,
            4.0,  # the held chord only: no attack within the window
            2.6,  # 0.5-0.6 s from the nearest bursts: outside the tolerance
            3.1 + tol - 0.02,  # a little late, still within the tolerance (the detector is ~10 ms late itself)
            1.0 - tol - 0.03]  # too early
    report = H.cut_hits(mix_wav, cuts)
    heard = [h.heard for h in report.hits]
    assert heard == [True, True, True, True, False, False, True, False]
    for h in report.hits[:4]:
        assert 0.0 <= h.offset_sec <= 0.025 and h.strongest  # the burst is the window's strongest attack
    assert report.hits[4].onset_sec is None  # nothing in 3.5-4.5 s
    assert report.share_heard == pytest.approx(5 / 8)
    summary = report.summary()
    assert summary["cuts_heard"] == pytest.approx(5 / 8) and summary["n_cuts"] == 8
    assert summary["tolerance_sec"] == tol and summary["cuts"][4]["onset_sec"] is None
    # the same from samples in memory
    same = H.cut_hits(mix(), cuts, sample_rate=SR)
    assert [h.heard for h in same.hits] == heard
    assert [h.onset_sec is None for h in same.hits] == [h.onset_sec is None for h in report.hits]
    for a, b in zip(same.hits, report.hits):  # the file is 16-bit: the same onsets, to a frame
        assert a.onset_sec is None or a.onset_sec == pytest.approx(b.onset_sec, abs=0.006)


def test_only_a_window_around_each_cut_is_read(mix_wav, monkeypatch):
    import soundfile as sf

    asked: list[int] = []
    read = sf.SoundFile.read

    def spy(self, frames=-1, *args, **kwargs):
        asked.append(frames)
        return read(self, frames, *args, **kwargs)

    monkeypatch.setattr(sf.SoundFile, "read", spy)
    H.cut_hits(mix_wav, [1.0, 2.0, 4.9, 7.0])
    assert len(asked) == 4
    assert all(0 <= n <= 2 * H.WINDOW_SEC * SR + 1 for n in asked)
    assert asked[3] == 0  # past the end: nothing to read


def test_no_cuts_and_cuts_past_the_end(mix_wav):
    assert H.cut_hits(mix_wav, []).share_heard is None
    past = H.cut_hits(mix_wav, [9.0])
    assert past.hits[0].onset_sec is None and not past.hits[0].heard and past.share_heard == 0.0


def test_report_puts_cuts_heard_next_to_cuts_on_downbeat(mix_wav):
    from framescore.pipeline import with_hits

    hits = H.cut_hits(mix_wav, [1.0, 4.0])
    report = {"music": {}, "plan": {"chord_accuracy": 1.0, "cuts_on_downbeat": 1.0, "n_cuts": 2}, "reference": {}}
    out = with_hits(report, hits)
    assert list(out["plan"]) == ["chord_accuracy", "cuts_on_downbeat", "cuts_heard", "n_cuts"]
    assert out["plan"]["cuts_heard"] == 0.5 and [c["heard"] for c in out["hits"]["cuts"]] == [True, False]
    no_audio = with_hits({"plan": {"cuts_on_downbeat": None, "n_cuts": 0}}, None)
    assert no_audio == {"plan": {"cuts_on_downbeat": None, "cuts_heard": None, "n_cuts": 0}}
    assert with_hits({"plan": {}}, hits) == {"plan": {}}  # no plan: nothing to say


def test_a_plan_without_cuts_is_not_listened_to(tmp_path):
    from framescore.pipeline import Stages, hear_hits
    from framescore.vision.mapping import plan_from_text

    plan = plan_from_text("a calm morning by the sea", 4.0)
    assert all(s.cut_sec is None for s in plan.sections)
    assert hear_hits(plan, tmp_path / "no-such-mix.wav", Stages(quiet=True)) is None  # the mix is never opened
    assert hear_hits(None, tmp_path / "no-such-mix.wav", Stages(quiet=True)) is None


@pytest.mark.parametrize("sr", [44100, 22050])
def test_the_detector_is_librosas(sr):
    """The numpy detector gives librosa's onset envelope (to float32 rounding), filters and onsets, on the bursts
    over a chord and on noise with its own flicker."""
    librosa = pytest.importorskip("librosa")
    n_fft = H._fft_size(sr)
    hop = n_fft // 4
    assert np.abs(H.mel_filters(sr, n_fft) - librosa.filters.mel(sr=sr, n_fft=n_fft)).max() < 1e-6
    rng = np.random.default_rng(0)
    signals = [mix()[::44100 // sr, 0], (0.1 * rng.standard_normal(sr * 2)).astype(np.float32)]
    for y in signals:
        ours = H.onset_envelope(y, sr, n_fft, hop)
        theirs = librosa.onset.onset_strength(y=y, sr=sr, n_fft=n_fft, hop_length=hop)
        assert ours.shape == theirs.shape and np.abs(ours - theirs).max() < 1e-3
        for delta in (0.5, H.ONSET_DELTA_DB):
            want = librosa.onset.onset_detect(onset_envelope=theirs, sr=sr, hop_length=hop, backtrack=False,
                                              normalize=False, delta=delta, units="frames")
            got = H.peak_pick(theirs, pre_max=int(0.03 * sr // hop), post_max=1, pre_avg=int(0.10 * sr // hop),
                              post_avg=int(0.10 * sr // hop + 1), delta=delta, wait=int(0.03 * sr // hop))
            assert list(got) == list(want) and (len(want) > 0 or delta > 1)


def test_peak_pick_by_hand():
    x = np.array([3, 0, 0, 5, 1, 4, 0, 0, 0, 2], dtype=np.float32)
    # frame 0 is the maximum of x[:1] and 3 >= mean(x[:2]) + 1.5; frame 3 the maximum of x[2:4], 5 >= 1.5 + 1.5;
    # frame 5 the maximum of x[4:6], 4 >= mean(x[3:7]) + 1.5 = 4, unless within `wait` of 3; frame 9 is the maximum
    # of x[8:10] but 2 < mean(x[7:10]) + 1.5; frames 2, 7, 8 are maxima of zeros, below their means + 1.5
    assert list(H.peak_pick(x, pre_max=1, post_max=1, pre_avg=2, post_avg=2, delta=1.5, wait=1)) == [0, 3, 5]
    assert list(H.peak_pick(x, pre_max=1, post_max=1, pre_avg=2, post_avg=2, delta=1.5, wait=2)) == [0, 3]
    assert list(H.peak_pick(np.zeros(0, np.float32), 1, 1, 1, 1, 0.0, 0)) == []
