"""A transformers model and its tokenizer, loaded for an ``hf:`` spec: the device, the context
window, the model's info, and the harness's way of turning text and chat prompts into tokens.
The scoring and generation parts of the backend build on this class."""

from __future__ import annotations

import contextlib
import importlib
import inspect
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from bakeoff.backends.base import Backend
from bakeoff.backends.hf._info import (
    active_parameters,
    gguf_license,
    int_attr,
    readme_license,
    sha256_file,
)
from bakeoff.backends.hf._options import parse_options
from bakeoff.backends.hf._pairs import SharedPrefix, TokenPair, Tokens
from bakeoff.core.chat import ChatLoglikelihoodRequest, transcript
from bakeoff.core.errors import (
    BackendError,
    ConfigError,
    MissingDependencyError,
    ModelNotFoundError,
)
from bakeoff.core.model import ModelInfo, ModelSpec
from bakeoff.core.types import ChatMessage, JSONValue, LoglikelihoodRequest

_DEFAULT_MAX_LENGTH = 2048  # the harness's fallback when neither config nor tokenizer says
_TOKENIZER_UNSET = 1000000000000000019884624838656  # transformers' "no model_max_length"


def import_torch() -> ModuleType:
    try:
        return importlib.import_module("torch")
    except ImportError:
        raise MissingDependencyError("torch", "hf", "the hf backend") from None


def import_transformers() -> ModuleType:
    try:
        return importlib.import_module("transformers")
    except ImportError:
        raise MissingDependencyError("transformers", "hf", "the hf backend") from None


class LoadedModel(Backend):
    """The loaded model, tokenizer and settings every part of the ``hf`` backend reads."""

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        self.options = parse_options(spec)
        self.torch = import_torch()
        if self.options.threads is not None:
            self.torch.set_num_threads(self.options.threads)
        transformers = import_transformers()
        self.device = self._pick_device()
        kwargs: dict[str, Any] = {"dtype": getattr(self.torch, self.options.dtype)}
        if self.options.gguf_file:
            kwargs["gguf_file"] = self.options.gguf_file
        # Progress bars of GGUF dequantization would garble bakeoff's own progress display.
        transformers.utils.logging.disable_progress_bar()
        started = time.perf_counter()
        try:
            tokenizer_kwargs = {k: v for k, v in kwargs.items() if k == "gguf_file"}
            with _without_progress_bars():
                self.tokenizer = transformers.AutoTokenizer.from_pretrained(
                    self.options.pretrained, **tokenizer_kwargs
                )
                self.model = transformers.AutoModelForCausalLM.from_pretrained(
                    self.options.pretrained, **kwargs
                )
        except (OSError, ValueError) as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            raise ModelNotFoundError(
                f"cannot load {spec.target} with transformers: {first_line}"
            ) from None
        self.load_seconds = time.perf_counter() - started
        self.model.to(self.device).eval()
        self.config = self.model.config
        # transformers 5.2x renamed ``past_key_values`` to ``cache``; older ones lack the new name.
        parameters = inspect.signature(self.model.forward).parameters
        self.cache_kwarg = "cache" if "cache" in parameters else "past_key_values"
        self.can_trim_logits = "logits_to_keep" in parameters
        self.max_length = self.options.max_length or self._config_max_length()
        self.prefix_token_id = self._prefix_token_id()
        self._prefix: SharedPrefix | None = None  # kept across calls: the runner sends chunks

    # -- setup ---------------------------------------------------------------------------------

    def _pick_device(self) -> str:
        wanted = self.options.device
        has_cuda = bool(self.torch.cuda.is_available())
        if wanted == "auto":
            return "cuda" if has_cuda else "cpu"
        if wanted.startswith("cuda") and not has_cuda:
            raise ConfigError(f"hf option device={wanted}: no CUDA device is available")
        return wanted

    def _config_max_length(self) -> int:
        # Same precedence as the harness's resolve_max_length: config attributes, then tokenizer.
        config = getattr(self.config, "text_config", None) or self.config
        for attr in ("n_positions", "max_position_embeddings", "n_ctx"):
            value = getattr(config, attr, None)
            if isinstance(value, int) and value > 0:
                return value
        value = getattr(self.tokenizer, "model_max_length", None)
        if isinstance(value, int) and 0 < value != _TOKENIZER_UNSET:
            return value
        return _DEFAULT_MAX_LENGTH

    def _prefix_token_id(self) -> int:
        # The harness conditions empty contexts and the first rolling window on BOS, else EOS.
        for token_id in (self.tokenizer.bos_token_id, self.tokenizer.eos_token_id):
            if token_id is not None:
                return int(token_id)
        raise BackendError(f"{self.spec.target}: tokenizer has neither a BOS nor an EOS token")

    def info(self) -> ModelInfo:
        config = getattr(self.config, "text_config", None) or self.config
        heads = int_attr(config, "num_attention_heads")
        hidden = int_attr(config, "hidden_size")
        head_dim = int_attr(config, "head_dim") or (hidden // heads if hidden and heads else None)
        weights = self._weights_path()
        parameters = int(self.model.num_parameters())
        return ModelInfo(
            name=self.spec.label,
            backend=self.name,
            source=str(weights) if weights else self.options.pretrained,
            sha256=sha256_file(weights) if weights else None,
            file_bytes=weights.stat().st_size if weights else None,
            quantization=self.options.dtype
            + (" (dequantized from GGUF)" if self.options.gguf_file else ""),
            architecture=str(getattr(config, "model_type", "")) or None,
            parameters=parameters,
            active_parameters=active_parameters(config, parameters),
            n_layers=int_attr(config, "num_hidden_layers"),
            n_heads=heads,
            n_kv_heads=int_attr(config, "num_key_value_heads") or heads,
            embedding_length=hidden,
            head_dim=head_dim,
            context_length=self.max_length,
            vocab_size=int_attr(config, "vocab_size"),
            expert_count=int_attr(config, "num_local_experts", "num_experts", "n_routed_experts"),
            expert_used_count=int_attr(config, "num_experts_per_tok", "moe_topk"),
            has_chat_template=self.has_chat_template,
            license=gguf_license(weights) if weights else readme_license(self.options.pretrained),
            extra=self._info_extra(config),
        )

    def _info_extra(self, config: Any) -> dict[str, JSONValue]:
        extra: dict[str, JSONValue] = {
            "device": self.device,
            "load_seconds": round(self.load_seconds, 2),
        }
        # The guide's KV-cache estimate needs the window of sliding-window layers (Gemma 2/3).
        window = int_attr(config, "sliding_window")
        if window:
            extra["sliding_window"] = window
        return extra

    def _weights_path(self) -> Path | None:
        if self.options.gguf_file:
            return Path(self.options.pretrained) / self.options.gguf_file
        return None

    def count_tokens(self, text: str) -> int | None:
        return len(self.tokenizer.encode(text, add_special_tokens=False))

    def close(self) -> None:
        del self.model
        if self.device.startswith("cuda"):
            self.torch.cuda.empty_cache()

    # -- tokenization (the harness's HFLM.tok_encode / _encode_pair) ---------------------------

    def tok_encode(self, text: str) -> Tokens:
        """Tokenizer defaults (BOS for Gemma, none for SmolLM2) unless the text starts with BOS."""
        bos = self.tokenizer.decode(self.prefix_token_id)
        if bos and text.startswith(bos):
            return list(self.tokenizer.encode(text, add_special_tokens=False))
        return list(self.tokenizer.encode(text))

    def context_text(self, request: LoglikelihoodRequest) -> str:
        """The text a request is scored after: a chat request's messages rendered with the chat
        template and a generation prompt (the harness's ``apply_chat_template``), else its
        plain context."""
        if isinstance(request, ChatLoglikelihoodRequest) and request.messages:
            return self.render(request.messages)
        return request.context

    def encode_pair(self, context: str, continuation: str) -> TokenPair:
        if not context:
            cont = list(self.tokenizer.encode(continuation, add_special_tokens=False))
            if cont and cont[0] == self.prefix_token_id:
                return cont[:1], cont[1:]
            return [self.prefix_token_id], cont
        n_spaces = len(context) - len(context.rstrip())
        if n_spaces:  # trailing spaces belong to the continuation, as in the harness
            context, continuation = context[:-n_spaces], context[-n_spaces:] + continuation
        whole = self.tok_encode(context + continuation)
        context_tokens = self.tok_encode(context)
        return context_tokens, whole[len(context_tokens) :]

    def render(self, prompt: str | tuple[ChatMessage, ...]) -> str:
        """Plain prompts as they are; chat prompts through the tokenizer's chat template.

        A model without a template (a base model) gets the plain ``User: ...\\nAssistant:``
        transcript the llama.cpp backend uses, so both backends see the same text.
        """
        if isinstance(prompt, str):
            return prompt
        if not self.has_chat_template:
            return transcript(prompt)
        messages = [{"role": m.role, "content": m.content} for m in prompt]
        text: str = self.tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True
        )
        return text

    @property
    def has_chat_template(self) -> bool:
        return bool(getattr(self.tokenizer, "chat_template", None))


@contextlib.contextmanager
def _without_progress_bars() -> Iterator[None]:
    """tqdm bars off while active. transformers' GGUF loader draws its "de-quantizing" bar with
    plain tqdm, which its disable_progress_bar() does not reach; tqdm has no switch read at run
    time, so its constructor gets ``disable=True`` here (class attribute, restored after)."""
    try:
        tqdm: Any = importlib.import_module("tqdm")
    except ImportError:
        yield
        return
    original = tqdm.tqdm.__init__

    def quiet(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs["disable"] = True
        original(self, *args, **kwargs)

    tqdm.tqdm.__init__ = quiet
    try:
        yield
    finally:
        tqdm.tqdm.__init__ = original
