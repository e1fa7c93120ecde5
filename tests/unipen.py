"""Small UNIPEN texts for the tests, written out here rather than taken from a data set."""

import numpy as np

# Two digits in the format's own words: a one-stroke 1 and a two-stroke 4 by writer 7.
SAMPLE = """.INCLUDE        dene.doc

.LEXICON "0" "1" "2" "3" "4" "5" "6" "7" "8" "9"
.HIERARCHY      DIGIT

.SEGMENT DIGIT    0 ? "1"
.COMMENT 1 7  1
.PEN_DOWN
 100  100
 100  200
 100  300
.PEN_UP
.DT 100

.SEGMENT DIGIT    1 ? "4"
.COMMENT 4 7  2
.PEN_DOWN
 100  300
  50  150
 200  150
.PEN_UP
.PEN_DOWN
 150  250
 150    0
.PEN_UP
"""


def random_text(n_digits=60, seed=0):
    """A longer UNIPEN text of random strokes by writers 1-3 (enough to make a .Z file use
    codes wider than 9 bits)."""
    rng = np.random.default_rng(seed)
    lines = ['.LEXICON "0" "1" "2" "3" "4" "5" "6" "7" "8" "9"']
    for i in range(n_digits):
        label = int(rng.integers(0, 10))
        lines += ['.SEGMENT DIGIT %4d ? "%d"' % (i, label), ".COMMENT %d %d %d" % (label, 1 + i % 3, i)]
        for _ in range(int(rng.integers(1, 3))):
            lines.append(".PEN_DOWN")
            lines += [" %4d %4d" % tuple(p) for p in rng.integers(0, 500, (int(rng.integers(2, 20)), 2))]
            lines.append(".PEN_UP")
    return "\n".join(lines) + "\n"
