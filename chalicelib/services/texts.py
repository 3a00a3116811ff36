"""Human-facing text: Korean (default) and English templates, times in Korea Standard Time.

Every text a person reads (guardian SMS, the agency's dispatch summary, control-center alert reasons) is
rendered here from a template id, a locale and values; times are epoch milliseconds shown in KST (UTC+9,
no daylight saving), the way people in Seoul read a clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

KST = timezone(timedelta(hours=9), "KST")
DEFAULT_LOCALE = "ko"

DISTRICT_KO: dict[str, str] = {
    "JN": "종로구", "JG": "중구", "YS": "용산구", "SD": "성동구", "GJ": "광진구", "DD": "동대문구", "JR": "중랑구",
    "SB": "성북구", "GB": "강북구", "DB": "도봉구", "NW": "노원구", "EP": "은평구", "SM": "서대문구", "MP": "마포구",
    "YC": "양천구", "GS": "강서구", "GR": "구로구", "GC": "금천구", "YD": "영등포구", "DJ": "동작구", "GA": "관악구",
    "SC": "서초구", "GN": "강남구", "SP": "송파구", "GD": "강동구",
}
KIND: dict[str, dict[str, str]] = {
    "ko": {"crime": "범죄", "fire": "화재", "medical": "응급환자", "fall": "낙상", "other": "긴급상황"},
    "en": {"crime": "crime", "fire": "fire", "medical": "medical emergency", "fall": "fall", "other": "emergency"},
}
AGENCY: dict[str, dict[str, str]] = {
    "ko": {"112": "경찰(112)", "119": "소방(119)", "disaster-room": "재난상황실"},
    "en": {"112": "police (112)", "119": "fire and ambulance (119)", "disaster-room": "the disaster situation room"},
}

ALERT_REASON_KO: dict[str, str] = {
    "off-route": "경로 이탈", "stationary": "장시간 움직임 없음", "silent": "위치 수신 끊김", "overdue": "도착 예정 시각 초과",
}

TEMPLATES: dict[str, dict[str, str]] = {
    "sos-escalated": {
        "ko": "[골든타임] 긴급: {time}에 SOS 신고({kind})가 접수되어 {agency}에 출동을 요청했습니다. 위치: {place}",
        "en": "[Golden Time] Emergency: an SOS ({kind}) was reported at {time} and {agency} has been dispatched. "
              "Location: {place}",
    },
    "trip-started": {
        "ko": "[골든타임] 안심귀가가 시작되었습니다. 도착 예정 {eta} (약 {minutes}분).",
        "en": "[Golden Time] Safe-return walk started; expected home at {eta} (about {minutes} min).",
    },
    "trip-arrived": {
        "ko": "[골든타임] {time}에 안전하게 도착했습니다.",
        "en": "[Golden Time] Arrived home safely at {time}.",
    },
    "trip-alert": {
        "ko": "[골든타임] 안심귀가 경보({time}): {reason}. 관제센터에서 연락 중입니다.",
        "en": "[Golden Time] Safe-return alert at {time}: {reason}. The control center is calling.",
    },
    "dispatch-summary": {
        "ko": "{kind} 신고 {time} 접수, {place}. 관할 관제센터: {district}. 주변 CCTV {cameras}대.",
        "en": "{kind} reported at {time}, {place}. Control center: {district}. {cameras} cameras nearby.",
    },
    "evidence-follow-up": {
        "ko": "추가 증거({what}) {time} 수신: 출동요청 {incident_id}의 후속 자료입니다. 링크는 {expires}까지 유효합니다.",
        "en": "More evidence ({what}) received at {time} for dispatch {incident_id}. Links valid until {expires}.",
    },
    "follow-link": {
        "ko": "도착 전까지 실시간 위치 보기({expires}까지): {url}",
        "en": "Follow live until arrival (until {expires}): {url}",
    },
    "disaster-summary": {
        "ko": "재난 상황({kind}) {time} 보고, {place}. 관할 관제센터: {district}. 주변 CCTV {cameras}대. {note}",
        "en": "Disaster ({kind}) reported at {time}, {place}. Control center: {district}. {cameras} cameras nearby. "
              "{note}",
    },
    "dispatch-unacknowledged": {
        "ko": "긴급: {agency} 출동요청 {dispatch_id}이(가) {minutes}분째 미확인입니다({round}차 재전송). 전화로 확인하십시오.",
        "en": "URGENT: dispatch {dispatch_id} to {agency} unacknowledged for {minutes} min (resent, round {round}). "
              "Call them.",
    },
}


def kst(ms: int, locale: str = DEFAULT_LOCALE) -> str:
    """``2026-11-30 22:05 KST`` (ko: ``2026년 11월 30일 22:05 KST``)."""
    when = datetime.fromtimestamp(ms / 1000, UTC).astimezone(KST)
    if locale == "ko":
        return f"{when.year}년 {when.month}월 {when.day}일 {when:%H:%M} KST"
    return f"{when:%Y-%m-%d %H:%M} KST"


def district_name(code: str | None, english: str | None, locale: str) -> str:
    if code is None:
        return "관할 미상" if locale == "ko" else "unknown district"
    return DISTRICT_KO.get(code, code) if locale == "ko" else (english or code)


def render(template: str, locale: str | None, **values: Any) -> str:
    """The template in the locale (Korean when unknown)."""
    texts = TEMPLATES[template]
    return texts.get(locale or DEFAULT_LOCALE, texts[DEFAULT_LOCALE]).format(**values)


def kind_text(kind: str, locale: str) -> str:
    return KIND.get(locale, KIND[DEFAULT_LOCALE]).get(kind, kind)


def agency_text(target: str, locale: str) -> str:
    return AGENCY.get(locale, AGENCY[DEFAULT_LOCALE]).get(target, target)
