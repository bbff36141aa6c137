"""Numeric precision of a run: names, flag rules, and what this CPU does natively.

``--precision=fp32|fp16|bf16`` picks the compute type; ``--use_fp16`` is the
predecessor's spelling of ``--precision=fp16``. Variables stay float32
("master" copies the optimizer updates) unless ``--fp16_vars``; batch-norm
variables always stay float32. Loss scaling (``--fp16_loss_scale``,
``--fp16_enable_auto_loss_scale``) guards float16's small range and follows
the predecessor (predecessor.md §3); its TensorFlow half is
:mod:`cnnb.engine.loss_scale`. Nothing here imports TensorFlow.
"""

from __future__ import annotations

from cnnb.errors import ConfigError

#: --precision name -> TensorFlow dtype name
DTYPES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}
#: the predecessor's default loss scale under --use_fp16 (Model.fp16_loss_scale)
DEFAULT_LOSS_SCALE = 128.0
#: /proc/cpuinfo flags meaning bfloat16 matrix math in hardware
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


def precision_name(values) -> str:
    """fp32, fp16 or bf16 from --precision and --use_fp16 (already checked together)."""
    if values.get("precision"):
        return values["precision"]
    return "fp16" if values.get("use_fp16") else "fp32"


def loss_scale_of(values) -> float:
    """The initial loss scale: --fp16_loss_scale, else 128 under fp16 (the
    predecessor's model default), else 1 (no scaling)."""
    if values.get("fp16_loss_scale") is not None:
        return float(values["fp16_loss_scale"])
    if precision_name(values) == "fp16":
        return DEFAULT_LOSS_SCALE
    return 128.0 if values.get("fp16_enable_auto_loss_scale") else 1.0


def precision_rules(v: dict) -> None:
    """The predecessor's fp16 checks plus the ones --precision adds."""
    name = v.get("precision")
    if v.get("use_fp16") and name not in (None, "fp16"):
        raise ConfigError(f"--use_fp16 means --precision=fp16; it cannot be combined with "
                          f"--precision={name}. Give one of them.")
    precision = precision_name(v)
    if v.get("fp16_vars") and precision != "fp16":
        raise ConfigError("--fp16_vars stores variables in float16; it needs --use_fp16 "
                          "(--precision=fp16).")
    scaling = [flag for flag in ("fp16_loss_scale", "fp16_enable_auto_loss_scale")
               if v.get(flag) not in (None, False)]
    if precision == "fp32" and scaling:
        raise ConfigError(f"{', '.join('--' + flag for flag in scaling)}: loss scaling needs "
                          "reduced precision; add --use_fp16 (or --precision=fp16/bf16).")
    _replication_rules(v)


def _replication_rules(v: dict) -> None:
    spec = v.get("all_reduce_spec") or ""
    if v.get("fp16_vars") and v.get("gradient_repacking"):
        raise ConfigError("--fp16_vars cannot be combined with --gradient_repacking (the "
                          "predecessor's rule: packs concatenate float32 gradients).")
    if v.get("fp16_vars") and v.get("variable_update") == "replicated" and "nccl" in spec:
        raise ConfigError("--fp16_vars with --variable_update=replicated cannot use an nccl "
                          "all-reduce; pick another --all_reduce_spec.")
    if not v.get("fp16_enable_auto_loss_scale"):
        return
    if v.get("variable_update") in ("distributed_replicated", "distributed_all_reduce"):
        raise ConfigError("--fp16_enable_auto_loss_scale cannot be used with "
                          f"--variable_update={v['variable_update']}.")
    if "nccl" in spec:
        raise ConfigError("--fp16_enable_auto_loss_scale cannot be used with an nccl "
                          "all-reduce (--all_reduce_spec); pick another algorithm.")
    if v.get("staged_vars"):
        raise ConfigError("--fp16_enable_auto_loss_scale cannot be used with --staged_vars.")


def cpu_flags(path: str = "/proc/cpuinfo") -> set[str]:
    """The instruction-set flags of the first CPU listed (empty if unknown)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as info:
            for line in info:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def precision_notes(precision: str, device: str, flags: set[str] | None = None) -> list[str]:
    """One line when this run's precision is emulated in software on this CPU."""
    if device != "cpu" or precision == "fp32":
        return []
    flags = cpu_flags() if flags is None else flags
    if precision == "bf16" and not any(flag in flags for flag in BF16_CPU_FLAGS):
        return ["bfloat16 is emulated on this CPU (no avx512_bf16/amx_bf16): expect it "
                "much slower than fp32"]
    if precision == "fp16" and "avx512_fp16" not in flags and "amx_fp16" not in flags:
        return ["float16 is emulated on this CPU (no avx512_fp16/amx_fp16): expect it "
                "slower than fp32"]
    return []
