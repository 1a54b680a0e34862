"""Text decoding and normalisation shared by every parser.

Owns the checks on raw text: binary content, undetectable encodings, endless lines, size.
"""

import re
import unicodedata

import charset_normalizer

from app.errors import DocumentRejected

MAX_LINE_CHARS = 100_000
"""Longest run of text allowed without a line break or a sentence end."""

_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
_BINARY_MAGIC = (
    b"%PDF-",
    b"PK\x03\x04",
    b"\x89PNG",
    b"\xff\xd8\xff",
    b"GIF8",
    b"\x7fELF",
    b"\x1f\x8b",
    b"\xfd7zXZ",
    b"7z\xbc\xaf",
    b"Rar!",
    b"\xd0\xcf\x11\xe0",  # OLE2: legacy .doc/.xls
)
_TEXT_CONTROLS = frozenset(b"\t\n\r\f\v\x1b")
# Western code pages are preferred among equally plausible guesses: short Latin-1 text is
# otherwise often read as a Baltic or Central European code page.
_PREFERRED_ENCODINGS = ("utf_8", "cp1252", "latin_1", "iso8859_15")
_MAX_CHAOS = 0.2
# UTF-8 text may carry this many invalid byte sequences (or one per this many characters,
# whichever is more) and still be read, with U+FFFD in their place and a warning.
_MAX_STRAY_SEQUENCES = 3
_STRAY_PER_CHARS = 1000
_MAX_ODD_SHARE = 0.05

_LINE_BREAKS = re.compile(r"\r\n?|[\x0b\x0c\x85\u2028\u2029]")
_INVISIBLE = re.compile("[\u00ad\u200b\u2060\ufeff]")
# Unicode category Cc (C0, DEL, C1) except tab and newline, plus lone surrogates (Cs).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_HORIZONTAL_SPACE = re.compile(r"[^\S\n]+")
_TRAILING_SPACE = re.compile(r" +\n")
_MANY_NEWLINES = re.compile(r"\n{3,}")
_LINE_OR_SENTENCE_BREAK = re.compile(r"[^\n.!?。！？]+")
_HYPHENATED_BREAK = re.compile(r"(\w)-\n(?=[a-zà-ÿ])")
_LIST_START = re.compile(r"[-•*▪◦–]\s|\d{1,3}[.)]\s|[a-zA-Z][.)]\s")
_MIN_WRAPPED_LINE_CHARS = 40


def decode_text(
    data: bytes, *, declared: str | None = None, warnings: list[str] | None = None
) -> str:
    """Decode bytes of a text format, or raise DocumentRejected with the reason.

    Order: byte-order mark, strict UTF-8, the encoding the file declares (HTML ``charset``),
    UTF-8 with a few stray bytes (replaced by U+FFFD, and a note appended to ``warnings``),
    then charset-normalizer; a guess that still reads as garbage is refused.
    """
    if not data.strip():
        raise DocumentRejected("the file is empty")
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                raise DocumentRejected("the text encoding could not be detected") from None
    if looks_binary(data):
        raise DocumentRejected("the file looks binary, not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    if declared:
        try:
            text = data.decode(declared)
        except (UnicodeDecodeError, LookupError):
            pass
        else:
            if _reads_as_text(text):
                return text
    repaired = _damaged_utf8(data, first_bad, warnings)
    if repaired is not None:
        return repaired
    return _guess_encoding(data)


def _damaged_utf8(data: bytes, first_bad: int, warnings: list[str] | None) -> str | None:
    """UTF-8 with a few invalid bytes: the text with U+FFFD in their place, else None.

    It counts as UTF-8 when it has valid multi-byte characters, at least as many as invalid
    sequences: reading it in a single-byte code page instead would garble every one of them
    (mojibake such as "Ã©" across the whole file) to "fix" a few bytes, while in legacy text
    a valid UTF-8 pair (an accented capital and then a symbol such as "©") is rare. Too many
    invalid sequences in such a file is refused with where the first one is; legacy-encoded
    text goes on to detection."""
    text = data.decode("utf-8", errors="replace")
    invalid = text.count("\ufffd") - data.count("\ufffd".encode())
    multibyte = sum(1 for char in text if ord(char) > 0x7F) - text.count("\ufffd")
    if multibyte == 0 or multibyte < invalid:
        return None
    line = data.count(b"\n", 0, first_bad) + 1
    where = f"first at line {line}, byte {first_bad:,}"
    if invalid > max(_MAX_STRAY_SEQUENCES, len(text) // _STRAY_PER_CHARS):
        raise DocumentRejected(
            f"the file is UTF-8 but has {invalid:,} invalid byte sequences ({where}); "
            "re-save it as UTF-8"
        )
    if warnings is not None:
        noun = "sequence" if invalid == 1 else "sequences"
        warnings.append(f"{invalid} invalid UTF-8 byte {noun} replaced with U+FFFD ({where})")
    return text


def looks_binary(data: bytes) -> bool:
    """True for NUL bytes, a known binary signature or many control bytes near the start."""
    sample = data[:8192]
    if b"\x00" in sample or sample.startswith(_BINARY_MAGIC):
        return True
    controls = sum(1 for byte in sample if byte < 0x20 and byte not in _TEXT_CONTROLS)
    return controls > len(sample) * 0.05


def _guess_encoding(data: bytes) -> str:
    matches = list(charset_normalizer.from_bytes(data))
    if not matches:
        raise DocumentRejected("the text encoding could not be detected")
    best_chaos = min(match.chaos for match in matches)
    plausible = [match for match in matches if match.chaos <= best_chaos + 0.01]
    chosen = plausible[0]
    for encoding in _PREFERRED_ENCODINGS:
        preferred = [match for match in plausible if match.encoding == encoding]
        if preferred:
            chosen = preferred[0]
            break
    text = str(chosen)
    if chosen.chaos > _MAX_CHAOS or not _reads_as_text(text):
        raise DocumentRejected("the text encoding could not be detected")
    return text


def _reads_as_text(text: str) -> bool:
    """True unless many characters are controls, unassigned, private-use or U+FFFD."""
    sample = text[:20_000]
    if not sample:
        return False
    odd = sum(
        1
        for char in sample
        if char == "\ufffd" or (char not in "\n\t\r" and unicodedata.category(char)[0] == "C")
    )
    return odd <= len(sample) * _MAX_ODD_SHARE


def normalize_text(text: str) -> str:
    """NFKC, no control characters but newline and tab, collapsed spaces, at most one blank line."""
    text = _LINE_BREAKS.sub("\n", text)
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE.sub("", text)
    text = _CONTROL.sub("", text)
    text = _HORIZONTAL_SPACE.sub(_collapse_space, text)
    text = _TRAILING_SPACE.sub("\n", text)
    text = _MANY_NEWLINES.sub("\n\n", text)
    return text.strip()


def _collapse_space(match: re.Match[str]) -> str:
    return "\t" if set(match.group()) == {"\t"} else " "


def unwrap_pdf_lines(text: str) -> str:
    """Undo PDF hard wrapping: join hyphenated words and lines broken mid-sentence.

    A line is joined to the next when it does not end a sentence or clause and either the
    next line starts in lower case or the line is long enough to have been wrapped; list
    items and short heading-like lines keep their line breaks.
    """
    text = _HYPHENATED_BREAK.sub(r"\1", text)
    lines = text.split("\n")
    out: list[str] = []
    for line in lines:
        stripped = line.strip()
        if out and out[-1] and stripped and _continues(out[-1], stripped):
            out[-1] = f"{out[-1]} {stripped}"
        else:
            out.append(stripped)
    return "\n".join(out)


def _continues(previous: str, line: str) -> bool:
    if previous[-1] in ".!?:;" or _LIST_START.match(line):
        return False
    return line[0].islower() or len(previous) >= _MIN_WRAPPED_LINE_CHARS


def check_line_lengths(text: str, *, limit: int = MAX_LINE_CHARS) -> None:
    """Reject text holding a run longer than ``limit`` without a line break or sentence end."""
    if len(text) <= limit:
        return
    for match in _LINE_OR_SENTENCE_BREAK.finditer(text):
        if match.end() - match.start() > limit:
            raise DocumentRejected(f"a line is longer than {limit:,} characters")


def check_size(chars: int, *, max_chars: int) -> None:
    """Reject extracted text over the configured character budget."""
    if chars > max_chars:
        raise DocumentRejected(f"the extracted text is longer than {max_chars:,} characters")
