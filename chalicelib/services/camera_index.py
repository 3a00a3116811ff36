"""Nearest-camera search over the city's catalog.

Cameras are stored column-wise (numpy arrays, strings packed into UTF-8 blobs) and indexed by a
k-d tree on unit-sphere vectors: chord distance is monotonic in great-circle distance, so the
tree's order is the haversine order. ``Camera`` models are built only for the answers.
A snapshot (``to_npz_bytes``) is what a Lambda container loads once from the object store.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import cKDTree

from chalicelib.errors import ValidationFailed
from chalicelib.models.camera import Camera, CameraKind, CameraStatus, NearbyCamera, NearbyCameras
from chalicelib.services.geo import arc_m_to_chord, haversine_m_array, unit_xyz, unit_xyz_point

MAX_K = 50
MIN_RADIUS_M, MAX_RADIUS_M = 1.0, 50_000.0
SNAPSHOT_VERSION = 1

_PAD = 2  # extra neighbours per query, so chord/haversine rounding can never reorder the k-th
_GROWTH = 4  # how fast a filtered search widens
_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_KINDS = tuple(CameraKind)
_STATUSES = tuple(CameraStatus)
Accept = Callable[[Camera], bool]


@dataclass(frozen=True)
class _Strings:
    """A column of optional strings: one UTF-8 blob, offsets, and a presence mask."""

    blob: bytes
    offsets: NDArray[np.int64]
    present: NDArray[np.bool_]

    @classmethod
    def pack(cls, values: Sequence[str | None]) -> _Strings:
        encoded = [b"" if v is None else v.encode() for v in values]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(e) for e in encoded], out=offsets[1:])
        present = np.fromiter((v is not None for v in values), dtype=np.bool_, count=len(values))
        return cls(b"".join(encoded), offsets, present)

    def get(self, i: int) -> str | None:
        return self.text(i) if self.present[i] else None

    def text(self, i: int) -> str:
        return self.blob[self.offsets[i]:self.offsets[i + 1]].decode()

    def arrays(self, name: str) -> dict[str, NDArray[np.generic]]:
        return {f"{name}_blob": np.frombuffer(self.blob, dtype=np.uint8), f"{name}_offsets": self.offsets,
                f"{name}_present": self.present}

    @classmethod
    def from_arrays(cls, arrays: dict[str, NDArray[np.generic]], name: str, n: int) -> _Strings:
        blob = arrays[f"{name}_blob"].astype(np.uint8, copy=False).tobytes()
        offsets = arrays[f"{name}_offsets"].astype(np.int64, copy=False)
        present = arrays[f"{name}_present"].astype(np.bool_, copy=False)
        if offsets.shape != (n + 1,) or present.shape != (n,) or offsets[0] != 0 or offsets[-1] != len(blob) \
                or bool(np.any(np.diff(offsets) < 0)):
            raise ValueError(f"column {name} is inconsistent")
        return cls(blob, offsets, present)


def _codes(values: Iterable[str], table: Sequence[str], what: str) -> NDArray[np.uint8]:
    lookup = {v: i for i, v in enumerate(table)}
    try:
        return np.fromiter((lookup[v] for v in values), dtype=np.uint8)
    except KeyError as exc:
        raise ValidationFailed(f"unknown {what} {exc.args[0]!r}") from None


def _check_unique(camera_ids: Sequence[str]) -> None:
    if len(set(camera_ids)) != len(camera_ids):
        raise ValidationFailed("camera ids must be unique")


def _check_query(lat: float, lon: float, k: int, radius_m: float) -> None:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= MAX_K:
        raise ValidationFailed(f"k must be an integer from 1 to {MAX_K}")
    if not (isinstance(radius_m, int | float) and MIN_RADIUS_M <= radius_m <= MAX_RADIUS_M):
        raise ValidationFailed(f"radius_m must be from {MIN_RADIUS_M:g} to {MAX_RADIUS_M:g} m")
    if not (isinstance(lat, int | float) and isinstance(lon, int | float) and -90.0 <= lat <= 90.0
            and -180.0 <= lon <= 180.0):
        raise ValidationFailed("lat must be within [-90, 90] and lon within [-180, 180]")


def _note(found: int, k: int, radius_m: float, filtered: bool) -> str | None:
    if found >= k:
        return None
    noun = "matching camera" if filtered else "camera"
    if found == 0:
        return f"no {noun}s within {radius_m:g} m"
    return f"only {found} {noun}{'' if found == 1 else 's'} within {radius_m:g} m"


class CameraIndex:
    """Immutable nearest-neighbour index over a camera catalog."""

    def __init__(self, cameras: Iterable[Camera]) -> None:
        cams = list(cameras)
        _check_unique([c.camera_id for c in cams])
        districts = sorted({c.district for c in cams})
        lookup = {d: i for i, d in enumerate(districts)}
        self._set(
            ids=_Strings.pack([c.camera_id for c in cams]),
            kinds=_codes((c.kind.value for c in cams), [k.value for k in _KINDS], "kind"),
            district_codes=np.fromiter((lookup[c.district] for c in cams), dtype=np.int32, count=len(cams)),
            district_names=tuple(districts),
            lat=np.fromiter((c.lat for c in cams), dtype=np.float64, count=len(cams)),
            lon=np.fromiter((c.lon for c in cams), dtype=np.float64, count=len(cams)),
            streams=_Strings.pack([c.stream_name for c in cams]),
            prefixes=_Strings.pack([c.recording_prefix for c in cams]),
            statuses=_codes((c.status.value for c in cams), [s.value for s in _STATUSES], "status"),
        )

    @classmethod
    def from_arrays(cls, *, camera_ids: Sequence[str], kinds: Sequence[str], districts: Sequence[str],
                    lat: ArrayLike, lon: ArrayLike, stream_names: Sequence[str | None] | None = None,
                    recording_prefixes: Sequence[str | None] | None = None,
                    statuses: Sequence[str] | None = None) -> CameraIndex:
        """Build from parallel columns, validated as ``Camera`` would validate them."""
        n = len(camera_ids)
        lat_a, lon_a = np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64)
        streams = [None] * n if stream_names is None else list(stream_names)
        prefixes = [None] * n if recording_prefixes is None else list(recording_prefixes)
        status_values = [CameraStatus.ACTIVE.value] * n if statuses is None else list(statuses)
        if {len(kinds), len(districts), len(lat_a), len(lon_a), len(streams), len(prefixes), len(status_values)} != {n} \
                or lat_a.ndim != 1 or lon_a.ndim != 1:
            raise ValidationFailed("every column must have one value per camera")
        if not (np.all(np.abs(lat_a) <= 90.0) and np.all(np.abs(lon_a) <= 180.0)):
            raise ValidationFailed("lat must be within [-90, 90] and lon within [-180, 180]")
        if not all(_ID.match(i) for i in camera_ids):
            raise ValidationFailed("camera ids must match ^[A-Za-z0-9._-]{1,64}$")
        if not all(0 < len(d) <= 64 for d in districts):
            raise ValidationFailed("district names must have 1 to 64 characters")
        if not all(s is None or len(s) <= 256 for s in (*streams, *prefixes)):
            raise ValidationFailed("stream names and recording prefixes have at most 256 characters")
        _check_unique(camera_ids)
        names = sorted(set(districts))
        lookup = {d: i for i, d in enumerate(names)}
        index = cls.__new__(cls)
        index._set(
            ids=_Strings.pack(list(camera_ids)),
            kinds=_codes(kinds, [k.value for k in _KINDS], "kind"),
            district_codes=np.fromiter((lookup[d] for d in districts), dtype=np.int32, count=n),
            district_names=tuple(names), lat=lat_a.copy(), lon=lon_a.copy(),
            streams=_Strings.pack(streams), prefixes=_Strings.pack(prefixes),
            statuses=_codes(status_values, [s.value for s in _STATUSES], "status"),
        )
        return index

    def _set(self, *, ids: _Strings, kinds: NDArray[np.uint8], district_codes: NDArray[np.int32],
             district_names: tuple[str, ...], lat: NDArray[np.float64], lon: NDArray[np.float64],
             streams: _Strings, prefixes: _Strings, statuses: NDArray[np.uint8]) -> None:
        self._ids, self._kinds, self._statuses = ids, kinds, statuses
        self._district_codes, self._district_names = district_codes, district_names
        self._lat, self._lon, self._streams, self._prefixes = lat, lon, streams, prefixes
        self._n = len(lat)
        self._tree = cKDTree(unit_xyz(lat, lon).reshape(-1, 3), leafsize=16)

    def __len__(self) -> int:
        return self._n

    def __iter__(self) -> Iterator[Camera]:
        return (self.camera_at(i) for i in range(self._n))

    def coordinates(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Latitude and longitude columns (read-only views, in storage order): for map layers."""
        lat, lon = self._lat.view(), self._lon.view()
        lat.flags.writeable = lon.flags.writeable = False
        return lat, lon

    def district_counts(self) -> dict[str, int]:
        """Cameras per district name."""
        counts = np.bincount(self._district_codes, minlength=len(self._district_names))
        return {name: int(n) for name, n in zip(self._district_names, counts, strict=True)}

    def camera_at(self, position: int) -> Camera:
        """The camera stored at ``position`` (0 ≤ position < len)."""
        i = int(position)
        if not 0 <= i < self._n:
            raise IndexError(position)
        return Camera.model_construct(
            camera_id=self._ids.text(i), kind=_KINDS[self._kinds[i]],
            district=self._district_names[self._district_codes[i]],
            lat=float(self._lat[i]), lon=float(self._lon[i]), stream_name=self._streams.get(i),
            recording_prefix=self._prefixes.get(i), status=_STATUSES[self._statuses[i]])

    # -- search ---------------------------------------------------------------------------------

    def nearest(self, lat: float, lon: float, k: int = 5, radius_m: float = 3000.0,
                accept: Accept | None = None) -> NearbyCameras:
        """Up to ``k`` cameras within ``radius_m`` of the point, nearest first (haversine).

        With ``accept``, cameras it rejects are skipped and the search widens until ``k`` are
        accepted or the radius is exhausted. ``complete`` is False, with a note, when fewer
        than ``k`` are found.
        """
        _check_query(lat, lon, k, radius_m)
        lat, lon, radius_m = float(lat), float(lon), float(radius_m)
        found: list[NearbyCamera] = []
        if self._n:
            query = unit_xyz_point(lat, lon)
            bound = arc_m_to_chord(radius_m) * (1 + 1e-9) + 1e-12
            m, offered = min(self._n, k + _PAD), set[int]()
            while True:
                positions, distances, certain, exhausted = self._candidates(query, lat, lon, m, bound, radius_m)
                for j in range(certain):
                    position = int(positions[j])
                    if position in offered:
                        continue  # a wider query repeats what was already offered
                    offered.add(position)
                    camera = self.camera_at(position)
                    if accept is None or accept(camera):
                        found.append(NearbyCamera.model_construct(camera=camera, distance_m=float(distances[j])))
                        if len(found) == k:
                            break
                if len(found) == k or exhausted:
                    break
                m = min(self._n, m * _GROWTH)
        return NearbyCameras.model_construct(cameras=found, requested=k, radius_m=radius_m, complete=len(found) == k,
                                             note=_note(len(found), k, radius_m, accept is not None))

    def _candidates(self, query: tuple[float, float, float], lat: float, lon: float, m: int, bound: float,
                    radius_m: float) -> tuple[NDArray[np.intp], NDArray[np.float64], int, bool]:
        """The ``m`` tree neighbours within the radius, sorted by (haversine, position); how many
        of them are certain to be the true leading ones; and whether the radius is exhausted."""
        _, hits = self._tree.query(query, k=m, distance_upper_bound=bound)
        hits = np.atleast_1d(hits)
        hits = hits[hits < self._n]
        distances = haversine_m_array(lat, lon, self._lat[hits], self._lon[hits])
        inside = distances <= radius_m
        hits, distances = hits[inside], distances[inside]
        order = np.lexsort((hits, distances))
        hits, distances = hits[order], distances[order]
        if len(inside) < m or m == self._n or len(hits) < m - _PAD:
            return hits, distances, len(hits), True
        return hits, distances, m - _PAD, False

    # -- snapshot -------------------------------------------------------------------------------

    def to_npz_bytes(self) -> bytes:
        """A compressed, pickle-free snapshot that :meth:`from_npz_bytes` restores."""
        arrays: dict[str, NDArray[np.generic]] = {
            "version": np.array([SNAPSHOT_VERSION], dtype=np.int64),
            "lat": self._lat, "lon": self._lon, "kinds": self._kinds, "statuses": self._statuses,
            "kind_names": np.array([k.value for k in _KINDS]), "status_names": np.array([s.value for s in _STATUSES]),
            "district_codes": self._district_codes,
            "district_names": np.array(self._district_names, dtype=np.str_).reshape(-1),
            **self._ids.arrays("ids"), **self._streams.arrays("streams"), **self._prefixes.arrays("prefixes"),
        }
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]
        return buffer.getvalue()

    @classmethod
    def from_npz_bytes(cls, data: bytes) -> CameraIndex:
        """Restore a snapshot written by :meth:`to_npz_bytes` (raises ValidationFailed if unreadable)."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                arrays = {name: npz[name] for name in npz.files}
            return cls._restore(arrays)
        except (OSError, EOFError, ValueError, TypeError, AttributeError, LookupError, zipfile.BadZipFile) as exc:
            raise ValidationFailed(f"camera index snapshot is unreadable: {exc}") from exc

    @classmethod
    def _restore(cls, arrays: dict[str, NDArray[np.generic]]) -> CameraIndex:
        if int(arrays["version"][0]) != SNAPSHOT_VERSION:
            raise ValueError(f"unsupported snapshot version {int(arrays['version'][0])}")
        lat = arrays["lat"].astype(np.float64, copy=False)
        lon = arrays["lon"].astype(np.float64, copy=False)
        n = len(lat)
        kind_map = np.array([_KINDS.index(CameraKind(str(v))) for v in arrays["kind_names"]], dtype=np.uint8)
        status_map = np.array([_STATUSES.index(CameraStatus(str(v))) for v in arrays["status_names"]], dtype=np.uint8)
        kind_codes, status_codes = arrays["kinds"].astype(np.intp), arrays["statuses"].astype(np.intp)
        if (n > 0 and min(kind_codes.min(), status_codes.min()) < 0) or not np.isfinite(lat).all():
            raise ValueError("columns are inconsistent")
        kinds, statuses = kind_map[kind_codes], status_map[status_codes]
        names = tuple(str(v) for v in arrays["district_names"])
        codes = arrays["district_codes"].astype(np.int32, copy=False)
        if lon.shape != (n,) or kinds.shape != (n,) or statuses.shape != (n,) or codes.shape != (n,) \
                or (n > 0 and not (codes.min() >= 0 and codes.max() < len(names))) \
                or not (np.all(np.abs(lat) <= 90.0) and np.all(np.abs(lon) <= 180.0)):
            raise ValueError("columns are inconsistent")
        index = cls.__new__(cls)
        index._set(ids=_Strings.from_arrays(arrays, "ids", n), kinds=kinds, district_codes=codes,
                   district_names=names, lat=lat, lon=lon, streams=_Strings.from_arrays(arrays, "streams", n),
                   prefixes=_Strings.from_arrays(arrays, "prefixes", n), statuses=statuses)
        return index
