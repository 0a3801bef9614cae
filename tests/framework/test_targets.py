"""xlperf.framework.targets: cell text cleaning, numbers typed as text, and 指标值 parsing."""
from __future__ import annotations

import math
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlperf.framework.targets import (
    fold_width,Target, clean_text, format_number, format_target, is_money_unit, money_in_wan,
                            parse_number, parse_target)

FULL_WIDTH = str.maketrans("0123456789.=<>%", "０１２３４５６７８９．＝＜＞％")

# ---------------------------------------------------------------- clean_text


@pytest.mark.parametrize("raw, expected", [
    (None, None),
    ("", None),
    ("   \t\n ", None),
    ("\u200b\ufeff\u2060", None),
    ("  有效提升 ", "有效提升"),
    ("≥95%", "≥95%"),  # ≥/≤ are kept as typed
    ("≤5天", "≤5天"),
    ("9\u200b5%", "95%"),  # zero-width space
    ("\u200c9\u200d5\u2060\ufeff", "95"),
    ("\u202a≥95%\u202c", "≥95%"),  # bidi embedding
    ("\u2066\u200e95\u200f\u2069", "95"),
    ("\u202b\u202d\u202e\u2067\u2068x", "x"),
    ("有效\u00a0提升", "有效 提升"),  # NBSP
    ("a\u2007b\u202fc", "a b c"),
    ("\u3000提升\u3000质量\u3000", "提升 质量"),  # ideographic space
    ("提升质量，改善环境。", "提升质量，改善环境。"),  # Chinese comma in text is kept
    ("达到90%，提升质量", "达到90%，提升质量"),  # comma after % is not between digits
    ("（一）目标：完成", "（一）目标：完成"),  # CJK brackets and colon are kept
    ("1.目标一\r\n2.目标二\r3.目标三", "1.目标一\n2.目标二\n3.目标三"),
    ("第一行\u2028第二行", "第一行\n第二行"),
    ("\r\n 目标 \r\n", "目标"),
])
def test_clean_text(raw, expected):
    assert clean_text(raw) == expected


@pytest.mark.parametrize("typed", ["１０．９６", "＝１６万元", "＞＝９５％", "ＡＢＣｘｙｚ", "１，０００元"])
def test_clean_text_keeps_full_width_as_typed(typed):
    assert clean_text(typed) == typed


@pytest.mark.parametrize("typed, expected", [
    ("１０．９６", "10.96"), ("＝１６万元", "=16万元"), ("＞＝９５％", ">=95%"), ("＜５", "<5"), ("＋３", "+3"),
    ("－３", "-3"), ("ＡＢＣｘｙｚ", "ABCxyz"), ("１，０００元", "1,000元"), ("1，234，567", "1,234,567"),
    ("≥95%", "≥95%"), ("提升质量，改善环境。", "提升质量，改善环境。"), ("达到90%，提升质量", "达到90%，提升质量"),
])
def test_fold_width(typed, expected):
    assert fold_width(typed) == expected


def test_clean_text_keeps_inner_newlines():
    assert clean_text("1.完成培训\n2.提升质量") == "1.完成培训\n2.提升质量"


@given(st.text())
def test_clean_text_is_idempotent(text):
    once = clean_text(text)
    assert clean_text(once) == once


@given(st.text())
def test_clean_text_result_is_stripped_and_has_no_cr(text):
    cleaned = clean_text(text)
    if cleaned is not None:
        assert cleaned == cleaned.strip() and cleaned
        assert "\r" not in cleaned and "\u200b" not in cleaned and "\u3000" not in cleaned

# ---------------------------------------------------------------- parse_number


@pytest.mark.parametrize("text, expected", [
    ("10.96", 10.96),
    (" 1,234.5 ", 1234.5),
    ("１０．９６", 10.96),
    ("10.96万元", 10.96),
    ("10.96 万元", 10.96),
    ("-3", -3.0),
    ("+3", 3.0),
    ("0", 0.0),
    (".5", 0.5),
    ("1,000,000", 1e6),
    ("１，０００", 1000.0),
    ("1.5E+3", 1500.0),
    ("1e308", 1e308),  # finite: limits are the caller's job
])
def test_parse_number(text, expected):
    assert parse_number(text) == expected


@pytest.mark.parametrize("text", [
    None, "", "  ", "abc", "nan", "NaN", "inf", "-inf", "Infinity", "1e309", "-1e309", "9" * 400,
    "10.96元", "10.96%", "1,23", "12,3456", "1.2.3", "1 234", "万元", "--3", "3-", "0x10", "1_000",
])
def test_parse_number_rejects(text):
    assert parse_number(text) is None


@given(st.text())
def test_parse_number_never_raises_and_is_finite(text):
    number = parse_number(text)
    assert number is None or (isinstance(number, float) and math.isfinite(number))

# ---------------------------------------------------------------- format_number


@pytest.mark.parametrize("x, expected", [
    (10.96, "10.96"), (16.0, "16"), (0.5, "0.5"), (16, "16"), (-3.0, "-3"), (-0.0, "0"), (0.0, "0"),
    (1e-7, "0.0000001"), (1e16, "10000000000000000"), (1234567.25, "1234567.25"), (0.1 + 0.2, "0.30000000000000004"),
])
def test_format_number(x, expected):
    assert format_number(x) == expected


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_format_number_round_trips_without_exponent(x):
    text = format_number(x)
    assert "e" not in text.lower() and float(text) == x

# ---------------------------------------------------------------- parse_target


@pytest.mark.parametrize("raw, operator, number, unit", [
    ("≥95%", "≥", 95, "%"),
    ("10.96万元", "=", 10.96, "万元"),
    ("＝16万元", "=", 16, "万元"),
    ("≥20次", "≥", 20, "次"),
    ("100%", "=", 100, "%"),
    ("11万元", "=", 11, "万元"),
    ("≥500人", "≥", 500, "人"),
    ("≥15家", "≥", 15, "家"),
    (">=95 %", "≥", 95, "%"),
    ("≥ 90 ％", "≥", 90, "%"),
    ("不低于90%", "≥", 90, "%"),
    ("90%以上", "≥", 90, "%"),
    ("1,000元", "=", 1000, "元"),
    ("１，０００元", "=", 1000, "元"),
    ("≧95%", "≥", 95, "%"), ("=>95%", "≥", 95, "%"),
    ("≤5天", "≤", 5, "天"), ("≦5天", "≤", 5, "天"), ("<=5天", "≤", 5, "天"), ("=<5天", "≤", 5, "天"),
    (">0", ">", 0, None), ("<3个", "<", 3, "个"), ("==2台", "=", 2, "台"), ("=16", "=", 16, None),
    ("＞＝９５％", "≥", 95, "%"),
    ("不少于500人", "≥", 500, "人"), ("不小于3个", "≥", 3, "个"), ("大于等于95%", "≥", 95, "%"),
    ("大于或等于95%", "≥", 95, "%"),
    ("不高于5天", "≤", 5, "天"), ("不超过10万元", "≤", 10, "万元"), ("不大于3次", "≤", 3, "次"),
    ("小于等于2小时", "≤", 2, "小时"), ("小于或等于2小时", "≤", 2, "小时"),
    ("大于80%", ">", 80, "%"), ("多于3家", ">", 3, "家"), ("高于80%", ">", 80, "%"),
    ("小于5%", "<", 5, "%"), ("少于3次", "<", 3, "次"), ("低于5%", "<", 5, "%"),
    ("等于1年", "=", 1, "年"), ("达到100%", "=", 100, "%"),
    ("不低于 90 %", "≥", 90, "%"),
    ("90%及以上", "≥", 90, "%"), ("5天以下", "≤", 5, "天"), ("5天及以下", "≤", 5, "天"), ("3小时以内", "≤", 3, "小时"),
    ("≥90%以上", "≥", 90, "%"),  # explicit operator agreeing with the suffix
    (">90%以上", ">", 90, "%"),
    ("≤5天以内", "≤", 5, "天"),
    ("达到90%以上", "≥", 90, "%"),  # "=" words yield to the suffix
    ("100以上", "≥", 100, None),
    ("-5%", "=", -5, "%"), ("+5%", "=", 5, "%"), ("-5%以上", "≥", -5, "%"),
    ("0.5km", "=", 0.5, "km"), ("120km/h", "=", 120, "km/h"), ("50元/人", "=", 50, "元/人"),
    ("≥95.00%", "≥", 95, "%"), ("3 万 元", "=", 3, "万元"),
    ("\u200b≥95%\u00a0", "≥", 95, "%"),
])
def test_parse_target_quantitative(raw, operator, number, unit):
    target = parse_target(raw)
    assert target is not None and target.kind == "quantitative", target
    assert (target.operator, target.number, target.unit) == (operator, number, unit)
    assert isinstance(target.number, float)
    assert target.raw == raw


@pytest.mark.parametrize("raw", ["提升生态环境质量", "有效提升", "显著改善", "达到预期目标", "群众满意",
                                 "提升质量，\n改善环境", "good"])
def test_parse_target_qualitative(raw):
    target = parse_target(raw)
    assert target == Target(raw, clean_text(raw), "qualitative", None, None, None)


@pytest.mark.parametrize("raw", [
    "≥", "95%%", "=", "abc123def456", "%", "≥高", "1.2.3万元", "不低于", "以上", "大于或等于",
    "≥-5%", "=-5%", "≥90%以下", "≤5%以上", "9" * 400 + "元", "95%左右", "1,0000元", "12,5%", "1e5",
    "≥95%（全年）", "第1名", "5" + "个" * 11, "5个3", "≥≥5", "> =5", ".5%",
    "٣٠%",  # Arabic-Indic digits are not our digits
])
def test_parse_target_invalid(raw):
    target = parse_target(raw)
    assert target is not None and target.kind == "invalid", target
    assert (target.operator, target.number, target.unit) == (None, None, None)


@pytest.mark.parametrize("raw", [None, "", "   ", "\u200b", "\u3000\r\n"])
def test_parse_target_blank(raw):
    assert parse_target(raw) is None


def test_target_keeps_raw_and_cleaned_text():
    target = parse_target(" ＝１６万元\u200b")
    assert target.raw == " ＝１６万元\u200b" and target.text == "=16万元"


@pytest.mark.parametrize("raw, shown", [
    ("≥95%", "≥95%"), ("10.96万元", "=10.96万元"), ("＝16万元", "=16万元"), (">=95 %", "≥95%"),
    ("90%以上", "≥90%"), ("1,000元", "=1000元"), ("=16", "=16"), ("-5%", "-5%"), ("-5%以上", "-5%以上"),
    ("-5天以内", "-5天以下"), (" 有效提升 ", "有效提升"), ("95%%", "95%%"),
])
def test_format_target(raw, shown):
    assert format_target(parse_target(raw)) == shown

# ---------------------------------------------------------------- money


@pytest.mark.parametrize("unit, expected", [
    ("万元", True), ("元", True), ("千元", True), ("亿元", True), ("%", False), ("人", False), ("万", True), (None, False),
])
def test_is_money_unit(unit, expected):
    assert is_money_unit(unit) is expected


@pytest.mark.parametrize("raw, expected", [
    ("10.96万元", 10.96), ("5000元", 0.5), ("12345元", 1.2345), ("≤300千元", 30.0), ("1.5亿元", 15000.0),
    ("1,000元", 0.1), ("≥95%", None), ("≥20次", None), ("有效提升", None), ("95%%", None), ("=16", None),
])
def test_money_in_wan(raw, expected):
    assert money_in_wan(parse_target(raw)) == expected

# ---------------------------------------------------------------- properties

KINDS = {"quantitative", "qualitative", "invalid"}
OPERATORS = ["≥", "≤", ">", "<", "="]
UNITS = ["%", "万元", "次", "人", "家"]
decimals = st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False, allow_infinity=False)


@given(st.text())
def test_parse_target_never_raises(text):
    target = parse_target(text)
    assert target is None or (isinstance(target, Target) and target.kind in KINDS)
    if target is not None:
        assert target.text == fold_width(clean_text(text))  # as test_target_keeps_raw_and_cleaned_text shows it
        quantitative = target.kind == "quantitative"
        assert (target.operator is not None) == quantitative and (target.number is not None) == quantitative
        if quantitative:
            assert target.operator in OPERATORS and math.isfinite(target.number)
        else:
            assert target.unit is None


@given(st.text(alphabet=st.sampled_from("0123456789０１２３４５６７８９.,，．%％≥≤<>=＝ 万元次以上下不低于达到\u200b")))
def test_parse_target_never_raises_on_target_like_text(text):
    target = parse_target(text)
    assert target is None or target.kind in KINDS


@given(st.sampled_from(OPERATORS), decimals, st.sampled_from(UNITS), st.booleans())
def test_parse_target_round_trips_generated(operator, number, unit, full_width):
    raw = f"{operator}{format(number, 'f')}{unit}"
    if full_width:
        raw = raw.translate(FULL_WIDTH)
    target = parse_target(raw)
    assert (target.kind, target.operator, target.number, target.unit) == ("quantitative", operator, float(number), unit)


@st.composite
def messy_targets(draw) -> str:
    """Quantitative targets spelled the many ways people type them."""
    operator = draw(st.sampled_from(["", "≥", "≧", ">=", "=>", "≤", "≦", "<=", "=<", ">", "<", "=", "==",
                                     "不低于", "不超过", "大于", "少于", "达到", "小于或等于"]))
    number = format(draw(decimals), ",f" if draw(st.booleans()) else "f")
    sign = draw(st.sampled_from(["", "-", "+"])) if not operator else ""
    unit = draw(st.sampled_from(["", "%", "万元", "元", "千元", "亿元", "次", "人", "家", "个", "天", "年", "台", "km", "小时"]))
    suffix = draw(st.sampled_from(["", "以上", "以下", "以内"])) if operator in ("", "=", "达到") else ""
    space = draw(st.sampled_from(["", " ", "\u3000", "\u00a0"]))
    raw = f"{operator}{space}{sign}{number}{space}{unit}{suffix}"
    return raw.translate(FULL_WIDTH) if draw(st.booleans()) else raw


@given(messy_targets())
def test_format_target_reparses_to_the_same(raw):
    target = parse_target(raw)
    assert target.kind == "quantitative", raw
    again = parse_target(format_target(target))
    assert (again.kind, again.operator, again.number, again.unit) == ("quantitative", target.operator, target.number,
                                                                      target.unit)


@settings(max_examples=300)
@given(st.text())
def test_format_target_reparses_any_quantitative_text(text):
    target = parse_target(text)
    if target is not None and target.kind == "quantitative":
        again = parse_target(format_target(target))
        assert (again.operator, again.number, again.unit) == (target.operator, target.number, target.unit)


@given(decimals, st.sampled_from(["万元", "元", "千元", "亿元"]))
def test_money_in_wan_matches_decimal_arithmetic(number, unit):
    factor = {"万元": Decimal(1), "元": Decimal("0.0001"), "千元": Decimal("0.1"), "亿元": Decimal(10000)}[unit]
    assert money_in_wan(parse_target(f"{format(number, 'f')}{unit}")) == float(number * factor)


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from(["a", "中", " ", "\r", "\n", "\t", "\u3000", "\u00a0", "\u200b", "\u202e", "\u2028",
                                "\ufeff", "５", "%"]), max_size=12))
def test_clean_text_translates_only_when_there_is_something_to_translate(text):
    from xlperf.framework.targets import _INVISIBLE

    expected = text.translate(_INVISIBLE).replace("\r\n", "\n").replace("\r", "\n").strip() or None
    assert clean_text(text) == expected


@pytest.mark.parametrize("typed", ["2023年12月底前", "2023.07-2024.01", "2023年6月30日前完成", "2024-03底"])
def test_a_date_or_period_is_a_time_target_in_words(typed):
    """Published 时效 targets are dates and periods: text, not a number with a unit ``.07-2024.01``."""
    assert parse_target(typed).kind == "qualitative"


@pytest.mark.parametrize("typed, kind", [("无", "qualitative"), ("是", "qualitative"), ("高", "qualitative"), ("x", "invalid"),
                                         ("2023.5万元", "quantitative"), ("2023", "quantitative")])
def test_one_chinese_word_is_text_and_amounts_stay_numbers(typed, kind):
    assert parse_target(typed).kind == kind


def test_money_per_something_and_wan_alone_are_money():
    from xlperf.framework.targets import is_money_unit, money_in_wan

    assert is_money_unit("元/亩") and is_money_unit("万元/人") and is_money_unit("万")
    assert not is_money_unit("人/亩") and not is_money_unit("万人次")
    assert money_in_wan(parse_target("250万")) == 250.0
    assert money_in_wan(parse_target("1600元/亩")) is None  # per 亩: not comparable with the budget
