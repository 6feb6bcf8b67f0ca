"""The kernel's logo: a white Omega on a purple disc, drawn by code (no image tools needed).

The committed ``logo-32x32.png`` and ``logo-64x64.png`` next to this module were made with
``python -m omega_tui.kernel.logo``; run it again only to change the design.
"""

from __future__ import annotations

import math
import struct
import zlib
from pathlib import Path

__all__ = ["logo_png", "LOGO_SIZES", "LOGO_DIR"]

LOGO_SIZES = (32, 64)
LOGO_DIR = Path(__file__).resolve().parent
BACKGROUND = (75, 46, 131)
FOREGROUND = (255, 255, 255)
SUPERSAMPLE = 4


def _inside_disc(x: float, y: float) -> bool:
    return (x - 0.5) ** 2 + (y - 0.5) ** 2 <= 0.49 ** 2


def _inside_omega(x: float, y: float) -> bool:
    """The glyph in unit coordinates: an open ring standing on two feet."""
    cx, cy, outer, inner = 0.5, 0.45, 0.27, 0.18
    dx, dy = x - cx, y - cy
    radius = math.hypot(dx, dy)
    angle_from_down = math.degrees(math.atan2(abs(dx), dy))  # 0 straight down, 180 straight up
    ring = inner <= radius <= outer and angle_from_down >= 38
    legs = 0.58 <= y <= 0.70 and 0.11 <= abs(dx) <= 0.20
    feet = 0.70 <= y <= 0.77 and 0.06 <= abs(dx) <= 0.30
    return ring or legs or feet


def _pixel(size: int, px: int, py: int) -> tuple[int, int, int, int]:
    disc = glyph = 0
    for sy in range(SUPERSAMPLE):
        for sx in range(SUPERSAMPLE):
            x = (px + (sx + 0.5) / SUPERSAMPLE) / size
            y = (py + (sy + 0.5) / SUPERSAMPLE) / size
            if _inside_disc(x, y):
                disc += 1
                glyph += _inside_omega(x, y)
    samples = SUPERSAMPLE * SUPERSAMPLE
    if not disc:
        return (0, 0, 0, 0)
    mix = glyph / disc
    color = tuple(round(b + (f - b) * mix) for b, f in zip(BACKGROUND, FOREGROUND))
    return (*color, round(255 * disc / samples))  # type: ignore[return-value]


def logo_png(size: int) -> bytes:
    """The logo as an RGBA PNG of ``size`` x ``size`` pixels."""
    rows = bytearray()
    for py in range(size):
        rows.append(0)  # filter: none
        for px in range(size):
            rows.extend(_pixel(size, px, py))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(rows), 9)) + chunk(b"IEND", b"")


def main() -> None:
    for size in LOGO_SIZES:
        (LOGO_DIR / f"logo-{size}x{size}.png").write_bytes(logo_png(size))


if __name__ == "__main__":
    main()
