"""Generation through transformers' ``generate``: greedy or seeded sampling, stop strings,
and the transcript's next turn as a stop for models without a chat template."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from bakeoff.backends.base import GenerationOutcome
from bakeoff.backends.hf._model import LoadedModel
from bakeoff.backends.hf._pairs import Tokens
from bakeoff.core.types import GenerateRequest, GenerationResult, RequestFailure, Usage


class TextGeneration(LoadedModel):
    """The backend's generation requests, one at a time."""

    def generate(self, requests: Sequence[GenerateRequest]) -> list[GenerationOutcome]:
        return [self._generate_one(r) for r in requests]

    def _generate_one(self, request: GenerateRequest) -> GenerationOutcome:
        torch = self.torch
        settings = request.settings
        tokens = self.tok_encode(self.render(request.prompt))
        tokens = tokens[-max(1, self.max_length - settings.max_tokens) :]
        ids = torch.tensor([tokens], device=self.device)
        sampling: dict[str, Any] = {"do_sample": False}
        if not settings.greedy:
            torch.manual_seed(settings.seed)
            sampling = {"do_sample": True, "temperature": settings.temperature}
            sampling["top_p"] = settings.top_p
        stops = list(settings.stop)
        if not isinstance(request.prompt, str) and not self.has_chat_template:
            stops.append("\nUser:")  # the transcript's next turn
        extra: dict[str, Any] = {}
        if stops:
            extra = {"stop_strings": stops, "tokenizer": self.tokenizer}
        started = time.perf_counter()
        try:
            with torch.inference_mode():
                output = self.model.generate(
                    input_ids=ids,
                    attention_mask=torch.ones_like(ids),
                    max_new_tokens=settings.max_tokens,
                    pad_token_id=self.tokenizer.eos_token_id,
                    top_k=None,
                    **sampling,
                    **extra,
                )
        except RuntimeError as exc:
            return RequestFailure(f"transformers generate failed: {str(exc).splitlines()[0]}")
        elapsed = time.perf_counter() - started
        new = output[0, len(tokens) :].tolist()
        text, finish = self._finish(new, stops, settings.max_tokens)
        usage = Usage(prompt_tokens=len(tokens), output_tokens=len(new), output_seconds=elapsed)
        return GenerationResult(text, finish, usage)

    def _finish(self, new: Tokens, stops: Sequence[str], max_tokens: int) -> tuple[str, str]:
        text: str = self.tokenizer.decode(new, skip_special_tokens=True)
        cuts = [text.index(s) for s in stops if s and s in text]
        if cuts:
            return text[: min(cuts)], "stop"
        eos = self.tokenizer.eos_token_id
        if new and (new[-1] == eos or len(new) < max_tokens):
            return text, "stop"
        return text, "length"
