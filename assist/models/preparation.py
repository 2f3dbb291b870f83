"""Getting a call ready, step by step: what is loading now and how far along it is.

Loading the models and building the indexes takes seconds, and on a first run tens of
seconds (the embedder is exported, the knowledge base embedded, the mood model fitted).
Whoever waits hears each step as it starts and as it finishes through a callback (the
live screen posts it on as a message), so nothing has to poll.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    """One step of getting a call ready, as it starts or finishes.

    Attributes:
        number: the step's place, from 1.
        total: how many steps there are.
        what: what the step prepares ("speech recogniser").
        detail: which one, when it matters ("tiny.en"), else "".
        done: False when the step starts, True when it has finished.
        elapsed: seconds since the preparation began.
        took: seconds the step took (0.0 until it is done).
    """

    number: int
    total: int
    what: str
    detail: str = ""
    done: bool = False
    elapsed: float = 0.0
    took: float = 0.0

    @property
    def label(self) -> str:
        """"speech recogniser (tiny.en)"."""
        return f"{self.what} ({self.detail})" if self.detail else self.what


StepReport = Callable[[Step], None]


class Preparation:
    """The steps of getting a call ready, each reported as it starts and as it finishes.

    Attributes:
        steps: what each step prepares, in the order they run; ``step()`` takes one of them.
        report: called with each ``Step`` (None: nobody is told).
        clock: seconds, for the elapsed times.
    """

    def __init__(self, steps: Sequence[str], report: StepReport | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.steps = list(steps)
        self.report = report
        self.clock = clock
        self._began: float | None = None

    @contextmanager
    def step(self, what: str, detail: str = "") -> Iterator[None]:
        """Run one step of the plan: reported before it starts and once it is done (not
        when it fails: the failure tells the rest)."""
        number = self.steps.index(what) + 1  # a step outside the plan is a bug: ValueError
        began = self.clock()
        if self._began is None:
            self._began = began
        self._tell(Step(number, len(self.steps), what, detail, False, began - self._began))
        yield
        now = self.clock()
        self._tell(Step(number, len(self.steps), what, detail, True, now - self._began, now - began))

    def _tell(self, step: Step) -> None:
        if self.report is not None:
            self.report(step)
