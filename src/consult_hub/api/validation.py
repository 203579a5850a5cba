"""Check request bodies and query strings against the schemas the OpenAPI document publishes.

Only the part of JSON Schema the API uses is understood: closed objects, arrays, strings
(length, enum, ``date``/``date-time`` formats), integers (bounds), booleans and ``null``.
Values come back converted: dates as ``date``, date-times as aware UTC ``datetime``.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, date, datetime
from typing import Any

from flask import request

from consult_hub.api.errors import ApiError
from consult_hub.api.schemas import MAX_YEAR, MIN_YEAR, Schema
from consult_hub.core.forms import FORBIDDEN_CHARACTERS
from consult_hub.core.i18n import gettext as _
from consult_hub.core.params import BadParam, to_int

# C0 controls other than tab and newlines, DEL, C1 controls, bidi overrides and lone
# surrogates (not UTF-8 encodable): PostgreSQL refuses NUL in text, and none of them belong
# in what people type. The forms drop or refuse the same set (core/forms.py).
_FORBIDDEN = FORBIDDEN_CHARACTERS
_QUERY_INT_MAX = 10**15 - 1  # past every schema's bounds, short of any overflow


def json_body(schema: Schema) -> dict[str, Any]:
    """The request's JSON object, checked against ``schema``; 415, 400 or 422 otherwise."""
    if request.mimetype != "application/json":
        raise ApiError(415, _("请求内容应为 JSON(Content-Type: application/json)"))
    try:
        data = json.loads(request.get_data(), parse_constant=_no_constants)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ApiError(400, _("请求内容不是有效的 JSON"), code="malformed_json") from None
    if not isinstance(data, dict):
        raise ApiError(400, _("请求内容应为 JSON 对象"), code="malformed_json")
    errors: dict[str, str] = {}
    value = check(schema, data, "", errors)
    if errors:
        raise ApiError(422, _("请修改标出的字段"), fields=errors)
    return value


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def check(schema: Schema, value: Any, path: str, errors: dict[str, str]) -> Any:
    """Check ``value``; messages go into ``errors`` under its path (``problems[0].title``)."""
    types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    if value is None:
        if "null" not in types:
            errors[path] = _("不能为空（null）")
        return None
    kind = next((t for t in types if _is_type(t, value)), None)
    if kind is None:
        errors[path] = _type_message(types)
        return None
    if kind == "object":
        return _check_object(schema, value, path, errors)
    if kind == "array":
        return _check_array(schema, value, path, errors)
    if kind == "string":
        return _check_string(schema, value, path, errors)
    if kind == "integer":
        return _check_integer(schema, int(value), path, errors)
    return value


_PYTHON_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool}


def _is_type(kind: str, value: Any) -> bool:
    if kind == "integer":  # JSON Schema counts 2.0 as an integer; booleans are not numbers
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and math.isfinite(value) and value.is_integer())
    python_type = _PYTHON_TYPES.get(kind)
    return python_type is not None and isinstance(value, python_type)


def _type_message(types: list[str]) -> str:
    names = {"string": _("字符串"), "integer": _("整数"), "boolean": _("true 或 false"),
             "array": _("数组"), "object": _("对象")}
    wanted = [names[t] for t in types if t in names]
    return _("类型不对：应为%(types)s", types=_("或").join(wanted))


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _check_object(schema: Schema, value: dict[str, Any], path: str,
                  errors: dict[str, str]) -> dict[str, Any]:
    properties: dict[str, Schema] = schema.get("properties", {})
    result: dict[str, Any] = {}
    for name in value:
        if name not in properties:
            errors[_join(path, name)] = _("不接受这个字段")
    for name, field_schema in properties.items():
        if name in value:
            result[name] = check(field_schema, value[name], _join(path, name), errors)
        elif name in schema.get("required", ()):
            errors[_join(path, name)] = _("必填")
        elif "default" in field_schema:
            result[name] = field_schema["default"]
    return result


def _check_array(schema: Schema, value: list[Any], path: str, errors: dict[str, str]) -> list[Any]:
    limit = schema.get("maxItems")
    if limit is not None and len(value) > limit:
        errors[path] = _("最多 %(n)s 项", n=limit)
        return []
    return [check(schema["items"], item, f"{path}[{index}]", errors)
            for index, item in enumerate(value)]


def _check_string(schema: Schema, value: str, path: str, errors: dict[str, str]) -> Any:
    if _FORBIDDEN.search(value):
        errors[path] = _("含有不允许的控制字符")
        return None
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        errors[path] = _("不超过 %(n)s 个字符", n=schema["maxLength"])
        return None
    if "minLength" in schema and len(value) < schema["minLength"]:
        errors[path] = _("至少 %(n)s 个字符", n=schema["minLength"])
        return None
    if "enum" in schema and value not in schema["enum"]:
        # A nullable enum lists null too (schemas.nullable); null never reaches here.
        values = ", ".join(v for v in schema["enum"] if v is not None)
        errors[path] = _("取值应为：%(values)s", values=values)
        return None
    if "pattern" in schema and not re.search(schema["pattern"], value):
        errors[path] = _("格式不对")
        return None
    fmt = schema.get("format")
    if fmt == "date-time":
        return _parse_datetime(value, path, errors)
    if fmt == "date":
        return _parse_date(value, path, errors)
    return value


def _check_integer(schema: Schema, value: int, path: str, errors: dict[str, str]) -> int | None:
    low, high = schema.get("minimum"), schema.get("maximum")
    if (low is not None and value < low) or (high is not None and value > high):
        errors[path] = _("应在 %(low)s 到 %(high)s 之间", low=low, high=high)
        return None
    return value


def _parse_datetime(value: str, path: str, errors: dict[str, str]) -> datetime | None:
    message = _("应为带时区的日期时间，如 2025-03-01T09:30:00+08:00")
    try:
        parsed = datetime.fromisoformat(value.upper())
    except ValueError:
        errors[path] = message
        return None
    if parsed.tzinfo is None:
        errors[path] = message
        return None
    try:
        parsed = parsed.astimezone(UTC)
    except OverflowError:
        parsed = None
    if parsed is None or not MIN_YEAR <= parsed.year <= MAX_YEAR:
        errors[path] = _("时间应在 %(low)s 年到 %(high)s 年之间", low=MIN_YEAR, high=MAX_YEAR)
        return None
    return parsed


def _parse_date(value: str, path: str, errors: dict[str, str]) -> date | None:
    try:
        parsed = date.fromisoformat(value) if value.isascii() else None
    except ValueError:
        parsed = None
    if parsed is None:
        errors[path] = _("应为日期，如 2025-03-01")
        return None
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        errors[path] = _("日期应在 %(low)s 年到 %(high)s 年之间", low=MIN_YEAR, high=MAX_YEAR)
        return None
    return parsed


# --- Query strings --------------------------------------------------------------------------


def query_args(parameters: list[Schema]) -> dict[str, Any]:
    """The query parameters the operation declares, converted; 400 naming any that is wrong.

    An empty value counts as absent; parameters the operation does not declare are ignored.
    """
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for parameter in parameters:
        if parameter["in"] != "query":
            continue
        name, schema = parameter["name"], parameter["schema"]
        raw = request.args.get(name, "")
        if raw == "":
            values[name] = schema.get("default")
            continue
        values[name] = _from_query(schema, raw, name, errors)
    if errors:
        raise ApiError(400, _("查询参数不正确"), code="invalid_parameter", fields=errors)
    return values


def _from_query(schema: Schema, raw: str, name: str, errors: dict[str, str]) -> Any:
    kind = schema["type"]
    if kind == "integer":
        try:  # the shared parser's syntax; the schema's bounds say the message
            number = to_int(raw, low=-_QUERY_INT_MAX, high=_QUERY_INT_MAX)
        except BadParam:
            errors[name] = _("应为整数")
            return None
        return _check_integer(schema, number, name, errors)
    if kind == "boolean":
        lowered = raw.lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
        errors[name] = _("应为 true 或 false")
        return None
    return _check_string(schema, raw, name, errors)
