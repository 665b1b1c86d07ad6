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


def test_interleaved_runs_take_a_round_each_in_turn_until_all_have_ended():
    """dispatch_latency --interleave: the product and each floor step by turns, the product first in
    every turn (a floor never runs two rounds in a row while the product waits), and a run that
    ends first is left out of the turns after it."""
    import asyncio

    latency = load_bench("dispatch_latency")
    steps = []

    async def run(name, rounds):
        steps.append(f"{name} ready")
        yield
        for number in range(rounds):
            steps.append(f"{name} {number}")
            yield
        steps.append(f"{name} done")

    asyncio.run(latency.in_turns([run("product", 2), run("floor", 3)]))

    assert steps == [
        "product ready",
        "floor ready",
        "product 0",
        "floor 0",
        "product 1",
        "floor 1",
        "product done",
        "floor 2",
        "floor done",
    ]


def test_dispatch_cpu_reports_this_trees_cpu_over_the_baselines_round_by_round():
    """bench/dispatch_cpu.py: the ratio is this tree's over the baseline's (below 1: this tree is
    cheaper), per round and their median, from each child's CPU p50."""
    dispatch_cpu = load_bench("dispatch_cpu")
    rounds = [
        {"this": {"cpu_p50_ms": 45.0}, "baseline": {"cpu_p50_ms": 60.0}},
        {"this": {"cpu_p50_ms": 50.0}, "baseline": {"cpu_p50_ms": 50.0}},
        {"this": {"cpu_p50_ms": 40.0}, "baseline": {"cpu_p50_ms": 64.0}},
    ]
    assert dispatch_cpu.ratios(rounds) == {
        "cpu_p50_ratio_per_round": [0.75, 1.0, 0.625],
        "cpu_p50_ratio_median_x": 0.75,
    }
    figures = dispatch_cpu.summary([3.0, 1.0, 2.0], [9.0, 7.0, 8.0])
    assert figures == {"cpu_p50_ms": 2.0, "cpu_min_ms": 1.0, "wall_p50_ms": 8.0, "wall_min_ms": 7.0}
