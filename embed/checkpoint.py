"""Saving and loading a model directory: safetensors weights + a JSON config.

A checkpoint directory is also a sentence-transformers model folder
(``modules.json`` names :class:`embed.st_module.CharModule`), so
``SentenceTransformer(path)`` loads it. The big n-gram table may be stored as
int8 with one float scale per row (symmetric absmax quantisation), which
shrinks it 4x; it is dequantised to float32 on load. A model with a lexicon
(idf weights, spelling: embed/lexicon.py) keeps it in ``lexicon.tsv.gz``.

The encoder's name is a hash of what decides its vectors: the weights file,
and when a lexicon is in use, the lexicon file and the settings that use it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from embed import lexicon as lexicon_file
from embed.model import CharModel, EncoderConfig, Featurizer

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
FORMAT_KEY = "newskb_char_encoder"
_TABLE = "table.weight"
_MODULES = [{"idx": 0, "name": "0", "path": "", "type": "embed.st_module.CharModule"}]


class CheckpointError(Exception):
    """A directory that does not hold a loadable character-encoder checkpoint."""


def quantize_rows(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """int8 rows and their float32 scales (row = q * scale)."""
    scale = weight.abs().amax(dim=1).clamp(min=1e-8) / 127.0
    q = torch.round(weight / scale[:, None]).clamp(-127, 127).to(torch.int8)
    return q, scale.float()


def dequantize_rows(q: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return q.float() * scale[:, None]


def save(model: CharModel, path: str | Path, quantize: bool = False) -> Path:
    """Write ``model`` to the directory ``path`` (created if needed)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().float().cpu().contiguous() for k, v in model.state_dict().items()}
    if quantize:
        q, scale = quantize_rows(tensors.pop(_TABLE))
        tensors[_TABLE + ".int8"], tensors[_TABLE + ".scale"] = q, scale
    save_file(tensors, str(path / WEIGHTS_FILE))
    if model.lexicon is not None:
        lexicon_file.write(model.lexicon, path / lexicon_file.FILE)
    else:
        (path / lexicon_file.FILE).unlink(missing_ok=True)
    config = {FORMAT_KEY: 1, "quantized": quantize, "model": model.config.to_dict()}
    (path / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    (path / "modules.json").write_text(json.dumps(_MODULES, indent=2) + "\n", encoding="utf-8")
    return path


def is_checkpoint(path: str | Path) -> bool:
    """True when ``path`` is a directory holding one of our checkpoints."""
    config = Path(path) / CONFIG_FILE
    if not config.is_file() or not (Path(path) / WEIGHTS_FILE).is_file():
        return False
    try:
        return FORMAT_KEY in json.loads(config.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False


def load(path: str | Path) -> tuple[CharModel, str]:
    """The model stored in ``path`` and a short hash of its weights file."""
    path = Path(path)
    if not is_checkpoint(path):
        raise CheckpointError(f"{path} is not a character-encoder checkpoint (no {CONFIG_FILE})")
    config = json.loads((path / CONFIG_FILE).read_text(encoding="utf-8"))
    lexicon_path = path / lexicon_file.FILE
    try:
        lexicon = lexicon_file.read(lexicon_path) if lexicon_path.is_file() else None
        model = CharModel(EncoderConfig.from_dict(config["model"]), lexicon)
        Featurizer(model.config, lexicon)  # fails now, not at the first encode
    except (ValueError, lexicon_file.LexiconError) as err:
        raise CheckpointError(f"{path}: {err}") from err
    tensors = load_file(str(path / WEIGHTS_FILE))
    if config.get("quantized"):
        q, scale = tensors.pop(_TABLE + ".int8"), tensors.pop(_TABLE + ".scale")
        tensors[_TABLE] = dequantize_rows(q, scale)
    model.load_state_dict(tensors)
    model.eval()
    return model, _digest(path, model.config)


def _digest(path: Path, config: EncoderConfig) -> str:
    h = hashlib.sha256((path / WEIGHTS_FILE).read_bytes())
    if config.uses_lexicon:  # older names stay what they were
        h.update((path / lexicon_file.FILE).read_bytes())
        h.update(f"idf_power={config.idf_power} spelling={config.spelling}".encode())
        if config.spelling_function_share:
            h.update(f" spelling_function_share={config.spelling_function_share}".encode())
        if config.spelling_context_share:
            h.update(f" spelling_context_share={config.spelling_context_share}".encode())
    return h.hexdigest()[:10]
