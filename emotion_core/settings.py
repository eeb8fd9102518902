"""Analysis settings: one typed, validated, immutable object for the whole pipeline."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

DetectorRange = Literal["short", "full"]
# Mirror averaging for photos, videos and archives (pages, API, analyze command): they can
# afford twice the classifier's time per face; a live stream on 2 cores cannot, so the
# dataclass default (used live) is off.
MEDIA_MIRROR_AVERAGING = True


@dataclass(frozen=True)
class AnalysisSettings:
    """Everything a user can tune; a new object replaces the old one on the running stream.

    ``smoothing`` is the share of the previous smoothed probabilities kept each analysed
    frame (0 = no smoothing, 0.9 = very steady); ``uncertain_threshold`` is the top
    probability below which a face is labelled "uncertain". ``mirror_averaging`` averages
    each face's probabilities with its mirror image's (test-time augmentation): more
    accurate (the model card gives both figures), for twice the classifier's time per
    face; see :data:`MEDIA_MIRROR_AVERAGING`.
    """

    detector_range: DetectorRange = "short"
    min_detection_confidence: float = 0.5
    max_faces: int = 5
    smoothing: float = 0.6
    uncertain_threshold: float = 0.4
    low_light: bool = False
    mirror_averaging: bool = False
    draw_box: bool = True
    draw_label: bool = True
    draw_probabilities: bool = False
    draw_face_id: bool = True
    draw_fps: bool = True
    analyse_every_n: int = 1
    mirror: bool = True

    def __post_init__(self) -> None:
        if self.detector_range not in ("short", "full"):
            raise ValueError(
                f"detector_range must be 'short' or 'full', not {self.detector_range!r}"
            )
        _check_range("min_detection_confidence", self.min_detection_confidence, 0.05, 0.99)
        _check_range("smoothing", self.smoothing, 0.0, 0.99)
        _check_range("uncertain_threshold", self.uncertain_threshold, 0.0, 1.0)
        if not 1 <= self.max_faces <= 20:
            raise ValueError(f"max_faces must be 1-20, not {self.max_faces}")
        if not 1 <= self.analyse_every_n <= 30:
            raise ValueError(f"analyse_every_n must be 1-30, not {self.analyse_every_n}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AnalysisSettings:
        """Build from stored settings, ignoring keys this version does not know."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def _check_range(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, not {value}")
