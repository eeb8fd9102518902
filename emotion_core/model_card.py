"""The model card (``assets/model_card.json``): labels, training facts and metrics.

The label order is stored next to the model so the app can check that outputs and
names agree; training and evaluation each update their own section.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from emotion_core.emotions import LABELS

MODEL_CARD_NAME = "model_card.json"


def load_card(path: str | Path) -> dict[str, Any]:
    """The card as a dict; an empty card if the file does not exist yet."""
    path = Path(path)
    if not path.is_file():
        return {}
    return json.loads(path.read_text())


def update_card(path: str | Path, **sections: Any) -> dict[str, Any]:
    """Replace the given top-level sections and write the card back (labels always set)."""
    path = Path(path)
    card = load_card(path)
    card["labels"] = list(LABELS)
    card.update(sections)
    path.write_text(json.dumps(card, indent=2, sort_keys=False) + "\n")
    return card
