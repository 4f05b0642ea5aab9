"""The language corpus keeps its frozen held-out half: same files, same bytes, same size, disjoint from tuning."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

CORPUS = Path(__file__).parent / "corpus"
HELD_OUT_SHA256 = "3c41d9c6c44bd4fad6d7504a3796e12b219716a12fea4a0d9c50f9f934dee6e5"


def test_the_held_out_half_is_unchanged_since_it_was_frozen():
    digest = hashlib.sha256()
    for path in sorted((CORPUS / "heldout").glob("*.json")):
        digest.update(path.read_bytes())
    assert digest.hexdigest() == HELD_OUT_SHA256


def test_the_corpus_is_big_enough_and_the_halves_are_disjoint():
    halves = {half: [c for p in sorted((CORPUS / half).glob("*.json")) for c in json.loads(p.read_text())]
              for half in ("tuning", "heldout")}
    assert len(halves["tuning"]) + len(halves["heldout"]) >= 400
    names = {half: {c["name"] for c in cases} for half, cases in halves.items()}
    assert not names["tuning"] & names["heldout"]
    personas = {c["persona"] for cases in halves.values() for c in cases}
    assert len(personas) >= 7
