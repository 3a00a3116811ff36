"""Seoul's 25 districts and the Han river: which district a point lies in (dispatch routing).

Geography is hand-written and approximate (a few hundred metres): the city boundary, the Han
river's centreline and width, the 25 districts' centroids and which bank each lies on. A point
belongs to the district with the nearest centroid on its own bank of the river (Voronoi per bank).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from chalicelib.services.geo import BoolArray, point_in_polygon, polyline_distance_m


@dataclass(frozen=True)
class District:
    name: str
    code: str
    lat: float
    lon: float
    bank: Literal["north", "south"]
    density: float  # relative cameras per km² (the synthetic catalog's weight)


DISTRICTS: tuple[District, ...] = (
    District("Jongno-gu", "JN", 37.5940, 126.9770, "north", 0.70),
    District("Jung-gu", "JG", 37.5600, 126.9960, "north", 0.95),
    District("Yongsan-gu", "YS", 37.5320, 126.9800, "north", 0.70),
    District("Seongdong-gu", "SD", 37.5510, 127.0410, "north", 0.85),
    District("Gwangjin-gu", "GJ", 37.5470, 127.0860, "north", 0.85),
    District("Dongdaemun-gu", "DD", 37.5830, 127.0550, "north", 0.95),
    District("Jungnang-gu", "JR", 37.5980, 127.0930, "north", 0.80),
    District("Seongbuk-gu", "SB", 37.6060, 127.0180, "north", 0.85),
    District("Gangbuk-gu", "GB", 37.6430, 127.0110, "north", 0.65),
    District("Dobong-gu", "DB", 37.6690, 127.0320, "north", 0.60),
    District("Nowon-gu", "NW", 37.6520, 127.0750, "north", 0.60),
    District("Eunpyeong-gu", "EP", 37.6190, 126.9270, "north", 0.50),
    District("Seodaemun-gu", "SM", 37.5780, 126.9390, "north", 0.75),
    District("Mapo-gu", "MP", 37.5590, 126.9080, "north", 0.70),
    District("Yangcheon-gu", "YC", 37.5240, 126.8550, "south", 0.80),
    District("Gangseo-gu", "GS", 37.5610, 126.8230, "south", 0.50),
    District("Guro-gu", "GR", 37.4940, 126.8560, "south", 0.80),
    District("Geumcheon-gu", "GC", 37.4600, 126.9000, "south", 0.65),
    District("Yeongdeungpo-gu", "YD", 37.5220, 126.9100, "south", 0.80),
    District("Dongjak-gu", "DJ", 37.4980, 126.9510, "south", 0.80),
    District("Gwanak-gu", "GA", 37.4670, 126.9450, "south", 1.00),
    District("Seocho-gu", "SC", 37.4730, 127.0310, "south", 0.50),
    District("Gangnam-gu", "GN", 37.4970, 127.0630, "south", 0.90),
    District("Songpa-gu", "SP", 37.5050, 127.1150, "south", 0.55),
    District("Gangdong-gu", "GD", 37.5500, 127.1470, "south", 0.70),
)

# Clockwise from Gaehwa (north-west), (lat, lon). West and east ends follow the river's centreline.
SEOUL_BOUNDARY: tuple[tuple[float, float], ...] = (
    (37.6030, 126.7950), (37.5940, 126.8100), (37.5830, 126.8280), (37.5700, 126.8620), (37.5800, 126.8700),
    (37.5880, 126.8800), (37.5990, 126.9000), (37.6200, 126.9010), (37.6420, 126.9050), (37.6580, 126.9250),
    (37.6700, 126.9500), (37.6600, 126.9800), (37.6800, 126.9950), (37.6990, 127.0150), (37.6930, 127.0450),
    (37.6950, 127.0700), (37.6750, 127.0960), (37.6500, 127.1050), (37.6250, 127.1150), (37.6050, 127.1100),
    (37.5850, 127.1150), (37.5700, 127.1090), (37.5630, 127.1300), (37.5740, 127.1600), (37.5770, 127.1800),
    (37.5600, 127.1850), (37.5450, 127.1780), (37.5300, 127.1650), (37.5100, 127.1550), (37.4950, 127.1580),
    (37.4780, 127.1450), (37.4680, 127.1300), (37.4580, 127.1050), (37.4470, 127.0880), (37.4400, 127.0700),
    (37.4290, 127.0520), (37.4500, 127.0250), (37.4620, 127.0050), (37.4640, 126.9880), (37.4450, 126.9640),
    (37.4380, 126.9400), (37.4330, 126.9100), (37.4320, 126.8950), (37.4500, 126.8780), (37.4750, 126.8750),
    (37.4830, 126.8550), (37.4780, 126.8300), (37.4880, 126.8150), (37.5020, 126.8130), (37.5150, 126.8230),
    (37.5300, 126.8080), (37.5450, 126.7900), (37.5600, 126.7700), (37.5800, 126.7640), (37.5950, 126.7780),
)

# Downstream, east to west (longitude strictly decreasing), (lat, lon).
HAN_RIVER_CENTERLINE: tuple[tuple[float, float], ...] = (
    (37.5800, 127.1900), (37.5740, 127.1600), (37.5630, 127.1300), (37.5450, 127.1130), (37.5330, 127.1030),
    (37.5250, 127.0930), (37.5230, 127.0750), (37.5280, 127.0600), (37.5350, 127.0450), (37.5370, 127.0300),
    (37.5350, 127.0180), (37.5250, 127.0080), (37.5140, 126.9960), (37.5100, 126.9820), (37.5150, 126.9650),
    (37.5190, 126.9520), (37.5270, 126.9420), (37.5350, 126.9320), (37.5400, 126.9200), (37.5430, 126.9050),
    (37.5520, 126.8900), (37.5630, 126.8730), (37.5720, 126.8580), (37.5830, 126.8280), (37.5940, 126.8100),
    (37.6050, 126.7900), (37.6120, 126.7700),
)
HAN_RIVER_WIDTH_M = 1000.0

_COS = math.cos(math.radians(37.55))
_D_LAT = np.array([d.lat for d in DISTRICTS])
_D_LON = np.array([d.lon for d in DISTRICTS])
_D_NORTH = np.array([d.bank == "north" for d in DISTRICTS])
_RIVER = np.array(HAN_RIVER_CENTERLINE)


def in_seoul_mask(lat: ArrayLike, lon: ArrayLike) -> BoolArray:
    """Vectorised :func:`in_seoul`."""
    return point_in_polygon(lat, lon, SEOUL_BOUNDARY)


def in_han_river_mask(lat: ArrayLike, lon: ArrayLike) -> BoolArray:
    """Vectorised :func:`in_han_river`."""
    return polyline_distance_m(lat, lon, HAN_RIVER_CENTERLINE) <= HAN_RIVER_WIDTH_M / 2


def in_seoul(lat: float, lon: float) -> bool:
    """Whether the point lies inside the (approximate) city boundary; the river counts as inside."""
    return bool(in_seoul_mask(lat, lon))


def in_han_river(lat: float, lon: float) -> bool:
    """Whether the point lies on the water of the Han river (approximate)."""
    return bool(in_han_river_mask(lat, lon))


def district_indices(lat: ArrayLike, lon: ArrayLike) -> NDArray[np.intp]:
    """Index into DISTRICTS of the nearest centroid on the point's own bank of the river."""
    y, x = np.broadcast_arrays(np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64))
    north = y > np.interp(x, _RIVER[::-1, 1], _RIVER[::-1, 0])
    d2 = (y[..., None] - _D_LAT) ** 2 + ((x[..., None] - _D_LON) * _COS) ** 2
    d2 = np.where(north[..., None] == _D_NORTH, d2, np.inf)
    indices: NDArray[np.intp] = np.argmin(d2, axis=-1)
    return indices


def district_at(lat: float, lon: float) -> District | None:
    """The district containing the point, or None outside the city or on the river."""
    if not in_seoul(lat, lon) or in_han_river(lat, lon):
        return None
    return DISTRICTS[int(district_indices(lat, lon))]
