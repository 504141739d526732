"""The evaluate set's overlap with real music and chord accuracy, split by where the plans come from.

    .venv/bin/python tools/overlap_by_source.py rule,transformer,diffusion

``framescore evaluate ../shared/media pop909:validation:16 --reference pop909:test`` pools the shared media's
plans and the 16 POP909 validation plans into one distribution per metric; this prints the overlap (Yang &
Lerch, as evaluate computes it; its mean here includes ``n_pitch_classes_used``) for the media alone, the POP909
plans alone and both pooled, and the mean chord accuracy of each part, so a change in one part is not mistaken
for a change in the other (a pooled overlap can fall while both parts rise).
"""
import os, sys, json
os.environ.setdefault("FRAMESCORE_DATA", "/work/shared/datasets")
import numpy as np
from dataclasses import replace
from framescore import evaluate as E
from framescore.symbolic.engines import compose
from framescore.symbolic.metrics import overlap_with_reference, score_piece, chord_accuracy
from framescore.pipeline import Stages
ref = E.load_reference_spec("pop909:test")
plans = []
for spec in E.collect_inputs(["../shared/media", "pop909:validation:16"]):
    plans += E.plans_for_input(spec, None, 0, Stages(quiet=True))
out = {}
for eng in sys.argv[1].split(","):
    vals = {"media": {}, "pop": {}, "all": {}}
    ch = {"media": [], "pop": []}
    for name, plan in plans:
        plan = replace(plan, engine=eng)
        piece = compose(plan, eng)
        rep = score_piece(piece, plan)
        g = "pop" if name.startswith("pop909") else "media"
        ch[g].append(rep["plan"].get("chord_accuracy"))
        for k, v in rep["music"].items():
            if v is not None:
                for gg in (g, "all"):
                    vals[gg].setdefault(k, []).append(float(v))
    for g in ("media", "pop", "all"):
        o = overlap_with_reference(vals[g], ref)
        print(eng, g, "overlap", {k: round(v, 3) for k, v in o.items()} if isinstance(o, dict) else o)
    print(eng, "chord media %.3f pop %.3f" % (np.mean([c for c in ch["media"] if c is not None]), np.mean([c for c in ch["pop"] if c is not None])))
