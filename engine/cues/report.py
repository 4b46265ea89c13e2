"""The cue report: named measurements, each with a plain-language line, plus series for plots."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Optional

#: The unit of a cue whose value is a share, 0-1 (of the sampled frames, of the sound, of the picture's area). The
#: value stays 0-1, as the models read it; a person sees it as a percentage, with unit "%" (Cue.shown_value).
SHARE = "share"


@dataclass(frozen=True)
class Cue:
    """One measurement of the video.

    value is None when it cannot be measured (the loudness of a file without sound).
    text is one line a creator understands; advice, when present, is a careful suggestion:
    these are measurements, not the verdict of a learned model.
    """

    name: str
    value: Optional[float]
    unit: str
    text: str
    advice: Optional[str] = None

    @property
    def shown_unit(self) -> str:
        """The unit the value is shown in: "%" for a share, else the unit itself."""
        return "%" if self.unit == SHARE else self.unit

    @property
    def shown_value(self) -> Optional[float]:
        """The value in shown_unit: a share (0-1) as a percentage, to 0.1; the models still read `value`."""
        if self.value is None or self.unit != SHARE or not math.isfinite(self.value):
            return self.value
        return round(100.0 * self.value, 1)


@dataclass
class CueReport:
    cues: list[Cue]
    #: series over time for plots: name -> (times in seconds, values)
    timeline: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict)
    #: seconds spent per stage; stages that run side by side overlap, "total" is the wall time
    timings: dict[str, float] = field(default_factory=dict)
    #: about how many seconds of the file could not be decoded (a damaged stretch); the cues rest on the rest
    undecoded_s: float = 0.0

    def value(self, name: str) -> Optional[float]:
        """The value of the cue called `name`; KeyError if there is no such cue."""
        for cue in self.cues:
            if cue.name == name:
                return cue.value
        raise KeyError(f"no cue named {name!r}")

    def cue(self, name: str) -> Cue:
        for cue in self.cues:
            if cue.name == name:
                return cue
        raise KeyError(f"no cue named {name!r}")

    def as_dict(self) -> dict:
        """JSON-ready: {"cues": [{name, value, unit, shown_value, shown_unit, text, advice}], "timeline": {name:
        [times, values]}}: `value` in `unit` as the models read it, `shown_value` in `shown_unit` as the text says it
        (a share: 0.4 "share", 40 "%").

        Non-finite numbers become None so that json.dumps never writes NaN or Infinity.
        """
        return {
            "cues": [{**asdict(c), "value": _finite(c.value), "shown_value": _finite(c.shown_value),
                      "shown_unit": c.shown_unit} for c in self.cues],
            "undecoded_s": self.undecoded_s,
            "timeline": {
                name: [[float(t) for t in ts], [_finite(v) for v in vs]]
                for name, (ts, vs) in self.timeline.items()
            },
        }


def _finite(v: Optional[float]) -> Optional[float]:
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None
