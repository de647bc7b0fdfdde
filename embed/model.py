"""The character-level sentence encoder, top to bottom.

text -> units -> hashed character n-gram features -> unit vectors -> rotary
transformer blocks over the units -> mean pooling -> projection -> (L2 norm).

There is no tokenizer and no vocabulary. The units a text is cut into are its
words (runs of letters/digits; code identifiers such as ``read_csv`` or
``readCsv`` are first cut into their words) and single punctuation marks; each unit's vector
is the sum of the embeddings of

- its characters (Unicode code points; code points past ``n_chars`` are hashed
  into the last rows of the character table), and
- its hashed character n-grams, n = 2..5 with word-boundary markers, plus one
  hash of the whole unit (fastText subwords; the hash n-gram embeddings of the
  Byte Latent Transformer, Pagnoni et al. 2024), so frequent words and
  morphemes own vectors without a vocabulary.

Summing a unit's characters into one position is the downsampling step: CANINE
(Clark et al. 2022) shortens the character sequence 4x with a strided
convolution; cutting at word boundaries shortens it ~5x for English news and keeps
units meaningful. The n-gram tables are first fitted so that the mean of the
unit vectors matches the teacher's sentence vector (model2vec, Tulkens & van
Dongen 2024, distils a sentence transformer into a static table the same way).
A few pre-norm transformer blocks with rotary position embeddings (RoPE, Su et
al. 2021: attention sees relative offsets) then add context; their output
projections start at zero, so an untrained block is the identity and the model
starts as the fitted static model. A learned sink token (Xiao et al. 2023)
gives attention somewhere to park when no other unit is relevant.

Optionally (``idf_power``, ``spelling``; embed/lexicon.py) each unit's vector
is scaled by its idf in the training text, and misspelt words are read as the
known word one edit away, before anything else sees them.
"""

from __future__ import annotations

import math
import re
import zlib
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from embed.lexicon import Lexicon


@dataclass
class EncoderConfig:
    n_chars: int = 4096  # rows for code points; code points >= 3/4 of it share hashed rows
    n_buckets: int = 196_608  # rows for hashed n-grams and whole units
    ngram_sizes: tuple[int, ...] = (2, 3, 4, 5)
    max_unit_chars: int = 24  # longer words are cut into pieces of this many characters
    lowercase: bool = True  # the teacher (uncased MiniLM) cannot tell case apart either
    split_identifiers: bool = True  # read_csv, readCsv, HTTPServer -> words (as MiniLM's word pieces)
    dim: int = 256  # width of the tables and the transformer
    n_layers: int = 1
    n_heads: int = 4
    mlp_ratio: int = 2  # a light MLP: the blocks must keep the encoder ~10x faster than MiniLM
    out_dim: int = 384  # the teacher's width, so vectors are directly comparable
    max_units: int = 256  # the window: longer texts are chunked (see encoder.py)
    rope_base: float = 10_000.0
    # Both need the checkpoint's lexicon (embed/lexicon.py); 0 / False: plain units.
    idf_power: float = 0.0  # unit vectors scaled by idf(unit) ** idf_power
    spelling: bool = False  # unknown words one edit from a known word read as that word
    # with spelling: a text whose words are at least this share function words (the, of, a)
    # is corrected when 35% (not 50%) of its words are common; 0 keeps the 50% check only
    spelling_function_share: float = 0.0
    # with spelling: a text in which at least this share of the words are unknown (typo-heavy)
    # is corrected word by word in context (the lexicon's pair counts); 0: off
    spelling_context_share: float = 0.0

    @property
    def uses_lexicon(self) -> bool:
        return bool(self.idf_power or self.spelling)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> EncoderConfig:
        known = {f for f in cls.__dataclass_fields__}
        kwargs = {k: v for k, v in data.items() if k in known}
        if "ngram_sizes" in kwargs:
            kwargs["ngram_sizes"] = tuple(kwargs["ngram_sizes"])
        kwargs.setdefault("split_identifiers", False)  # checkpoints saved before the option
        return cls(**kwargs)


# ---- text -> units -> feature ids (plain Python, cached per unit) -----------

_UNIT = re.compile(r"\w+|[^\w\s]", re.UNICODE)
# Cut points inside code identifiers: underscores, and case changes (readCsv, HTTPServer).
_IDENTIFIER_CUT = re.compile(r"_+|(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


@dataclass(frozen=True, eq=False)
class Unit:
    """A unit's row ids in the embedding table and the weight its vector gets."""

    ids: list[int]
    weight: float = 1.0


@dataclass
class Featurizer:
    """Turns text into units and each unit into row ids of the embedding table."""

    config: EncoderConfig
    lexicon: Lexicon | None = None  # needed by config.idf_power and config.spelling
    cache_limit: int = 500_000
    _cache: dict[str, Unit] = field(default_factory=dict, repr=False)
    _spelt: dict[str, list[str]] = field(default_factory=dict, repr=False)
    _near: dict[str, list[str]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.config.uses_lexicon and self.lexicon is None:
            raise ValueError("idf_power and spelling need a lexicon (lexicon.tsv.gz beside the weights)")
        if self.config.spelling_context_share and not self.lexicon.followers:
            raise ValueError(
                "spelling_context_share needs a lexicon with pair counts (python -m embed.lexicon)"
            )

    def units(self, text: str) -> list[str]:
        if self.config.split_identifiers:
            text = _IDENTIFIER_CUT.sub(" ", text)
        if self.config.lowercase:
            text = text.lower()
        step = self.config.max_unit_chars
        units = [w[i : i + step] for w in _UNIT.findall(text) for i in range(0, len(w), step)]
        if self.config.spelling and self.lexicon.reads_as_english(units, self.config.spelling_function_share):
            units = self._corrected(units)
        return units

    def _corrected(self, units: list[str]) -> list[str]:
        share = self.config.spelling_context_share
        if share and self.lexicon.unknown_share(units) >= share:
            return self.lexicon.in_context(units, self._neighbours, self._spelling)
        return [s for u in units for s in self._spelling(u)]

    def _spelling(self, unit: str) -> list[str]:
        return self._cached(self._spelt, unit, self.lexicon.spelling)

    def _neighbours(self, unit: str) -> list[str]:
        return self._cached(self._near, unit, self.lexicon.neighbours)

    def unit(self, unit: str) -> Unit:
        return self._cached(self._cache, unit, self._make_unit)

    def _make_unit(self, unit: str) -> Unit:
        weight = self.lexicon.idf(unit) ** self.config.idf_power if self.config.idf_power else 1.0
        return Unit(self._compute_ids(unit), weight)

    def _cached(self, cache: dict, unit: str, make):
        """``cache[unit]``, made on first use; a full cache is emptied, not grown."""
        value = cache.get(unit)
        if value is None:
            if len(cache) >= self.cache_limit:
                cache.clear()
            value = cache[unit] = make(unit)
        return value

    def _compute_ids(self, unit: str) -> list[int]:
        cfg = self.config
        direct = cfg.n_chars * 3 // 4  # frequent scripts get their own row
        ids = [ord(c) if ord(c) < direct else direct + ord(c) % (cfg.n_chars - direct) for c in unit]
        marked = f"<{unit}>"
        grams = [(marked[i : i + n], n) for n in cfg.ngram_sizes for i in range(len(marked) - n + 1)]
        grams.append((marked, 0))  # the whole unit, hashed apart from its n-grams
        for gram, n in grams:
            # crc32 seeded by n: stable across processes, unlike hash()
            ids.append(
                cfg.n_chars + zlib.crc32(gram.encode("utf-8"), n * 0x9E3779B1 & 0xFFFFFFFF) % cfg.n_buckets
            )
        return ids

    def text_units(self, text: str) -> list[Unit]:
        """Every unit of ``text`` (an empty text has none)."""
        return [self.unit(u) for u in self.units(text)]


def collate(windows: list[list[Unit]]) -> dict[str, torch.Tensor]:
    """EmbeddingBag input for a batch of windows (lists of units).

    Each distinct unit is embedded once ("the" occurs in most sentences of a
    batch); ``unit_index`` maps every position back to its distinct unit.
    """
    ids, offsets, weights, unit_index, lengths = [], [], [], [], []
    seen: dict[int, int] = {}  # id() of a cached Unit -> its row; all are alive here
    for units in windows:
        lengths.append(len(units))
        for unit in units:
            row = seen.get(id(unit))
            if row is None:
                row = seen[id(unit)] = len(offsets)
                offsets.append(len(ids))
                ids.extend(unit.ids)
                weights.append(unit.weight)
            unit_index.append(row)
    return {
        "ids": torch.tensor(ids, dtype=torch.long),
        "offsets": torch.tensor(offsets, dtype=torch.long),
        "weights": torch.tensor(weights, dtype=torch.float32),
        "unit_index": torch.tensor(unit_index, dtype=torch.long),
        "lengths": torch.tensor(lengths, dtype=torch.long),
    }


# ---- the network ----------------------------------------------------------


def _rope(x: torch.Tensor, base: float) -> torch.Tensor:
    """Rotate channel pairs of x (B, H, T, D) by position-dependent angles (RoPE)."""
    _, _, t, d = x.shape
    inv_freq = base ** (-torch.arange(0, d, 2, device=x.device, dtype=torch.float32) / d)
    angles = torch.arange(t, device=x.device, dtype=torch.float32)[:, None] * inv_freq  # (T, D/2)
    cos, sin = angles.cos().to(x.dtype), angles.sin().to(x.dtype)
    x1, x2 = x[..., 0::2], x[..., 1::2]
    return torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1).flatten(-2)


class RotaryAttention(nn.Module):
    def __init__(self, cfg: EncoderConfig):
        super().__init__()
        self.n_heads, self.rope_base = cfg.n_heads, cfg.rope_base
        self.qkv = nn.Linear(cfg.dim, 3 * cfg.dim, bias=False)
        self.out = nn.Linear(cfg.dim, cfg.dim, bias=False)
        nn.init.zeros_(self.out.weight)  # identity block at init: start from the static model

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape  # (B, T, C)
        q, k, v = self.qkv(x).view(b, t, 3, self.n_heads, c // self.n_heads).permute(2, 0, 3, 1, 4)
        q, k = _rope(q, self.rope_base), _rope(k, self.rope_base)  # (B, H, T, D)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=keep[:, None, None, :])
        return self.out(y.transpose(1, 2).reshape(b, t, c))  # (B, T, C)


class Block(nn.Module):
    def __init__(self, cfg: EncoderConfig):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(cfg.dim), nn.LayerNorm(cfg.dim)
        self.attn = RotaryAttention(cfg)
        self.mlp = nn.Sequential(
            nn.Linear(cfg.dim, cfg.mlp_ratio * cfg.dim),
            nn.GELU(),
            nn.Linear(cfg.mlp_ratio * cfg.dim, cfg.dim),
        )
        nn.init.zeros_(self.mlp[2].weight)
        nn.init.zeros_(self.mlp[2].bias)

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x), keep)  # (B, T, C)
        return x + self.mlp(self.ln2(x))


class CharModel(nn.Module):
    """Windows of units -> one (unnormalised) vector per window."""

    def __init__(self, cfg: EncoderConfig, lexicon: Lexicon | None = None):
        super().__init__()
        self.config = cfg
        self.lexicon = lexicon  # unit counts for idf weights and spelling (not a tensor)
        # sparse gradients: a batch touches a few thousand of the ~200k rows
        self.table = nn.EmbeddingBag(cfg.n_chars + cfg.n_buckets, cfg.dim, mode="sum", sparse=True)
        nn.init.normal_(self.table.weight, std=0.02)
        self.sink = nn.Parameter(torch.zeros(cfg.dim))
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.proj = nn.Linear(cfg.dim, cfg.out_dim, bias=False)
        nn.init.normal_(self.proj.weight, std=1 / math.sqrt(cfg.dim))

    def unit_vectors(
        self,
        ids: torch.Tensor,
        offsets: torch.Tensor,
        weights: torch.Tensor,
        unit_index: torch.Tensor,
        lengths: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Padded, weighted unit vectors (B, T, C) and the mask of real units (B, T)."""
        units = (self.table(ids, offsets) * weights[:, None])[unit_index]  # (positions, C)
        b, t = len(lengths), max(int(lengths.max()), 1)
        keep = torch.arange(t, device=lengths.device)[None, :] < lengths[:, None]  # (B, T)
        x = units.new_zeros(b, t, units.shape[-1])
        x[keep] = units
        return x, keep

    def forward(
        self,
        ids: torch.Tensor,
        offsets: torch.Tensor,
        weights: torch.Tensor,
        unit_index: torch.Tensor,
        lengths: torch.Tensor,
    ) -> torch.Tensor:
        x, keep = self.unit_vectors(ids, offsets, weights, unit_index, lengths)  # (B, T, C), (B, T)
        if self.blocks:
            sink = self.sink.expand(len(x), 1, -1).to(x.dtype)
            h = torch.cat([sink, x], dim=1)  # (B, 1+T, C)
            keep_h = torch.cat([keep.new_ones(len(x), 1), keep], dim=1)
            for block in self.blocks:
                h = block(h, keep_h)
            x = h[:, 1:]  # the sink is not pooled
        # mean over real units; a unit's vector norm acts as its learned weight
        pooled = (x * keep[..., None]).sum(1) / lengths.clamp(min=1)[:, None].to(x.dtype)  # (B, C)
        return self.proj(pooled)  # (B, out_dim)
