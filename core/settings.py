"""Typed settings: what each part of a run gets, instead of the whole flag bag.

Planning translates the (legacy, tf_cnn_benchmarks-named) flags into one small
frozen dataclass per component, here, at the edge. The engine and plugins see
only their own settings, so a component's inputs are visible in its
signature, a flag rename touches one translation, and a component can be run
from Python (``cnnb.api``) or a test without a full configuration. Nothing
here imports TensorFlow.
"""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass(frozen=True)
class OptimizerSettings:
    """``--optimizer`` and its hyper-parameters (the rate comes from the schedule)."""

    name: str = "sgd"
    momentum: float = 0.9
    rmsprop_decay: float = 0.9
    rmsprop_momentum: float = 0.9
    rmsprop_epsilon: float = 1.0
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_epsilon: float = 1e-8


@dataclasses.dataclass(frozen=True)
class LossSettings:
    """The training loss: weight decay (L2) and which loss the step lines show."""

    weight_decay: float = 0.00004
    single_l2_loss_op: bool = False
    reported: str = "total_loss"          # or "base_loss" (--loss_type_to_report)


@dataclasses.dataclass(frozen=True)
class StepSettings:
    """How one step is compiled and what it returns besides the loss."""

    xla_compile: bool = False
    with_accuracy: bool = False           # top-1/5 over the global batch


@dataclasses.dataclass(frozen=True)
class LoopSettings:
    """The timed loop's reporting and its guard against a diverged loss."""

    display_every: int = 10
    display_perf_ewma: float | None = None
    show_accuracy: bool = False
    loss_name: str = "total_loss"
    allow_nonfinite_loss: bool = False    # NaN/inf loss: stop (exit 1) unless allowed


@dataclasses.dataclass(frozen=True)
class ScheduleSettings:
    """The learning-rate flags; without any, the model's own rate or schedule."""

    piecewise: str | None = None
    init_learning_rate: float | None = None
    num_epochs_per_decay: float = 0.0
    decay_factor: float = 0.0
    minimum_learning_rate: float = 0.0
    warmup_epochs: float = 0.0


@dataclasses.dataclass(frozen=True)
class CheckpointSettings:
    """Where checkpoints go and how often (``train_dir`` None: no checkpoints)."""

    train_dir: str | None = None
    max_to_keep: int = 5
    save_steps: int | None = None
    save_secs: int = 0


@dataclasses.dataclass(frozen=True)
class SummarySettings:
    """TensorBoard summaries of training (in ``train_dir``) and --eval (``eval_dir``)."""

    verbosity: int = 0
    every_steps: int = 0
    train_dir: str | None = None
    eval_dir: str = "/tmp/tf_cnn_benchmarks/eval"

    @property
    def for_training(self) -> bool:
        return bool(self.verbosity and self.train_dir and self.every_steps)


@dataclasses.dataclass(frozen=True)
class EvaluationSettings:
    """--eval's checkpoint polling and training's accuracy target."""

    interval_secs: int = 0
    stop_at_top_1_accuracy: float | None = None
    display_every: int = 10


@dataclasses.dataclass(frozen=True)
class RuntimeSettings:
    """TensorFlow's process-wide setup, done once before any device is used."""

    device: str = "cpu"
    num_devices: int = 1
    gpu_indices: str = ""
    data_format: str = "NHWC"
    num_intra_threads: int | None = None
    num_inter_threads: int = 0
    xla_auto_clustering: bool = False
    allow_growth: bool | None = None
    seed: int = 1234


@dataclasses.dataclass(frozen=True)
class InputSettings:
    """How batches reach the towers; the preprocessor's own options are
    ``preprocessing`` (a :class:`cnnb.dataset.InputOptions`)."""

    preprocessing: Any = None
    prefetch_to_device: bool = True       # --datasets_use_prefetch (one GPU)
    device_buffer_size: int = 1           # --multi_device_iterator_max_buffer_size


@dataclasses.dataclass(frozen=True)
class OutputSettings:
    """Where the result record goes (None: nowhere; ``-``: stdout)."""

    result_json: str | None = None
    result_csv: str | None = None         # one row appended per run (cnnb.result_csv)


@dataclasses.dataclass(frozen=True)
class PrecisionSettings:
    """Compute and variable types and loss scaling (``--precision``/``--use_fp16``,
    ``--fp16_*``); see :mod:`cnnb.precision`."""

    name: str = "fp32"                    # fp32, fp16 or bf16
    compute_dtype: str = "float32"
    variable_dtype: str = "float32"       # float16 with --fp16_vars (batch norm stays float32)
    loss_scale: float = 1.0               # initial value; 1 and not auto: no scaling
    auto_loss_scale: bool = False
    inc_loss_scale_every_n: int = 1000

    @property
    def scales_loss(self) -> bool:
        return self.auto_loss_scale or self.loss_scale != 1.0


@dataclasses.dataclass(frozen=True)
class ProfilingSettings:
    """What a run writes about itself: a trace of a warm-up step, a profile of
    timed steps, the step's graph, and the peak FLOP/s utilization is measured
    against (None: this machine's cached or measured matmul peak)."""

    trace_file: str | None = None
    profile_dir: str | None = None
    graph_file: str | None = None
    peak_flops: float | None = None


@dataclasses.dataclass(frozen=True)
class Settings:
    """Every component's settings of one run (``RunPlan.settings``)."""

    optimizer: OptimizerSettings = OptimizerSettings()
    loss: LossSettings = LossSettings()
    step: StepSettings = StepSettings()
    loop: LoopSettings = LoopSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    checkpoint: CheckpointSettings = CheckpointSettings()
    summary: SummarySettings = SummarySettings()
    evaluation: EvaluationSettings = EvaluationSettings()
    runtime: RuntimeSettings = RuntimeSettings()
    output: OutputSettings = OutputSettings()
    inputs: InputSettings = InputSettings()
    precision: PrecisionSettings = PrecisionSettings()
    profiling: ProfilingSettings = ProfilingSettings()


def settings_from_flags(config) -> Settings:
    """The legacy flags of ``config`` (a :class:`cnnb.config.RunConfig`) as settings."""
    from cnnb.dataset import InputOptions
    show_accuracy = bool(config.print_training_accuracy or config.forward_only)
    c = config
    return Settings(
        optimizer=OptimizerSettings(c.optimizer, c.momentum, c.rmsprop_decay, c.rmsprop_momentum,
                                    c.rmsprop_epsilon, c.adam_beta1, c.adam_beta2,
                                    c.adam_epsilon),
        loss=LossSettings(c.weight_decay, c.single_l2_loss_op, c.loss_type_to_report),
        step=StepSettings(bool(c.xla_compile), show_accuracy),
        loop=LoopSettings(c.display_every, c.display_perf_ewma, show_accuracy,
                          c.loss_type_to_report, bool(c.allow_nonfinite_loss)),
        schedule=ScheduleSettings(c.piecewise_learning_rate_schedule, c.init_learning_rate,
                                  c.num_epochs_per_decay, c.learning_rate_decay_factor,
                                  c.minimum_learning_rate, c.num_learning_rate_warmup_epochs),
        checkpoint=CheckpointSettings(c.train_dir, c.max_ckpts_to_keep, c.save_model_steps,
                                      c.save_model_secs),
        summary=SummarySettings(c.summary_verbosity, c.save_summaries_steps, c.train_dir,
                                c.eval_dir),
        evaluation=EvaluationSettings(c.eval_interval_secs, c.stop_at_top_1_accuracy,
                                      c.display_every),
        runtime=RuntimeSettings(c.device, c.num_gpus, c.gpu_indices, c.data_format,
                                c.num_intra_threads, c.num_inter_threads, bool(c.xla),
                                c.allow_growth, c.tf_random_seed),
        output=OutputSettings(c.result_json, c.get("result_csv")),
        inputs=InputSettings(InputOptions.from_config(c), c.datasets_use_prefetch,
                             c.multi_device_iterator_max_buffer_size),
        precision=precision_settings(c), profiling=profiling_settings(c))


def precision_settings(config) -> PrecisionSettings:
    from cnnb.precision import DTYPES, loss_scale_of, precision_name
    name = precision_name(config)
    return PrecisionSettings(name, DTYPES[name],
                             "float16" if config.get("fp16_vars") else "float32",
                             loss_scale_of(config), bool(config.get("fp16_enable_auto_loss_scale")),
                             config.get("fp16_inc_loss_scale_every_n") or 1000)


def profiling_settings(config) -> ProfilingSettings:
    return ProfilingSettings(config.get("trace_file") or None,
                             config.get("profile_dir") or config.get("tfprof_file") or None,
                             config.get("graph_file") or None, config.get("peak_flops"))
