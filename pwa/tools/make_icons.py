"""Draw the app's icons: a white heart with a red lightning bolt (a defibrillator's mark) on red.

Writes pwa/icons/*.png (with zlib and struct only, no imaging library) and icon.svg from the same
shapes. Run from the repository root: python3 pwa/tools/make_icons.py
"""

import bisect
import struct
import zlib
from pathlib import Path

ICONS = Path(__file__).resolve().parent.parent / "icons"
RED = (200, 16, 46)
WHITE = (255, 255, 255)

# In a 100 x 100 box. The heart is cubic Bezier curves; the bolt is a polygon inside it.
HEART = [
    ((50, 90), (20, 68), (4, 50), (4, 32)),
    ((4, 32), (4, 17), (15, 7), (29, 7)),
    ((29, 7), (39, 7), (46, 13), (50, 21)),
    ((50, 21), (54, 13), (61, 7), (71, 7)),
    ((71, 7), (85, 7), (96, 17), (96, 32)),
    ((96, 32), (96, 50), (80, 68), (50, 90)),
]
BOLT = [(56, 16), (32, 50), (47, 50), (40, 80), (68, 42), (53, 42), (62, 16)]


def flatten(curves, steps=24):
    points = []
    for p0, p1, p2, p3 in curves:
        for i in range(steps):
            t = i / steps
            u = 1 - t
            weights = (u**3, 3 * u * u * t, 3 * u * t * t, t**3)
            points.append(
                tuple(
                    sum(w * c for w, c in zip(weights, axis, strict=True)) for axis in zip(p0, p1, p2, p3, strict=True)
                )
            )
    return points


def crossings(polygon, y):
    """x positions where the horizontal line at y crosses the polygon's edges, sorted."""
    xs = []
    for (x1, y1), (x2, y2) in zip(polygon, polygon[1:] + polygon[:1], strict=True):
        if (y1 <= y < y2) or (y2 <= y < y1):
            xs.append(x1 + (y - y1) * (x2 - x1) / (y2 - y1))
    return sorted(xs)


def inside(xs, x):
    return bisect.bisect_right(xs, x) % 2 == 1


def rounded_square(x, y, radius):
    """Inside a 100 x 100 square with rounded corners."""
    cx = min(max(x, radius), 100 - radius)
    cy = min(max(y, radius), 100 - radius)
    return (x - cx) ** 2 + (y - cy) ** 2 <= radius**2 and 0 <= x <= 100 and 0 <= y <= 100


def render(size, *, mark_scale, corner=None, badge=False, samples=4):
    """RGBA rows. mark_scale: the mark's size as a share of the icon (1 = the full box)."""
    heart = flatten(HEART)
    offset = 50 * (1 - mark_scale)
    rows = []
    for py in range(size):
        row = bytearray()
        subrows = []
        for sy in range(samples):
            y = (py + (sy + 0.5) / samples) * 100 / size
            my = (y - offset) / mark_scale
            subrows.append((y, crossings(heart, my), crossings(BOLT, my)))
        for px in range(size):
            background = mark = 0
            for sx in range(samples):
                x = (px + (sx + 0.5) / samples) * 100 / size
                mx = (x - offset) / mark_scale
                for y, heart_xs, bolt_xs in subrows:
                    in_background = corner is None or rounded_square(x, y, corner)
                    in_mark = inside(heart_xs, mx) and not inside(bolt_xs, mx)
                    background += in_background
                    mark += in_mark and in_background
            total = samples * samples
            if badge:
                row += bytes((*WHITE, round(255 * mark / total)))
                continue
            alpha = background / total
            share = mark / background if background else 0
            colour = [round(r * (1 - share) + w * share) for r, w in zip(RED, WHITE, strict=True)]
            row += bytes((*colour, round(255 * alpha)))
        rows.append(bytes(row))
    return rows


def png(rows, size):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + row for row in rows)
    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def svg():
    def fmt(point):
        return f"{point[0]:g} {point[1]:g}"

    path = f"M{fmt(HEART[0][0])}" + "".join(f"C{fmt(c1)} {fmt(c2)} {fmt(end)}" for _, c1, c2, end in HEART) + "Z"
    bolt = "M" + "L".join(fmt(point) for point in BOLT) + "Z"
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">'
        '<rect width="100" height="100" rx="22" fill="#c8102e"/>'
        '<g transform="translate(12 12) scale(.76)">'
        f'<path d="{path}" fill="#fff"/><path d="{bolt}" fill="#c8102e"/></g></svg>\n'
    )


def main():
    ICONS.mkdir(exist_ok=True)
    # "any" icons: rounded square, large mark. Maskable: full bleed, mark inside the safe circle
    # (the middle 80 %). Apple: full bleed (iOS rounds the corners itself). Badge: the mark alone.
    outputs = {
        "icon-192.png": (192, {"mark_scale": 0.76, "corner": 22}),
        "icon-512.png": (512, {"mark_scale": 0.76, "corner": 22}),
        "icon-maskable-192.png": (192, {"mark_scale": 0.56}),
        "icon-maskable-512.png": (512, {"mark_scale": 0.56}),
        "apple-touch-icon.png": (180, {"mark_scale": 0.7}),
        "badge-96.png": (96, {"mark_scale": 0.9, "badge": True}),
    }
    for name, (size, options) in outputs.items():
        (ICONS / name).write_bytes(png(render(size, **options), size))
    (ICONS / "icon.svg").write_text(svg(), encoding="utf-8")


if __name__ == "__main__":
    main()
