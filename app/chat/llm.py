"""A client for any OpenAI-compatible ``/chat/completions`` endpoint: streaming, timeouts,
retries with backoff, and a circuit breaker.

The ``httpx.AsyncClient`` is built by the composition root and injected (tests inject one with
an ``httpx.MockTransport``). Every failure surfaces as ``LlmError`` with a short ``reason``
(``timeout``, ``http_503``, ``garbage``, ``breaker_open`` ...) for the trace; the caller decides
the fallback. Retries happen only before the first token, so no text is ever sent twice.
"""

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
import structlog

from app.settings import LlmSettings

log = structlog.get_logger(__name__)
TokenSink = Callable[[str], Awaitable[None]]
_RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})


class LlmError(Exception):
    """The LLM call failed; ``reason`` is a short machine-readable cause."""

    def __init__(self, reason: str, *, retryable: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


@dataclass(frozen=True)
class LlmReply:
    text: str
    prompt_tokens: int
    completion_tokens: int
    attempts: int
    finish_reason: str | None = None


class CircuitBreaker:
    """Open after ``failures`` consecutive failures; half-open again after ``reset_seconds``."""

    def __init__(
        self, failures: int, reset_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._threshold = failures
        self._reset = reset_seconds
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None

    @property
    def is_open(self) -> bool:
        # Half-open once ``reset_seconds`` have passed: the next call goes through.
        return self._opened_at is not None and self._clock() - self._opened_at < self._reset

    def record(self, *, ok: bool) -> None:
        if ok:
            self._failures, self._opened_at = 0, None
            return
        self._failures += 1
        if self._failures >= self._threshold:
            self._opened_at = self._clock()


class LlmClient:
    """Chat completions against ``settings.base_url``; one instance per process."""

    def __init__(self, settings: LlmSettings, http: httpx.AsyncClient) -> None:
        self.settings = settings
        self._http = http
        self.breaker = CircuitBreaker(settings.breaker_failures, settings.breaker_reset_seconds)

    async def aclose(self) -> None:
        await self._http.aclose()

    @property
    def model(self) -> str:
        return self.settings.model

    def cost_usd(self, reply: LlmReply) -> float:
        s = self.settings
        return round(
            reply.prompt_tokens / 1000 * s.usd_per_1k_prompt_tokens
            + reply.completion_tokens / 1000 * s.usd_per_1k_completion_tokens,
            6,
        )

    async def chat(
        self,
        messages: list[dict[str, str]],
        *,
        on_token: TokenSink | None = None,
        max_tokens: int | None = None,
    ) -> LlmReply:
        """Run one completion (streamed when ``on_token`` is given); raises ``LlmError``."""
        if self.breaker.is_open:
            raise LlmError("breaker_open")
        attempt = 0
        while True:
            attempt += 1
            emitted: list[bool] = [False]
            try:
                reply = await asyncio.wait_for(
                    self._once(messages, on_token, emitted, attempt, max_tokens),
                    timeout=self.settings.timeout_seconds,
                )
            except TimeoutError:
                error = LlmError("timeout", retryable=not emitted[0])
            except LlmError as exc:
                error = exc
            except httpx.TransportError as exc:
                error = LlmError(f"transport_{type(exc).__name__}", retryable=not emitted[0])
            else:
                self.breaker.record(ok=True)
                return reply
            retry = error.retryable and not emitted[0] and attempt <= self.settings.max_retries
            log.warning("chat.llm_failed", reason=error.reason, attempt=attempt, retry=retry)
            if not retry:
                self.breaker.record(ok=False)
                raise error
            await asyncio.sleep(self.settings.retry_backoff_seconds * 2 ** (attempt - 1))

    async def _once(
        self,
        messages: list[dict[str, str]],
        on_token: TokenSink | None,
        emitted: list[bool],
        attempt: int,
        max_tokens: int | None,
    ) -> LlmReply:
        body = {
            "model": self.settings.model,
            "messages": messages,
            "temperature": 0,
            "max_tokens": max_tokens or self.settings.max_tokens,
            "stream": on_token is not None,
        }
        if on_token is not None:
            body["stream_options"] = {"include_usage": True}
        headers = {"Content-Type": "application/json"}
        key = self.settings.api_key.get_secret_value()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        url = self.settings.base_url.rstrip("/") + "/chat/completions"
        async with self._http.stream("POST", url, json=body, headers=headers) as response:
            if response.status_code >= 400:
                raise LlmError(
                    f"http_{response.status_code}",
                    retryable=response.status_code in _RETRYABLE_STATUS,
                )
            if on_token is None:
                return _parse_completion(await response.aread(), attempt)
            return await _read_stream(
                response, on_token, emitted, attempt, self.settings.first_token_timeout_seconds
            )


def _parse_completion(raw: bytes, attempt: int) -> LlmReply:
    try:
        data = json.loads(raw)
        choice = data["choices"][0]
        text = choice["message"]["content"]
        usage = data.get("usage") or {}
    except (ValueError, KeyError, IndexError, TypeError):
        raise LlmError("garbage") from None
    if not isinstance(text, str):
        raise LlmError("garbage")
    return LlmReply(
        text=text,
        prompt_tokens=int(usage.get("prompt_tokens", 0)),
        completion_tokens=int(usage.get("completion_tokens", 0)),
        attempts=attempt,
        finish_reason=choice.get("finish_reason"),
    )


async def _read_stream(
    response: httpx.Response,
    on_token: TokenSink,
    emitted: list[bool],
    attempt: int,
    first_timeout: float,
) -> LlmReply:
    parts: list[str] = []
    usage: dict[str, int] = {}
    finish: str | None = None
    lines = response.aiter_lines()
    while True:
        try:
            line = await (
                asyncio.wait_for(anext(lines), first_timeout) if not emitted[0] else anext(lines)
            )
        except StopAsyncIteration:
            break
        except TimeoutError:
            raise LlmError("first_token_timeout", retryable=True) from None
        if not line.startswith("data:"):
            continue
        payload = line[5:].strip()
        if payload == "[DONE]":
            break
        try:
            event = json.loads(payload)
            if event.get("usage"):
                usage = event["usage"]
            choices = event.get("choices") or []
            delta = choices[0].get("delta", {}).get("content") if choices else None
            finish = (choices[0].get("finish_reason") if choices else None) or finish
        except (ValueError, AttributeError, IndexError, TypeError):
            raise LlmError("garbage") from None
        if delta:
            if not isinstance(delta, str):
                raise LlmError("garbage")
            parts.append(delta)
            emitted[0] = True
            await on_token(delta)
    if not parts:
        raise LlmError("empty_answer")
    return LlmReply(
        text="".join(parts),
        prompt_tokens=int(usage.get("prompt_tokens", 0)),
        completion_tokens=int(usage.get("completion_tokens", 0)),
        attempts=attempt,
        finish_reason=finish,
    )
