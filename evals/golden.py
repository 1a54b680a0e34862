"""The golden-set JSONL format (see ``evals/golden/README.md``): load, validate, append.

One ``GoldenCase`` per line. Loading is strict: an unknown field, a wrong type or a
duplicate id is a ``GoldenFormatError`` naming the file and line, so a typo in a
hand-written case fails loudly instead of silently scoring nothing.
"""

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

GOLDEN_DIR = Path(__file__).parent / "golden"
DEMO_FILES = ("demo.jsonl", "near_domain_oos.jsonl")
ACCEPTED_FILE = GOLDEN_DIR / "accepted.jsonl"

_LIST_FIELDS = (
    "groups",
    "expected_sources",
    "expected_pages",
    "expected_facts",
    "forbidden_facts",
    "history",
    "tags",
)
_BOOL_FIELDS = ("must_handoff", "must_refuse")
_KNOWN = {"id", "question", *_LIST_FIELDS, *_BOOL_FIELDS}


class GoldenFormatError(ValueError):
    """A golden file line that does not follow the documented format."""


@dataclass(frozen=True)
class GoldenCase:
    """One evaluation case; list fields default to empty, flags to False."""

    id: str
    question: str
    groups: tuple[str, ...] = ()
    expected_sources: tuple[str, ...] = ()
    expected_pages: tuple[str, ...] = ()
    expected_facts: tuple[str, ...] = ()
    forbidden_facts: tuple[str, ...] = ()
    must_handoff: bool = False
    must_refuse: bool = False
    history: tuple[str, ...] = ()
    tags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def answerable(self) -> bool:
        return not self.must_handoff and not self.must_refuse

    def to_json(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def parse_case(data: object, *, where: str = "<case>") -> GoldenCase:
    """Validate one decoded JSON object; raise ``GoldenFormatError`` naming ``where``."""
    if not isinstance(data, dict):
        raise GoldenFormatError(f"{where}: a case must be a JSON object")
    unknown = set(data) - _KNOWN
    if unknown:
        raise GoldenFormatError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    for name in ("id", "question"):
        if not isinstance(data.get(name), str) or not data[name].strip():
            raise GoldenFormatError(f"{where}: '{name}' must be a non-empty string")
    values: dict[str, Any] = {"id": data["id"], "question": data["question"]}
    for name in _LIST_FIELDS:
        raw = data.get(name, [])
        if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
            raise GoldenFormatError(f"{where}: '{name}' must be a list of strings")
        values[name] = tuple(raw)
    for name in _BOOL_FIELDS:
        raw = data.get(name, False)
        if not isinstance(raw, bool):
            raise GoldenFormatError(f"{where}: '{name}' must be true or false")
        values[name] = raw
    case = GoldenCase(**values)
    if case.must_handoff and case.expected_sources:
        raise GoldenFormatError(f"{where}: a must_handoff case cannot expect sources")
    for page in case.expected_pages:
        name, sep, number = page.partition("#page=")
        if not sep or not number.isdigit() or name not in case.expected_sources:
            raise GoldenFormatError(
                f"{where}: expected page {page!r} must be 'file#page=N' of an expected source"
            )
    return case


def load_golden(path: Path) -> list[GoldenCase]:
    """Every case of one JSONL file, validated; blank lines are ignored."""
    cases: list[GoldenCase] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path.name}:{number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise GoldenFormatError(f"{where}: not JSON ({exc.msg})") from None
        cases.append(parse_case(data, where=where))
    _check_unique(cases, path.name)
    return cases


def load_many(paths: Iterable[Path]) -> list[GoldenCase]:
    """Cases of several files; ids must be unique across all of them."""
    cases = [case for path in paths for case in load_golden(path)]
    _check_unique(cases, "golden sets")
    return cases


def demo_cases(
    *, include_accepted: bool = False, accepted: Path = ACCEPTED_FILE
) -> list[GoldenCase]:
    """The committed demo golden sets, plus admin-accepted cases when asked and present."""
    paths = [GOLDEN_DIR / name for name in DEMO_FILES]
    if include_accepted and accepted.exists():
        paths.append(accepted)
    return load_many(paths)


def append_case(path: Path, case: GoldenCase, *, existing: Sequence[GoldenCase] = ()) -> None:
    """Append ``case`` as one line; refuses an id already present in ``path`` or ``existing``."""
    present = list(existing) + (load_golden(path) if path.exists() else [])
    if any(c.id == case.id for c in present):
        raise GoldenFormatError(f"case id {case.id!r} already exists")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(case.to_json(), ensure_ascii=False) + "\n")


def _check_unique(cases: Sequence[GoldenCase], where: str) -> None:
    seen: set[str] = set()
    for case in cases:
        if case.id in seen:
            raise GoldenFormatError(f"{where}: duplicate case id {case.id!r}")
        seen.add(case.id)
