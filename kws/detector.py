"""Detection settings: when averaged int8 scores become a detection.

One place for the rule's settings and their defaults.  ``kws export`` writes them into
``model.json`` (its ``detector`` section), ``kws deploy`` builds the firmware with them
(``kws_app_config.h``), and ``kws simulate`` / ``kws listen`` run the host build of the same
application (:mod:`kws.host_app`) with them; flags override any of them.

The rule (``firmware/app/score_average.c``): the average of the last ``average_count``
score vectors; a keyword label (not ``_silence_``/``_unknown_``) is detected when its
average reaches ``threshold`` (a probability, rounded up to the output's int8 units), and
at most once per ``suppress_inferences`` inferences.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

from kws.errors import KwsError
from kws.features.quantize import DEFAULT_STRIDE_FRAMES

DEFAULT_AVERAGE_COUNT = 3
DEFAULT_THRESHOLD = 0.6  # label-smoothed softmax tops out near 0.9: 0.8 missed words
DEFAULT_SUPPRESS = 5


@dataclass(frozen=True)
class DetectorSettings:
    """How scores are turned into detections, and how often the model runs."""

    average_count: int = DEFAULT_AVERAGE_COUNT
    threshold: float = DEFAULT_THRESHOLD
    suppress_inferences: int = DEFAULT_SUPPRESS
    stride_frames: int = DEFAULT_STRIDE_FRAMES

    def check(self) -> None:
        """KwsError naming the first setting out of range."""
        if self.stride_frames < 1:
            raise KwsError(f"stride must be at least 1 frame, not {self.stride_frames}")
        if self.average_count < 1:
            raise KwsError(f"average count must be at least 1, not {self.average_count}")
        if not 0.0 < self.threshold <= 1.0:
            raise KwsError(f"threshold must be a probability in (0, 1], not {self.threshold}")
        if self.suppress_inferences < 0:
            raise KwsError("suppression must be 0 or more inferences, not "
                           f"{self.suppress_inferences}")

    def to_dict(self) -> dict[str, Any]:
        """The settings as plain data (``model.json``'s ``detector`` section plus the stride)."""
        return asdict(self)

    def threshold_q(self, scale: float, zero_point: int) -> int:
        """The threshold in the model output's int8 units (rounded up, clamped)."""
        return int(min(127, max(-128, math.ceil(self.threshold / scale) + zero_point)))

    def override(self, **values: Any) -> DetectorSettings:
        """These settings with every value that is not None replaced (then checked)."""
        changed = replace(self, **{k: v for k, v in values.items() if v is not None})
        changed.check()
        return changed

    @classmethod
    def from_meta(cls, meta: dict[str, Any] | None, **overrides: Any) -> DetectorSettings:
        """Settings from ``model.json`` (``detector`` section, ``stride_frames``), defaults
        for what it lacks, then ``overrides`` that are not None."""
        meta = meta or {}
        section = meta.get("detector") or {}
        if not isinstance(section, dict):
            raise KwsError(f"model.json: detector must be an object, not {section!r}")
        try:
            base = cls(int(section.get("average_count", DEFAULT_AVERAGE_COUNT)),
                       float(section.get("threshold", DEFAULT_THRESHOLD)),
                       int(section.get("suppress_inferences", DEFAULT_SUPPRESS)),
                       int(meta.get("stride_frames", DEFAULT_STRIDE_FRAMES)))
        except (TypeError, ValueError) as exc:
            raise KwsError(f"model.json: bad detector settings {section!r} ({exc})") from exc
        return base.override(**overrides)


def detector_section(settings: DetectorSettings | None = None) -> dict[str, Any]:
    """``model.json``'s ``detector`` section (defaults when ``settings`` is None)."""
    s = settings or DetectorSettings()
    return {"average_count": s.average_count, "threshold": s.threshold,
            "suppress_inferences": s.suppress_inferences}


def add_detector_args(parser: Any) -> None:
    """The flags that override ``model.json``'s detection settings (an argparse parser)."""
    parser.add_argument("--stride-frames", type=int,
                        help=f"feature frames between inferences (default: model.json's, "
                        f"else {DEFAULT_STRIDE_FRAMES})")
    parser.add_argument("--threshold", type=float,
                        help="detection threshold on the averaged probability (default: "
                        f"model.json's detector section, else {DEFAULT_THRESHOLD})")
    parser.add_argument("--average", type=int,
                        help="inferences averaged for detection (default: model.json's, "
                        f"else {DEFAULT_AVERAGE_COUNT})")
    parser.add_argument("--suppress", type=int,
                        help="inferences without a new detection after one (default: "
                        f"model.json's, else {DEFAULT_SUPPRESS})")


def detector_overrides(args: Any) -> dict[str, Any]:
    """The keyword arguments :func:`add_detector_args`'s flags give (None: not given)."""
    return {"stride_frames": args.stride_frames, "average_count": args.average,
            "threshold": args.threshold, "suppress_inferences": args.suppress}
