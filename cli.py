"""The ``framescore`` command line. Parses arguments and calls the pipeline; holds no music logic.

Every refusal, a usage error included, is one line on stderr naming the problem, and exit status 1. Anything
else that goes wrong is one line too (its traceback only with ``--debug``). A stop signal (Ctrl-C, SIGTERM,
SIGHUP) unwinds the run, leaving nothing behind, and exits with 128 + the signal's number.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path

from . import __version__
from .errors import FramescoreError

EXIT_ERROR = 1


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit status 1, like every other refusal."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise FramescoreError(f"{message} (see `{self.prog} --help`)")


def _engines() -> tuple[str, ...]:
    """The engines ``--engine`` offers: the registry's (read without importing any engine)."""
    from .symbolic.engines import engine_names

    return engine_names()


def _melody_engines() -> str:
    """The engines that keep a given melody (``--melody``), by the registry."""
    from .symbolic.engines import registry

    return " or ".join(name for name, info in registry().items() if info.keeps_melody)


def _add_overrides(p: argparse.ArgumentParser, duration_required: bool = False, duration_help: str = "") -> None:
    g = p.add_argument_group("plan overrides (each replaces what the picture suggests)")
    g.add_argument("--tempo", type=float, metavar="BPM", help="fixed tempo in quarter notes per minute")
    g.add_argument("--key", help='key, e.g. "D minor", "Bb major", "F#m"')
    g.add_argument("--meter", help="time signature, e.g. 4/4, 3/4, 6/8")
    g.add_argument("--chords", help='progression: "Am F C G", bars split by | ("Am F | C G"), or Roman "I V vi IV"')
    g.add_argument("--mood", help='words for the mood, e.g. "tense, slow"')
    g.add_argument("--valence", type=float, help="-1 (sad) .. 1 (happy)")
    g.add_argument("--arousal", type=float, help="-1 (calm) .. 1 (excited)")
    g.add_argument("--instruments", help='roles to General MIDI instruments, e.g. "melody=flute,bass=33,drums=none"')
    g.add_argument("--duration", type=float, metavar="SEC", required=duration_required,
                   help="length of the music in seconds" + (" (required)" if duration_required else duration_help))
    g.add_argument("--seed", type=int, help="random seed (same input and seed give the same MIDI bytes)")
    g.add_argument("--engine", choices=_engines(), help="composition engine (default: rule)")
    g.add_argument("--form", help='the sections\' themes in order, e.g. "A A B A" or "intro A B A ending" '
                                  '(a video: one name per section; a picture or text: the bars are shared out)')
    g.add_argument("--no-themes", dest="themes", action="store_false",
                   help="every section its own theme: no scene returns to an earlier one's music")
    g.add_argument("--follow-audio", action="store_true",
                   help="take the tempo and beats from the video's own music, when it has some")
    g.add_argument("--style", help="a genre: its instruments, tempo range, texture, drum groove and swing "
                                   "(pop, rock, jazz, bossa nova, lo-fi, ambient, cinematic, ...; see README)")
    g.add_argument("--like", metavar="REF.mid",
                   help="in the manner of this MIDI file: its key, tempo, meter, chords, density and instruments "
                        "(the picture still decides the sections; each flag above wins over it)")


def _add_output(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--out", required=True, help="output folder (see README: what a run replaces there)")
    p.add_argument("--melody",
                   help=f"a MIDI melody to keep and accompany ({_melody_engines()} engine; bar 0 at its start)")
    p.add_argument("--soundfont", help="General MIDI .sf2 file (default: the system's, e.g. FluidR3_GM.sf2)")
    p.add_argument("--reference", help="folder of MIDI files to compare the result with (report.json)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")


def _overrides(args: argparse.Namespace):
    from .vision.mapping import Overrides

    return Overrides(
        tempo_bpm=args.tempo, key=args.key, meter=args.meter, chords=args.chords, mood=args.mood,
        valence=args.valence, arousal=args.arousal, instruments=args.instruments, duration_sec=args.duration,
        seed=args.seed, engine=args.engine, form=args.form, themes=args.themes, follow_audio=args.follow_audio,
        like=args.like, style=args.style,
    )


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="print the traceback of an unexpected error")
    ap = _Parser(
        prog="framescore", parents=[common],
        description="Score pictures with music: video or image → editable plan → MIDI, MusicXML, audio stems, report.",
    )
    ap.add_argument("--version", action="version", version=f"framescore {__version__}")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    def command(name: str, **kw) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], **kw)  # --debug also after the command

    p = command("video", help="compose for a video clip: plan, MIDI, stems, mix, video with soundtrack")
    p.add_argument("input")
    _add_output(p)
    _add_overrides(p)

    p = command("image", help="compose for a still picture")
    p.add_argument("input")
    _add_output(p)
    _add_overrides(p, duration_required=True)

    p = command("text", help="compose from a description: mood, scene, key, tempo, meter, chords, instruments")
    p.add_argument("text")
    _add_output(p)
    _add_overrides(p, duration_help=" (needed unless the words say it: 'a 30-second jingle'; this flag wins)")

    p = command("plan", help="write only the plan (plan.json) for a video, a picture or a MIDI file")
    p.add_argument("input")
    p.add_argument("-o", "--out", required=True, help="plan file to write (a new file, unless --force)")
    p.add_argument("--force", action="store_true", help="replace the plan file if it exists")
    _add_overrides(p)
    p.add_argument("-q", "--quiet", action="store_true")

    p = command("compose", help="realize a plan.json, edited or not")
    p.add_argument("plan")
    _add_output(p)
    p.add_argument("--seed", type=int, help="replace the plan's seed")
    p.add_argument("--engine", choices=_engines(), help="replace the plan's engine")
    p.add_argument("--bars", metavar="A-B", help="compose only these bars anew (counted from 1), with --keep")
    p.add_argument("--keep", metavar="score.mid", help="the piece whose other bars are kept, note for note")

    p = command("render", help="render any MIDI file to audio stems and a mix")
    p.add_argument("midi")
    p.add_argument("-o", "--out", required=True, help="output folder")
    p.add_argument("--soundfont", help="General MIDI .sf2 file")
    p.add_argument("-q", "--quiet", action="store_true")

    p = command("score", help="metrics of a MIDI file (and its adherence to a plan)")
    p.add_argument("midi")
    p.add_argument("--plan", type=Path, help="plan.json the MIDI realizes")
    p.add_argument("--reference", help="folder of MIDI files to compare with")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")

    p = command("batch", help="many clips at once on Ray (a local one, or a cluster): resumable, one folder each")
    p.add_argument("inputs", nargs="+", help="clips, pictures, folders of them, or a CSV/JSONL manifest")
    p.add_argument("-o", "--out", required=True, help="output folder: OUT/<name>/ per item, OUT/batch.jsonl")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="workers (actors), one CPU each (default: this machine's cores)")
    p.add_argument("--address", help="an existing Ray cluster (e.g. ray://head:10001, or auto)")
    p.add_argument("--retry-failed", action="store_true", help="run again the items that failed last time")
    p.add_argument("--soundfont", help="General MIDI .sf2 file")
    p.add_argument("-q", "--quiet", action="store_true")
    _add_overrides(p)

    p = command("studio", help="a local web page to watch, hear, edit and re-compose")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: this machine only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workdir", help="where the jobs' folders go (default: ~/.cache/framescore/studio)")
    p.add_argument("--max-upload-mb", type=float, default=512, help="the largest upload accepted")

    p = command("describe", help="a caption for any MIDI file (instruments, key, meter, tempo, chords, mood)")
    p.add_argument("midi")
    p.add_argument("--json", action="store_true", help="print the attributes as JSON (the caption among them)")

    p = command("evaluate", help="run engines over many inputs and print one table")
    p.add_argument("inputs", nargs="+", help="videos, pictures, plan.json files, folders of them, or pop909:SPLIT[:N]")
    p.add_argument("--engines", default="rule", help="comma-separated engines (default: rule)")
    p.add_argument("--reference", help="folder of MIDI files, or pop909:test, to compare each engine's set with")
    p.add_argument("--as-played", action="store_true",
                   help="compare with the reference's notes as played (default: snapped to the engines' 16th grid)")
    p.add_argument("--duration", type=float, default=None, help="music length for pictures (default 20 s)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", help="also write all figures to this JSON file (a new file, unless --force)")
    p.add_argument("--force", action="store_true", help="replace the --json file if it exists")

    p = command("train", help="train a model from ../shared/datasets")
    tsub = p.add_subparsers(dest="model", required=True, metavar="MODEL")
    t = tsub.add_parser("chords", help="the chord-progression model the mapping samples from (POP909)")
    t.add_argument("--data", type=Path, help="datasets folder (default: $FRAMESCORE_DATA or ../shared/datasets)")
    t.add_argument("--out", type=Path, help="checkpoint folder (default: checkpoints/chord_model)")
    tsub.add_parser("transformer", help="the transformer engine's REMI model (POP909); --help for its options")
    tsub.add_parser("diffusion", help="the diffusion engine's piano-roll model (POP909); --help for its options")
    return ap


#: ``framescore train MODEL ...`` hands its arguments to the model's own trainer (each has its own --help).
TRAINERS = {
    "transformer": "framescore.datasets.train_transformer",
    "diffusion": "framescore.datasets.train_diffusion",
}


def main(argv: list[str] | None = None) -> int:
    from .lifecycle import exit_status, install_handlers

    for stream in (sys.stdout, sys.stderr):  # a path with undecodable bytes must print, not raise
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv[:1]
    try:
        install_handlers()
        if len(argv) >= 2 and argv[0] == "train" and argv[1] in TRAINERS:
            import importlib

            return int(importlib.import_module(TRAINERS[argv[1]]).main(argv[2:]) or 0)
        args = build_parser().parse_args(argv)
        debug = getattr(args, "debug", False)
        return _run(args)
    except FramescoreError as e:
        _error(str(e))
    except KeyboardInterrupt as stop:  # Ctrl-C, or SIGTERM/SIGHUP (lifecycle.Interrupted): already unwound
        from .outputs import display

        name = stop.args[0] if stop.args else "SIGINT"
        written = getattr(stop, "written", None)
        print(f"framescore: interrupted ({name}) after {display(written)}/ was written whole" if written else
              f"framescore: interrupted ({name}); nothing was left behind", file=sys.stderr)
        return exit_status(stop)
    except OSError as e:  # the machine said no: disk full, permission, a vanished file
        if debug:
            traceback.print_exc()
        where = f": {e.filename}" if e.filename else ""
        _error(f"{e.strerror or e}{where}")
    except Exception as e:  # a bug: one line, the traceback on request
        if debug:
            traceback.print_exc()
        text = str(e).strip().splitlines()
        _error(f"unexpected {type(e).__name__}{': ' + text[0] if text else ''} (run with --debug for the traceback)")
    return EXIT_ERROR


def _error(message: str) -> None:
    print(f"framescore: error: {message}", file=sys.stderr)


def _run(args: argparse.Namespace) -> int:
    from . import pipeline

    cmd = args.command
    if cmd == "video":
        st = pipeline.score_video(args.input, args.out, _overrides(args), soundfont=args.soundfont,
                                  reference=args.reference, quiet=args.quiet, melody=args.melody)
        _done(args, st)
    elif cmd == "image":
        st = pipeline.score_image(args.input, args.out, _overrides(args), soundfont=args.soundfont,
                                  reference=args.reference, quiet=args.quiet, melody=args.melody)
        _done(args, st)
    elif cmd == "text":
        st = pipeline.score_text(args.text, args.out, _overrides(args), soundfont=args.soundfont,
                                 reference=args.reference, quiet=args.quiet, melody=args.melody)
        _done(args, st)
    elif cmd == "plan":
        _plan_only(args)
    elif cmd == "compose":
        from .symbolic.plan import load_plan

        plan = load_plan(args.plan)
        if args.seed is not None:
            plan.seed = args.seed
        if args.engine is not None:
            plan.engine = args.engine
        plan.validate()
        st = pipeline.compose_plan(plan, args.out, soundfont=args.soundfont, reference=args.reference,
                                   quiet=args.quiet, melody=args.melody, plan_path=args.plan, bars=args.bars,
                                   keep=args.keep)
        _done(args, st)
    elif cmd == "render":
        st = pipeline.render_midi(args.midi, args.out, soundfont=args.soundfont, quiet=args.quiet)
        _done(args, st)
    elif cmd == "score":
        _score(args)
    elif cmd == "describe":
        _describe(args)
    elif cmd == "studio":
        _studio(args)
    elif cmd == "batch":
        from .batch import main_args

        return main_args(args, _overrides(args))
    elif cmd == "evaluate":
        from .evaluate import evaluate_cli

        evaluate_cli(args)
    elif cmd == "train":
        if args.model == "chords":
            from .datasets.chord_stats import train

            import json

            figures = train(args.data, args.out)
            print(json.dumps(figures, indent=2))
    return 0


def _done(args: argparse.Namespace, stages) -> None:
    from .outputs import display

    if args.quiet:
        return
    parts = ", ".join(f"{k} {v:.2f}s" for k, v in stages.seconds.items())
    parallel = "; notation in parallel with audio" if "write" in stages.seconds else ""
    out = display(Path(args.out).expanduser().absolute())
    print(f"framescore: wrote {out}/ in {stages.wall_sec:.1f} s ({parts}{parallel})", file=sys.stderr)


def _plan_only(args: argparse.Namespace) -> None:
    from . import pipeline
    from .outputs import check_output_file, display, write_file_atomically

    kind = pipeline.input_kind(args.input)
    if kind not in ("video", "image", "midi"):
        raise pipeline.InputError(f"`framescore plan` reads a video, a picture or a MIDI file, not {display(args.input)}")
    inputs = [args.input] + ([args.like] if args.like else [])
    if kind == "midi":
        overrides = pipeline.check_midi_overrides(_overrides(args))
        out = check_output_file(args.out, inputs, force=args.force)
        plan = pipeline.plan_midi(args.input, overrides, pipeline.Stages(args.quiet))
    else:
        pipeline.check_picture(args.input, kind)
        overrides = pipeline.check_overrides(_overrides(args), kind)
        out = check_output_file(args.out, inputs, force=args.force)
        stages = pipeline.Stages(args.quiet)
        _, plan = pipeline.plan_picture(args.input, kind, overrides, stages,
                                        {"input": display(args.input), "kind": kind})
    out = check_output_file(out, inputs, force=args.force)  # again: the analysis took a while
    write_file_atomically(out, plan.to_json().encode("utf-8"))
    if not args.quiet:
        print(f"framescore: wrote {display(out)} ({plan.n_bars} bars, {plan.tempo_bpm:.1f} bpm, {plan.key})",
              file=sys.stderr)


def _studio(args: argparse.Namespace) -> None:
    import uvicorn

    from .studio.app import create_app

    workdir = Path(args.workdir).expanduser() if args.workdir else Path.home() / ".cache" / "framescore" / "studio"
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"framescore: the studio listens on {args.host}: anyone who can reach it can open files on this "
              "machine", file=sys.stderr)
    app = create_app(workdir, max_upload_mb=args.max_upload_mb)
    print(f"framescore: studio at http://{args.host}:{args.port}/ (jobs in {workdir}); Ctrl-C stops it",
          file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


def _describe(args: argparse.Namespace) -> None:
    import json

    from .pipeline import input_kind, InputError
    from .symbolic.midi_io import read_midi
    from .symbolic.reading import plan_from_piece
    from .vision.describe import attributes

    if input_kind(args.midi) != "midi":
        raise InputError(f"`framescore describe` reads a MIDI file (.mid, .midi), not {args.midi}")
    a = attributes(plan_from_piece(read_midi(args.midi), args.midi))
    print(json.dumps(a, indent=2, ensure_ascii=False) if args.json else a["caption"])


def _score(args: argparse.Namespace) -> None:
    import json

    from .pipeline import json_default, load_reference_set
    from .symbolic.metrics import format_report, score_piece
    from .symbolic.midi_io import read_midi
    from .symbolic.plan import load_plan

    piece = read_midi(args.midi)
    plan = load_plan(args.plan) if args.plan else None
    reference = load_reference_set(args.reference)
    report = score_piece(piece, plan, reference=reference)
    if args.json:
        print(json.dumps(report, indent=2, default=json_default))
    else:
        print(format_report(report))


if __name__ == "__main__":
    sys.exit(main())
