"""Why a run or a sweep is not started, in words a page shows as they are (``runner.Runner.start``)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


class RunnerError(RuntimeError):
    """The training cluster could not be reached or used; the message says so in words."""


class Refused(Exception):
    """A run not started (``Runner.start``), with the reason in words, ready to show as it is;
    ``busy`` when it is because the person has a run going already."""

    def __init__(self, message: str, busy: bool = False):
        super().__init__(message)
        self.busy = busy


def check_drawings(spec: Any) -> None:
    """Refuse a run on kept drawings when there are none yet."""
    from . import runspec

    if spec.data.drawings_of is not None and runspec.kept_drawings_count(spec.data) == 0:
        raise Refused(
            "Not started: there are no kept drawings to train on yet. Correct a few drawings first, or train without them."
        )


@contextlib.contextmanager
def refusals() -> Iterator[None]:
    """Every reason a run or sweep is not started, as ``Refused`` in words."""
    from .data import DataError
    from .drawings import DrawingsError
    from .runs import Busy, RunsError

    try:
        yield
    except Busy as exc:
        raise Refused("Not started: %s." % exc, busy=True) from exc
    except (ValueError, DataError) as exc:
        raise Refused("Cannot train with these settings: %s" % exc) from exc
    except (RunnerError, RunsError, DrawingsError, OSError) as exc:
        raise Refused("Not started: %s" % exc) from exc
