"""Thread settings on this CPU: TensorFlow's defaults versus hand-set counts.

Each setting runs in its own `cnnb run` process (TensorFlow fixes its thread
pools when it starts), alternating over rounds so machine noise hits all of
them, and prints the best images/sec and the ratio to TensorFlow's default
(``--num_intra_threads`` unset, ``--num_inter_threads=0``). This is what cnnb's
CPU thread defaults are chosen from (cnnb.threads).

    .venv/bin/python bench/threads.py [--model resnet20 --data_name cifar10]
        [--batch_size 32] [--rounds 2] [--steps 20]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile


def settings(cores: int) -> dict[str, list[str]]:
    """name -> extra `cnnb run` flags."""
    return {"TF default (intra all, inter all)": ["--num_intra_threads=0",
                                                  "--num_inter_threads=0"],
            f"intra {cores}, inter 1": [f"--num_intra_threads={cores}", "--num_inter_threads=1"],
            f"intra {cores}, inter 2": [f"--num_intra_threads={cores}", "--num_inter_threads=2"],
            "intra 1, inter 1": ["--num_intra_threads=1", "--num_inter_threads=1"],
            "cnnb default": []}


def images_per_sec(args, flags: list[str]) -> float:
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "result.json")
        subprocess.run([sys.executable, "-m", "cnnb", "run", f"--model={args.model}",
                        f"--data_name={args.data_name}", f"--batch_size={args.batch_size}",
                        f"--num_batches={args.steps}", "--num_warmup_batches=3",
                        "--display_every=1000", "--device=cpu",
                        f"--result_json={path}", *flags],
                       check=True, capture_output=True, text=True)
        with open(path, encoding="utf-8") as result:
            return json.load(result)["measurements"]["images_per_sec"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="resnet20")
    parser.add_argument("--data_name", default="cifar10")
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    rates: dict[str, list[float]] = {name: [] for name in settings(cores)}
    for round_number in range(args.rounds):
        for name, flags in settings(cores).items():
            rates[name].append(images_per_sec(args, flags))
        print(f"round {round_number + 1}: " + "  ".join(
            f"{name}: {values[-1]:.1f}" for name, values in rates.items()), flush=True)
    default = max(rates["TF default (intra all, inter all)"])
    print(f"{args.model} batch {args.batch_size}, {cores} cores, best of {args.rounds}:")
    for name, values in rates.items():
        print(f"  {name:36s} {max(values):8.1f} images/sec  ratio to TF default "
              f"{max(values) / default:.3f}")


if __name__ == "__main__":
    main()
