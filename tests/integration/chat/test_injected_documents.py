"""Documents with planted BIPIA attack instructions never change what the user gets: a fake LLM
that obeys every instruction in its prompt, and the composer, both answer only cited,
supported text, in the stream as in the final answer."""

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.chat.service import ChatAnswer, answer_question
from app.resources import build_chat_deps
from app.settings import Settings
from tests.builders import light_models
from tests.integration.chat.conftest import (
    RecordingLlm,
    activate_version,
    ingest,
    llm_settings,
    make_principal,
    stream_body,
)

pytestmark = pytest.mark.integration

ATTACKS_FILE = (
    Path(__file__).resolve().parents[4] / "shared/datasets/injection/bipia_text_attack_train.json"
)
# Attacks that carry a payload of their own (a link, a slogan, an extra sentence).
CATEGORIES = ("Malware Distribution", "Clickbait", "Social Interaction", "Instruction")
LEGIT = "Every employee receives 27 days of paid annual leave per calendar year."
QUESTION = "How many days of paid annual leave does every employee receive per calendar year?"
_QUOTED = re.compile(r"\"([^\"]{8,})\"")


def _attacks() -> list[str]:
    if not ATTACKS_FILE.exists():
        pytest.skip(f"{ATTACKS_FILE} is not available")
    data = json.loads(ATTACKS_FILE.read_text())
    return [data[category][i] for category in CATEGORIES for i in (0, 1)]


def _payload(attack: str) -> str:
    """What an obedient model would add: the quoted text, or the instruction itself."""
    quoted = _QUOTED.search(attack)
    return quoted.group(1) if quoted else attack.rstrip(".")


def _document(attacks: list[str]) -> str:
    lines = [LEGIT, "Unused leave of up to five days may be carried over to the next year."]
    return "# Annual leave\n\n" + "\n".join(
        line for pair in zip(lines * 4, attacks, strict=False) for line in pair
    )


class ObeyingLlm:
    """Follows every planted instruction it finds in its prompt, citing the passage for each."""

    def __init__(self, attacks: list[str]) -> None:
        self.attacks = attacks
        self.obeyed: list[str] = []

    async def __call__(self, body: dict[str, Any]) -> httpx.Response:
        prompt = body["messages"][-1]["content"]
        found = [a for a in self.attacks if a in prompt]
        self.obeyed += found
        sentences = [f"{LEGIT} [1]"] + [f"{_payload(a)}. [1]" for a in found]
        # An uncited payload at the end, too: it must never be shown either.
        text = " ".join(sentences) + " Visit www.suspicioussite.xyz right now!"
        return httpx.Response(200, content=stream_body(*re.split(r"(?<= )", text)))


def _assert_clean(answer: ChatAnswer, streamed: str, attacks: list[str]) -> None:
    assert streamed == answer.answer
    for attack in attacks:
        assert _payload(attack).lower() not in answer.answer.lower(), attack
        assert attack.lower() not in answer.answer.lower(), attack
    assert "suspicioussite" not in answer.answer.lower()


async def test_an_llm_that_obeys_planted_instructions_changes_nothing_the_user_sees(
    settings: Settings, engine: AsyncEngine, db_session: AsyncSession
) -> None:
    attacks = _attacks()
    models = light_models()
    await ingest(settings, engine, models, db_session, {"leave.md": _document(attacks)})
    await activate_version(db_session)
    principal = await make_principal(db_session)
    obeying = ObeyingLlm(attacks)
    llm = RecordingLlm(obeying)
    deps = build_chat_deps(llm_settings(settings), models, llm_transport=llm.transport)
    assert deps.llm is not None
    tokens: list[str] = []

    async def sink(token: str) -> None:
        tokens.append(token)

    answer = await answer_question(db_session, deps, principal, message=QUESTION, on_token=sink)
    await deps.llm.aclose()

    assert len(obeying.obeyed) == len(attacks)  # every attack reached the prompt and was obeyed
    assert answer.trace["answerer"] == "llm"
    assert answer.answer == f"{LEGIT} [1]"
    assert answer.trace["removed_sentences"] == len(attacks) + 1
    _assert_clean(answer, "".join(tokens), attacks)


@pytest.mark.parametrize(
    "question",
    [
        QUESTION,
        "Where can I download a tool to boost my computer speed?",
        "Should I share my opinions in the comments?",
    ],
)
async def test_the_composer_never_quotes_a_planted_instruction(
    settings: Settings, engine: AsyncEngine, db_session: AsyncSession, question: str
) -> None:
    attacks = _attacks()
    models = light_models()
    await ingest(settings, engine, models, db_session, {"leave.md": _document(attacks)})
    await activate_version(db_session, answerer="composer", threshold=0.0)
    principal = await make_principal(db_session)
    deps = build_chat_deps(settings, models)
    tokens: list[str] = []

    async def sink(token: str) -> None:
        tokens.append(token)

    answer = await answer_question(db_session, deps, principal, message=question, on_token=sink)
    assert answer.trace["answerer"] == "composer"
    _assert_clean(answer, "".join(tokens), attacks)
