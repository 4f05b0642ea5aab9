"""The language corpus keeps its frozen held-out half: same files, same bytes, same size, disjoint from tuning."""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path

import pytest

CORPUS = Path(__file__).parent / "corpus"
HELD_OUT_SHA256 = {
    "heldout": "3c41d9c6c44bd4fad6d7504a3796e12b219716a12fea4a0d9c50f9f934dee6e5",
    # the second held-out set (mixG-J, with stops, brackets and replacements), frozen before any tuning on its siblings
    "heldout2": "3ccd89c8c8a77b53bd721ce3020655eb59bacaa0495eab4d53a5f5105dcdb4b4",
    # the third (mixM-P: phone texting, ex-professional traders, careful newcomers, British / Indian / Nigerian / German /
    # Brazilian English and car dictation), frozen before any tuning on its siblings
    "heldout3": "95f2e509dff0ede7e3c73e1aebe3f4a970cd53031e85a86609a8d4062375b5d5",
    # the fourth (mixT-W: English as a second language, voice dictation, active investors with long histories, first-day
    # users), written from tests/agent/corpus/BRIEF-mixT-W.md and frozen before any run of the parser on it
    "heldout4": "aaa44ebc20b5b9e9d70ec7f90b0802bdd999ea164cb96d56140ab8ca3f5c895b",
    # the fifth (mixX-AA: careful question-and-instruction askers, order-ticket jargon, retirees' formal letters, fast
    # phone messages mid-conversation), written from the same brief and frozen before any run of the parser on it
    "heldout5": "a3f88bbc387c0b6c2b4c4c88f39573ac340afab1e30e8134a7f23c975fb2a23a",
    # the sixth (mixAB-AE: couples who trade together, investors from other brokerage apps, late-night autocorrect
    # typing, people who think in both brokers), written from the same brief and frozen before any run on it
    "heldout6": "5a32bb020331237461b7092508db852d82b035ad08892d566b0392883481429d",
    # the seventh (mixAF-AI: bookkeepers, English from East Asian and Slavic speakers, chained instructions, support-
    # chat complaints), written from the same brief and frozen before any run on it
    "heldout7": "ac32aa16e59ce03cdd001fe81fef0f124ff203bb5e94e974242e838aa773d517",
}


@pytest.mark.parametrize("half", sorted(HELD_OUT_SHA256))
def test_the_held_out_halves_are_unchanged_since_they_were_frozen(half):
    digest = hashlib.sha256()
    for path in sorted((CORPUS / half).glob("*.json")):
        digest.update(path.read_bytes())
    assert digest.hexdigest() == HELD_OUT_SHA256[half]


def test_the_corpus_is_big_enough_and_the_halves_are_disjoint():
    halves = {half: [c for p in sorted((CORPUS / half).glob("*.json")) for c in json.loads(p.read_text())]
              for half in ("tuning", *HELD_OUT_SHA256)}
    assert len(halves["tuning"]) + len(halves["heldout"]) >= 400
    names = {half: {c["name"] for c in cases} for half, cases in halves.items()}
    for a, b in itertools.combinations(names, 2):
        assert not names[a] & names[b], (a, b)
    personas = {c["persona"] for cases in halves.values() for c in cases}
    assert len(personas) >= 7
