"""``framescore batch``: many clips at once on Ray, from one machine to a cluster, resumable.

- **Items.** Each input is a file (a clip or a picture), a folder (its clips and pictures, in name order), or a
  manifest: a CSV with a header or a JSONL file, one item a row, with ``input`` (a path, relative to the
  manifest) or ``text``, an optional ``name``, and any override by its plan name or its flag's
  (``seed``, ``tempo``/``tempo_bpm``, ``key``, ``meter``, ``chords``, ``mood``, ``engine``, ``style``,
  ``duration``/``duration_sec``, ``instruments``, ``form``...). The command line's overrides apply to every
  item, a row's own win. Each item is written to ``OUT/<name>/``, exactly what a single run writes.
- **Ray.** A local Ray with ``--workers`` CPUs by default, or the cluster at ``--address`` with the same code.
  Each worker is an actor (:class:`Scorer`) that loads the engine's model and finds the soundfont once, then
  scores item after item.
- **The record.** ``OUT/batch.jsonl`` gets a line per item run: its name, input, settings, status (``done`` or
  ``failed``), seconds, one-line error and the SHA-256 of its ``score.mid``, and the *key* of its input (the
  file's SHA-256) and settings. A rerun skips every item whose last line has the same key (done, or failed unless
  ``--retry-failed``); Ctrl-C keeps what finished and removes what was half-written.
- **Exit status** 0 when every item is done, 1 otherwise; a bad item fails alone.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import FramescoreError
from .outputs import display

__all__ = ["ALIASES", "Item", "Scorer", "expand", "run_batch"]

#: Manifest column names that are flags' names rather than plan names.
ALIASES = {"tempo": "tempo_bpm", "duration": "duration_sec", "bpm": "tempo_bpm"}
RECORD = "batch.jsonl"


class BatchError(FramescoreError):
    """A batch that cannot start: its inputs or its output folder."""


@dataclass
class Item:
    """One piece of work: a clip or picture (``input``) or words (``text``), with its settings."""

    name: str
    kind: str  # video, image, text
    input: str | None = None
    text: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    key: str = ""

    def describe(self) -> str:
        return self.input or repr(self.text)


def _kind(path: Path) -> str | None:
    from .pipeline import IMAGE_EXTS, VIDEO_EXTS

    ext = path.suffix.lower()
    return "video" if ext in VIDEO_EXTS else "image" if ext in IMAGE_EXTS else None


def _rows(manifest: Path) -> list[dict[str, Any]]:
    try:
        if manifest.suffix.lower() == ".jsonl":
            rows = []
            for i, line in enumerate(manifest.read_text(encoding="utf-8").splitlines(), 1):
                if line.strip():
                    row = json.loads(line)
                    if not isinstance(row, dict):
                        raise BatchError(f"{display(manifest)}:{i}: each line must be a JSON object")
                    rows.append(row)
            return rows
        with open(manifest, newline="", encoding="utf-8") as f:
            return [{k.strip(): v for k, v in row.items() if k and v not in (None, "")} for row in csv.DictReader(f)]
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise BatchError(f"{display(manifest)}: cannot read the manifest ({e})") from None


def _settings(row: dict[str, Any], where: str) -> dict[str, Any]:
    from dataclasses import fields

    from .vision.mapping import Overrides, coerce_overrides

    known = {f.name for f in fields(Overrides)}
    out = {}
    for k, v in row.items():
        if k in ("input", "text", "name"):
            continue
        name = ALIASES.get(k, k)
        if name not in known:
            raise BatchError(f"{where}: unknown setting {k!r} (one of {', '.join(sorted(known))})")
        out[name] = v
    try:
        return coerce_overrides(out)
    except FramescoreError as e:
        raise BatchError(f"{where}: {e}") from None


def _file_sha(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def expand(inputs: list[str], common: dict[str, Any]) -> list[Item]:
    """The items of ``inputs`` (files, folders, manifests), each with ``common`` overrides under its own, named
    uniquely, keyed by its input's content and settings. Raises :class:`BatchError` for what cannot be read."""
    items: list[Item] = []
    for arg in inputs:
        p = Path(arg).expanduser()
        if p.is_dir():
            for f in sorted(x for x in p.iterdir() if x.is_file() and _kind(x)):
                items.append(Item(f.stem, _kind(f), str(f.absolute()), settings=dict(common)))
        elif p.is_file() and p.suffix.lower() in (".csv", ".jsonl"):
            for i, row in enumerate(_rows(p), 1):
                where = f"{display(p)} row {i}"
                own = _settings(row, where)
                if "text" in row:
                    items.append(Item(str(row.get("name") or f"text_{i}"), "text", None, str(row["text"]),
                                      {**common, **own}))
                    continue
                if "input" not in row:
                    raise BatchError(f"{where}: needs an input (a path) or a text")
                f = (p.parent / str(row["input"])).expanduser()
                items.append(Item(str(row.get("name") or f.stem), _kind(f) or "unknown", str(f.absolute()),
                                  settings={**common, **own}))
        elif p.is_file():
            items.append(Item(p.stem, _kind(p) or "unknown", str(p.absolute()), settings=dict(common)))
        else:
            raise BatchError(f"input not found: {display(p)}")
    seen: dict[str, int] = {}
    for it in items:
        base = "".join(c if c.isalnum() or c in "-_." else "_" for c in it.name).strip("._") or "item"
        n = seen.get(base.lower(), 0)
        seen[base.lower()] = n + 1
        it.name = base if n == 0 else f"{base}_{n + 1}"
        content = _file_sha(Path(it.input)) if it.input and Path(it.input).is_file() else it.text or it.input
        it.key = hashlib.sha256(json.dumps([it.kind, content, sorted(it.settings.items())], default=str)
                                .encode()).hexdigest()[:32]
    if not items:
        raise BatchError("no clips, pictures or manifest rows in the inputs")
    return items


class Scorer:
    """A worker: the engine's model, the soundfont and the notation libraries loaded once, then one item after
    another. Run as a Ray actor (:func:`run_batch`), or in the process for tests."""

    def __init__(self, engine: str, soundfont: str | None = None) -> None:
        from .pipeline import preload_outputs
        from .render.synth import find_soundfont

        self.soundfont = str(find_soundfont(soundfont))
        self.prepared: set[str] = set()
        self._prepare(engine)
        preload_outputs()  # forked notation workers inherit music21 and matplotlib instead of importing them

    def _prepare(self, engine: str) -> None:
        if engine not in self.prepared:
            from .symbolic.engines import prepare

            prepare(engine)
            self.prepared.add(engine)

    def score(self, item: Item, out_root: str) -> dict[str, Any]:
        """Score one item into ``out_root/<name>``; the record line (never raises for the item's own faults)."""
        from . import pipeline
        from .vision.mapping import Overrides

        t0, c0 = time.perf_counter(), _cpu()
        out = Path(out_root) / item.name
        rec = {"name": item.name, "input": item.input, "text": item.text, "settings": item.settings,
               "key": item.key, "status": "failed", "seconds": 0.0, "error": None, "score_sha256": None}
        try:
            ov = Overrides(**item.settings).validate()
            self._prepare(ov.engine or "rule")
            if item.kind == "video":
                pipeline.score_video(item.input, out, ov, soundfont=self.soundfont, quiet=True)
            elif item.kind == "image":
                pipeline.score_image(item.input, out, ov, soundfont=self.soundfont, quiet=True)
            elif item.kind == "text":
                pipeline.score_text(item.text, out, ov, soundfont=self.soundfont, quiet=True)
            else:
                pipeline.input_kind(item.input)  # its one-line refusal
            rec["score_sha256"] = _file_sha(out / "score.mid")
            rec["status"] = "done"
        except FramescoreError as e:
            rec["error"] = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        except Exception as e:  # a bug: still one line, and the batch goes on
            rec["error"] = f"unexpected {type(e).__name__}: {str(e).strip()[:200]}"
        rec["seconds"] = round(time.perf_counter() - t0, 3)
        rec["cpu_seconds"] = round(_cpu() - c0, 3)  # this process and the children it forked (render, notation)
        return rec


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _last_records(path: Path) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue  # a line cut short by a hard stop
            if isinstance(rec, dict) and "name" in rec:
                out[rec["name"]] = rec
    return out


def _clean_partial(out: Path) -> None:
    """Remove what a stopped worker left half-written under ``out``: its staging folders (``.framescore-partial-*``,
    ours by name) and an item folder left empty by them."""
    for d in out.iterdir() if out.is_dir() else ():
        if not d.is_dir():
            continue
        for part in d.glob(".framescore-partial-*"):
            shutil.rmtree(part, ignore_errors=True)
        try:
            d.rmdir()  # only if now empty: one we made and never finished
        except OSError:
            pass


def _todo(items: list[Item], out: Path, retry_failed: bool) -> tuple[list[Item], int]:
    last = _last_records(out / RECORD)
    todo, skipped = [], 0
    for it in items:
        rec = last.get(it.name)
        done = rec is not None and rec.get("key") == it.key and (
            (rec.get("status") == "done" and (out / it.name / "score.mid").is_file()
             and _file_sha(out / it.name / "score.mid") == rec.get("score_sha256"))
            or (rec.get("status") == "failed" and not retry_failed))
        if done:
            skipped += 1
        else:
            todo.append(it)
    return todo, skipped


def _progress(done: int, failed: int, total: int, t0: float, quiet: bool) -> None:
    if quiet:
        return
    left = total - done
    rate = (time.monotonic() - t0) / done if done else 0.0
    eta = f", about {rate * left:.0f} s left" if done and left else ""
    print(f"framescore batch: {done}/{total} finished, {failed} failed{eta}", file=sys.stderr, flush=True)


def run_batch(inputs: list[str], out: str | Path, common: dict[str, Any], *, workers: int = 2,
              address: str | None = None, retry_failed: bool = False, soundfont: str | None = None,
              quiet: bool = False) -> int:
    """The batch (module docstring); returns the exit status."""
    import ray
    from ray.util import ActorPool

    from .vision.mapping import Overrides

    Overrides(**common).validate()  # the shared flags are checked before any work
    items = expand(inputs, common)
    out = Path(out).expanduser().absolute()
    if out.exists() and not out.is_dir():
        raise BatchError(f"output {display(out)} is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    _clean_partial(out)
    todo, skipped = _todo(items, out, retry_failed)
    total = len(items)
    if not quiet:
        print(f"framescore batch: {total} items, {skipped} already done, {len(todo)} to run", file=sys.stderr)
    last = _last_records(out / RECORD)
    failed = sum(1 for it in items if it not in todo and last.get(it.name, {}).get("status") == "failed")
    if not todo:
        return 0 if failed == 0 else 1
    engine = common.get("engine") or "rule"
    started = False
    try:
        if not ray.is_initialized():
            kw: dict[str, Any] = {"address": address} if address else {
                "num_cpus": workers, "object_store_memory": 200 * 1024 * 1024}
            ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False, **kw)
            started = True
        actor = ray.remote(num_cpus=1)(Scorer)
        n = workers if not address else max(1, workers)
        pool = ActorPool([actor.remote(engine, soundfont) for _ in range(min(n, len(todo)))])
        t0 = time.monotonic()
        done = skipped
        with open(out / RECORD, "a", encoding="utf-8") as log:
            for rec in pool.map_unordered(lambda a, it: a.score.remote(it, str(out)), todo):
                log.write(json.dumps(rec) + "\n")
                log.flush()
                done += 1
                failed += rec["status"] != "done"
                if rec["status"] != "done" and not quiet:
                    print(f"framescore batch: {rec['name']}: {rec['error']}", file=sys.stderr, flush=True)
                _progress(done, failed, total, t0, quiet)
    finally:
        if started:
            ray.shutdown()
        _clean_partial(out)
    return 0 if failed == 0 else 1


def main_args(args, overrides) -> int:
    """``framescore batch`` from parsed arguments and their overrides (:mod:`framescore.cli`)."""
    common = dict(overrides.given())
    return run_batch(args.inputs, args.out, common, workers=args.workers, address=args.address,
                     retry_failed=args.retry_failed, soundfont=args.soundfont, quiet=args.quiet)

