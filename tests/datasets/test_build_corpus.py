"""The transformer's token corpus: a rebuild gives the same bytes; valence and arousal as quantiles."""

from __future__ import annotations

import numpy as np
import pytest

from framescore.datasets.build_corpus import build_corpus, load_corpus, to_quantile
from framescore.datasets.paths import DatasetError, dataset_root


def test_corpus_rebuild_gives_the_same_bytes(tmp_path):
    try:
        dataset_root("pop909")
    except DatasetError:
        pytest.skip("POP909 is not here")
    a = build_corpus(out=tmp_path / "a", splits=("validation",), limit=2, quiet=True)
    build_corpus(out=tmp_path / "b", splits=("validation",), limit=2, quiet=True)
    for name in ("validation.npy", "validation_offsets.npy", "meta.json", "tokenizer.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    tokens, offsets = load_corpus(tmp_path / "a", "validation")
    assert len(offsets) == a["splits"]["validation"]["songs"] + 1 and offsets[-1] == len(tokens)
    assert tokens.dtype == np.uint16


def test_quantiles_map_onto_minus_one_to_one():
    ref = np.array([0.0, 1.0, 2.0, 3.0])  # quantile knots at -1, -1/3, 1/3, 1
    out = to_quantile(np.array([0.0, 1.5, 3.0, -5.0, 9.0, 2.5]), ref)
    np.testing.assert_allclose(out, [-1.0, 0.0, 1.0, -1.0, 1.0, 2 / 3], atol=1e-12)
