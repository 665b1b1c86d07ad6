"""manage.py import_postcodes FILE: the ONS Postcode Directory's CSV, streamed, refused with the row
number of each bad row, updated by a re-import."""

import io

import pytest
from django.core.management import CommandError, call_command

from backend.postcodes.importing import import_postcodes
from backend.postcodes.models import Postcode

# The directory's header (a few of its ~50 columns, in its order, lower case) and rows as it has them.
HEADER = "pcd,pcd2,pcds,dointr,doterm,oscty,ced,oslaua,osward,usertype,oseast1m,osnrth1m,lat,long"


def row(pcds, lat="52.632808", long="1.291766", doterm=""):
    compact = pcds.replace(" ", "")
    codes = "E10000020,E58000001,E07000148,E05012345"
    return f"{compact:<7},{pcds:<8},{pcds},198001,{doterm},{codes},0,623000,308000,{lat},{long}"


def write(tmp_path, *rows, header=HEADER, name="onspd.csv"):
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return str(path)


def run(path, *args):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_postcodes", path, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def table():
    return {p.code: (p.postcode, p.latitude, p.longitude, p.terminated) for p in Postcode.objects.all()}


def test_it_imports_the_directorys_rows(db, tmp_path):
    path = write(
        tmp_path,
        row("NR2 1TF"),
        row("PE30 1AA", "52.7534", "0.3961"),
        row("NR1 9ZZ", doterm="201512"),
        row("NR99 1AA", "99.999999", "0.000000"),  # the directory's "no grid reference"
    )
    out, _ = run(path)
    assert table() == {
        "NR21TF": ("NR2 1TF", 52.632808, 1.291766, ""),
        "PE301AA": ("PE30 1AA", 52.7534, 0.3961, ""),
        "NR19ZZ": ("NR1 9ZZ", 52.632808, 1.291766, "201512"),
    }
    assert "Imported 3 postcodes" in out and "1 without a location" in out


def test_it_reads_an_upper_case_header_and_a_byte_order_mark(db, tmp_path):
    path = tmp_path / "old.csv"
    path.write_text("\ufeff" + HEADER.upper() + "\n" + row("NR2 1TF") + "\n", encoding="utf-8")
    run(str(path))
    assert list(table()) == ["NR21TF"]


def test_a_reimport_updates_in_place(db, tmp_path):
    run(write(tmp_path, row("NR2 1TF"), row("NR3 1UR")))
    first_ids = dict(Postcode.objects.values_list("code", "pk"))
    run(write(tmp_path, row("NR2 1TF", "52.6400", "1.3000", doterm="202401"), name="newer.csv"))
    assert table()["NR21TF"] == ("NR2 1TF", 52.64, 1.3, "202401")
    assert table()["NR31UR"][0] == "NR3 1UR"  # not in the newer file: kept
    assert dict(Postcode.objects.values_list("code", "pk")) == first_ids


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        (row("NR2 1TF", lat="north"), "'north' is not a number (lat)"),
        (row("NR2 1TF", long=""), "is not a number (long)"),
        (row("NR2 1TF", lat="1.29", long="52.63"), "outside the United Kingdom (lat)"),
        (row("NR2 1TF", lat="nan"), "not a number (lat)"),
        (row("NOT A CODE"), "is not a UK postcode (pcds)"),
        (row("NR2 1TF", doterm="2015"), "is not YYYYMM (doterm)"),
        ("NR21TF,NR2 1TF", "only 2 columns"),
    ],
)
def test_a_bad_row_is_refused_with_its_row_number_and_nothing_is_imported(db, tmp_path, bad, says):
    Postcode.objects.create(code="NR31UR", postcode="NR3 1UR", latitude=52.63, longitude=1.29)
    path = write(tmp_path, row("PE30 1AA"), row("NR1 1AA"), bad, row("IP24 1AA"))
    with pytest.raises(CommandError) as error:
        run(path)
    assert "Row 4: " in str(error.value) and says in str(error.value)
    assert "nothing was imported" in str(error.value)
    assert list(table()) == ["NR31UR"]


def test_every_bad_row_is_named(db, tmp_path):
    path = write(tmp_path, row("X"), row("NR2 1TF"), row("NR2 1TF", lat="x"))
    with pytest.raises(CommandError) as error:
        run(path)
    assert "2 bad rows" in str(error.value) and "Row 2: " in str(error.value) and "Row 4: " in str(error.value)


def test_bad_rows_can_be_skipped_on_request(db, tmp_path):
    path = write(tmp_path, row("X"), row("NR2 1TF"))
    out, err = run(path, "--skip-bad-rows")
    assert list(table()) == ["NR21TF"]
    assert "Row 2: " in err and "1 bad rows skipped" in out


def test_a_file_without_the_directorys_columns_is_refused(db, tmp_path):
    path = write(tmp_path, "NR2 1TF,52.6,1.29", header="postcode,latitude,longitude")
    with pytest.raises(CommandError) as error:
        run(path)
    assert "lacks the columns pcds, lat, long, doterm" in str(error.value)


def test_a_missing_file_is_refused_clearly(db, tmp_path):
    with pytest.raises(CommandError) as error:
        run(str(tmp_path / "nowhere.csv"))
    assert "Cannot read" in str(error.value)


def test_it_streams_in_batches_whatever_the_file_size(db, monkeypatch):
    """Rows are written as they are read, a batch at a time (the reader is a generator: nothing
    holds the whole file), and a postcode repeated in a later batch takes its last copy."""
    from backend.postcodes import importing

    batches = []
    write_batch = importing._write
    monkeypatch.setattr(importing, "BATCH_SIZE", 7)

    def counting_write(rows):
        rows = list(rows)
        batches.append(len(rows))
        return write_batch(rows)

    monkeypatch.setattr(importing, "_write", counting_write)
    rows = (row(f"NR{n // 100 + 1} {n % 10}{chr(65 + n // 10)}A") for n in range(250))
    lines = iter([HEADER, *rows, row("NR1 0AA", lat="52.7")])  # NR1 0AA again, moved
    result = import_postcodes(line + "\n" for line in lines)
    assert (result.written, Postcode.objects.count()) == (251, 250)
    assert max(batches) == 7 and sum(batches) == 251
    assert Postcode.objects.get(code="NR10AA").latitude == 52.7


def test_the_demo_sample_is_labelled_made_up_and_covers_the_demo_stations(db):
    from backend.accounts.management.commands.load_demo_data import DEMO_POSTCODES, STATIONS

    text = DEMO_POSTCODES.read_text()
    assert "made-up" in DEMO_POSTCODES.name
    assert all("MADE UP FOR THE DEMO" in line for line in text.splitlines()[1:])
    run(str(DEMO_POSTCODES))
    places = list(Postcode.objects.values_list("latitude", "longitude"))
    for name, _code, latitude, longitude in STATIONS:
        nearest = min(((lat - latitude) ** 2 + (lon - longitude) ** 2) ** 0.5 for lat, lon in places)
        assert nearest < 0.05, f"no demo postcode near {name}"
