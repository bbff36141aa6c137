"""Cross-option rules: combinations of flags that cannot run, in one place.

Each rule is a small function over the value dict that raises ConfigError
with the fix. They follow the predecessor's ``validate_params`` and
``BenchmarkCNN.__init__`` checks for the features cnnb has.
"""

from __future__ import annotations

import os
import re

from cnnb.errors import ConfigError

def check_rules(values: dict) -> None:
    for rule in RULES:
        rule(values)


def nchw_needs_gpu(v: dict) -> None:
    if v["device"] == "cpu" and v["data_format"] == "NCHW":
        raise ConfigError("--data_format=NCHW is not supported on --device=cpu "
                          "(TensorFlow's CPU kernels need NHWC); use --data_format=NHWC.")


def batches_or_epochs(v: dict) -> None:
    if v["num_batches"] is not None and v["num_epochs"] is not None:
        raise ConfigError("--num_batches and --num_epochs cannot both be given; pick one.")


def piecewise_schedule_alone(v: dict) -> None:
    schedule = v["piecewise_learning_rate_schedule"]
    if schedule is None:
        return
    others = [name for name in ("init_learning_rate", "num_epochs_per_decay",
                                "learning_rate_decay_factor", "minimum_learning_rate")
              if v[name]]
    if others:
        raise ConfigError("--piecewise_learning_rate_schedule cannot be combined with "
                          + ", ".join("--" + name for name in others) + ".")
    parse_piecewise_schedule(schedule)


def decay_flags_together(v: dict) -> None:
    per_decay, factor = v["num_epochs_per_decay"], v["learning_rate_decay_factor"]
    if (per_decay or factor) and not (per_decay and factor and v["init_learning_rate"] is not None):
        raise ConfigError("--num_epochs_per_decay and --learning_rate_decay_factor must be given "
                          "together, with --init_learning_rate.")
    if v["minimum_learning_rate"] and not (per_decay and factor):
        raise ConfigError("--minimum_learning_rate needs --init_learning_rate, "
                          "--num_epochs_per_decay and --learning_rate_decay_factor.")


def warmup_needs_explicit_rate(v: dict) -> None:
    if v["num_learning_rate_warmup_epochs"] and v["init_learning_rate"] is None \
            and v["piecewise_learning_rate_schedule"] is None:
        raise ConfigError("--num_learning_rate_warmup_epochs needs --init_learning_rate or "
                          "--piecewise_learning_rate_schedule.")


def parse_piecewise_schedule(text: str) -> tuple[list[float], list[float]]:
    """'LR0;E1;LR1;...' -> (rates, boundary epochs); an even part count is an error."""
    parts = text.split(";")
    if len(parts) % 2 != 1:
        raise ConfigError(f"--piecewise_learning_rate_schedule='{text}' must have an odd number "
                          "of ';'-separated parts: LR0;E1;LR1;...;En;LRn.")
    try:
        numbers = [float(part) for part in parts]
    except ValueError:
        raise ConfigError(f"--piecewise_learning_rate_schedule='{text}' holds a non-number.") \
            from None
    rates, epochs = numbers[0::2], numbers[1::2]
    if any(b <= a for a, b in zip(epochs, epochs[1:])):
        raise ConfigError(f"--piecewise_learning_rate_schedule='{text}': epochs must increase.")
    return rates, epochs


RULES = (nchw_needs_gpu, batches_or_epochs, piecewise_schedule_alone, decay_flags_together,
         warmup_needs_explicit_rate)


# Evaluation and checkpoints (the predecessor's BenchmarkCNN.__init__ checks).
EVAL_DURING_TRAINING_FLAGS = ("eval_during_training_every_n_steps",
                              "eval_during_training_every_n_epochs",
                              "eval_during_training_at_specified_steps",
                              "eval_during_training_at_specified_epochs")


def eval_mode_alone(v: dict) -> None:
    if v["eval"] and v["forward_only"]:
        raise ConfigError("--eval and --forward_only cannot both be given; --eval evaluates a "
                          "checkpoint, --forward_only times inference.")
    if v["eval"] and not v["train_dir"]:
        raise ConfigError("Trained model directory not specified: --eval needs --train_dir "
                          "(the directory of the checkpoints, or one model.ckpt-N path).")


def one_eval_during_training(v: dict) -> None:
    given = ["--" + name for name in EVAL_DURING_TRAINING_FLAGS if v[name]]
    if len(given) > 1:
        raise ConfigError("At most one --eval_during_training_* flag may be given; got "
                          + " and ".join(given) + ".")
    for other in ("eval", "forward_only"):
        if given and v[other]:
            raise ConfigError(f"{given[0]} cannot be combined with --{other}: it evaluates "
                              "while training.")
    if v["stop_at_top_1_accuracy"] is not None and not given:
        raise ConfigError("--stop_at_top_1_accuracy is only supported with "
                          "--eval_during_training_*; add e.g. "
                          "--eval_during_training_every_n_steps=100.")


def one_checkpoint_period(v: dict) -> None:
    if v["save_model_secs"] and v["save_model_steps"]:
        raise ConfigError("At most one of --save_model_secs and --save_model_steps can be "
                          "given.")
    if (v["save_model_secs"] or v["save_model_steps"]) and not v["train_dir"]:
        raise ConfigError("--save_model_secs/--save_model_steps need --train_dir, the directory "
                          "that holds the checkpoints.")


def train_dir_is_a_directory(v: dict) -> None:
    """A checkpoint path (``.../model.ckpt-N``, the predecessor's pattern) is only
    for --eval: training would make a directory of that name. A regular file
    (or one on the way to the directory) fails here, before minutes of training
    end in an unwritable checkpoint."""
    train_dir = v["train_dir"]
    if not train_dir:
        return
    if not v["eval"] and re.search(r"ckpt-\d+$", train_dir) and not os.path.isdir(train_dir):
        raise ConfigError(f"--train_dir={train_dir} names a checkpoint; training needs the "
                          "directory (only --eval accepts one checkpoint's path).")
    existing = train_dir              # then its nearest existing parent (none: gs://...)
    while existing and not os.path.lexists(existing):
        existing = os.path.dirname(existing.rstrip(os.sep))
    if existing and not os.path.isdir(existing):
        wanted = ("the checkpoints' directory or one model.ckpt-N path (without .index)"
                  if v["eval"] else "a directory for the checkpoints (it is created if missing)")
        raise ConfigError(f"--train_dir={train_dir}: {existing} is a file, not a directory; "
                          f"give {wanted}.")


RULES += (eval_mode_alone, one_eval_during_training, one_checkpoint_period,
          train_dir_is_a_directory)


# Several devices and the all-reduce (predecessor.md §3, §4). Which variable
# managers take the all-reduce flags is their declared capability, checked
# when the run is planned (cnnb.replication.check_all_reduce_flags).


def all_reduce_spec_grammar(v: dict) -> None:
    """The spec's grammar; its algorithm names are checked against the installed
    plugins when the run is planned (still before TensorFlow starts)."""
    from cnnb.allreduce_spec import parse_spec_syntax
    if v["all_reduce_spec"] is None:
        return
    parse_spec_syntax(v["all_reduce_spec"])
    if v["hierarchical_copy"]:
        raise ConfigError("--hierarchical_copy and --all_reduce_spec both choose the "
                          "all-reduce; give one of them.")


def hierarchical_copy_devices(v: dict) -> None:
    if v["hierarchical_copy"] and v["num_gpus"] < 2:
        raise ConfigError("--hierarchical_copy needs several devices; use --num_gpus=2 or more.")
    if v["hierarchical_copy"] and v["network_topology"] == "gcp_v100" and v["num_gpus"] != 8:
        raise ConfigError("--network_topology=gcp_v100 is laid out for exactly 8 GPUs; use "
                          "--num_gpus=8 or --network_topology=dgx1.")


def gpu_indices_per_device(v: dict) -> None:
    from cnnb.devices import tower_indices
    tower_indices(v["num_gpus"], v["gpu_indices"])


def xla_compile_one_device(v: dict) -> None:
    if v["xla_compile"] and v["num_gpus"] > 1:
        raise ConfigError("--xla_compile compiles the whole step for one device and XLA cannot "
                          "span devices; with --num_gpus > 1 leave it out (--xla auto-clustering "
                          "works).")


RULES += (all_reduce_spec_grammar, hierarchical_copy_devices,
          gpu_indices_per_device, xla_compile_one_device)


def precision_flags(v: dict) -> None:
    from cnnb.precision import precision_rules
    precision_rules(v)


RULES += (precision_flags,)
