"""Listing codings: each quote is its document's text sliced by code points, whatever the text."""

from __future__ import annotations

import hashlib

from qualcode.study import Study
from qualcode.transcript import ParsedTranscript

TEXTS = {
    "Emoji": "Sarah: I felt 😀 then 👩‍👩‍👧 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 at the end.\n",
    "Nbsp": "Ravi: the\u00a0programme ended\u00a0\u00a0abruptly, you know.\n",
    "Combining": "Ana: cafe\u0301 and nai\u0308ve and Zoë, then \U00010348 gothic.\n",
}


def test_listed_quotes_equal_python_slices_across_documents(tmp_path):
    with Study.create(tmp_path / "s.qc", coder="Amira") as s:
        s.codes.add("Feeling")
        expected = []
        for name, text in TEXTS.items():
            parsed = ParsedTranscript(text=text, turns=[], format="text", encoding="utf-8")
            s.documents.add(parsed, name, f"{name}.txt", hashlib.sha256(text.encode()).hexdigest())
            for start in range(1, len(text) - 6, 5):
                end = start + 4
                if text[start:end].strip():
                    s.codings.add(name, "Feeling", "Amira", start, end)
                    expected.append((name, start, end, text[start:end]))
        listed = s.codings.list(code="Feeling")
        assert sorted((c.document, c.start, c.end, c.text) for c in listed) == sorted(expected)
        assert [c.text for c in s.codings.list(code="Feeling", limit=3)] == [c.text for c in listed[:3]]
        one = listed[len(listed) // 2]
        assert s.codings.get(one.id).text == one.text
