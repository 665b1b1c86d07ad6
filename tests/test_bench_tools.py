"""The benchmarks' own helpers that can lose a run's figures (bench/): tested as code, not timed."""

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"


def load_bench(name: str):
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_memory_soak_keeps_its_logs_in_a_directory_it_makes(tmp_path):
    """An hour's soak ended in FileNotFoundError when --keep-logs named a directory not yet made,
    and its figures' JSON line was lost (6 December)."""
    soak = load_bench("memory_soak")
    work_dir = tmp_path / "work"
    work_dir.mkdir()
    (work_dir / "server-timed.log").write_text("timed\n")
    (work_dir / "samples.jsonl").write_text("{}\n")
    (work_dir / "other.txt").write_text("not kept\n")
    keep_dir = tmp_path / "kept" / "soak"

    kept = soak.keep_logs(work_dir, keep_dir, "run1")

    assert sorted(path.name for path in kept) == ["run1-samples.jsonl", "run1-server-timed.log"]
    assert (keep_dir / "run1-server-timed.log").read_text() == "timed\n"
    assert sorted(path.name for path in keep_dir.iterdir()) == ["run1-samples.jsonl", "run1-server-timed.log"]
