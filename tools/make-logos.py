#!/usr/bin/env python3
"""Rasterise kernelspec/logo-svg.svg's shapes into the two PNG logos.

Pure Python (zlib + struct), so it needs nothing installed. The shapes are
drawn from the same coordinates as the SVG: a rounded square, a polyline and
a dot, with 4x4 supersampling for smooth edges.
"""
import math
import pathlib
import struct
import zlib

BG = (0x1F, 0x6F, 0x8B)
LINE = (0xFF, 0xFF, 0xFF)
DOT = (0xFF, 0xB3, 0x47)
POINTS = [(12, 46), (24, 34), (33, 40), (52, 18)]


def inside_rounded(x, y):
    x0, y0, x1, y1, r = 2, 2, 62, 62, 12
    cx = min(max(x, x0 + r), x1 - r)
    cy = min(max(y, y0 + r), y1 - r)
    return x0 <= x <= x1 and y0 <= y <= y1 and (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def dist_segment(px, py, a, b):
    (ax, ay), (bx, by) = a, b
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(px - ax - t * dx, py - ay - t * dy)


def colour_at(x, y):
    if not inside_rounded(x, y):
        return None
    if math.hypot(x - 52, y - 18) <= 5:
        return DOT
    if min(dist_segment(x, y, POINTS[i], POINTS[i + 1]) for i in range(3)) <= 3:
        return LINE
    return BG


def render(size):
    scale, ss = 64 / size, 4
    rows = []
    for j in range(size):
        row = bytearray([0])
        for i in range(size):
            acc, alpha = [0, 0, 0], 0
            for sj in range(ss):
                for si in range(ss):
                    c = colour_at((i + (si + 0.5) / ss) * scale, (j + (sj + 0.5) / ss) * scale)
                    if c:
                        alpha += 1
                        acc = [a + v for a, v in zip(acc, c)]
            n = ss * ss
            rgb = [round(a / alpha) if alpha else 0 for a in acc]
            row += bytes(rgb + [round(255 * alpha / n)])
        rows.append(bytes(row))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b""))


if __name__ == "__main__":
    out = pathlib.Path(__file__).resolve().parents[1] / "kernelspec"
    for size in (32, 64):
        (out / f"logo-{size}x{size}.png").write_bytes(render(size))
