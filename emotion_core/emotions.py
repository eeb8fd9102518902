"""The seven FER2013 emotions in the one order every model output and table uses."""

from __future__ import annotations

from enum import Enum


class Emotion(str, Enum):
    """An emotion label; the member order is the model's output order (alphabetical,
    like the Kaggle folder layout)."""

    ANGRY = "angry"
    DISGUST = "disgust"
    FEAR = "fear"
    HAPPY = "happy"
    NEUTRAL = "neutral"
    SAD = "sad"
    SURPRISE = "surprise"

    @classmethod
    def parse(cls, name: str) -> Emotion:
        """Case-insensitive lookup, e.g. for a folder called ``Happy``."""
        try:
            return cls(name.strip().lower())
        except ValueError:
            valid = ", ".join(e.value for e in cls)
            raise ValueError(f"unknown emotion {name!r}; expected one of: {valid}") from None


EMOTIONS: tuple[Emotion, ...] = tuple(Emotion)
LABELS: tuple[str, ...] = tuple(e.value for e in Emotion)
NUM_CLASSES = len(EMOTIONS)
UNCERTAIN = "uncertain"

# fer2013.csv numbers its classes in another order than the folder layout.
FER2013_CSV_ORDER: tuple[Emotion, ...] = (
    Emotion.ANGRY,
    Emotion.DISGUST,
    Emotion.FEAR,
    Emotion.HAPPY,
    Emotion.SAD,
    Emotion.SURPRISE,
    Emotion.NEUTRAL,
)

# One colour per emotion, used by the video overlay and every chart.
EMOTION_COLORS: dict[str, str] = {
    "angry": "#E4572E",
    "disgust": "#6A994E",
    "fear": "#8E6CC4",
    "happy": "#F2B705",
    "neutral": "#8D99AE",
    "sad": "#2E86AB",
    "surprise": "#F08CAE",
    UNCERTAIN: "#5C636E",
}


def hex_to_bgr(color: str) -> tuple[int, int, int]:
    """``#RRGGBB`` as an OpenCV BGR tuple."""
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return (b, g, r)
