"""Numbers in words as a reader expects them ("1 epoch", "3 epochs"): shared by messages of
nn_core and the pages, so that no message says "epoch(s)"."""


def minutes(m: float) -> str:
    """A number of minutes as a limit is written: "1 minute", "0.5 minutes", "120 minutes"."""
    return "%g %s" % (m, "minute" if m == 1 else "minutes")


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and ``noun``, in the plural unless ``n`` is 1: ``counted(3, "epoch")`` is "3 epochs"."""
    return "%d %s" % (n, noun if n == 1 else plural or noun + "s")
