"""Write the offline world basemap: Natural Earth 1:110m countries as a small GeoJSON.

Natural Earth is in the public domain. The copy used is the ``naturalearth_lowres`` dataset
that geopandas shipped inside its wheel until 1.0 (``geopandas/datasets/naturalearth_lowres``,
made by geopandas' ``naturalearth_creation.py`` from ``ne_110m_admin_0_countries``). The script
reads the shapefile straight from the wheel with a small reader for polygon shapefiles and
dBASE tables (no GDAL), rounds coordinates to ``--precision`` decimals, drops the points that
rounding makes repeat, and writes ``src/allsource/web/static/basemap/countries-110m.geojson``.

Run once (the output is committed; nothing is fetched at run time):

    .venv/bin/python -m pip download geopandas==0.14.4 --no-deps -d /tmp/ne
    .venv/bin/python scripts/basemap.py /tmp/ne/geopandas-0.14.4-py3-none-any.whl
"""

from __future__ import annotations

import argparse
import itertools
import json
import struct
import zipfile
from pathlib import Path
from typing import Any

DATASET = "geopandas/datasets/naturalearth_lowres/naturalearth_lowres"
OUT = (Path(__file__).resolve().parent.parent / "src" / "allsource" / "web" / "static"
       / "basemap" / "countries-110m.geojson")
KEEP = {"name": "name", "iso_a3": "iso_a3", "continent": "continent"}


def read_dbf(data: bytes) -> list[dict[str, str]]:
    """Records of a dBASE III table, as stripped strings."""
    count, header, size = struct.unpack("<xxxxIHH", data[:12])
    fields = []
    for pos in range(32, header - 1, 32):
        raw = data[pos:pos + 32]
        fields.append((raw[:11].split(b"\0")[0].decode("ascii").lower(), raw[16]))
    out = []
    for n in range(count):
        rec = data[header + n * size:header + (n + 1) * size]
        pos, row = 1, {}
        for name, width in fields:
            row[name] = rec[pos:pos + width].decode("utf-8", "replace").strip()
            pos += width
        out.append(row)
    return out


def read_shp(data: bytes) -> list[list[list[tuple[float, float]]]]:
    """Rings of each record of a polygon (type 5) shapefile."""
    shapes = []
    pos = 100
    while pos < len(data):
        _, length = struct.unpack(">ii", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + 2 * length]
        pos += 8 + 2 * length
        if struct.unpack("<i", body[:4])[0] != 5:
            shapes.append([])
            continue
        parts, points = struct.unpack("<ii", body[36:44])
        starts = [*struct.unpack(f"<{parts}i", body[44:44 + 4 * parts]), points]
        base = 44 + 4 * parts
        xy = struct.unpack(f"<{2 * points}d", body[base:base + 16 * points])
        coords = list(zip(xy[::2], xy[1::2], strict=True))
        shapes.append([coords[starts[i]:starts[i + 1]] for i in range(parts)])
    return shapes


def _area(ring: list[tuple[float, float]]) -> float:
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in itertools.pairwise(ring)) / 2


def _round(ring: list[tuple[float, float]], digits: int) -> list[list[float]]:
    out: list[list[float]] = []
    for x, y in ring:
        p = [round(x, digits), round(y, digits)]
        if not out or p != out[-1]:
            out.append(p)
    if out and out[0] != out[-1]:
        out.append(out[0])
    return out


def geometry(rings: list[list[tuple[float, float]]], digits: int) -> dict[str, Any]:
    """Shapefile rings (outer clockwise, holes counter-clockwise) as a GeoJSON (Multi)Polygon
    with RFC 7946 winding (outer counter-clockwise)."""
    polygons: list[list[list[list[float]]]] = []
    for ring in rings:
        r = _round(ring, digits)
        if len(r) < 4:
            continue
        if _area(ring) < 0:  # clockwise: an outer ring
            polygons.append([r[::-1]])
        elif polygons:
            polygons[-1].append(r[::-1])
    if len(polygons) == 1:
        return {"type": "Polygon", "coordinates": polygons[0]}
    return {"type": "MultiPolygon", "coordinates": polygons}


def build(wheel: Path, digits: int) -> dict[str, Any]:
    with zipfile.ZipFile(wheel) as z:
        shp, dbf = z.read(DATASET + ".shp"), z.read(DATASET + ".dbf")
    features = []
    for rec, rings in zip(read_dbf(dbf), read_shp(shp), strict=True):
        if rings:
            features.append({"type": "Feature",
                             "properties": {out: rec.get(src, "") for src, out in KEEP.items()},
                             "geometry": geometry(rings, digits)})
    return {"type": "FeatureCollection",
            "name": "Natural Earth 1:110m admin-0 countries (public domain)",
            "features": features}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("wheel", type=Path, help="geopandas 0.14.x wheel (pip download)")
    ap.add_argument("--precision", type=int, default=2, help="decimals kept (default 2)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    collection = build(args.wheel, args.precision)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(collection, separators=(",", ":"), ensure_ascii=False))
    print(f"wrote {len(collection['features'])} countries, "
          f"{args.out.stat().st_size / 1024:.0f} KiB to {args.out}")


if __name__ == "__main__":
    main()
