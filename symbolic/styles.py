"""Genre and style words → the defaults a musician of that style would reach for: instruments, a tempo range, a
texture (how busy and how loud), a drum groove and a swing feel. ``MusicPlan.style`` names the style; the plan's
other fields already hold what it set, so an edited plan is still the truth.

What a style changes, audibly, in every engine: the instruments (and their layers), the tempo (the mood's choice
clipped into the style's range), each bar's density and dynamics (``texture``), the drums (none for classical,
baroque, ambient, folk, cinematic and orchestral; otherwise the kit and the groove below, played by the rule
engine's drum part, which the trained engines use as their backing too) and the swing (:func:`swing`: offbeat
eighths played late, two to one, in jazz, blues and lo-fi).

Grooves (:data:`GROOVES`): ``backbeat`` (kick on the strong beats, snare on the backbeats: pop, rock, funk,
country, metal), ``four_on_floor`` (a kick on every beat, claps on the backbeats, open hats on the offbeats:
house, electronic), ``half_time`` (the snare on beat three only, a kick pushed before it: hip hop, lo-fi),
``swing`` (the ride's "spang-a-lang" and the hi-hat's foot on two and four: jazz, blues), ``bossa`` (kick on one
and the and of two, a rim-click clave over two bars: bossa nova).

What the engines can really do: the rule engine plays every style's groove, swing and textures with its own
pop-idiom melody and harmony. The transformer and the diffusion engine were trained on POP909 (Chinese pop songs
arranged for piano): in any style their melody and harmony stay pop piano in idiom, on the style's instruments,
tempo, density, drums and swing. No engine writes idiomatic jazz voicings, metal riffs or baroque counterpoint.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from .piece import Note, Piece
from .plan import MusicPlan

__all__ = ["GROOVES", "STYLES", "Style", "groove_of", "swing"]

GROOVES = ("backbeat", "four_on_floor", "half_time", "swing", "bossa", "none")


@dataclass(frozen=True)
class Style:
    """A style's defaults. ``instruments`` is an ``--instruments`` text (roles, ``none``, ``role+=`` layers);
    ``tempo`` the (low, high) bpm its music usually has; ``texture`` scales each bar's density and ``loudness``
    adds to its dynamics."""

    name: str
    instruments: str
    tempo: tuple[float, float]
    groove: str
    texture: float = 1.0
    loudness: float = 0.0
    swing: bool = False
    meter: str | None = None


_S = Style
#: Every style the words can name, by its name (synonyms in :data:`ALIASES`).
STYLES: dict[str, Style] = {s.name: s for s in (
    _S("pop", "melody=piano,harmony=piano,bass=electric bass,drums=standard", (96, 124), "backbeat"),
    _S("rock", "melody=overdriven guitar,harmony=distortion guitar,bass=34,drums=standard", (108, 144),
       "backbeat", 1.2, 0.12),
    _S("metal", "melody=distortion guitar,harmony=distortion guitar,bass=34,drums=power,"
       "harmony+=overdriven guitar", (140, 190), "backbeat", 1.4, 0.2),
    _S("electronic", "melody=saw lead,harmony=warm pad,bass=synth bass,drums=electronic", (118, 132),
       "four_on_floor", 1.1, 0.05),
    _S("house", "melody=piano,harmony=warm pad,bass=synth bass,drums=tr-808", (120, 128), "four_on_floor", 1.1,
       0.05),
    _S("hip hop", "melody=electric piano,harmony=warm pad,bass=synth bass,drums=tr-808", (82, 96), "half_time", 0.9),
    _S("lo-fi", "melody=electric piano,harmony=vibraphone,bass=acoustic bass,drums=brush", (70, 90), "half_time",
       0.7, -0.1, swing=True),
    _S("ambient", "melody=pad 1 new age,harmony=warm pad,bass=none,drums=none,harmony+=choir", (60, 80), "none",
       0.5, -0.15),
    _S("cinematic", "melody=french horn,harmony=strings,bass=contrabass,drums=none,harmony+=choir", (70, 100),
       "none", 0.9, 0.05),
    _S("orchestral", "melody=flute,harmony=strings,bass=contrabass,drums=none,melody+=oboe,harmony+=french horn",
       (80, 120), "none"),
    _S("jazz", "melody=tenor sax,harmony=piano,bass=acoustic bass,drums=jazz", (110, 160), "swing", 1.0, -0.05,
       swing=True),
    _S("bossa nova", "melody=flute,harmony=nylon guitar,bass=acoustic bass,drums=brush", (120, 140), "bossa",
       0.9, -0.1),
    _S("blues", "melody=jazz guitar,harmony=piano,bass=electric bass,drums=standard", (70, 100), "swing",
       swing=True),
    _S("funk", "melody=brass section,harmony=electric guitar muted,bass=slap bass,drums=standard", (96, 116),
       "backbeat", 1.3, 0.1),
    _S("country", "melody=fiddle,harmony=steel guitar,bass=acoustic bass,drums=standard,harmony+=banjo",
       (100, 130), "backbeat"),
    _S("folk", "melody=violin,harmony=steel guitar,bass=none,drums=none", (80, 110), "none", 0.8),
    _S("classical", "melody=piano,harmony=piano,bass=none,drums=none", (70, 120), "none"),
    _S("baroque", "melody=harpsichord,harmony=strings,bass=cello,drums=none", (90, 120), "none", 1.2),
)}
#: Other words for the styles.
ALIASES = {"hip-hop": "hip hop", "hiphop": "hip hop", "rap": "hip hop", "lofi": "lo-fi", "lo fi": "lo-fi",
           "edm": "electronic", "techno": "electronic", "dance": "electronic", "film": "cinematic",
           "film score": "cinematic", "orchestra": "orchestral", "symphonic": "orchestral", "bossa": "bossa nova",
           "bossanova": "bossa nova", "heavy metal": "metal", "rock and roll": "rock", "pop rock": "rock",
           "swing": "jazz", "bebop": "jazz"}


def groove_of(plan: MusicPlan) -> str:
    """The drum groove the plan's style asks for (``backbeat`` without a style)."""
    style = STYLES.get(plan.style or "")
    return style.groove if style is not None and style.groove != "none" else "backbeat"


def swing(piece: Piece, plan: MusicPlan) -> Piece:
    """Swung eighths: in a bar of quarter or half beats, every note starting on the offbeat eighth starts a third
    of an eighth later (a two-to-one swing), ending where it did (or a tick after its new start). Compound and
    eighth-note meters are left straight. Applied when the plan's style swings."""
    style = STYLES.get(plan.style or "")
    if style is None or not style.swing:
        return piece
    res = piece.resolution
    lines = plan.bar_start_ticks(res)
    for track in piece.tracks:
        out = []
        for n in track.notes:
            b = min(max(bisect.bisect_right(lines, n.start) - 1, 0), plan.n_bars - 1)
            num, den = plan.bar_meter(b)
            beat = res * 4 // den
            late = beat // 6
            if den <= 4 and beat % 6 == 0 and (n.start - lines[b]) % beat == beat // 2 \
                    and n.start + late < piece.end_tick:
                out.append(Note(n.start + late, max(1, n.duration - late), n.pitch, n.velocity))
            else:
                out.append(n)
        track.notes = sorted(out)
    return piece
