"""Markdown and HTML to sections: headings become the heading path, markup noise goes.

Markdown is read line by line (no markdown library); HTML goes through BeautifulSoup with the
standard library's ``html.parser``.
"""

import re
import warnings

from bs4 import BeautifulSoup, CData, Tag
from bs4.element import NavigableString, PageElement

from ingestion.normalize import decode_text, normalize_text
from ingestion.parsed import SectionCollector

_FRONT_MATTER_END = re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.MULTILINE)
_FRONT_MATTER_KEY = re.compile(r"^([A-Za-z_][\w-]*)[ \t]*:[ \t]*(.*?)[ \t]*$")
_FRONT_MATTER_ITEM = re.compile(r"^[ \t]+-[ \t]+(.+?)[ \t]*$")
_FRONT_MATTER_MAX_CHARS = 20_000

_ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT_UNDERLINE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_DROPPED_LINE = re.compile(
    r"^ {0,3}(?:([-*_])(?:[ \t]*\1){2,}"  # thematic break
    r"|\|?[ \t]*:?-{3,}:?[ \t]*(?:\|[ \t]*:?-{3,}:?[ \t]*)*\|?"  # table delimiter row
    r"|\[[^\]]+\]:[ \t]+\S+.*)[ \t]*$"  # link reference definition
)
_BLOCKQUOTE = re.compile(r"^ {0,3}(?:>[ \t]?)+")
# Linear on any input: every repeated class excludes the rule's own opening character, so
# a long line full of unmatched "[", "(", "<" or "*" cannot make a rule rescan it.
_INLINE_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"!\[([^\[\]\n]{0,500})\]\([^()\n]{0,2000}\)"), r"\1"),
    (re.compile(r"\[([^\[\]\n]{1,500})\]\([^()\n]{0,2000}\)"), r"\1"),
    (re.compile(r"\[([^\[\]\n]{1,500})\]\[[^\[\]\n]{0,500}\]"), r"\1"),
    (re.compile(r"<((?:https?|mailto):[^<>\s]{1,2000})>"), r"\1"),
    (re.compile(r"</?[A-Za-z][A-Za-z0-9-]{0,30}(?:\s[^<>]{0,1000})?/?>"), ""),
)
# Emphasis markers are dropped where they touch a word on one side only (not in snake_case).
_EMPHASIS = re.compile(
    r"(?<![\w*_~])(?:\*{1,3}|_{1,3}|~~)(?=[^\s*_~])|(?<=[^\s*_~])(?:\*{1,3}|_{1,3}|~~)(?![\w*_~])"
)
_CODE_SPAN = re.compile(r"(`[^`\n]{1,500}`)")

_HEADING_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_DROPPED_TAGS = frozenset(
    {
        *("script", "style", "nav", "footer", "noscript", "template", "svg", "iframe"),
        *("head", "object", "canvas", "button", "select"),
    }
)
_BLOCK_TAGS = frozenset(
    {
        *("p", "div", "li", "ul", "ol", "dl", "dt", "dd", "tr", "table", "section", "article"),
        *("main", "aside", "header", "blockquote", "pre", "figure", "figcaption", "form"),
        *("fieldset", "address", "details", "summary", "caption", "hr", "body", "html"),
    }
)
_CELL_TAGS = frozenset({"td", "th"})
_DECLARED_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)


def split_front_matter(text: str) -> tuple[dict[str, str], str]:
    """Split ``---``-fenced ``key: value`` front matter from the body.

    Keys are lower-cased; quotes around values are removed; ``[a, b]`` and indented ``- a``
    lists become ``"a, b"``. Anything that is not a simple key line is ignored.
    """
    if not text.startswith("---\n"):
        return {}, text
    end = _FRONT_MATTER_END.search(text, 4, 4 + _FRONT_MATTER_MAX_CHARS)
    if end is None:
        return {}, text
    metadata: dict[str, str] = {}
    key = ""
    for line in text[4 : end.start()].split("\n"):
        if (item := _FRONT_MATTER_ITEM.match(line)) and key:
            value = _unquote(item.group(1))
            metadata[key] = f"{metadata[key]}, {value}" if metadata[key] else value
        elif match := _FRONT_MATTER_KEY.match(line):
            key = match.group(1).lower()
            metadata[key] = _front_matter_value(match.group(2))
    return metadata, text[end.end() :].lstrip("\n")


def _front_matter_value(raw: str) -> str:
    value = _unquote(raw)
    if value.startswith("[") and value.endswith("]"):
        return ", ".join(_unquote(item) for item in value[1:-1].split(",") if item.strip())
    return value


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def clean_inline(line: str) -> str:
    """Strip inline markdown syntax: links keep their text, emphasis markers go.

    Code spans lose their backticks but are otherwise kept verbatim.
    """
    parts = _CODE_SPAN.split(line)
    for index, part in enumerate(parts):
        if index % 2:
            parts[index] = part[1:-1]
            continue
        cleaned = part
        for pattern, replacement in _INLINE_RULES:
            cleaned = pattern.sub(replacement, cleaned)
        parts[index] = _EMPHASIS.sub("", cleaned)
    return "".join(parts)


def parse_markdown(text: str, collector: SectionCollector) -> dict[str, str]:
    """Fill ``collector`` from markdown ``text``; returns the front matter."""
    metadata, body = split_front_matter(normalize_text(text))
    lines = body.split("\n")
    fence = ""
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if fence:
            if line.lstrip().startswith(fence):
                fence = ""
            else:
                collector.add(line + "\n")
        elif match := _FENCE.match(line):
            fence = match.group(1)
        elif match := _ATX_HEADING.match(line):
            collector.heading(len(match.group(1)), clean_inline(match.group(2) or ""))
        elif _is_setext_heading(lines, index, line):
            level = 1 if lines[index].strip().startswith("=") else 2
            collector.heading(level, clean_inline(line.strip()))
            index += 1
        elif not _DROPPED_LINE.match(line):
            collector.add(clean_inline(_BLOCKQUOTE.sub("", line)) + "\n")
    return metadata


def _is_setext_heading(lines: list[str], next_index: int, line: str) -> bool:
    return (
        next_index < len(lines)
        and bool(line.strip())
        and not line.startswith(("    ", "\t", "- ", "* ", "+ ", "|"))
        and _SETEXT_UNDERLINE.match(lines[next_index]) is not None
        and (next_index < 2 or not lines[next_index - 2].strip())
    )


def parse_html(
    data: bytes, collector: SectionCollector, notes: list[str] | None = None
) -> str | None:
    """Fill ``collector`` from HTML bytes; returns the ``<title>`` or first ``<h1>`` text.
    What decoding repaired is appended to ``notes``."""
    declared = _DECLARED_CHARSET.search(data[:4096])
    text = decode_text(
        data,
        declared=declared.group(1).decode("ascii") if declared else None,
        warnings=notes,
    )
    with warnings.catch_warnings():
        # bs4 warns about markup that looks like a URL or XML; neither matters here.
        warnings.simplefilter("ignore")
        soup = BeautifulSoup(text, "html.parser")
    title = _html_title(soup)
    _walk(soup, collector)
    return title


def _walk(root: Tag, collector: SectionCollector) -> None:
    """Depth-first, with an explicit stack: deep nesting can neither recurse nor go quadratic.

    The tree is never modified (bs4 insertions next to deeply nested tags are quadratic).
    """
    stack: list[tuple[PageElement, bool]] = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        if leaving:
            collector.add("\n")
        elif isinstance(node, NavigableString):
            if type(node) in (NavigableString, CData):  # not comments, doctypes, scripts
                collector.add(str(node))
        elif isinstance(node, Tag) and node.name not in _DROPPED_TAGS:
            name = node.name
            if name in _HEADING_TAGS:
                collector.heading(int(name[1]), node.get_text(" ", strip=True))
                continue
            if name == "br":
                collector.add("\n")
            elif name in _CELL_TAGS:
                collector.add(" | " if _follows_cell(node) else " ")
            elif name in _BLOCK_TAGS:
                collector.add("\n")
                stack.append((node, True))
            stack.extend((child, False) for child in reversed(node.contents))


def _follows_cell(cell: Tag) -> bool:
    sibling = cell.previous_sibling
    while isinstance(sibling, NavigableString) and not sibling.strip():
        sibling = sibling.previous_sibling
    return isinstance(sibling, Tag) and sibling.name in _CELL_TAGS


def _html_title(soup: BeautifulSoup) -> str | None:
    candidates: list[Tag | None] = [soup.title, soup.find("h1")]
    for candidate in candidates:
        if candidate is not None:
            title = " ".join(candidate.get_text(" ", strip=True).split())
            if title:
                return title
    return None
