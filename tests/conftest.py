"""Shared fixtures: small media made in code, so tests need nothing downloaded."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def make_clip(path: Path, specs: list[tuple[str, float]], size: str = "160x90", fps: int = 25) -> Path:
    """A clip of solid-colour shots, e.g. [("red", 1.5), ("blue", 1.0)]: each new colour is a cut."""
    inputs: list[str] = []
    for colour, dur in specs:
        inputs += ["-f", "lavfi", "-i", f"color=c={colour}:s={size}:r={fps}:d={dur}"]
    n = len(specs)
    filt = "".join(f"[{i}:v]" for i in range(n)) + f"concat=n={n}:v=1:a=0[v]"
    subprocess.run([ffmpeg(), "-v", "error", "-y", *inputs, "-filter_complex", filt, "-map", "[v]",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)], check=True)
    return path


@pytest.fixture(scope="session")
def two_shot_clip(tmp_path_factory) -> Path:
    """2.5 s: 1.5 s of orange, then 1 s of navy (one cut at 1.5 s)."""
    return make_clip(tmp_path_factory.mktemp("media") / "two_shots.mp4", [("orange", 1.5), ("navy", 1.0)])


@pytest.fixture(scope="session")
def picture(tmp_path_factory) -> Path:
    from PIL import Image

    rng = np.random.default_rng(0)
    arr = (rng.random((60, 80, 3)) * 255).astype(np.uint8)
    path = tmp_path_factory.mktemp("media") / "picture.png"
    Image.fromarray(arr).save(path)
    return path
