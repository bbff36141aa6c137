"""Cross-option rules: combinations of flags that cannot run, in one place.

Each rule is a small function over the value dict that raises ConfigError
with the fix. They follow the predecessor's ``validate_params`` and
``BenchmarkCNN.__init__`` checks for the features cnnb has.
"""

from __future__ import annotations

from cnnb.errors import ConfigError

LOCAL_VARIABLE_UPDATES = ("parameter_server", "replicated", "independent")


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


def one_device_for_now(v: dict) -> None:
    if v["num_gpus"] > 1:
        raise ConfigError("--num_gpus > 1 is not available in cnnb yet (multi-device runs are "
                          "still being built); use --num_gpus=1.")
    if v["variable_update"] not in LOCAL_VARIABLE_UPDATES:
        raise ConfigError(f"--variable_update={v['variable_update']} is not available in cnnb "
                          "yet (multi-worker runs are still being built); use parameter_server, "
                          "replicated or independent.")


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
         warmup_needs_explicit_rate, one_device_for_now)
