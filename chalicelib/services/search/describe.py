"""A free-text description of what a missing person wore (Korean or English) → the query's clothing colours.

"빨간 상의에 검은 바지", "회색 코트, 청바지", "흰 셔츠 남색 치마", "노란 우비", "red jacket and black trousers".
Each word is read left to right as colour and garment words with Korean particles attached ("상의에",
"바지를"): a colour applies to the next garment, and the garment says upper or lower body ("원피스"/"dress"
both). A colour named with no garment after it fills the first free part, upper first ("빨강 검정"). Words
that are neither colours, garments nor known filler ("입은", "wearing") are returned in ``unknown``, so
the caller can show what was not understood instead of silently dropping it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from chalicelib.models.search import ColorName

Part = Literal["upper", "lower", "both"]

# Common spoken and written forms, adjective and noun; shades fold into the eleven names the classifier knows.
_COLOURS: dict[str, ColorName] = {
    **dict.fromkeys(("빨간", "빨강", "빨간색", "빨강색", "새빨간", "붉은", "붉은색", "적색", "레드", "다홍", "다홍색",
                     "red", "crimson", "scarlet", "maroon", "burgundy"), "red"),
    **dict.fromkeys(("주황", "주황색", "오렌지", "오렌지색", "귤색", "orange"), "orange"),
    **dict.fromkeys(("노란", "노랑", "노란색", "노랑색", "샛노란", "황색", "옐로", "옐로우", "겨자색", "yellow", "mustard"),
                    "yellow"),
    **dict.fromkeys(("초록", "초록색", "녹색", "연두", "연두색", "카키", "카키색", "올리브", "그린", "풀색",
                     "green", "khaki", "olive"), "green"),
    **dict.fromkeys(("파란", "파랑", "파란색", "파랑색", "새파란", "청색", "남색", "곤색", "감색", "하늘색", "네이비", "블루",
                     "blue", "navy", "denim"), "blue"),
    **dict.fromkeys(("보라", "보라색", "자주", "자주색", "자줏빛", "퍼플", "purple", "violet", "lilac"), "purple"),
    **dict.fromkeys(("분홍", "분홍색", "핑크", "핑크색", "연분홍", "pink"), "pink"),
    **dict.fromkeys(("갈색", "밤색", "고동색", "베이지", "베이지색", "카멜", "브라운", "brown", "beige", "tan", "camel"),
                    "brown"),
    **dict.fromkeys(("검은", "검정", "검은색", "검정색", "까만", "까만색", "새까만", "흑색", "블랙", "black"), "black"),
    **dict.fromkeys(("흰", "하얀", "흰색", "하얀색", "하양", "새하얀", "백색", "화이트", "white", "ivory", "cream"), "white"),
    **dict.fromkeys(("회색", "잿빛", "쥐색", "은색", "그레이", "grey", "gray", "silver", "charcoal"), "gray"),
}


@dataclass(frozen=True)
class _Garment:
    part: Part
    implied: ColorName | None = None  # 청바지 / jeans are blue unless a colour says otherwise


_GARMENTS: dict[str, _Garment] = {
    **dict.fromkeys(("상의", "윗옷", "웃옷", "셔츠", "티셔츠", "티", "반팔", "긴팔", "코트", "외투", "점퍼",
                     "잠바", "자켓", "재킷", "패딩", "후드", "후드티", "스웨터", "니트", "블라우스", "조끼", "우비",
                     "비옷", "가디건", "맨투맨", "남방",
                     "top", "shirt", "t-shirt", "tshirt", "tee", "blouse", "coat", "jacket", "parka", "padding", "hoodie",
                     "sweater", "jumper", "cardigan", "vest", "raincoat", "anorak", "sweatshirt"),
                    _Garment("upper")),
    **dict.fromkeys(("하의", "아랫도리", "바지", "반바지", "긴바지", "치마", "스커트", "레깅스", "슬랙스", "면바지",
                     "pants", "trousers", "skirt", "shorts", "leggings", "slacks", "bottoms"), _Garment("lower")),
    **dict.fromkeys(("청바지", "jeans"), _Garment("lower", "blue")),
    **dict.fromkeys(("원피스", "dress", "overalls"), _Garment("both")),
}
# Particles and endings that follow a Korean noun; stripped after a colour or garment word.
_PARTICLES = ("이랑", "에다", "으로", "하고", "에", "를", "을", "이", "가", "은", "는", "와", "과", "랑", "의", "도", "로", "색")
# Words that carry no attribute: verbs of wearing, connectives, light/dark shade modifiers.
_FILLER = frozenset((
    "입은", "입고", "입었고", "입었음", "입었다", "입었어요", "착용", "착용한", "차림", "차림의", "차림으로",
    "그리고", "및", "또는", "옷", "옷을", "색", "색깔", "계열", "진한", "연한", "밝은", "어두운", "짙은", "옅은", "진", "연",
    "a", "an", "the", "and", "with", "in", "wearing", "wears", "wore", "dressed", "of", "on", "or", "plus",
    "dark", "light", "bright", "pale", "deep", "colored", "coloured", "rain", "upper", "lower", "body",
))
_SPLIT = re.compile(r"[\s,./;:!?·&+()\[\]'\"]+")
_LONGEST_FIRST = sorted({*_COLOURS, *_GARMENTS}, key=len, reverse=True)


@dataclass
class Description:
    """What a description said: colours per body part, the garments named, and what was not understood."""

    upper_color: ColorName | None = None
    lower_color: ColorName | None = None
    garments: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    @property
    def understood(self) -> bool:
        return self.upper_color is not None or self.lower_color is not None


def _words(token: str) -> tuple[list[str], str | None]:
    """A token → its colour/garment words in order, and the leftover it could not read (None if none)."""
    if token.isascii():  # English: whole words only ("tank" is not "tan" + "k"); a plural "s" is dropped
        whole = token if token in _COLOURS or token in _GARMENTS else token.removesuffix("s")
        return ([whole], None) if whole in _COLOURS or whole in _GARMENTS else ([], token)
    found: list[str] = []
    rest = token
    while rest:
        if rest in _FILLER:
            return found, None
        word = next((w for w in _LONGEST_FIRST if rest.startswith(w)), None)
        if word is not None:
            found.append(word)
            rest = rest[len(word):]
            continue
        if found and rest in _PARTICLES:
            return found, None
        particle = next((p for p in _PARTICLES if found and rest.startswith(p)), None)
        if particle is None:
            return found, rest
        rest = rest[len(particle):]
    return found, None


def parse_description(text: str) -> Description:
    """Clothing colours of a Korean or English description (see the module docstring)."""
    out = Description()
    pending: list[ColorName] = []
    loose: list[ColorName] = []
    for token in _SPLIT.split(text.lower()):
        if not token or token in _FILLER:
            continue
        words, leftover = _words(token)
        for word in words:
            if word in _COLOURS:
                if pending:  # two colours in a row: the first was named alone
                    loose.extend(pending)
                pending = [_COLOURS[word]]
                continue
            garment = _GARMENTS[word]
            out.garments.append(word)
            colour = pending[-1] if pending else garment.implied
            pending = []
            if colour is None:
                continue
            if garment.part in ("upper", "both") and out.upper_color is None:
                out.upper_color = colour
            if garment.part in ("lower", "both") and out.lower_color is None:
                out.lower_color = colour
        if leftover:
            out.unknown.append(leftover if leftover == token else f"{leftover} ({token})")
    for colour in [*loose, *pending]:  # colours named alone fill the free parts, upper first
        if out.upper_color is None:
            out.upper_color = colour
        elif out.lower_color is None:
            out.lower_color = colour
        else:
            out.unknown.append(colour)
    return out
