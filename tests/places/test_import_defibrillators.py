"""`manage.py import_defibrillators`: good files of each format, bad rows refused with where and
why while the good ones load, and a re-import that updates in place and reports what changed."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from backend.places.models import Access, Defibrillator, Source

pytestmark = pytest.mark.django_db


def osm_feature(number, latitude=52.63, longitude=1.29, **tags):
    return {
        "type": "Feature",
        "id": f"node/{number}",
        "properties": {"@id": f"node/{number}", "emergency": "defibrillator", **tags},
        "geometry": {"type": "Point", "coordinates": [longitude, latitude]},
    }


def geojson(*features) -> dict:
    return {"type": "FeatureCollection", "features": list(features)}


FORUM = osm_feature(
    1,
    name="Forum",
    access="yes",
    indoor="yes",
    level="0",
    opening_hours="Mo-Su 07:00-22:00",
    **{"defibrillator:location": "Inside the main entrance, left of the lifts", "operator": "Forum Trust"},
)
SHOP = osm_feature(2, 52.64, 1.30, access="customers", **{"contact:phone": "+44 1603 000000"})


def run_import(tmp_path, content, name="defibrillators.geojson", *args):
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_defibrillators", str(path), *args, stdout=out, stderr=err)
        failure = None
    except CommandError as error:
        failure = str(error)
    return out.getvalue(), err.getvalue(), failure


def test_it_imports_openstreetmap_geojson_with_the_tags_that_matter(tmp_path):
    out, err, failure = run_import(tmp_path, geojson(FORUM, SHOP))

    assert failure is None and err == ""
    assert "created 2, updated 0, unchanged 0" in out
    forum = Defibrillator.objects.get(source=Source.OSM, source_id="node/1")
    assert (forum.name, forum.access, forum.indoor, forum.level) == ("Forum", Access.YES, True, "0")
    assert forum.location == "Inside the main entrance, left of the lifts"
    assert (forum.opening_hours, forum.operator) == ("Mo-Su 07:00-22:00", "Forum Trust")
    assert (forum.latitude, forum.longitude) == (52.63, 1.29)
    shop = Defibrillator.objects.get(source_id="node/2")
    assert (shop.access, shop.indoor, shop.phone) == (Access.CUSTOMERS, None, "+44 1603 000000")


def test_a_way_in_geojson_is_placed_at_the_centre_of_its_outline(tmp_path):
    square = [[1.0, 52.0], [1.002, 52.0], [1.002, 52.002], [1.0, 52.002], [1.0, 52.0]]
    way = {**osm_feature(3), "id": "way/3", "properties": {"@id": "way/3", "emergency": "defibrillator"}}
    way["geometry"] = {"type": "Polygon", "coordinates": [square]}

    run_import(tmp_path, geojson(way))

    point = Defibrillator.objects.get(source_id="way/3")
    assert point.latitude == pytest.approx(52.001) and point.longitude == pytest.approx(1.001)


def test_it_imports_overpass_json_nodes_and_ways_by_their_centre(tmp_path):
    document = {
        "elements": [
            {"type": "node", "id": 10, "lat": 52.6, "lon": 1.7, "tags": {"emergency": "defibrillator"}},
            {
                "type": "way",
                "id": 11,
                "center": {"lat": 52.61, "lon": 1.71},
                "tags": {"emergency": "defibrillator", "opening_hours": "24/7"},
            },
        ]
    }
    out, _, failure = run_import(tmp_path, document, "overpass.json")

    assert failure is None and "(osm-json, source osm)" in out
    assert set(Defibrillator.objects.values_list("source_id", flat=True)) == {"node/10", "way/11"}
    assert Defibrillator.objects.get(source_id="way/11").latitude == 52.61


def test_it_imports_a_circuit_style_csv(tmp_path):
    csv_text = (
        "Defib ID,Site Name,Latitude,Longitude,Location Description,Access,Availability,Floor,Inside or Outside,Owner\n"
        "a1b2,Village Hall,52.7,1.2,Yellow cabinet by the door,Public,24/7,,Outside,Parish Council\n"
        "c3d4,Surgery,52.71,1.21,Reception,Restricted,Mo-Fr 08:00-18:30,0,Inside,GP Practice\n"
    )
    out, _, failure = run_import(tmp_path, "\ufeff" + csv_text, "circuit.csv")

    assert failure is None and "(circuit-csv, source circuit)" in out and "created 2" in out
    hall = Defibrillator.objects.get(source=Source.CIRCUIT, source_id="a1b2")
    assert (hall.name, hall.access, hall.indoor, hall.opening_hours) == ("Village Hall", Access.YES, False, "24/7")
    assert (hall.location, hall.operator) == ("Yellow cabinet by the door", "Parish Council")
    surgery = Defibrillator.objects.get(source_id="c3d4")
    assert (surgery.access, surgery.indoor, surgery.level) == (Access.CUSTOMERS, True, "0")


def test_bad_rows_are_refused_with_the_feature_and_the_reason_and_the_good_ones_load(tmp_path):
    features = [
        FORUM,
        osm_feature(20, latitude=95),  # feature 2
        {**osm_feature(21), "geometry": None},  # feature 3
        {**osm_feature(22), "properties": {"@id": "node/22", "amenity": "bench"}},  # feature 4
        {**FORUM},  # feature 5: node/1 again
        osm_feature(23, name="x" * 201),  # feature 6
        {"type": "Feature", "properties": {"emergency": "defibrillator"}, "geometry": FORUM["geometry"]},  # 7
        SHOP,
    ]
    out, err, failure = run_import(tmp_path, geojson(*features))

    assert failure == "6 of 8 refused (listed above); the others were imported."
    assert "Refused feature 2 (node/20): latitude 95 is outside -90 to 90." in err
    assert "Refused feature 3 (node/21): no geometry." in err
    assert "Refused feature 4 (node/22): not tagged emergency=defibrillator." in err
    assert "Refused feature 5 (node/1): the same id as feature 1 (node/1)." in err
    assert "Refused feature 6 (node/23): name is longer than 200 characters." in err
    assert "Refused feature 7: no id" in err
    assert "created 2" in out and "refused 6" in out
    assert set(Defibrillator.objects.values_list("source_id", flat=True)) == {"node/1", "node/2"}


def test_bad_csv_rows_are_refused_with_their_row_number_as_a_spreadsheet_shows_it(tmp_path):
    csv_text = "id,latitude,longitude\nok1,52.7,1.2\nbad1,north,1.2\n,52.7,1.2\nok2,52.71,1.21,extra\n"

    _, err, failure = run_import(tmp_path, csv_text, "circuit.csv")

    assert failure.startswith("3 of 4 refused")
    assert "Refused row 3 (bad1): latitude 'north' is not a number." in err
    assert "Refused row 4: no id." in err
    assert "Refused row 5: more cells than the header has columns." in err
    assert "row 2 (ok1)" not in err
    assert list(Defibrillator.objects.values_list("source_id", flat=True)) == ["ok1"]


def test_a_file_that_cannot_be_read_changes_nothing(tmp_path):
    run_import(tmp_path, geojson(FORUM))

    _, _, not_json = run_import(tmp_path, "{not json")
    _, _, no_id_column = run_import(tmp_path, "name,latitude,longitude\nx,52,1\n", "circuit.csv")

    assert "not JSON" in not_json and "Nothing was imported." in not_json
    assert "no column for id: one of id, defib id" in no_id_column
    assert Defibrillator.objects.filter(removed_from_source_at__isnull=True).count() == 1


def test_a_reimport_updates_in_place_and_reports_what_changed(tmp_path):
    run_import(tmp_path, geojson(FORUM, SHOP, osm_feature(3)))
    forum_pk = Defibrillator.objects.get(source_id="node/1").pk
    moved_forum = osm_feature(1, name="The Forum", access="yes", opening_hours="24/7")

    out, _, failure = run_import(tmp_path, geojson(moved_forum, SHOP, osm_feature(4)))

    assert failure is None
    assert "created 1, updated 1, unchanged 1, 1 marked removed from the source, refused 0" in out
    forum = Defibrillator.objects.get(source_id="node/1")
    assert forum.pk == forum_pk and forum.name == "The Forum" and forum.opening_hours == "24/7"
    gone = Defibrillator.objects.get(source_id="node/3")
    assert gone.removed_from_source_at is not None  # marked, not deleted

    out, _, _ = run_import(tmp_path, geojson(moved_forum, SHOP, osm_feature(4), osm_feature(3)))

    assert "created 0, updated 1, unchanged 3, 0 marked removed" in out
    assert Defibrillator.objects.get(source_id="node/3").removed_from_source_at is None


def test_a_refused_row_is_not_taken_for_a_removal(tmp_path):
    run_import(tmp_path, geojson(FORUM, SHOP))

    run_import(tmp_path, geojson(FORUM, osm_feature(2, latitude=999)))

    assert Defibrillator.objects.get(source_id="node/2").removed_from_source_at is None


def test_keep_missing_leaves_points_a_partial_file_lacks(tmp_path):
    run_import(tmp_path, geojson(FORUM, SHOP))

    out, _, _ = run_import(tmp_path, geojson(FORUM), "part.geojson", "--keep-missing")

    assert "points missing from the file left as they were" in out
    assert not Defibrillator.objects.filter(removed_from_source_at__isnull=False).exists()


def test_a_circuit_import_leaves_openstreetmap_points_alone(tmp_path):
    run_import(tmp_path, geojson(FORUM))

    run_import(tmp_path, "id,latitude,longitude\nc1,52.7,1.2\n", "circuit.csv")

    assert Defibrillator.objects.get(source_id="node/1").removed_from_source_at is None


def test_a_dry_run_reports_and_changes_nothing(tmp_path):
    out, _, failure = run_import(tmp_path, geojson(FORUM, SHOP), "defibrillators.geojson", "--dry-run")

    assert failure is None and out.startswith("Dry run, nothing changed: would have ")
    assert "created 2" in out
    assert not Defibrillator.objects.exists()


def test_the_demo_file_is_labelled_made_up_and_loads_cleanly(tmp_path):
    from backend.accounts.management.commands.load_demo_data import DEMO_DEFIBRILLATORS

    document = json.loads(DEMO_DEFIBRILLATORS.read_text())
    assert document["description"].startswith("MADE UP FOR THE DEMO")
    out, err, failure = run_import(tmp_path, DEMO_DEFIBRILLATORS.read_text())

    assert failure is None and err == "" and f"created {len(document['features'])}" in out
    assert all("Demo" in name for name in Defibrillator.objects.values_list("name", flat=True))


def test_the_demo_data_command_loads_them_and_leaves_real_points_alone(tmp_path, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    run_import(tmp_path, geojson(FORUM))  # a deployer's real point

    call_command("load_demo_data", stdout=io.StringIO())
    call_command("load_demo_data", stdout=io.StringIO())

    assert Defibrillator.objects.filter(source_id__startswith="node/demo-").count() == 26
    assert Defibrillator.objects.get(source_id="node/1").removed_from_source_at is None
