"""The repository's cross-language known answers, ``fixtures/vectors.json`` at the repo root.

The Rust core, this client and the Node client all test against that one file, so a vector is
written once. Keys are given as hex of their bytes; weights as 64-bit hex numbers; IDs as
decimal text (exact in every language).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict

# clients/python/tests/vectors.py -> the repository root is three levels above tests/.
VECTORS = Path(__file__).resolve().parents[3] / "fixtures" / "vectors.json"


@lru_cache(maxsize=None)
def load() -> Dict[str, Any]:
    with open(VECTORS, encoding="utf-8") as f:
        return json.load(f)


def layouts() -> Dict[str, Dict[str, Any]]:
    """The named layouts, by name."""
    return {lay["name"]: lay for lay in load()["layouts"]}
