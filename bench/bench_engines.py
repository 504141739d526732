"""Benchmark: seconds to compose 32 bars with each engine, and the transformer's tokens per second.

Targets: the transformer composes 32 bars in under 5 s (issue 3), the diffusion engine in under 15 s with the
sampling steps it ships (issue 4), on the 2-core development machine.

    .venv/bin/python bench/bench_engines.py [--engines rule,transformer,diffusion] [--repeat 3] [--bars 32]

The plan: D major, I vi IV V, 100 bpm, 4/4, middle density, seed 0 (the same for every run, so every run makes
the same notes). The first call in the process is reported apart: it pays imports and loading the checkpoint.
"""

from __future__ import annotations

import argparse
import statistics
import time


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--engines", default="rule,transformer,diffusion")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--bars", type=int, default=32)
    args = ap.parse_args(argv)
    from framescore.symbolic.engines import compose as gate
    from framescore.symbolic.plan import simple_plan

    plan = simple_plan(args.bars * 2.4, tempo_bpm=100, key="D major", chords="I vi IV V", seed=0)
    print(f"plan: {plan.n_bars} bars, {plan.key}, {plan.tempo_bpm:g} bpm")
    for name in args.engines.split(","):
        def compose(plan, name=name):  # through the gate, as every run composes (validate, engine, check)
            return gate(plan, name)

        t0 = time.perf_counter()
        piece = compose(plan)
        first = time.perf_counter() - t0
        runs = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            compose(plan)
            runs.append(time.perf_counter() - t0)
        line = (f"{name}: first call {first:.2f} s; warm {', '.join(f'{r:.2f}' for r in runs)} s "
                f"(median {statistics.median(runs):.2f}); {len(piece.notes())} notes")
        if name == "transformer":
            from framescore.symbolic.engines import transformer

            opts = {k: v for k, v in transformer.DEFAULTS.items() if k != "trim_at_chord_changes"}
            t0 = time.perf_counter()
            ids = transformer.generate_tokens(plan, **opts)
            sec = time.perf_counter() - t0
            line += f"; {len(ids)} tokens in {sec:.2f} s = {len(ids) / sec:.0f} tokens/s"
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
