"""Cell text and 指标值 (indicator targets): cleaning, numbers, ``operator + number + unit``.

Pure functions, no I/O. Every piece of text read from a cell goes through :func:`clean_text`
first, so the rest of the package only ever sees one spelling of digits, operators and spaces.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

# Text a unit typed is kept as typed, except for what is invisible or only looks like a space.
_INVISIBLE: dict[int, str | None] = {
    # ideographic and non-breaking spaces look like spaces, so they are spaces
    **{cp: " " for cp in (0x3000, 0x00A0, 0x2007, 0x202F)},
    # line/paragraph separators are newlines that Word pastes in
    0x2028: "\n", 0x2029: "\n",
    # invisible: zero-width characters and bidi controls only hide what is really typed
    **{cp: None for cp in (0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x200E, 0x200F,
                           *range(0x202A, 0x202F), *range(0x2066, 0x206A))},
}
# For numbers and comparisons only, full-width forms are folded to ASCII. Targeted, not NFKC:
# NFKC would also turn the Chinese punctuation of running text (，。：（）) into ASCII.
_FULL_WIDTH: dict[int, str] = {
    **{0xFF10 + i: chr(0x30 + i) for i in range(10)},  # ０-９
    **{0xFF21 + i: chr(0x41 + i) for i in range(26)},  # Ａ-Ｚ
    **{0xFF41 + i: chr(0x61 + i) for i in range(26)},  # ａ-ｚ
    **{ord(f): a for f, a in zip("＝＜＞％．＋－", "=<>%.+-")},
}
_DIGIT_COMMA = re.compile(r"(?<=[0-9])，(?=[0-9])")
_HAS_FULL_WIDTH = re.compile("[" + "".join(map(chr, _FULL_WIDTH)) + "，]")  # what fold_width may change
# str.translate looks up every character of CJK text; finding out first that there is nothing to change is
# about ten times cheaper, and most cells have nothing to change.
_HAS_INVISIBLE = re.compile("[" + "".join(map(chr, _INVISIBLE)) + "]")


def clean_text(value: str | None) -> str | None:
    """The one cleaning step for text from a cell; ``None`` when nothing visible is left.

    - zero-width characters and bidi controls are removed; ideographic/non-breaking spaces become spaces;
    - CRLF/CR (and U+2028/U+2029) become LF: goals are multi-line, so inner newlines are kept;
    - surrounding whitespace is stripped. Everything else stays as typed (full-width ``＝16万元``
      too: ``fold_width`` is applied only where a number or operator is parsed).
    Idempotent: ``clean_text(clean_text(x)) == clean_text(x)``.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        value = str(value)
    if _HAS_INVISIBLE.search(value):
        value = value.translate(_INVISIBLE)
    text = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    return text or None


def fold_width(text: str) -> str:
    """Full-width digits, latin letters and ``＝＜＞％．＋－`` → ASCII (``１０．９６`` → ``10.96``);
    ``，`` → ``,`` only between two digits (a thousands separator). ``≥``/``≤`` stay as they are."""
    if not _HAS_FULL_WIDTH.search(text):  # most targets: nothing to fold (as for clean_text's translate)
        return text
    return _DIGIT_COMMA.sub(",", text.translate(_FULL_WIDTH))


_NUMBER = re.compile(
    r"[+-]?(?:[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?|[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_WAN_YUAN = re.compile(r"\s*万元$")


def parse_number(text: str | None) -> float | None:
    """Money or a percentage typed as text → float; ``None`` when it is not one finite number.

    Accepts thousands separators (well-formed groups only, so ``1,23`` is rejected rather than
    guessed), full-width digits, an exponent (``1.5E+3`` is how Excel writes some numbers as text)
    and one optional trailing ``万元`` (money fields are in 万元 already, so no other unit is
    converted). ``nan``/``inf`` and overflow are rejected; range checks are the caller's job.
    """
    text = clean_text(text)
    if text is None:
        return None
    text = _WAN_YUAN.sub("", fold_width(text))
    if not _NUMBER.fullmatch(text):
        return None
    number = float(text.replace(",", ""))
    return number if math.isfinite(number) else None


def format_number(x: float) -> str:
    """Shortest text that reads back as the same float: ``10.96``, ``16``, ``0.5``.

    Never uses an exponent, so the result always re-parses as a target number (``1e-07`` →
    ``0.0000001``). ``-0.0`` prints ``0``; non-finite values print their ``repr``.
    """
    x = float(x)
    if not math.isfinite(x):
        return repr(x)
    if x == 0:
        return "0"
    text = format(Decimal(repr(x)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


@dataclass(frozen=True)
class Target:
    """A parsed 指标值. ``kind`` is ``quantitative``, ``qualitative`` or ``invalid``;
    operator/number/unit are set only for quantitative targets (unit may still be ``None``)."""

    raw: str
    text: str
    kind: str
    operator: str | None = None
    number: float | None = None
    unit: str | None = None


_OPERATORS = {
    ">=": "≥", "=>": "≥", "≥": "≥", "≧": "≥", "<=": "≤", "=<": "≤", "≤": "≤", "≦": "≤",
    ">": ">", "<": "<", "==": "=", "=": "=",
    **dict.fromkeys(("不低于", "不少于", "不小于", "大于等于", "大于或等于"), "≥"),
    **dict.fromkeys(("不高于", "不超过", "不大于", "小于等于", "小于或等于"), "≤"),
    **dict.fromkeys(("大于", "多于", "高于"), ">"),
    **dict.fromkeys(("小于", "少于", "低于"), "<"),
    **dict.fromkeys(("等于", "达到"), "="),
}
def operator_symbol(text: str) -> str | None:
    """A comparison written as a symbol or in words (≥, >=, 不低于, 等于) as the symbol a target uses
    (``=`` as the published tables write it, ＝); None when ``text`` is not one."""
    symbol = _OPERATORS.get(re.sub(r"\s+", "", text))
    return "＝" if symbol == "=" else symbol


_OPERATOR = re.compile("(" + "|".join(map(re.escape, sorted(_OPERATORS, key=len, reverse=True))) + r")\s*")
_SUFFIXES = {"及以上": "≥", "以上": "≥", "及以下": "≤", "以下": "≤", "以内": "≤"}
_TARGET_NUMBER = re.compile(r"([+-]?)((?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?)")
_OPERATOR_SYMBOLS = frozenset("≥≧≤≦<>=")
_BLANKS = re.compile(r"\s+")
_UNIT_SYMBOLS = frozenset("/·²³℃°")
# 万 alone after an amount is 万元 in a budget table (``250万``)
_MONEY = {"万元": Decimal(1), "万": Decimal(1), "元": Decimal("0.0001"), "千元": Decimal("0.1"),
          "亿元": Decimal(10000)}


def _valid_unit(unit: str) -> bool:
    """``%``/``‰`` alone, or a short word (``万元``, ``次``, ``km/h``, ``元/人``); anything else is garbage."""
    if unit in ("%", "‰"):
        return True
    return (len(unit) <= 10 and any(c.isalpha() or c in "℃°" for c in unit)
            and all((c.isalpha() and not c.isdigit()) or c in _UNIT_SYMBOLS for c in unit))


def parse_target(raw: str | None) -> Target | None:
    """``operator + number + unit`` (quantitative), plain text (qualitative) or ``invalid``; ``None`` if blank.

    The operator is a symbol or a Chinese word (不低于 → ≥ …) and defaults to ``=``. A suffix
    以上/及以上 means ≥ and 以下/及以下/以内 means ≤: it sets the operator when none or ``=`` was
    given (``达到90%以上`` is ≥ 90), is redundant when it agrees (``≥90%以上``), and makes the target
    invalid when it contradicts (``≥90%以下``). A sign is allowed only without an operator
    (``-5%``). Whitespace inside the unit is dropped (``90 ％`` → ``%``).
    """
    cleaned = clean_text(raw)
    if cleaned is None:
        return None
    text = shown = fold_width(cleaned)  # shown and read in half width (＝１６万元 → =16万元)
    raw = raw if isinstance(raw, str) else str(raw)
    if _DATED.match(_BLANKS.sub("", text)):  # a date or period is a 时效 target in words, not a number
        return Target(raw, shown, "qualitative")
    match = _OPERATOR.match(text)
    operator = _OPERATORS[match.group(1)] if match else None
    rest = text[match.end():] if match else text
    number = _TARGET_NUMBER.match(rest)
    if number is None or (operator and number.group(1)):
        return _qualitative(raw, text, shown)
    value = float(number.group(1) + number.group(2).replace(",", ""))
    unit = rest[number.end():].strip()
    for suffix, implied in _SUFFIXES.items():
        if unit.endswith(suffix):
            unit = unit[: -len(suffix)]
            if operator in (None, "="):
                operator = implied
            elif operator not in (implied, implied.replace("≥", ">").replace("≤", "<")):
                return Target(raw, shown, "invalid")
            break
    unit = _BLANKS.sub("", unit)
    if not math.isfinite(value) or (unit and not _valid_unit(unit)):
        return Target(raw, shown, "invalid")
    return Target(raw, shown, "quantitative", operator or "=", value, unit or None)


# a date or a period, the usual 时效 target: 2023年12月底前, 2023.07-2024.01, 2023年6月30日前完成
_DATED = re.compile(r"^(?:19|20)[0-9]{2}(?:年|[.\-/])(?:0?[1-9]|1[0-2])(?:$|[月日底末前后内至到\-—~～/.])")


def _qualitative(raw: str, text: str, shown: str) -> Target:
    """Text with no digit, no comparison symbol, two letters or one CJK character (无, 是), that is not a
    bare 不低于 or 以上."""
    bare = _BLANKS.sub("", text)
    letters = sum(c.isalpha() for c in text)
    if (re.search(r"\d", text) or _OPERATOR_SYMBOLS.intersection(text) or bare in _OPERATORS
            or bare in _SUFFIXES or letters < 2 and not (letters == 1 and "\u4e00" <= bare[:1] <= "\u9fff")):
        return Target(raw, shown, "invalid")
    return Target(raw, shown, "qualitative")


# The rules and the merge's rows parse every target, and the same targets recur from return to return; a
# Target is immutable. Only short ones are remembered, so what a process holds stays small.
_cached_parse_target = lru_cache(maxsize=4096)(parse_target)


def parsed_target(raw: str) -> Target | None:
    """``parse_target``, remembered for short texts."""
    return _cached_parse_target(raw) if len(raw) <= 100 else parse_target(raw)


def format_target(t: Target) -> str:
    """Normalised display: ``≥95%``, ``=10.96万元``; non-quantitative targets show their cleaned text.

    Negative numbers can only be parsed without an operator, so they are shown in that form
    (``-5%``, ``-5%以上`` for ≥, ``-5%以下`` for ≤) and re-parse to the same target.
    """
    if t.kind != "quantitative" or t.number is None:
        return t.text
    number, unit, operator = format_number(t.number), t.unit or "", t.operator or "="
    if t.number < 0 and operator in ("=", "≥", "≤"):
        return number + unit + {"=": "", "≥": "以上", "≤": "以下"}[operator]
    return operator + number + unit


def is_money_unit(unit: str | None) -> bool:
    """万元, 万, 元, 千元 or 亿元, or money per something (``元/亩``, ``万元/人``)."""
    return unit in _MONEY or (unit is not None and unit.split("/", 1)[0] in _MONEY and "/" in unit)


def money_in_wan(t: Target) -> float | None:
    """A money target in 万元 (``5000元`` → 0.5); ``None`` when the target is not money.

    Converted through Decimal so ``12345元`` is exactly ``1.2345``, not a float artefact."""
    if t.kind != "quantitative" or t.number is None or t.unit not in _MONEY:
        return None
    return float(Decimal(repr(t.number)) * _MONEY[t.unit])
