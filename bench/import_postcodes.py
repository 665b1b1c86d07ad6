"""How fast `manage.py import_postcodes` reads the ONS Postcode Directory, and that it streams: a
generated ONSPD-shaped CSV (the directory's columns, distinct postcodes, a few terminated and a few
without a location) imported into a fresh SQLite database (temporary directory), then imported
again (every row an update), with the process's peak memory after each.

The floor, measured in the same run on the same file: reading and splitting every row with the
csv module and nothing else (the least any import could do). The last line printed is one JSON
object with the figures (times in s, memory in MiB) and the ratio of the import to the floor.

    .venv/bin/python bench/import_postcodes.py              # 300,000 rows
    .venv/bin/python bench/import_postcodes.py --rows 2700000   # the whole directory's size
"""

import argparse
import csv
import io
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
HEADER = "pcd,pcd2,pcds,dointr,doterm,oscty,ced,oslaua,osward,parish,usertype,oseast1m,osnrth1m,osgrdind,lat,long"
LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # the letters an inward code's unit uses


def postcode(n: int) -> str:
    """A distinct, well-formed postcode for each n up to 20 areas x 99 districts x 10 x 400."""
    unit = LETTERS[n % 20] + LETTERS[(n // 20) % 20]
    sector = (n // 400) % 10
    district = (n // 4000) % 99 + 1
    area = [
        "NR",
        "PE",
        "IP",
        "CB",
        "CO",
        "SG",
        "LU",
        "MK",
        "AL",
        "HP",
        "OX",
        "RG",
        "SL",
        "GU",
        "KT",
        "TW",
        "HA",
        "UB",
        "WD",
        "EN",
    ][(n // 396000) % 20]
    return f"{area}{district} {sector}{unit}"


def write_directory(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER + "\n")
        for n in range(rows):
            pcds = postcode(n)
            doterm = "201512" if n % 50 == 0 else ""
            lat, long = (
                ("99.999999", "0.000000")
                if n % 997 == 0
                else (f"{52 + (n % 1000) / 1000:.6f}", f"{0.5 + (n % 700) / 1000:.6f}")
            )
            codes = "E10000020,E58000001,E07000148,E05012345,E04000001"
            out.write(
                f"{pcds.replace(' ', ''):<7},{pcds:<8},{pcds},198001,{doterm},{codes},0,623000,308000,1,{lat},{long}\n"
            )


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=300_000)
    rows = parser.parse_args().rows
    with tempfile.TemporaryDirectory(prefix="coresponder-postcodes-") as directory:
        os.environ["SQLITE_PATH"] = str(Path(directory) / "db.sqlite3")
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
        sys.path.insert(0, str(REPO_ROOT))
        import django

        django.setup()
        from django.core.management import call_command

        from backend.postcodes.models import Postcode

        call_command("migrate", verbosity=0)
        source = Path(directory) / "ONSPD_BENCH_UK.csv"
        write_directory(source, rows)
        size_mib = source.stat().st_size / 2**20
        before_mib = peak_mib()

        started = time.perf_counter()
        with source.open(encoding="utf-8", newline="") as lines:
            read = sum(1 for _ in csv.reader(lines)) - 1
        floor_s = time.perf_counter() - started
        assert read == rows

        started = time.perf_counter()
        call_command("import_postcodes", str(source), stdout=io.StringIO())
        import_s = time.perf_counter() - started
        import_peak_mib = peak_mib()
        stored = Postcode.objects.count()

        started = time.perf_counter()
        call_command("import_postcodes", str(source), stdout=io.StringIO())
        reimport_s = time.perf_counter() - started
        assert Postcode.objects.count() == stored

    load = os.getloadavg()
    print(f"file: {rows} rows, {size_mib:.0f} MiB; {stored} postcodes stored (the rest have no location)")
    print(f"import: {import_s:.1f} s ({rows / import_s:,.0f} rows/s); again (all updates): {reimport_s:.1f} s")
    print(f"floor (csv.reader over the file): {floor_s:.2f} s")
    print(f"peak memory: {before_mib:.0f} MiB before the import, {import_peak_mib:.0f} MiB after")
    print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    figures = {
        "rows": rows,
        "file_mib": round(size_mib, 1),
        "import_s": round(import_s, 2),
        "reimport_s": round(reimport_s, 2),
        "floor_csv_read_s": round(floor_s, 2),
        "import_to_floor_ratio": round(import_s / floor_s, 1),
        "import_rows_per_s": round(rows / import_s),
        "peak_memory_before_mib": round(before_mib, 1),
        "peak_memory_after_import_mib": round(import_peak_mib, 1),
        "load_average_1m": round(load[0], 2),
    }
    print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()
