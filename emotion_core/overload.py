"""Graceful overload for a live stream: analyse 1 in N frames when the server cannot
keep up, and draw the last results on the frames in between.

The camera sends a frame every I seconds; analysing one takes the video thread A
seconds of wall time (detection, classification, overlay; more when other streams or
other work share the cores).

Mild overload is left alone: while A <= I / r (r = ``min_return_share``), the thread
analyses every frame it gets and streamlit-webrtc drops the ones that waited (only the
newest waiting frame reaches the callback), so at least r of the camera's frames come
back, every one of them analysed. Skipping analysis there would cost analysed frames
and make each frame dearer to return: a browser test on two cores analysed 19 frames/s
by dropping and 12 by skipping.

Beyond that the returned video would stutter and lag, so the thread analyses 1 in N
frames, N = ceil(A / (u I)), u being the share of the interval analysis may use, and
draws the last results on the others. N is capped at ``max_every_n``: when the cores
themselves are the limit (several streams on one core), wall times grow with every
stream and passing frames through costs encoding too, so a larger N buys little video
and costs the labels (one core, two streams: an uncapped rule that also charged
pass-through time chose 1 in 20, 2.5 analysed frames/s per stream; capped at 6, 5.5
analysed and 11.9 returned frames/s, 0.4 s behind at p95; never skipping, 9.1 analysed
and 5.4 returned, 22 s behind).

I is the interval at which frames can reach the video thread: the camera's (the
shortest recent gap between frame times; frames streamlit-webrtc dropped make some gaps
longer, never shorter) while frames are waiting for the thread, or, when the thread
has been waiting for frames, the typical wall time between their arrivals: when
decoding is what is slow (a starved CPU), frames come late and in order, and skipping
analysis would not bring them any faster.

N rises as soon as the measured times ask for it and falls only after they have asked
for less for ``settle_s`` seconds (wall time), so it does not flap. The first
``warmup_s`` seconds are not judged, and the first analysed frame (which builds the
detector) is not measured.

No I/O and no clock other than ``time.perf_counter`` around the caller's work; one
instance per stream, called from its video thread only.
"""

from __future__ import annotations

import math
import statistics
import time
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class OverloadPolicy:
    """How a stream sheds analysis work (server tuning, not a user setting)."""

    busy_share: float = 0.8  # u: share of the camera interval analysis may use
    min_return_share: float = 0.5  # r: drop frames, not analysis, while this many come back
    max_every_n: int = 6  # never analyse less than one frame in this many
    ema: float = 0.2  # weight of the newest measurement in the running averages
    settle_s: float = 2.0  # seconds (wall time) of lower load before N steps down
    warmup_s: float = 2.0  # stream seconds before the first judgement
    interval_window: int = 60  # frames over which the camera interval is estimated
    idle_s: float = 0.002  # a wait longer than this before a frame: it was not queued
    queued_run: int = 3  # this many queued frames in a row: frames are waiting for us

    def __post_init__(self) -> None:
        if not 0.1 <= self.busy_share <= 1.0:
            raise ValueError(f"busy_share must be 0.1-1.0, not {self.busy_share}")
        if not 0.0 < self.min_return_share <= 1.0:
            raise ValueError(f"min_return_share must be in (0, 1], not {self.min_return_share}")
        if not 1 <= self.max_every_n <= 300:
            raise ValueError(f"max_every_n must be 1-300, not {self.max_every_n}")
        if not 0.0 < self.ema <= 1.0:
            raise ValueError(f"ema must be in (0, 1], not {self.ema}")


class FrameSkipper:
    """Decides frame by frame whether to analyse, from measured times (see module)."""

    def __init__(self, policy: OverloadPolicy | None = None) -> None:
        self.policy = policy or OverloadPolicy()
        self.every_n = 1  # the automatic N (the user's own setting is applied on top)
        self.analyse_s: float | None = None  # A, running average
        self._gaps: deque[float] = deque(maxlen=self.policy.interval_window)
        self._idle_gaps: deque[float] = deque(maxlen=self.policy.interval_window // 2)
        self._queued = 0  # frames in a row that found the thread busy (no wait before them)
        self._last_done: float | None = None
        self._last_arrival: float | None = None
        self._t0: float | None = None
        self._last_t: float | None = None
        self._since_analysed = 0
        self._seen = 0
        self._calm_since: float | None = None  # when (perf_counter) N could have been lower
        self._started = 0.0
        self._first_done = False

    @property
    def interval_s(self) -> float | None:
        """The interval frames can come at (see the module): the camera's while frames
        queue, the typical wall time between frames the thread waited for otherwise."""
        if not self._gaps:
            return None
        camera = min(self._gaps)
        if self._queued >= self.policy.queued_run or not self._idle_gaps:
            return camera
        return max(camera, statistics.median(self._idle_gaps))

    def decide(self, t: float, floor_n: int = 1) -> bool:
        """Whether to analyse the frame of stream time ``t`` (seconds); ``floor_n`` is
        the user's "analyse every Nth frame". Call :meth:`done` when the frame is out."""
        self._started = time.perf_counter()
        if self._t0 is None:
            self._t0 = t
        last = self._last_done
        waited = last is not None and self._started - last > self.policy.idle_s
        self._queued = 0 if waited else self._queued + 1
        if waited and self._last_arrival is not None:
            self._idle_gaps.append(self._started - self._last_arrival)
        self._last_arrival = self._started
        if self._last_t is not None and t > self._last_t:
            self._gaps.append(t - self._last_t)
        self._last_t = t
        if self.every_n <= floor_n:  # not busy: the user's frames (0, N, 2N, ...)
            analyse = self._seen % floor_n == 0
        else:  # busy: N frames after the last analysed one
            analyse = self._since_analysed == 0 or self._since_analysed >= self.every_n
        self._seen += 1
        self._since_analysed = 1 if analyse else self._since_analysed + 1
        return analyse

    def done(self, analysed: bool) -> None:
        """The frame left the video thread; ``analysed``: it was analysed."""
        self._last_done = time.perf_counter()
        busy = self._last_done - self._started
        a = self.policy.ema
        if analysed and not self._first_done:  # it built the detector: not typical
            self._first_done = True
        elif analysed:
            self.analyse_s = busy if self.analyse_s is None else (1 - a) * self.analyse_s + a * busy
        self._judge()

    def needed_every_n(self) -> int:
        """N from the current averages (1 before anything is measured)."""
        interval, analyse = self.interval_s, self.analyse_s
        if interval is None or analyse is None:
            return 1
        if analyse * self.policy.min_return_share <= interval:
            return 1  # mild: dropping the frames that waited loses no analysis
        n = math.ceil(analyse / (self.policy.busy_share * interval) - 1e-9)
        return min(max(n, 1), self.policy.max_every_n)

    def _judge(self) -> None:
        t = self._last_t
        if t is None or self._t0 is None or t - self._t0 < self.policy.warmup_s:
            return
        needed = self.needed_every_n()
        if needed >= self.every_n:
            self.every_n, self._calm_since = needed, None
        elif self._calm_since is None:
            self._calm_since = self._last_done
        elif self._last_done - self._calm_since >= self.policy.settle_s:
            self.every_n, self._calm_since = needed, None
