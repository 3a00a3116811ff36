"""What the X-ray pictures and reports say in Korean: finding names, and the fonts that have Hangul."""

from __future__ import annotations

# Debian's fonts-nanum (installed by `make system-deps`), then Noto CJK; a deployment may name its own
# (/opt/fonts: a Lambda layer's files, as the monitor's snapshot captions use).
FONT_CANDIDATES = ("/usr/share/fonts/truetype/nanum/NanumGothic.ttf", "/opt/fonts/NanumGothic.ttf",
                   "/usr/share/fonts/truetype/nanum/NanumBarunGothic.ttf",
                   "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")

FINDING_KO: dict[str, str] = {
    "opacity": "폐 음영 증가", "lung_opacity": "폐 음영 증가", "asymmetry": "좌우 폐야 비대칭",
    "cardiac_silhouette": "심장 음영 확대", "cardiomegaly": "심장 비대", "nodule": "폐 결절", "effusion": "흉수",
    "pleural_effusion": "흉수", "pneumothorax": "기흉", "consolidation": "경화", "atelectasis": "무기폐",
    "fibrosis": "섬유화", "tuberculosis": "결핵 의심",
}


def finding_name(label: str, locale: str) -> str:
    if locale == "ko":
        return FINDING_KO.get(label, label.replace("_", " "))
    return label.replace("_", " ")
