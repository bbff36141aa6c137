"""Runs that fail: one line on stderr, the right exit status, what finished kept.

* a batch that cannot fit in memory: exit 2 (the flags ask too much), naming
  the batch size and the tensor that did not fit;
* a loss that becomes NaN or inf: the run stops there with exit 1, its result
  record says it diverged, and no checkpoint of the broken model is saved;
  ``--allow_nonfinite_loss`` keeps timing.
"""

from __future__ import annotations

import json
import os

from cnnb.engine.failures import out_of_memory

TINY = ["run", "--model=trivial", "--data_name=cifar10", "--batch_size=4",
        "--num_warmup_batches=0", "--device=cpu"]
#: an SGD step this large sends the weights to inf after the first step
EXPLODING = ["--init_learning_rate=1e38", "--num_batches=4"]


def test_a_batch_too_large_for_memory_is_one_line(cnnb):
    result = cnnb(*TINY[:-3], "--batch_size=100000000000", "--num_batches=1",
                  "--num_warmup_batches=0")
    assert result.code == 2, result
    assert result.err.strip().count("\n") == 0 and "Traceback" not in result.err, result
    assert "out of memory with --batch_size=100000000000 per device" in result.err
    assert "[100000000000,32,32,3]" in result.err


def test_out_of_memory_message_counts_the_tensor_and_the_global_batch():
    message = ("OOM when allocating tensor with shape[64,1024,1024,2] and type half on "
               "/job:localhost/replica:0/task:0/device:GPU:1 by allocator GPU_1_bfc")
    error = out_of_memory(RuntimeError(message), 64, 8)
    assert str(error) == ("out of memory with --batch_size=64 per device (512 in all): a half "
                          "tensor of shape [64,1024,1024,2] (256.0 MiB) on GPU:1 did not fit; "
                          "use a smaller --batch_size (or more devices).")
    assert "the run did not fit" in str(out_of_memory(RuntimeError("OOM"), 8, 1))


def test_a_diverged_loss_stops_the_run_and_keeps_its_record(cnnb, tmp_path):
    record_path, train_dir = tmp_path / "r.json", tmp_path / "ckpt"
    result = cnnb(*TINY, *EXPLODING, f"--result_json={record_path}", f"--train_dir={train_dir}")
    assert result.code == 1, result
    errors = [line for line in result.err.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "the model diverged" in errors[0], result
    assert "--allow_nonfinite_loss" in errors[0] and "Traceback" not in result.err
    text = record_path.read_text()
    assert "NaN" not in text and "Infinity" not in text      # strict JSON
    measurements = json.loads(text)["measurements"]
    assert measurements["diverged"] is True and measurements["num_steps"] < 4
    assert measurements["last_average_loss"] is None
    assert measurements["stop_reason"].startswith("the loss became ")
    saved = [name for name in os.listdir(train_dir)] if train_dir.exists() else []
    assert not [name for name in saved if name.startswith("model.ckpt")], saved


def test_allow_nonfinite_loss_keeps_timing(cnnb, tmp_path):
    record_path = tmp_path / "r.json"
    result = cnnb(*TINY, *EXPLODING, "--allow_nonfinite_loss", f"--result_json={record_path}")
    assert result.code == 0, result
    measurements = json.loads(record_path.read_text())["measurements"]
    assert measurements["num_steps"] == 4 and measurements["diverged"] is False
