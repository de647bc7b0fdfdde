"""Typos: the character noise of the robustness benchmark, also used to train against it.

Pure Python, so the evaluation (eval/sts.py) and training (embed/train.py) share one
definition of "10% of characters perturbed".
"""

from __future__ import annotations

import random
import string


def with_typos(text: str, rate: float, rng: random.Random) -> str:
    """``text`` with round(rate * len) random character swaps, drops and insertions
    (the perturbation the robustness benchmark applies; training on it teaches the
    student that a misspelt word means the clean word)."""
    chars = list(text)
    for _ in range(round(rate * len(text))):
        if not chars:
            break
        i = rng.randrange(len(chars))
        edit = rng.choice(("swap", "drop", "insert"))
        if edit == "swap" and i + 1 < len(chars):
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
        elif edit == "drop":
            del chars[i]
        else:
            chars.insert(i, rng.choice(string.ascii_lowercase))
    return "".join(chars)
