"""Everything the site trains or measures, and the results that ship with the package.

Training is not bit-reproducible across machines: the same seed gives slightly
different numbers on another CPU. So the guide never asks a reader's machine (or CI)
to retrain what its pages print. Instead:

* ``registry``: one ``Run`` per experiment, in one list (``RUNS``): name, settings,
  the runs it needs, and a version a person bumps when the recipe changes on purpose.
  That is the result's identity; source code is not part of it.
* ``store``: the results ship in ``bertguide/data/runs/<name>.json`` with their
  provenance (commit, settings, versions, machine, date, wall time); what is not
  shipped, or asked with other settings, is made once per machine in the cache.
* ``weights``: the trained weights a reader's examples need ship in the package,
  hash-checked (the restored MLM/NSP model as its difference from the embedded one).
* ``fingerprint``: a few exact steps of each run's own code path, recorded with the
  result; ``make test`` recomputes them in seconds and names the run whose code now
  computes something else ("bump its version and refresh").
* ``refresh``: ``make experiments`` / ``bertguide experiments`` reruns the runs from
  scratch and compares the new numbers with the shipped ones within stated tolerances.
* ``cloze``: everyday fill-in-the-blank sentences the restored model is measured on.

This package is not imported by ``import bertguide``.
"""

from bertguide.experiments.registry import RUNS, Run, get_run

__all__ = ["RUNS", "Run", "get_run"]
