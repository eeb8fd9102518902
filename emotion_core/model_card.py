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
# What a model trained on FER2013 can and cannot be trusted with; written into the card's
# training section and shown on the Model page.
FER2013_LIMITS = (
    "FER2013's faces were found by image search and cropped automatically: mostly "
    "frontal, posed or acted expressions, 48x48 grey, some mislabelled (human agreement "
    "on its labels is about 65%).",
    "Its people are mostly adults with a skewed mix of ages and ethnicities; children, "
    "older people and under-represented groups are read less reliably.",
    "Disgust has only 436 training faces (1.5%): its recall is the weakest and least stable.",
    "Seven posed categories are not feelings: a smile in a photo is labelled happy whether "
    "or not the person is happy. Never use the labels to judge a person.",
    "Accuracy on real photos through the whole app (detector, crop, model) is lower than "
    "on FER2013's own crops; see the real-photo figure beside the FER2013 one.",
)


# The real_photos row of the card's own model (``benchmarks/bench_real_faces.py``).
REAL_PHOTOS_OURS = "this project"


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


def merge_real_photos(
    earlier: dict[str, Any], new: dict[str, Any], previous_name: str | None = None
) -> dict[str, Any]:
    """A ``real_photos`` section: the ``new`` measurement's rows first, then the rows of
    ``earlier`` it did not re-measure (other packages, earlier models). With
    ``previous_name`` the earlier section described another model (a release), so its own
    row is kept under that name rather than replaced."""
    old = dict(earlier.get("results", {}))
    results = dict(new["results"])
    if previous_name is not None and REAL_PHOTOS_OURS in old:
        results[previous_name] = old.pop(REAL_PHOTOS_OURS)
    for name, row in old.items():
        results.setdefault(name, row)
    return {**earlier, **new, "results": results}
