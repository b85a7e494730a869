"""The ``hf`` backend: a loaded transformers model that scores and generates."""

from __future__ import annotations

from bakeoff.backends.hf._generation import TextGeneration
from bakeoff.backends.hf._model import import_torch, import_transformers
from bakeoff.backends.hf._options import parse_options
from bakeoff.backends.hf._scoring import LoglikelihoodScoring
from bakeoff.core.model import ModelSpec
from bakeoff.core.types import RequestKind


class HFBackend(LoglikelihoodScoring, TextGeneration):
    """A transformers model in process; all three request kinds (see the package docstring)."""

    name = "hf"
    supports = frozenset(RequestKind)

    def chunk_samples(self, kind: RequestKind) -> int:
        # Log-likelihoods are batched across a call's samples (MedQA, 80 questions: chunks of 8
        # pad ~9% more than chunks of 32); generation runs one request at a time.
        return 8 if kind is RequestKind.GENERATE else 32

    @classmethod
    def preflight(cls, spec: ModelSpec) -> None:
        parse_options(spec)
        import_torch()
        import_transformers()
