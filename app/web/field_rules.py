"""The rule a request field declares, in words, for the 422 that names the field.

msgspec says which bound a value broke (``Expected `int` >= 1``); the use cases' messages name
the whole rule (``limit must be between 1 and 200``), so the field's declared type is looked up
on the handler and described the same way.
"""

import re

import msgspec
from litestar.handlers import BaseRouteHandler
from litestar.params import ParameterKwarg

# msgspec's messages for a value of the right type that breaks a declared constraint; the rest
# (wrong type, missing or unknown field, malformed JSON) say the request has the wrong shape.
_CONSTRAINT = re.compile(
    r"^(Expected `\w+` (of length |matching regex |that's a multiple of |[<>]=? )"
    r"|Invalid enum value )"
)
# ``app.web.errors`` keys: ``name``, ``name[3]`` (an item), or ``data`` with the field quoted.
_QUOTED_FIELD = re.compile(r"field `([^`]+)`")
_SEQUENCES = (
    msgspec.inspect.ListType,
    msgspec.inspect.SetType,
    msgspec.inspect.FrozenSetType,
    msgspec.inspect.VarTupleType,
)


def breaks_constraint(message: str) -> bool:
    return _CONSTRAINT.match(message) is not None


def field_name(key: str | None, message: str) -> str | None:
    """The request field an error is about: ``groups`` for ``groups[0]``, the quoted name for
    a missing or unknown field; None for the body as a whole."""
    if key and key != "data":
        return key.split("[", 1)[0]
    quoted = _QUOTED_FIELD.search(message)
    return quoted.group(1) if quoted else None


def describe(
    handler: BaseRouteHandler, key: str, *, source: str | None, message: str
) -> str | None:
    """``must be one of up, down``-style words for the rule ``key`` declares, if it declares one."""
    declared = _declared(handler, key.split("[", 1)[0], source)
    if declared is not None and "[" in key:
        declared = declared.item_type if isinstance(declared, _SEQUENCES) else None
    return None if declared is None else _words(_unwrap(declared), message)


def _declared(
    handler: BaseRouteHandler, name: str, source: str | None
) -> msgspec.inspect.Type | None:
    parameters = handler.parsed_fn_signature.parameters
    if source == "body":
        data = parameters.get("data")
        info = None if data is None else msgspec.inspect.type_info(data.annotation)
        if not isinstance(info, msgspec.inspect.StructType):
            return None
        return next((f.type for f in info.fields if f.encode_name == name), None)
    parameter = parameters.get(name)
    if parameter is None:
        return None
    declared = msgspec.inspect.type_info(parameter.annotation)
    bounds = parameter.kwarg_definition
    numeric = (msgspec.inspect.IntType, msgspec.inspect.FloatType)
    if isinstance(bounds, ParameterKwarg) and isinstance(declared, numeric):
        return msgspec.structs.replace(
            declared, gt=bounds.gt, ge=bounds.ge, lt=bounds.lt, le=bounds.le
        )
    return declared


def _unwrap(declared: msgspec.inspect.Type) -> msgspec.inspect.Type:
    if isinstance(declared, msgspec.inspect.Metadata):
        return _unwrap(declared.type)
    if isinstance(declared, msgspec.inspect.UnionType):
        present = [t for t in declared.types if not isinstance(t, msgspec.inspect.NoneType)]
        return _unwrap(present[0]) if len(present) == 1 else declared
    return declared


def _words(declared: msgspec.inspect.Type, message: str) -> str | None:
    if isinstance(declared, msgspec.inspect.LiteralType):
        return f"must be one of {', '.join(str(v) for v in declared.values)}"
    if isinstance(declared, msgspec.inspect.IntType | msgspec.inspect.FloatType):
        return _range(declared)
    if isinstance(declared, msgspec.inspect.StrType):
        if declared.pattern is not None and "matching regex" in message:
            return f"must match the pattern {declared.pattern}"
        return _length(declared.min_length, declared.max_length, "characters")
    if isinstance(declared, _SEQUENCES):
        return _length(declared.min_length, declared.max_length, "entries")
    return None


def _range(declared: msgspec.inspect.IntType | msgspec.inspect.FloatType) -> str | None:
    low, high = declared.ge, declared.le
    if low is not None and high is not None:
        return f"must be between {low:,} and {high:,}"
    parts = []
    if low is not None or declared.gt is not None:
        parts.append(f"at least {low:,}" if low is not None else f"greater than {declared.gt:,}")
    if high is not None or declared.lt is not None:
        parts.append(f"at most {high:,}" if high is not None else f"less than {declared.lt:,}")
    return f"must be {' and '.join(parts)}" if parts else None


def _length(low: int | None, high: int | None, unit: str) -> str | None:
    verb = "be" if unit == "characters" else "have"
    if low is not None and high is not None:
        return f"must {verb} {low:,} to {high:,} {unit}"
    if high is not None:
        return f"must {verb} at most {high:,} {unit}"
    if low == 1:
        return "must not be empty" if unit == "characters" else "must have at least one entry"
    if low is not None:
        return f"must {verb} at least {low:,} {unit}"
    return None
