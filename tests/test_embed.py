"""The character encoder: shapes, determinism, chunking, checkpoints, training step.

All tests build a tiny random-initialised model in a tmp dir: no shared data needed.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

import embed
from embed import checkpoint
from embed.encoder import CharEncoder
from embed.model import CharModel, EncoderConfig
from embed.train import (
    MultipleNegativesRankingLoss,
    TrainConfig,
    average,
    build_optimizers,
    cosine_distill_loss,
    source_boosts,
)

TINY = EncoderConfig(n_chars=256, n_buckets=2000, dim=32, n_heads=2, n_layers=1, out_dim=24, max_units=8)
TEXTS = ["The cat sat on the mat.", "Stocks fell sharply on Monday.", "", "naïve café — 東京"]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    torch.manual_seed(0)
    model = CharModel(TINY)
    # non-zero block outputs, so the transformer path is really exercised
    for block in model.blocks:
        torch.nn.init.normal_(block.attn.out.weight, std=0.1)
        torch.nn.init.normal_(block.mlp[2].weight, std=0.1)
    return checkpoint.save(model, tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def tiny(tiny_dir):
    return embed.load(tiny_dir, device="cpu")


def test_vectors_are_unit_float32_rows(tiny):
    """encode returns one float32 row of length dim per text, unit norm (empty text: zeros)."""
    vectors = tiny.encode(TEXTS)
    assert vectors.shape == (4, 24) and vectors.dtype == np.float32
    norms = np.linalg.norm(vectors, axis=1)
    np.testing.assert_allclose(norms[[0, 1, 3]], 1.0, atol=1e-5)
    assert norms[2] == 0.0


def test_encode_is_deterministic_and_batch_independent(tiny):
    """The same text gets the same vector whatever the batch size or neighbours."""
    a = tiny.encode(TEXTS, batch_size=1)
    b = tiny.encode(TEXTS[::-1], batch_size=3)[::-1]
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_long_text_is_chunked_not_cut(tiny):
    """A text longer than the window is pooled over all windows, not truncated."""
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()
    long_text = " ".join(words * 3)
    first_window = " ".join((words * 3)[:8])
    assert len(tiny.windows(long_text)) == 5
    full, head = tiny.encode([long_text, first_window])
    assert np.linalg.norm(full) == pytest.approx(1.0, abs=1e-5)
    assert not np.allclose(full, head, atol=1e-3)


def test_save_load_round_trip_gives_identical_vectors(tiny, tiny_dir, tmp_path):
    """Saving a loaded model and loading it again changes no vector and no name."""
    again = checkpoint.save(tiny.model, tmp_path / "again")
    reloaded = embed.load(again, device="cpu")
    np.testing.assert_array_equal(tiny.encode(TEXTS), reloaded.encode(TEXTS))
    assert reloaded.name == tiny.name and tiny.name.startswith("char-")


def test_sentence_transformers_loads_the_checkpoint(tiny, tiny_dir):
    """SentenceTransformer(dir) yields the same vectors as CharEncoder."""
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(tiny_dir), device="cpu", trust_remote_code=True)
    texts = [t for t in TEXTS if t]
    np.testing.assert_allclose(st.encode(texts), tiny.encode(texts), atol=1e-5)


def test_int8_checkpoint_is_smaller_and_close(tiny, tmp_path):
    """An int8 checkpoint is under a third of the size and keeps vectors (cos > 0.99)."""
    full = checkpoint.save(tiny.model, tmp_path / "fp32")
    small = checkpoint.save(tiny.model, tmp_path / "int8", quantize=True)
    size = lambda d: (d / checkpoint.WEIGHTS_FILE).stat().st_size  # noqa: E731
    assert size(small) < size(full) / 2.5
    cos = (embed.load(small, device="cpu").encode(TEXTS) * tiny.encode(TEXTS)).sum(1)
    assert cos[[0, 1, 3]].min() > 0.99


def test_is_checkpoint_and_clear_error(tmp_path):
    """A folder without our config is not a checkpoint, and loading it names the folder."""
    assert not embed.is_checkpoint(tmp_path)
    with pytest.raises(embed.CheckpointError, match=str(tmp_path)):
        embed.load(tmp_path)


def test_one_training_step_reduces_the_loss():
    """One optimiser step (sparse table + dense) lowers the distillation loss on a toy batch."""
    torch.manual_seed(0)
    model = CharModel(TINY)
    encoder = CharEncoder(model, device="cpu")
    model.train()
    from embed.model import collate

    batch = collate([encoder.featurizer.text_units(t) for t in TEXTS[:2] + TEXTS[3:]])
    target = torch.nn.functional.normalize(torch.randn(3, TINY.out_dim), dim=-1)
    opts = build_optimizers(model, TrainConfig(lr_table=1e-3, lr_dense=1e-3))

    def loss() -> torch.Tensor:
        return cosine_distill_loss(model(**batch), target)

    before = loss()
    before.backward()
    for opt in opts:
        opt.step()
    assert loss().item() < before.item()


def test_ranking_loss_prefers_matching_pairs():
    """In-batch-negative loss is low when each anchor matches its own positive."""
    anchors = torch.eye(4)
    mnrl = MultipleNegativesRankingLoss()
    assert mnrl(anchors, anchors).item() < 0.01
    assert mnrl(anchors, anchors.roll(1, dims=0)).item() > 10


def test_hard_negatives_make_the_ranking_loss_harder():
    """A hard negative close to the anchor raises the loss; a far one leaves it low."""
    anchors = torch.eye(4)
    positives = anchors + 0.3 * anchors.roll(1, dims=1)
    mnrl = MultipleNegativesRankingLoss()
    easy = mnrl(anchors, positives, -anchors).item()
    hard = mnrl(anchors, positives, anchors).item()
    assert easy == pytest.approx(mnrl(anchors, positives).item(), abs=0.01) and hard > easy + 0.5


def test_average_is_the_mean_of_the_checkpoints(tmp_path):
    """A model soup holds the element-wise mean of its ingredients' weights; checkpoints
    of different shapes cannot be averaged."""
    torch.manual_seed(0)
    a, b = CharModel(TINY), CharModel(TINY)
    paths = [str(checkpoint.save(m, tmp_path / name)) for m, name in ((a, "a"), (b, "b"))]
    soup, _ = checkpoint.load(average(paths, str(tmp_path / "soup")))
    expected = (a.table.weight + b.table.weight) / 2
    torch.testing.assert_close(soup.table.weight, expected.detach())
    wide = checkpoint.save(CharModel(dataclasses.replace(TINY, dim=48)), tmp_path / "wide")
    with pytest.raises(ValueError, match="do not share one architecture"):
        average([paths[0], str(wide)], str(tmp_path / "bad"))


def test_source_boosts_name_real_sources_only():
    """--source-boost parses "source=factor" lists; a misspelt source is an error, not a no-op."""
    sources = ["code", "wikipedia_ict"]
    assert source_boosts("wikipedia_ict=3, code=0.5", sources) == {"wikipedia_ict": 3.0, "code": 0.5}
    assert source_boosts("", sources) == {}
    with pytest.raises(ValueError, match="no pair source 'wikipedia_itc'"):
        source_boosts("wikipedia_itc=3", sources)
    with pytest.raises(ValueError, match="not source=factor"):
        source_boosts("code=lots", sources)


def test_nli_pairs_take_contradictions_as_hard_negatives(tmp_path):
    """Entailments are positives; a premise with a contradiction gets it as its negative,
    in a source of its own; neutral-only premises give nothing."""
    import gzip

    from embed.data import nli_pairs

    rows = [
        ("A man sleeps.", "A person rests.", "entailment"),
        ("A man sleeps.", "A man runs a race.", "contradiction"),
        ("A man sleeps.", "He is tired.", "neutral"),
        ("Two dogs play.", "Animals play.", "entailment"),
        ("It rains.", "It is cold.", "neutral"),
    ]
    path = tmp_path / "pairs.tsv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write("text_a\ttext_b\tlabel\n" + "".join("\t".join(r) + "\n" for r in rows))
    got = {(p.anchor, p.positive, p.source, p.negative) for p in nli_pairs(path, "toy")}
    assert got == {
        ("A man sleeps.", "A person rests.", "toy+neg", "A man runs a race."),
        ("Two dogs play.", "Animals play.", "toy", None),
    }


def test_typo_augmentation_edits_only_when_asked():
    """with_typos leaves text alone at rate 0 and edits about rate * len characters otherwise."""
    import random

    from embed.typos import with_typos

    text = "the quick brown fox jumps over the lazy dog"
    assert with_typos(text, 0.0, random.Random(0)) == text
    edited = with_typos(text, 0.1, random.Random(0))
    assert edited != text and abs(len(edited) - len(text)) <= 4


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


FUNC = '''def {name}(a, b):
    """{doc}"""
    total = a + b
    return total * 2
'''


def test_code_pairs_skip_benchmark_code_tests_and_stubs(tmp_path):
    """Training code pairs never include a function (or a package) the CodeSearchNet corpus
    holds, nor tests and stubs; the docstring is not left inside the code it describes."""
    import json

    from embed.data import code_pairs

    root = tmp_path / "site"
    _write(root / "good" / "mod.py", FUNC.format(name="double_sum", doc="Return twice the sum of a and b."))
    _write(root / "good" / "tests" / "t.py", FUNC.format(name="t1", doc="A test helper that adds things."))
    _write(root / "good" / "stub.py", 'def stub():\n    """An abstract method with no body."""\n')
    leaked = FUNC.format(name="leaked", doc="This one is in the benchmark corpus.")
    _write(root / "other" / "leak.py", leaked)
    _write(root / "csnrepo" / "x.py", FUNC.format(name="from_repo", doc="A function of a scored repo."))
    _write(root / "csnmodule.py", FUNC.format(name="from_module", doc="A module named like a repo."))
    _write(root / "networkx" / "g.py", FUNC.format(name="held_out", doc="Held out as the code dev set."))
    corpus = tmp_path / "corpus.jsonl"
    rows = [
        {"_id": "c1", "text": "  " + leaked.replace("\n", "\n  "), "metadata": {"repo": "someone/csnrepo"}},
        {"_id": "c2", "text": "def f():\n    pass", "metadata": {"repo": "else/CsnModule"}},
    ]
    corpus.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")

    pairs = code_pairs(root, eval_corpus=corpus)
    assert [p.anchor for p in pairs] == ["Return twice the sum of a and b."]
    assert "twice" not in pairs[0].positive and "return total * 2" in pairs[0].positive
    dev = code_pairs(root, dev=True, eval_corpus=corpus)
    assert [p.anchor for p in dev] == ["Held out as the code dev set."]


def test_code_dev_mrr_rewards_finding_the_right_function():
    """MRR@10 is 1 when every summary finds its own function first, 1/2 when always second."""
    from embed.data import Pair
    from embed.train import code_dev_mrr

    pairs = [Pair(f"doc {i}", f"code {i}", "code") for i in range(12)]

    class OneHot:
        def __init__(self, shift):
            self.shift = shift

        def encode(self, texts, show_progress=False):
            side = 0 if texts[0].startswith("doc") else self.shift
            return np.eye(len(texts), dtype=np.float32)[[(i + side) % len(texts) for i in range(len(texts))]]

    assert code_dev_mrr(OneHot(0), pairs) == 1.0
    assert code_dev_mrr(OneHot(1), pairs) == 0.5  # the right function always second


def test_identifiers_are_cut_into_words_like_prose():
    """read_csv, readCsv and HTTPServer become the words a query would use; checkpoints
    saved before the option keep whole identifiers (their vectors must not change)."""
    from embed.model import Featurizer

    split = Featurizer(EncoderConfig())
    assert split.units("df = read_csv(path)") == ["df", "=", "read", "csv", "(", "path", ")"]
    assert split.units("readCsv HTTPServer __init__") == ["read", "csv", "http", "server", "init"]
    saved_before = {k: v for k, v in EncoderConfig().to_dict().items() if k != "split_identifiers"}
    old = EncoderConfig.from_dict(saved_before)
    assert Featurizer(old).units("read_csv") == ["read_csv"]


def test_inverse_cloze_pairs_take_one_sentence_out_of_its_paragraph(tmp_path):
    """Each pair is one sentence of a Wikipedia paragraph and the rest of that paragraph."""
    import gzip

    from embed.data import PASSAGES, inverse_cloze_pairs

    paragraphs = [
        "Ada Lovelace wrote the first program. She worked with Babbage. She died in 1852.",
        "Too short to split.",
    ]
    path = tmp_path / PASSAGES[0]
    path.parent.mkdir(parents=True)
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write("\n".join(paragraphs) + "\n")
    pairs = inverse_cloze_pairs(tmp_path, keep=0.0)
    assert len(pairs) == 1
    sentence, rest = pairs[0].anchor, pairs[0].positive
    assert sentence in paragraphs[0] and sentence not in rest
    assert sorted((sentence + " " + rest).split()) == sorted(paragraphs[0].split())
