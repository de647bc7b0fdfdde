"""Training the character encoder: one plain loop for both stages.

Stage ``distill``: cosine distillation to all-MiniLM-L6-v2 on cached teacher
vectors of single words (model2vec-style: a word's unit vector must point where
the teacher puts that word) and of sentences/passages.
Stage ``contrastive``: in-batch-negative ranking on positive pairs (NLI
entailments, paraphrases, title->body, headline->description,
docstring->code), mixed with the distillation loss so the model does not drift
from the teacher; the n-gram table gets a low learning rate.

The same code runs on CPU and on CUDA (bf16 autocast). Settings are chosen on
STS-B *dev*; nothing from an evaluation set is trained on.

    python -m embed.train fit --stage distill --layers 0 --steps 6000 --out runs/static
    python -m embed.train fit --stage contrastive --init runs/static/best --layers 1 ...
    python -m embed.train average --src runs/a/last --src runs/b/last --dst runs/soup
    python -m embed.train export --src runs/x/best --dst embed/weights --int8
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import math
import random
import time
from dataclasses import asdict, dataclass, replace
from enum import Enum, StrEnum
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import embed
from embed import checkpoint, data
from embed import lexicon as lexicon_file
from embed.encoder import CharEncoder
from embed.model import CharModel, EncoderConfig, Featurizer, collate
from embed.typos import with_typos

log = logging.getLogger(__name__)

STSB = data.REPO.parent / "shared" / "data" / "sts" / "stsbenchmark" / "stsbenchmark.tsv"


class Stage(StrEnum):
    DISTILL = "distill"
    CONTRASTIVE = "contrastive"


@dataclass
class TrainConfig:
    stage: Stage = Stage.DISTILL
    out: str = "runs/char"
    init: str | None = None  # checkpoint dir to start from
    layers: int | None = None  # override n_layers (new blocks start as the identity)
    split_identifiers: bool = True  # featurizer option, set on the model being trained
    lexicon: str | None = None  # lexicon file to train with (python -m embed.lexicon)
    idf_power: float = 0.0  # with --lexicon: unit weights idf ** this, in training too
    spelling: bool = False  # with --lexicon: misspelt words read as known ones
    spelling_function_share: float = 0.0  # with --spelling: see EncoderConfig
    spelling_context_share: float = 0.0  # with --spelling: see EncoderConfig
    steps: int = 4000
    batch_words: int = 256
    batch_texts: int = 128
    batch_pairs: int = 64
    batch_long: int = 0  # texts per step from the "long" stream (code, passages)
    lr_table: float = 2e-2  # SparseAdam on the n-gram table
    lr_dense: float = 2e-3  # AdamW on projection, sink and blocks
    warmup: int = 100
    distill_weight: float = 1.0
    contrastive_scale: float = 20.0  # cosine * scale = logits, as in sentence-transformers MNRL
    max_train_units: int = 128  # training truncates passages (the teacher saw 256 tokens)
    eval_every: int = 500
    hard_negatives: bool = False  # NLI contradictions as hard negatives (sources "<nli>+neg")
    hard_negative_weight: float = 1.0  # sampling weight of those sources, times their sqrt(size)
    source_boost: str = ""  # "source=factor,..." multiplies those pair sources' sampling weights
    typo_prob: float = 0.0  # share of distillation inputs given typos (teacher sees them clean)
    typo_rate: float = 0.15  # edits per character drawn from U(0, typo_rate)
    time_limit_min: float = 1e9  # stop early (keeping the best checkpoint) after this long
    threads: int = 1
    seed: int = 0


class MultipleNegativesRankingLoss(nn.Module):
    """Each anchor must pick its own positive among all positives of the batch
    (in-batch negatives; Henderson et al. 2017, sentence-transformers MNRL), and
    among the batch's hard negatives when there are any (supervised SimCSE)."""

    def __init__(self, scale: float = 20.0):
        super().__init__()
        self.scale = scale

    def forward(
        self, anchors: torch.Tensor, positives: torch.Tensor, negatives: torch.Tensor | None = None
    ) -> torch.Tensor:
        a = F.normalize(anchors.float(), dim=-1)  # (B, C)
        candidates = positives if negatives is None else torch.cat([positives, negatives])
        p = F.normalize(candidates.float(), dim=-1)  # (B or 2B, C)
        logits = self.scale * a @ p.T  # (B, B or 2B): row i's answer is column i
        labels = torch.arange(len(a), device=a.device)
        return F.cross_entropy(logits, labels)


def cosine_distill_loss(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    return 1.0 - F.cosine_similarity(student.float(), teacher, dim=-1).mean()


def _ranks(x: np.ndarray) -> np.ndarray:
    """Ranks with ties averaged (what Spearman's rho needs)."""
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x), dtype=np.float64)
    ranks[order] = np.arange(len(x))
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    return (sums / counts)[inverse]


def sts_spearman(encoder: CharEncoder, split: str = "dev", typo_rate: float = 0.0) -> float:
    """Spearman x100 of cosine vs gold on one STS-B split (dev for all choices),
    optionally with typos in every sentence (fixed seed)."""
    with STSB.open(encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)]
    rows = [r for r in rows if r["split"] == split]
    rng = random.Random(13)
    first = [with_typos(r["sentence1"], typo_rate, rng) for r in rows]
    second = [with_typos(r["sentence2"], typo_rate, rng) for r in rows]
    a = encoder.encode(first, show_progress=False)
    b = encoder.encode(second, show_progress=False)
    gold = np.array([float(r["score"]) for r in rows])
    cos = (a * b).sum(1)
    return float(np.corrcoef(_ranks(cos), _ranks(gold))[0, 1] * 100)


# ---- model, optimisers, batches --------------------------------------------


def build_model(cfg: TrainConfig) -> CharModel:
    if cfg.init is None:
        return CharModel(EncoderConfig(n_layers=cfg.layers or 0))
    model, _ = checkpoint.load(cfg.init)
    if cfg.layers is not None and cfg.layers != model.config.n_layers:
        grown = CharModel(EncoderConfig.from_dict({**model.config.to_dict(), "n_layers": cfg.layers}))
        missing, _ = grown.load_state_dict(model.state_dict(), strict=False)
        log.info("new parameters start at init: %d tensors", len(missing))
        model = grown
    model.config.split_identifiers = cfg.split_identifiers
    if cfg.lexicon is not None:
        attach_lexicon(
            model,
            cfg.lexicon,
            idf_power=cfg.idf_power,
            spelling=cfg.spelling,
            spelling_function_share=cfg.spelling_function_share,
            spelling_context_share=cfg.spelling_context_share,
        )
    return model


def attach_lexicon(model: CharModel, path: str, **settings) -> None:
    """Give ``model`` the lexicon file at ``path`` and set its uses (``EncoderConfig``
    fields: idf_power, spelling, spelling_function_share, spelling_context_share) as asked."""
    model.lexicon = lexicon_file.read(path)
    model.config = replace(model.config, **settings)


def build_optimizers(model: CharModel, cfg: TrainConfig) -> list[torch.optim.Optimizer]:
    dense = [p for n, p in model.named_parameters() if n != "table.weight"]
    opts: list[torch.optim.Optimizer] = [torch.optim.AdamW(dense, lr=cfg.lr_dense, weight_decay=0.0)]
    if cfg.lr_table > 0:
        opts.append(torch.optim.SparseAdam([model.table.weight], lr=cfg.lr_table))
    else:
        model.table.weight.requires_grad_(False)
    return opts


def lr_factor(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to 10%."""
    if step < cfg.warmup:
        return (step + 1) / cfg.warmup
    progress = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


class Batches:
    """Random batches from the teacher cache (and pairs for the contrastive stage)."""

    def __init__(self, cfg: TrainConfig, featurizer: Featurizer, rng: random.Random):
        self.cfg, self.featurizer, self.rng = cfg, featurizer, rng
        self.words, self.word_vecs = data.load_cache("words")
        self.reload_texts()
        self.pairs: dict[str, list[data.Pair]] = {}
        if cfg.stage is Stage.CONTRASTIVE:
            for pair in data.training_pairs():
                self.pairs.setdefault(pair.source, []).append(pair)
        # a batch holds pairs of one source (harder in-batch negatives); sources are drawn
        # with probability ~ sqrt(size) so 337k news pairs do not drown 6k code pairs
        self.sources = sorted(self.pairs)
        boost = source_boosts(cfg.source_boost, self.sources)
        self.source_weights = [
            math.sqrt(len(self.pairs[s]))
            * (cfg.hard_negative_weight if cfg.hard_negatives and s.endswith("+neg") else 1)
            * boost.get(s, 1.0)
            for s in self.sources
        ]
        log.info(
            "%d words, %d texts, %d pair sources", len(self.words), len(self.train_idx), len(self.sources)
        )

    def reload_texts(self) -> None:
        """Pick up chunks the cache job finished since the last call; every 50th text is held out."""
        self.texts, self.text_vecs = data.load_cache("texts")
        self.train_idx, self.heldout_idx = _split(len(self.texts))
        self.long, self.long_vecs = data.load_cache("long")
        self.long_train_idx, self.long_heldout_idx = _split(len(self.long))

    def windows(self, texts: list[str]) -> dict[str, torch.Tensor]:
        n = self.cfg.max_train_units
        return collate([self.featurizer.text_units(t)[:n] for t in texts])

    def teacher(self) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        w = self.rng.sample(range(len(self.words)), self.cfg.batch_words)
        t = self.rng.sample(self.train_idx, min(self.cfg.batch_texts, len(self.train_idx)))
        g = self.rng.sample(self.long_train_idx, min(self.cfg.batch_long, len(self.long_train_idx)))
        texts = [self.words[i] for i in w] + [self.texts[i] for i in t] + [self.long[i] for i in g]
        if self.cfg.typo_prob:
            texts = [
                with_typos(x, self.rng.uniform(0, self.cfg.typo_rate), self.rng)
                if self.rng.random() < self.cfg.typo_prob
                else x
                for x in texts
            ]
        target = torch.from_numpy(np.concatenate([self.word_vecs[w], self.text_vecs[t], self.long_vecs[g]]))
        return self.windows(texts), target

    def pairs_batch(self) -> list[dict[str, torch.Tensor]]:
        """Anchors and positives of one source's pairs, and their hard negatives if it has them."""
        source = self.rng.choices(self.sources, weights=self.source_weights)[0]
        pool = self.pairs[source]
        chosen = self.rng.sample(pool, min(self.cfg.batch_pairs, len(pool)))
        sides = [[p.anchor for p in chosen], [p.positive for p in chosen]]
        if self.cfg.hard_negatives and chosen[0].negative is not None:
            sides.append([p.negative for p in chosen])
        return [self.windows(side) for side in sides]


def source_boosts(spec: str, sources: list[str]) -> dict[str, float]:
    """``{"wikipedia_ict": 3.0}`` from ``"wikipedia_ict=3"``; a name that is not a pair
    source is an error (a typo would otherwise silently train the default mix)."""
    boosts: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, factor = item.partition("=")
        if name not in sources:
            raise ValueError(f"--source-boost: no pair source {name!r} (sources: {', '.join(sources)})")
        try:
            boosts[name] = float(factor)
        except ValueError:
            raise ValueError(f"--source-boost: {item!r} is not source=factor") from None
    return boosts


def _split(n: int) -> tuple[list[int], list[int]]:
    """Training and held-out (every 50th, at most 2,000) indices of a cached stream."""
    return [i for i in range(n) if i % 50], [i for i in range(n) if i % 50 == 0][:2000]


def heldout_cosine(encoder: CharEncoder, texts: list[str], vecs: np.ndarray, idx: list[int]) -> float:
    """Mean cosine to the teacher on held-out cached texts."""
    if not idx:
        return float("nan")
    student = encoder.encode([texts[i] for i in idx], show_progress=False)
    return float((student * vecs[idx]).sum(1).mean())


def code_dev_mrr(encoder: CharEncoder, pairs: list[data.Pair]) -> float:
    """MRR@10 of each held-out docstring summary finding its function among all of them
    (the code dev set: a whole installed package never trained on)."""
    if not pairs:
        return float("nan")
    queries = encoder.encode([p.anchor for p in pairs], show_progress=False)
    code = encoder.encode([p.positive for p in pairs], show_progress=False)
    scores = queries @ code.T
    rank = (scores > scores.diagonal()[:, None]).sum(1)  # how many beat the right function
    return float(np.where(rank < 10, 1.0 / (rank + 1), 0.0).mean())


def _to(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device) for k, v in batch.items()}


# ---- the loop --------------------------------------------------------------


def fit(cfg: TrainConfig) -> dict:
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "train_config.json").write_text(json.dumps(asdict(cfg), indent=2, default=str))
    model = build_model(cfg).to(device).train()
    opts = build_optimizers(model, cfg)
    batches = Batches(cfg, Featurizer(model.config, model.lexicon), random.Random(cfg.seed))
    mnrl = MultipleNegativesRankingLoss(cfg.contrastive_scale)
    autocast = dict(device_type=device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")
    code_dev = data.code_pairs(data.SITE_DIR, limit=2000, dev=True)
    best, t0, history = -1.0, time.time(), []

    for step in range(cfg.steps + 1):
        if step % cfg.eval_every == 0 or step == cfg.steps:
            encoder = CharEncoder(model, device=str(device))
            row = {
                "step": step,
                "minutes": round((time.time() - t0) / 60, 2),
                "sts_dev": round(sts_spearman(encoder), 2),
                "sts_dev_typo10": round(sts_spearman(encoder, typo_rate=0.1), 2),
                "heldout_cos": round(
                    heldout_cosine(encoder, batches.texts, batches.text_vecs, batches.heldout_idx), 4
                ),
                "heldout_cos_long": round(
                    heldout_cosine(encoder, batches.long, batches.long_vecs, batches.long_heldout_idx), 4
                ),
                "code_dev_mrr": round(code_dev_mrr(encoder, code_dev), 4),
                "n_texts": len(batches.train_idx),
            }
            model.train()
            history.append(row)
            log.info("eval %s", row)
            with (out / "log.jsonl").open("a") as fh:
                fh.write(json.dumps(row) + "\n")
            checkpoint.save(model, out / "last")
            if row["sts_dev"] > best:
                best = row["sts_dev"]
                checkpoint.save(model, out / "best")
            if step == cfg.steps or time.time() - t0 > cfg.time_limit_min * 60:
                break
            batches.reload_texts()

        for opt in opts:
            for group in opt.param_groups:
                group.setdefault("base_lr", group["lr"])
                group["lr"] = group["base_lr"] * lr_factor(step, cfg)
        inputs, target = batches.teacher()
        with torch.autocast(**autocast):
            loss = cfg.distill_weight * cosine_distill_loss(model(**_to(inputs, device)), target.to(device))
            if cfg.stage is Stage.CONTRASTIVE:
                sides = [model(**_to(side, device)) for side in batches.pairs_batch()]
                loss = loss + mnrl(*sides)
        for opt in opts:
            opt.zero_grad(set_to_none=True)
        loss.backward()
        for opt in opts:
            opt.step()
        if step % 50 == 0:
            log.info("step %d loss %.4f (%.1f min)", step, loss.item(), (time.time() - t0) / 60)
    return {"best_sts_dev": best, "history": history}


def average(srcs: list[str], dst: str) -> Path:
    """Save the element-wise mean of checkpoints fine-tuned from one start (a model
    soup, Wortsman et al. 2022) to ``dst``, with the first one's config and lexicon."""
    models = [checkpoint.load(src)[0] for src in srcs]
    states = [m.state_dict() for m in models]
    if any(s.keys() != states[0].keys() or any(s[k].shape != states[0][k].shape for k in s) for s in states):
        raise ValueError(f"average: {', '.join(srcs)} do not share one architecture")
    models[0].load_state_dict({k: sum(s[k].float() for s in states) / len(states) for k in states[0]})
    return checkpoint.save(models[0], dst)


def export(src: str, dst: str, int8: bool, lexicon: str | None = None, **settings) -> dict:
    """Copy a checkpoint into ``dst`` (optionally int8; with a lexicon file, its uses
    set by ``settings`` as in ``attach_lexicon``) and report STS-B dev before/after."""
    model, _ = checkpoint.load(src)
    before = sts_spearman(CharEncoder(model))
    if lexicon is not None:
        attach_lexicon(model, lexicon, **settings)
    checkpoint.save(model, dst, quantize=int8)
    after_encoder = embed.load(dst)
    after = sts_spearman(after_encoder)
    size = sum(f.stat().st_size for f in Path(dst).iterdir()) / 1e6
    return {
        "sts_dev_src": round(before, 2),
        "sts_dev_saved": round(after, 2),
        "mb": round(size, 1),
        "name": after_encoder.name,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m embed.train",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    fit_p = sub.add_parser("fit", help="train (one stage)")
    for name, value in asdict(TrainConfig()).items():
        kind = type(value) if value is not None else str
        if isinstance(value, Enum):
            fit_p.add_argument(f"--{name.replace('_', '-')}", type=Stage, default=value, choices=list(Stage))
        elif isinstance(value, bool):
            fit_p.add_argument(
                f"--{name.replace('_', '-')}", action=argparse.BooleanOptionalAction, default=value
            )
        else:
            fit_p.add_argument(
                f"--{name.replace('_', '-')}", type=int if name == "layers" else kind, default=value
            )
    avg = sub.add_parser("average", help="the mean of checkpoints trained from one start (a model soup)")
    avg.add_argument("--src", required=True, action="append", help="a checkpoint (give two or more)")
    avg.add_argument("--dst", required=True)
    exp = sub.add_parser("export", help="write a checkpoint (optionally int8) and check STS-B dev")
    exp.add_argument("--src", required=True)
    exp.add_argument("--dst", required=True)
    exp.add_argument("--int8", action="store_true")
    exp.add_argument("--lexicon", help="lexicon file (python -m embed.lexicon) to ship beside the weights")
    exp.add_argument(
        "--idf-power", type=float, default=0.0, help="unit weights idf ** this (needs --lexicon)"
    )
    exp.add_argument("--spelling", action="store_true", help="read misspelt words as known (needs --lexicon)")
    exp.add_argument(
        "--spelling-function-share",
        type=float,
        default=0.0,
        help="with --spelling: also correct texts with 35%% common words when this share are function words",
    )
    exp.add_argument(
        "--spelling-context-share",
        type=float,
        default=0.0,
        help="with --spelling: correct texts with this share of unknown words in context (lexicon pairs)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.command == "average":
        print(json.dumps({"dst": str(average(args.src, args.dst))}))
    elif args.command == "fit":
        cfg = TrainConfig(**{k: v for k, v in vars(args).items() if k != "command"})
        result = fit(cfg)
        print(json.dumps(result["history"][-1]))
    else:
        torch.set_num_threads(1)
        settings = dict(
            idf_power=args.idf_power,
            spelling=args.spelling,
            spelling_function_share=args.spelling_function_share,
            spelling_context_share=args.spelling_context_share,
        )
        print(json.dumps(export(args.src, args.dst, args.int8, args.lexicon, **settings)))


if __name__ == "__main__":
    main()
