"""The predecessor's console lines, so existing log parsers keep working."""

from __future__ import annotations

DASHES = "-" * 64


def info_block(plan, tf_version: str) -> list[str]:
    """``TensorFlow:`` then the ``print_info`` block ending in ``==========``."""
    config = plan.config
    data = "synthetic" if plan.synthetic else config.data_dir
    lines = [
        f"TensorFlow:  {tf_version}",
        f"Model:       {plan.model.display_name or plan.model.name}",
        f"Dataset:     {plan.dataset.name} ({data})",
        f"Mode:        {plan.mode}",
        "SingleSess:  False",
        f"Batch size:  {plan.batch_size * _workers(plan)} global",
        f"             {plan.batch_size_per_device} per device",
        f"Num batches: {plan.num_batches}",
        f"Num epochs:  {plan.num_epochs:.2f}",
        f"Devices:     {list(plan.devices)}",
        "NUMA bind:   False",
        f"Data format: {config.data_format}",
        f"Optimizer:   {config.optimizer}",
        f"Variables:   {config.variable_update}",
    ]
    if config.get("all_reduce_spec") and plan.capabilities.all_reduce_spec:
        lines.append(f"AllReduce:   {config.all_reduce_spec}")
    cluster = plan.replication.cluster if plan.replication else None
    if cluster is not None:
        lines += [f"Sync:        {cluster.cross_replica_sync}", f"Cluster:     {cluster.describe()}"]
    lines += [f"Note:        {note}" for note in config.notes]
    lines.append("==========")
    return lines


def _workers(plan) -> int:
    """Workers whose devices make up the global batch (1 in one process)."""
    return plan.replication.worker.num_workers if plan.replication else 1


def header(loss_name: str, show_accuracy: bool) -> str:
    text = f"Step\tImg/sec\t{loss_name.replace('/', ' ')}"
    if show_accuracy:
        text += "\ttop_1_accuracy\ttop_5_accuracy"
    return text


def step_line(step: int, timing, loss: float, accuracy=None) -> str:
    """``N\\timages/sec: M +/- U (jitter = J)\\tLOSS[\\tTOP1\\tTOP5]``."""
    text = f"{step}\t{timing.line()}\t{loss:.3f}"
    if accuracy is not None:
        text += f"\t{accuracy[0]:.3f}\t{accuracy[1]:.3f}"
    return text


def total_lines(images_per_sec: float) -> list[str]:
    return [DASHES, f"total images/sec: {images_per_sec:.2f}", DASHES]


def is_display_step(step: int, display_every: int) -> bool:
    """Step 1 and every ``display_every``-th step (1-based)."""
    return step == 1 or step % display_every == 0


def eval_rate_line(batch_number: int, examples_per_sec: float) -> str:
    """Printed every ``display_every`` evaluation batches."""
    return f"{batch_number}\t{examples_per_sec:.1f} examples/sec"


def accuracy_line(top_1: float, top_5: float, examples: int) -> str:
    """The evaluation result: mean over batches of each batch's accuracy."""
    return f"Accuracy @ 1 = {top_1:.4f} Accuracy @ 5 = {top_5:.4f} [{examples} examples]"
