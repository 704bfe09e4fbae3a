#!/usr/bin/env python3
"""Draws Corral's icon (a fence in a rounded square) into RGBA PNGs with only the standard
library, so the icons can be regenerated anywhere: python3 icons/make-icons.py"""
import struct
import zlib
from pathlib import Path

HERE = Path(__file__).parent
BG = (22, 101, 82)      # deep green
FG = (246, 241, 226)    # fence


def pixel(x, y, n):
    """Colour of pixel (x, y) in an n x n icon, with 4x4 supersampling for smooth edges."""
    acc = [0.0, 0.0, 0.0, 0.0]
    for sy in range(4):
        for sx in range(4):
            u = (x + (sx + 0.5) / 4) / n
            v = (y + (sy + 0.5) / 4) / n
            r = 0.2  # corner radius
            cx = min(max(u, r), 1 - r)
            cy = min(max(v, r), 1 - r)
            inside = (u - cx) ** 2 + (v - cy) ** 2 <= r * r
            if not inside:
                continue
            post = any(abs(u - px) < 0.055 and 0.22 < v < 0.80 for px in (0.27, 0.5, 0.73))
            rail = 0.2 < u < 0.8 and (abs(v - 0.40) < 0.04 or abs(v - 0.62) < 0.04)
            c = FG if (post or rail) else BG
            acc[0] += c[0]
            acc[1] += c[1]
            acc[2] += c[2]
            acc[3] += 255
    return tuple(int(a / 16) for a in acc)


def png(n, path):
    raw = b"".join(
        b"\x00" + b"".join(struct.pack("BBBB", *pixel(x, y, n)) for x in range(n)) for y in range(n)
    )

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", n, n, 8, 6, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    path.write_bytes(data)


for size, name in [(32, "32x32.png"), (128, "128x128.png"), (256, "icon.png"), (32, "tray.png")]:
    png(size, HERE / name)
    print("wrote", name)
