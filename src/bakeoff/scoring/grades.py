"""Reading a judge's grade out of its reply.

A judge is asked to end with ``Rating: [[N]]`` (N from 1 to 10, MT-Bench's single-answer
format). The double brackets are what is read; a reply without them, or with a number outside
1–10, has no grade: ``None``, which the caller counts as an unparsable verdict. It is never
turned into a middle grade or a tie, so a judge that cannot follow the format is seen as such.

When a reply holds several ``[[N]]`` (a judge restating the format before grading), the last one
is its verdict: the format asks for the rating after the explanation.
"""

from __future__ import annotations

import re

GRADE_MIN, GRADE_MAX = 1.0, 10.0
_BRACKETED = re.compile(r"\[\[\s*(\d+(?:\.\d+)?)\s*\]\]")


def parse_grade(reply: str) -> float | None:
    """The grade in ``reply`` (1–10), or None when there is none to read."""
    found = _BRACKETED.findall(reply)
    if not found:
        return None
    grade = float(found[-1])
    return grade if GRADE_MIN <= grade <= GRADE_MAX else None
