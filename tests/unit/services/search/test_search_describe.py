"""Korean and English descriptions of clothing → the query's upper/lower colours (expected values by hand)."""

from __future__ import annotations

import pytest

from chalicelib.models.common import instant
from chalicelib.services.search.describe import parse_description

# (description, upper, lower): what a person reading it would fill in.
CASES = [
    ("빨간 상의에 검은 바지", "red", "black"),
    ("회색 코트, 청바지", "gray", "blue"),
    ("흰 셔츠 남색 치마", "white", "blue"),
    ("노란 우비", "yellow", None),
    ("빨강 티셔츠와 검정 바지", "red", "black"),
    ("붉은 점퍼를 입고 하얀 바지", "red", "white"),
    ("검은색 패딩, 베이지 면바지", "black", "brown"),
    ("하얀색 블라우스에 분홍 스커트", "white", "pink"),
    ("파란 자켓 회색 반바지", "blue", "gray"),
    ("초록색 후드티를 입은 남자", "green", None),
    ("까만 코트", "black", None),
    ("보라색 원피스", "purple", "purple"),
    ("주황색 조끼, 청바지", "orange", "blue"),
    ("네이비 재킷에 카키 바지", "blue", "green"),
    ("빨간상의 검은바지", "red", "black"),
    ("흰색 티 갈색 치마", "white", "brown"),
    ("연두색 맨투맨 검정 레깅스", "green", "black"),
    ("검정 바지에 흰 셔츠", "white", "black"),
    ("분홍 가디건", "pink", None),
    ("빨강 검정", "red", "black"),
    ("red top, black trousers", "red", "black"),
    ("grey coat and blue jeans", "gray", "blue"),
    ("white shirt with a navy skirt", "white", "blue"),
    ("yellow raincoat", "yellow", None),
    ("wearing a green hoodie and khaki shorts", "green", "green"),
    ("black jacket, beige pants", "black", "brown"),
    ("pink dress", "pink", "pink"),
    ("dark blue sweater, grey leggings", "blue", "gray"),
    ("jeans and a white t-shirt", "white", "blue"),
    ("orange vest", "orange", None),
    ("purple blouse and brown skirt", "purple", "brown"),
    ("red and black", "red", "black"),
    ("하늘색 셔츠, 은색 바지", "blue", "gray"),
    ("자주색 니트에 흰 바지를 입은 할머니", "purple", "white"),
]


@pytest.mark.parametrize(("text", "upper", "lower"), CASES, ids=[c[0] for c in CASES])
def test_description_parses_to_the_colours_a_reader_would_fill_in(text, upper, lower):
    described = parse_description(text)
    assert (described.upper_color, described.lower_color) == (upper, lower)


def test_at_least_thirty_descriptions_are_checked_in_both_languages():
    korean = [c for c in CASES if not c[0].isascii()]
    english = [c for c in CASES if c[0].isascii()]
    assert len(CASES) >= 30 and len(korean) >= 15 and len(english) >= 10


@pytest.mark.parametrize(("text", "unknown"), [
    ("초록색 후드티를 입은 남자", ["남자"]),
    ("자주색 니트에 흰 바지를 입은 할머니", ["할머니"]),
    ("빨간 상의에 검은 바지, 안경", ["안경"]),
    ("red top with a backpack", ["backpack"]),
    ("빨간모자", ["모자 (빨간모자)"]),
])
def test_words_it_did_not_understand_are_returned(text, unknown):
    assert parse_description(text).unknown == unknown


def test_a_description_without_colours_is_not_understood():
    described = parse_description("키 170 정도의 남자")
    assert not described.understood
    assert "남자" in described.unknown and "키" in described.unknown


def test_a_third_loose_colour_is_reported_not_dropped():
    described = parse_description("빨강 검정 노랑")
    assert (described.upper_color, described.lower_color, described.unknown) == ("red", "black", ["yellow"])


def test_garments_are_recorded_in_order():
    assert parse_description("회색 코트, 청바지").garments == ["코트", "청바지"]


def _request(**fields):
    from chalicelib.models.search import SearchRequest

    seen = {"location": {"lat": 37.56, "lon": 126.97}, "at": instant(1_800_000_000_000).isoformat()}
    return SearchRequest.model_validate({"last_seen": seen,
                                         **fields})


def test_a_request_with_only_a_description_searches_its_colours_and_returns_what_it_did_not_read():
    from chalicelib.services.search.service import apply_description

    request, unknown = apply_description(_request(description="빨간 상의에 검은 바지, 안경"))
    assert (request.upper_color, request.lower_color, unknown) == ("red", "black", ["안경"])


def test_explicit_colour_fields_win_over_the_description():
    from chalicelib.services.search.service import apply_description

    request, _ = apply_description(_request(description="노란 우비 청바지", upper_color="green"))
    assert (request.upper_color, request.lower_color) == ("green", "blue")


def test_a_description_naming_no_colour_is_refused_with_the_words_not_understood():
    from chalicelib.errors import ValidationFailed
    from chalicelib.services.search.service import apply_description

    with pytest.raises(ValidationFailed) as caught:
        apply_description(_request(description="키 큰 할아버지"))
    assert caught.value.code == "description_not_understood" and "할아버지" in caught.value.message
