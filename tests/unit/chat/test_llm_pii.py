"""The LLM answerer under the PII policy: nothing personal leaves in the request, placeholders
come back as the user's own values, and invented personal data is redacted from the answer."""

import json
import re

import httpx

from app.chat.generation import Generators, draft_answer
from app.chat.llm import LlmClient
from app.chat.sentence_pool import SentencePool
from app.settings import LlmSettings
from guardrails.policy import PiiGuard, PiiPolicy
from retrieval.types import RetrievalResult
from tests.fakes import HashingEmbedder
from tests.unit.chat.test_llm_answerer import LEAVE, VERSION, _stream_body
from tests.unit.guardrails.test_pii_guard import RegexRedactor

QUESTION = "I am Ann Lee, ann@example.com: how many days of paid annual leave do employees get?"


async def test_question_is_pseudonymised_out_and_restored_back_with_invented_data_redacted() -> (
    None
):
    bodies: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content.decode())
        person = re.findall(r"<PERSON_\d+>", json.loads(request.content)["messages"][1]["content"])
        reply = (
            f"{person[0]}, every employee receives 27 days of paid annual leave per calendar "
            "year, hr@corp.com says. [1]"
        )
        return httpx.Response(200, content=_stream_body(reply))

    client = LlmClient(
        LlmSettings(base_url="http://llm.test/v1", model="m", retry_backoff_seconds=0.0),
        httpx.AsyncClient(transport=httpx.MockTransport(handler)),
    )
    gen = Generators(
        embedder=HashingEmbedder(),
        pool=SentencePool(),
        llm=client,
        pii=PiiGuard(PiiPolicy(), RegexRedactor()),
    )
    draft = await draft_answer(gen, VERSION, QUESTION, RetrievalResult([LEAVE], 0.9))

    assert "Ann Lee" not in bodies[0] and "ann@example.com" not in bodies[0]
    assert draft.answerer == "llm", draft.trace.get("fallback")
    assert draft.answer.startswith("Ann Lee, every employee receives 27 days")
    assert "hr@corp.com" not in draft.answer and "<EMAIL_ADDRESS>" in draft.answer
    assert draft.trace["answer_pii_redacted"] == 1
