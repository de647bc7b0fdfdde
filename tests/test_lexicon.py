"""The lexicon: idf weights and spelling, in the featurizer and through checkpoints.

A small hand-written lexicon and the tiny random model; no shared data needed.
"""

from __future__ import annotations

import dataclasses
import gzip

import numpy as np
import pytest
import torch

import embed
from embed import checkpoint
from embed import lexicon as lx
from embed.model import CharModel, EncoderConfig, Featurizer

COUNTS = {"the": 9000, "world": 800, "news": 700, "cat": 300, "sat": 250, "mat": 200, "cart": 40, "wold": 2}
LEXICON = lx.Lexicon(COUNTS, n_texts=10_000)
TINY = EncoderConfig(n_chars=256, n_buckets=2000, dim=32, n_layers=0, out_dim=24, max_units=8)


def _spelt(text: str) -> list[str]:
    return Featurizer(dataclasses.replace(TINY, spelling=True), LEXICON).units(text)


def test_edits1_covers_the_typos_the_benchmark_makes():
    """Drops, neighbour swaps, insertions and substitutions are all one edit away."""
    near = lx.edits1("cat")
    assert {"at", "act", "cart", "bat"} <= near and "cat" not in near and "tac" not in near


def test_misspelt_words_are_read_as_known_words():
    """An unknown word one edit from known words becomes the most frequent of them."""
    assert _spelt("The wrold news") == ["the", "world", "news"]  # swap
    assert _spelt("the worldd news, nws") == ["the", "world", "news", ",", "nws"]  # nws: too short
    assert _spelt("the wold news") == ["the", "wold", "news"]  # known (seen twice), so not a typo
    assert _spelt("the zebra news") == ["the", "zebra", "news"]  # nothing one edit away: names stay


def test_run_together_words_are_cut_in_two():
    """An unknown word made of two common words is read as both."""
    assert _spelt("theworld news") == ["the", "world", "news"]
    assert _spelt("thecart news") == ["thecart", "news"]  # "cart" is not common enough to split on


def test_texts_in_other_languages_are_not_corrected():
    """Only a text that reads as English (half its words common) is corrected."""
    assert _spelt("wrold news") == ["world", "news"]
    assert _spelt("die wrold nachrichten") == ["die", "wrold", "nachrichten"]


def test_typo_heavy_english_with_function_words_is_corrected():
    """With ``spelling_function_share``, a text with only 35% common words is still
    corrected when enough of them are function words (typos spare short words like
    "the"); text with no common words is still left alone."""
    gated = Featurizer(dataclasses.replace(TINY, spelling=True, spelling_function_share=0.1), LEXICON)
    assert _spelt("the cat wrold nwes zorp") == ["the", "cat", "wrold", "nwes", "zorp"]  # 40% common
    assert gated.units("the cat wrold nwes zorp") == ["the", "cat", "world", "news", "zorp"]
    assert gated.units("die wrold nachrichten") == ["die", "wrold", "nachrichten"]
    assert "the" in LEXICON.function_words


def test_idf_weights_make_rare_words_count_more():
    """With idf weights a text's vector moves toward its rare word and away from "the"."""
    torch.manual_seed(0)
    model = CharModel(TINY, LEXICON)
    plain = embed.CharEncoder(model, device="cpu")
    model_idf = CharModel(dataclasses.replace(TINY, idf_power=1.0), LEXICON)
    model_idf.load_state_dict(model.state_dict())
    weighted = embed.CharEncoder(model_idf, device="cpu")
    for enc in (plain, weighted):
        text, rare, common = enc.encode(["the the the cat", "cat", "the"])
        enc.lean = float(text @ rare - text @ common)
    assert weighted.lean > plain.lean + 0.2
    featurizer = Featurizer(model_idf.config, LEXICON)
    assert featurizer.unit("cat").weight > featurizer.unit("the").weight


@pytest.fixture()
def spelling_dir(tmp_path):
    torch.manual_seed(0)
    model = CharModel(dataclasses.replace(TINY, idf_power=0.5, spelling=True), LEXICON)
    return checkpoint.save(model, tmp_path / "ck")


def test_checkpoint_keeps_the_lexicon_and_names_it(spelling_dir, tmp_path):
    """The lexicon travels with the weights; a different lexicon gives a different name."""
    enc = embed.load(spelling_dir, device="cpu")
    np.testing.assert_allclose(*enc.encode(["the wrold news", "the world news"]), atol=1e-6)
    assert enc.model.lexicon == LEXICON
    gated = CharModel(dataclasses.replace(enc.model.config, spelling_function_share=0.1), LEXICON)
    gated.load_state_dict(enc.model.state_dict())  # same weights, other spelling check
    assert embed.load(checkpoint.save(gated, tmp_path / "gated"), device="cpu").name != enc.name
    changed = lx.Lexicon({**COUNTS, "cat": 301}, n_texts=10_000)
    lx.write(changed, spelling_dir / lx.FILE)
    assert embed.load(spelling_dir, device="cpu").name != enc.name


def test_checkpoint_without_its_lexicon_is_a_clear_error(spelling_dir):
    """Settings that need a lexicon, with the file gone or broken: one-line CheckpointError."""
    (spelling_dir / lx.FILE).unlink()
    with pytest.raises(embed.CheckpointError, match="need a lexicon"):
        embed.load(spelling_dir)
    with gzip.open(spelling_dir / lx.FILE, "wt") as fh:
        fh.write("not a lexicon\n")
    with pytest.raises(embed.CheckpointError, match="not a lexicon file"):
        embed.load(spelling_dir)


def test_lexicon_file_round_trip_is_byte_stable(tmp_path):
    """Writing the same lexicon twice gives the same bytes (so the same encoder name)."""
    a, b = lx.write(LEXICON, tmp_path / "a.tsv.gz"), lx.write(LEXICON, tmp_path / "b.tsv.gz")
    assert a.read_bytes() == b.read_bytes()
    assert lx.read(a) == LEXICON


def test_build_counts_texts_not_occurrences():
    """Counts are document frequencies; units seen in fewer than min_count texts are dropped."""
    built = lx.build(["the cat the cat", "the mat", "a dog"], str.split, min_count=2)
    assert built.counts == {"the": 2} and built.n_texts == 3


def test_shipped_encoder_reads_misspelt_words_as_words():
    """The default encoder gives a sentence with a one-edit typo the clean sentence's vector."""
    enc = embed.load()
    texts = ["Stocks fell in the morning", "Stocks fell in the mornign", "Stocks fell"]
    clean, typo, other = enc.encode(texts)
    assert float(clean @ typo) > 0.999 and float(clean @ other) < 0.99


# "very hrad": "hrad" is one edit from both "had" (more frequent) and "hard" (what follows
# "very"); "teh" was seen in a few training texts, so the word-alone rule keeps it.
PAIR_COUNTS = {**COUNTS, "he": 3000, "had": 900, "very": 500, "worked": 300, "hard": 60, "teh": 3}
FOLLOWERS = {"very": {"hard": 40}, "on": {"the": 150}, "worked": {"very": 30}, "the": {"cat": 100}}
PAIR_LEXICON = lx.Lexicon({**PAIR_COUNTS, "on": 2500}, n_texts=10_000, followers=FOLLOWERS)
CONTEXT = dataclasses.replace(TINY, spelling=True, spelling_context_share=0.15)


def test_typo_heavy_text_is_read_in_context():
    """In a text with enough unknown words, each word becomes the known word one edit
    away that fits its neighbours: "hrad" after "very" is "hard", not the more frequent
    "had"; "teh" before "cat" is "the" although "teh" itself was seen in training."""
    featurizer = Featurizer(CONTEXT, PAIR_LEXICON)
    assert featurizer.units("he wroked very hrad") == ["he", "worked", "very", "hard"]
    assert featurizer.units("he sat on teh cat wrold") == ["he", "sat", "on", "the", "cat", "world"]
    word_alone = Featurizer(dataclasses.replace(CONTEXT, spelling_context_share=0.0), PAIR_LEXICON)
    assert word_alone.units("he wroked very hrad") == ["he", "worked", "very", "had"]


def test_clean_text_is_not_read_in_context():
    """Below the share of unknown words a text keeps its known words as written, even
    where a neighbour would fit better ("very had" is left alone)."""
    featurizer = Featurizer(CONTEXT, PAIR_LEXICON)
    clean = "he worked very had on the cat"
    assert featurizer.units(clean) == clean.split()
    assert PAIR_LEXICON.unknown_share(["he", "zzz", ",", "hrad", "the"]) == 0.5
    assert PAIR_LEXICON.unknown_share([",", "3"]) == 0.0


def test_pair_counts_travel_in_the_lexicon_file_and_are_read_on_first_use(tmp_path):
    """build() counts adjacent pairs per text; the file keeps them byte-stably; read()
    leaves them on disk until a text needs them."""
    built = lx.build(["a b a b", "a b c", "c a"], str.split, min_count=1, min_pair_count=2)
    assert built.followers == {"a": {"b": 2}}
    path = lx.write(PAIR_LEXICON, tmp_path / "p.tsv.gz")
    assert lx.write(PAIR_LEXICON, tmp_path / "q.tsv.gz").read_bytes() == path.read_bytes()
    back = lx.read(path)
    assert back == PAIR_LEXICON and back.followers._pairs is None  # not read yet
    assert back.in_context(["very", "hrad"]) == ["very", "hard"]
    assert dict(back.followers) == FOLLOWERS
    assert lx.read(lx.write(LEXICON, tmp_path / "plain.tsv.gz")).followers == {}


def test_context_spelling_needs_pairs_and_names_the_encoder(tmp_path):
    """A checkpoint asking for context spelling without pair counts fails to load with
    a one-line error; with them, the setting is part of the encoder's name."""
    torch.manual_seed(0)
    model = CharModel(CONTEXT, PAIR_LEXICON)
    path = checkpoint.save(model, tmp_path / "ctx")
    enc = embed.load(path, device="cpu")
    np.testing.assert_allclose(*enc.encode(["he wroked very hrad", "he worked very hard"]), atol=1e-6)
    plain = CharModel(dataclasses.replace(CONTEXT, spelling_context_share=0.0), PAIR_LEXICON)
    plain.load_state_dict(model.state_dict())
    assert embed.load(checkpoint.save(plain, tmp_path / "plain"), device="cpu").name != enc.name
    lx.write(LEXICON, path / lx.FILE)
    with pytest.raises(embed.CheckpointError, match="needs a lexicon with pair counts"):
        embed.load(path)


def test_unknown_word_two_edits_off_is_read_in_context():
    """An unknown word with no known word one edit away gets the common words two edits
    away as candidates (found through their deletions), and context picks among them."""
    assert lx.edit_distance("wrold", "world") == 1 and lx.edit_distance("wrlod", "world") == 2
    assert lx.edit_distance("kitten", "sitting") == 3 and "wrld" in lx.deletions("world")
    assert PAIR_LEXICON.neighbours("wrlod") == ["world"]
    assert PAIR_LEXICON.neighbours("wold") == ["world"]  # known: one edit only, never two
    featurizer = Featurizer(CONTEXT, PAIR_LEXICON)
    assert featurizer.units("he sat on the wrlod") == ["he", "sat", "on", "the", "world"]
