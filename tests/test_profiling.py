"""--trace_file, --profile_dir (--tfprof_file) and --graph_file on a real run."""

from __future__ import annotations

import json

import pytest


@pytest.mark.slow
def test_trace_profile_and_graph_files(cnnb_batch, tmp_path):
    trace, graph, profile = tmp_path / "t.json", tmp_path / "step.pbtxt", tmp_path / "prof"
    common = ["run", "--model=trivial", "--batch_size=4", "--num_batches=3", "--device=cpu",
              "--display_every=1"]
    traced, old_name = cnnb_batch([
        common + ["--num_warmup_batches=3", f"--trace_file={trace}", f"--graph_file={graph}",
                  f"--profile_dir={profile}"],
        common + ["--num_warmup_batches=0", f"--tfprof_file={tmp_path / 'old'}",
                  f"--trace_file={tmp_path / 'none.json'}"]])
    assert traced.code == 0, traced
    events = json.loads(trace.read_text())["traceEvents"]       # Chrome trace JSON
    op_names = {event["name"] for event in events if event.get("ph") == "X"}
    assert any("MatMul" in name for name in op_names), sorted(op_names)[:50]
    assert "Wrote a Chrome trace of warm-up step 2" in traced.out, traced
    assert graph.read_text().startswith("node {"), traced            # text GraphDef
    assert "MatMul" in graph.read_text()
    top = json.loads((profile / "top_ops.json").read_text())
    assert top and all(op["self_time_ms"] >= 0 for op in top), top
    assert any("MatMul" in op["type"] for op in top), top
    lines = traced.out_lines          # the top ops come before the totals block
    top = next(i for i, line in enumerate(lines) if line.startswith("Top "))
    assert top < next(i for i, line in enumerate(lines) if line.startswith("total images/sec"))
    # the predecessor's flag name still works; nothing to trace without warm-up steps
    assert old_name.code == 0, old_name
    assert (tmp_path / "old" / "top_ops.json").exists(), old_name
    assert "No warm-up step to trace" in old_name.out and not (tmp_path / "none.json").exists()
