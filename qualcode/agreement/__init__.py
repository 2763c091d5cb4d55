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
from qualcode.agreement.units import UNITS, AgreementReport, Figure, agreement
from qualcode.agreement.reconcile import (accept_agreed, assign_sample, decide, disagreements,
                                          rounds, save_round)

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
    "UNITS",
    "AgreementReport",
    "Figure",
    "agreement",
    "accept_agreed",
    "assign_sample",
    "decide",
    "disagreements",
    "rounds",
    "save_round",
]
