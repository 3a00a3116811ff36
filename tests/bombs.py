"""Hostile media built byte by byte: small files that declare enormous images."""

from __future__ import annotations

import io
import struct
import zlib


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(side: int = 30_000) -> bytes:
    """A valid 1-bit greyscale PNG of ``side``×``side`` white pixels (30000² → ~110 KB on disk, 900 MB
    once a decoder expands it to one byte per pixel, 2.7 GB as BGR)."""
    row = b"\x00" + b"\xff" * ((side + 7) // 8)  # filter type 0, then the packed bits
    packer = zlib.compressobj(9)
    block = row * 256
    parts = [packer.compress(block) for _ in range(side // 256)]
    parts.append(packer.compress(row * (side % 256)))
    parts.append(packer.flush())
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1 bit, greyscale, deflate, no filter, no interlace
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", b"".join(parts))
            + _chunk(b"IEND", b""))


def clip_bomb(side: int = 16_000, frames: int = 2) -> bytes:
    """An AVI of PNG frames (each a :func:`png_bomb`) whose stream declares ``side``×``side`` (16000² is
    about the most FFmpeg accepts: ~110 KB of file, 768 MB per decoded BGR frame)."""
    from fractions import Fraction

    import av

    frame = png_bomb(side)
    out = io.BytesIO()
    with av.open(out, mode="w", format="avi") as container:
        stream = container.add_stream("png", rate=1)
        stream.width = stream.height = side
        stream.pix_fmt = "monob"
        for i in range(frames):
            packet = av.Packet(frame)
            packet.stream = stream
            packet.pts = packet.dts = i
            packet.time_base = Fraction(1, 1)
            container.mux(packet)
    return out.getvalue()
