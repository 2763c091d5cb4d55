"""Agreement statistics for double coding (see ``stats`` for the conventions).

``from qualcode.agreement import cohen_kappa`` works on any coders x units matrix, with or
without a study; the study-level units (characters, segments, turns, documents) build such
matrices and call these functions.
"""

from qualcode.agreement.stats import (
    Coefficient,
    brennan_prediger,
    cohen_kappa,
    confusion_matrix,
    fleiss_kappa,
    from_units,
    gwet_ac1,
    krippendorff_alpha,
    percent_agreement,
    scott_pi,
)

__all__ = [
    "Coefficient",
    "brennan_prediger",
    "cohen_kappa",
    "confusion_matrix",
    "fleiss_kappa",
    "from_units",
    "gwet_ac1",
    "krippendorff_alpha",
    "percent_agreement",
    "scott_pi",
]
