"""Behaviour of the paths rewritten for speed (issue 9): the same answers as before, at scale.

No timings here (benchmarks/ measures them); these tests pin what the faster code must still do.
"""

from __future__ import annotations

from qualcode.anonymise import guard
from qualcode.study import Study


# -- the export guard ------------------------------------------------------------------------
def test_guard_reports_every_occurrence_once_and_counts_each_name(study_path):
    # Many leaks (the guard used to compare each new one with every earlier one).
    lines = [f"Line {i}: Sarah Whitfield said hello to Whitfield." for i in range(3000)]
    content = "\n".join(lines)
    with Study.open(study_path) as s:
        leaks = guard.check(s, content)
        message = guard.describe(leaks)
    assert [lk.text for lk in leaks[:2]] == ["Sarah Whitfield", "Whitfield"]
    assert len(leaks) == 6000
    starts = [lk.start for lk in leaks]
    assert starts == sorted(starts)
    # No two leaks overlap: "Sarah Whitfield" is one leak, not also "Sarah" and "Whitfield".
    assert all(a.end <= b.start for a, b in zip(leaks, leaks[1:]))
    assert all(content[lk.start:lk.end] == lk.text for lk in leaks)
    assert "'Sarah Whitfield' ×3000" in message and "'Whitfield' ×3000" in message
    assert message.count("Whitfield'") == 2  # each identifier named once
