"""The option table: every predecessor flag, with its name, default and meaning.

Names and defaults are tf_cnn_benchmarks' so existing command lines run
unchanged. ``status`` says what cnnb does with each: ACTIVE flags work,
NO_TF2 flags are accepted with a one-line warning (their TF1 machinery is
gone), PLANNED flags are rejected with a message until their feature lands.
"""

from __future__ import annotations

from cnnb.options import NO_TF2, PLANNED, Option, lower_case, upper_case

RESIZE_METHODS = ("nearest", "bilinear", "bicubic", "area", "round_robin", "crop")


def _o(name, type_, default, help_, **kw):
    return Option(name, type_, default, help_, **kw)


def _no_tf2(name, type_, default, why):
    return Option(name, type_, default, f"(no effect in TF2) {why}", status=NO_TF2, note=why,
                  group="tf1")


def _planned(name, type_, default, help_, feature, **kw):
    return Option(name, type_, default, help_, status=PLANNED, note=feature, **kw)


CORE_OPTIONS: tuple[Option, ...] = (
    # What to run.
    _o("model", str, "trivial", "Model to run; see 'cnnb models'."),
    _o("batch_size", int, 0, "Batch size per device; 0 means the model's default.", min=0),
    _o("num_batches", int, None, "Number of timed batches (default 100).", min=1),
    _o("num_epochs", float, None, "Number of epochs to run, converted to batches rounding up: "
       "ceil(epochs x examples in --data_dir / global batch). Not with --num_batches.", min=0),
    _o("num_warmup_batches", int, None, "Untimed batches before the timed ones "
       "(default max(10, 5*autotune_threshold^2)).", min=0),
    _o("autotune_threshold", int, None, "Only sets the default of --num_warmup_batches in TF2.",
       min=0),
    _o("num_gpus", int, 1, "Number of devices (GPUs, or logical CPUs with --device=cpu).", min=1),
    _o("display_every", int, 10, "Print a step line every this many steps.", min=1),
    _o("display_perf_ewma", float, None, "If set, images/sec in step lines is an "
       "exponentially weighted average with this alpha.", min=0.0, max=1.0),
    _o("forward_only", bool, False, "Inference only: no loss, no gradients."),
    _o("print_training_accuracy", bool, False, "Print top-1/top-5 accuracy in step lines."),
    _o("allow_nonfinite_loss", bool, False, "Keep training when the loss becomes NaN or inf "
       "(by default the run stops there with exit status 1)."),
    _o("result_json", str, None, "Write the run's result record to this JSON file (atomically).",
       group="output"),
    _o("result_csv", str, None, "Append one row per run to this CSV file (header once, "
       "atomically; see docs/results.md).", group="output"),
    # Devices and TF runtime.
    _o("device", str, "gpu", "Device for computation: cpu or gpu (default gpu if one is visible).",
       choices=("cpu", "gpu"), normalize=lower_case),
    _o("data_format", str, "NCHW", "Image layout: NCHW (GPU only) or NHWC (default NHWC on CPU).",
       choices=("NHWC", "NCHW"), normalize=upper_case),
    _o("num_intra_threads", int, None, "Threads inside one op (0: TF's choice).", min=0),
    _o("num_inter_threads", int, 0, "Ops run in parallel (0: TF's choice).", min=0),
    _o("xla_compile", bool, False, "Compile each step with XLA (tf.function(jit_compile=True))."),
    _o("xla", bool, False, "Turn on XLA auto-clustering for the whole program."),
    _o("tf_random_seed", int, 1234, "TensorFlow random seed."),
    _o("allow_growth", bool, None, "Let GPU memory grow as needed instead of taking it all."),
    # Optimization.
    _o("optimizer", str, "sgd", "Optimizer: sgd, momentum (Nesterov), rmsprop or adam.",
       choices=("sgd", "momentum", "rmsprop", "adam")),
    _o("init_learning_rate", float, None, "Initial learning rate (default: the model's).", min=0),
    _o("piecewise_learning_rate_schedule", str, None,
       "'LR0;E1;LR1;...;En;LRn': LRi applies from epoch Ei on."),
    _o("num_epochs_per_decay", float, 0, "Epochs between learning-rate decays.", min=0),
    _o("learning_rate_decay_factor", float, 0, "Learning-rate decay factor.", min=0),
    _o("num_learning_rate_warmup_epochs", float, 0, "Epochs of linear learning-rate warm-up.",
       min=0),
    _o("minimum_learning_rate", float, 0, "Floor of the decayed learning rate.", min=0),
    _o("resnet_base_lr", float, None, "Base learning rate of the ResNet schedule.", min=0),
    _o("momentum", float, 0.9, "Momentum of the momentum optimizer."),
    _o("rmsprop_decay", float, 0.9, "RMSProp decay."),
    _o("rmsprop_momentum", float, 0.9, "RMSProp momentum."),
    _o("rmsprop_epsilon", float, 1.0, "RMSProp epsilon."),
    _o("adam_beta1", float, 0.9, "Adam beta1."),
    _o("adam_beta2", float, 0.999, "Adam beta2."),
    _o("adam_epsilon", float, 1e-8, "Adam epsilon."),
    _o("gradient_clip", float, None, "Clip each gradient element to [-c, c]."),
    _o("weight_decay", float, 0.00004, "L2 weight decay (batch-norm variables excluded)."),
    _o("loss_type_to_report", str, "total_loss", "Loss shown in step lines.",
       choices=("base_loss", "total_loss")),
    _o("single_l2_loss_op", bool, False, "Compute the L2 loss as one op over all variables."),
    # Variables and devices across towers.
    _o("variable_update", str, "parameter_server", "Variable manager: how variables are shared "
       "between devices, e.g. parameter_server (one copy, gradients averaged), replicated (a "
       "copy per device, gradients summed by all-reduce), independent (no sharing); installed "
       "plugins add more: see 'cnnb variable-managers'."),
    _o("local_parameter_device", str, "gpu", "Device holding the parameter-server variables.",
       choices=("cpu", "gpu"), normalize=lower_case),
    # Data.
    _o("data_name", str, None, "Dataset name (imagenet, cifar10, imagefolder, ...); inferred "
       "from --data_dir's path or files."),
    _o("data_dir", str, None, "Directory of real data; unset means synthetic data."),
    _o("input_preprocessor", str, "default", "Preprocessor of real data; see 'cnnb preprocessors'."),
    _o("resize_method", str, "bilinear", "Image resize method for real data (round_robin: by "
       "position in the batch; crop: central crop or pad, no interpolation).",
       choices=RESIZE_METHODS),
    _o("distortions", bool, False, "Distort real training images: random colour changes of "
       "ImageNet-style data (imagenet, imagefolder; their random crop and flip happen either "
       "way) and CIFAR-10's pad, random crop and flip. Off by default, as in the predecessor."),
    _o("distort_color_in_yiq", bool, True, "Colour distortions in YIQ space (real data)."),
    _o("fuse_decode_and_crop", bool, True, "Decode and crop JPEGs in one op (real data)."),
    _o("ml_perf", bool, False, "MLPerf-style preprocessing (mean subtraction, no bbox)."),
)

_EVAL = "evaluation and checkpoints"
_MULTI = "multi-device and multi-worker runs"
_PROFILE = "tracing and profiling"
_DATA = "real datasets"

# Evaluation, checkpoints and summaries.
EVALUATION_OPTIONS: tuple[Option, ...] = (
    _o("eval", bool, False, "Evaluate the latest (or the given) checkpoint of --train_dir "
       "instead of training.", group="evaluation"),
    _o("eval_batch_size", int, 0, "Evaluation batch size per device (0: --batch_size).", min=0,
       group="evaluation"),
    _o("num_eval_batches", int, None, "Evaluation batches (default: the training values).",
       min=1, group="evaluation"),
    _o("num_eval_epochs", float, None, "Evaluation epochs (of the validation set).", min=0,
       group="evaluation"),
    _o("eval_interval_secs", int, 0, "With --eval: evaluate each new checkpoint, checking this "
       "often (0: once).", min=0, group="evaluation"),
    _o("eval_during_training_every_n_steps", int, None, "Evaluate every N training steps.",
       min=1, group="evaluation"),
    _o("eval_during_training_every_n_epochs", float, None, "Evaluate every N epochs.", min=0,
       group="evaluation"),
    _o("eval_during_training_at_specified_steps", str, None, "Evaluate at these steps "
       "(comma-separated).", group="evaluation"),
    _o("eval_during_training_at_specified_epochs", str, None, "Evaluate at these epochs "
       "(comma-separated).", group="evaluation"),
    _o("stop_at_top_1_accuracy", float, None, "Stop training once evaluation top-1 accuracy "
       "reaches this.", group="evaluation"),
    _planned("collect_eval_results_async", bool, False, "Collect eval results asynchronously.",
             "the ssd300 model"),
    _o("train_dir", str, None, "Checkpoint directory: training resumes from and saves "
       "model.ckpt-STEP here; --eval reads it.", group="checkpoints"),
    _o("eval_dir", str, "/tmp/tf_cnn_benchmarks/eval", "Where --eval writes its summaries.",
       group="checkpoints"),
    _o("save_model_secs", int, 0, "Save a checkpoint every N seconds (0: only at the end).",
       min=0, group="checkpoints"),
    _o("save_model_steps", int, None, "Save a checkpoint every N steps.", min=1,
       group="checkpoints"),
    _o("max_ckpts_to_keep", int, 5, "Checkpoints kept in --train_dir.", min=1,
       group="checkpoints"),
    _o("save_summaries_steps", int, 0, "Write TensorBoard summaries every N steps.", min=0,
       group="checkpoints"),
    _o("summary_verbosity", int, 0, "Summaries: 0 none, 1 scalars, 2 + variable histograms, "
       "3 + every variable and optimizer slot.", min=0, max=3, group="checkpoints"),
)

# Features still being built: rejected with what they wait for (status PLANNED).
PLANNED_FEATURE_OPTIONS: tuple[Option, ...] = (
    _planned("backbone_model_path", str, None, "Backbone checkpoint (ssd300).", _EVAL),
    _planned("freeze_when_forward_only", bool, False, "Freeze the inference graph.", _PROFILE),
    _planned("trt_mode", str, "", "TF-TRT precision.", _PROFILE,
             choices=("", "FP32", "FP16", "INT8")),
    _planned("trt_max_workspace_size_bytes", int, 4 << 30, "TF-TRT workspace.", _PROFILE),
    _o("trace_file", str, "", "Write a Chrome trace (JSON; chrome://tracing or Perfetto) of the "
       "second-to-last warm-up step to this file.", group="profiling"),
    _o("profile_dir", str, None, "Profile the first 10 timed steps with the TensorFlow "
       "profiler: its data (for TensorBoard's profile tab) and top_ops.json go to this "
       "directory; the top ops by time are printed.", group="profiling"),
    _o("tfprof_file", str, None, "The predecessor's name of --profile_dir (a directory now).",
       group="profiling"),
    _o("graph_file", str, None, "Write the training step's graph (GraphDef) to this file; text "
       "format if the name ends in txt.", group="profiling"),
    _o("peak_flops", float, None, "Peak FLOP/s that --result_json's mfu and the utilization line "
       "are measured against (default: this machine's matmul peak from 'cnnb peak', measured "
       "once and cached).", min=0, group="profiling"),
    _planned("benchmark_log_dir", str, None, "Benchmark log directory.", _PROFILE),
    _planned("benchmark_test_id", str, None, "Test id for the benchmark log.", _PROFILE),
    _o("precision", str, None, "Compute precision: fp32, fp16 or bf16 (variables stay float32; "
       "default fp32, or fp16 with --use_fp16).", choices=("fp32", "fp16", "bf16"),
       normalize=lower_case, group="precision"),
    _o("use_fp16", bool, False, "Compute in float16 (the predecessor's spelling of "
       "--precision=fp16); variables stay float32 unless --fp16_vars.", group="precision"),
    _o("fp16_vars", bool, False, "With --use_fp16: store variables in float16 too (batch-norm "
       "variables stay float32).", group="precision"),
    _o("fp16_loss_scale", float, None, "Loss scale: the loss is multiplied by it before "
       "differentiation and the gradients divided by it (default 128 with fp16).", min=0,
       group="precision"),
    _o("fp16_enable_auto_loss_scale", bool, False, "Automatic loss scaling: on inf/NaN "
       "gradients halve the scale and skip the update; double it after "
       "--fp16_inc_loss_scale_every_n clean steps.", group="precision"),
    _o("fp16_inc_loss_scale_every_n", int, 1000, "Clean steps before the automatic loss scale "
       "doubles.", min=1, group="precision"),
    _o("compact_gradient_transfer", bool, True, "With --use_fp16, replicated mode all-reduces "
       "float32 gradients as float16 (half the bytes moved) and casts the sums back.",
       group="precision"),
)

# Several devices and workers: the all-reduce (active) and the cluster (planned).
MULTI_DEVICE_OPTIONS: tuple[Option, ...] = (
    _o("all_reduce_spec", str, None, "Replicated mode: all-reduce algorithm(s) by gradient "
       "size, ALG[#SHARDS][:LIMIT:ALG[#SHARDS]...], e.g. xring, xring#2, pscpu:32k:xring; "
       "LIMIT counts elements (not bytes), K/M/G/T = 2^10/2^20/2^30/2^40. ALG: see "
       "'cnnb allreduce'. Default: copy (hierarchical_copy with --hierarchical_copy).",
       group="multi-device"),
    _o("gpu_indices", str, "", "Device index of each tower, comma-separated (one per "
       "--num_gpus); also the xring ring order, e.g. 0,1,3,2.", group="multi-device"),
    _o("hierarchical_copy", bool, False, "Replicated mode without --all_reduce_spec: sum each "
       "half of the devices, then the halves (tuned for 8 GPUs).", group="multi-device"),
    _o("network_topology", str, "dgx1", "Main devices of --hierarchical_copy (gcp_v100 needs "
       "8 devices).", group="multi-device", choices=("dgx1", "gcp_v100")),
    _o("gradient_repacking", int, 0, "Replicated mode: all-reduce each device's gradients as N "
       "packs of their concatenation (0: off).", min=0, group="multi-device"),
    _planned("variable_consistency", str, "strong", "relaxed defers reduced gradients a step.",
             _MULTI, choices=("strong", "relaxed")),
    _planned("staged_vars", bool, False, "Staged parameter-server variables.", _MULTI),
    _o("agg_small_grads_max_bytes", int, 0, "Replicated mode: all-reduce runs of consecutive "
       "float32 gradients of at most this many bytes as one packed tensor (0: off).", min=0,
       group="multi-device"),
    _o("agg_small_grads_max_group", int, 10, "Longest run of small gradients packed together "
       "(a run may reach this + 2, as in the predecessor).", min=1, group="multi-device"),
    _planned("allreduce_merge_scope", int, 1, "Gradients per all-reduce scope.", _MULTI, min=1),
    _o("job_name", str, "", "This process's role in a cluster: worker, ps (parameter server) "
       "or controller (drives the parameter-server modes); empty: one process, or TF_CONFIG.",
       choices=("", "ps", "worker", "controller"), group="cluster"),
    _o("ps_hosts", str, "", "Parameter servers, comma-separated host:port.", group="cluster"),
    _o("worker_hosts", str, "", "Workers, comma-separated host:port (worker 0 is the chief).",
       group="cluster"),
    _o("controller_host", str, None, "The controller's host:port (parameter-server modes).",
       group="cluster"),
    _o("task_index", int, 0, "This process's index among its --job_name's hosts.", min=0,
       group="cluster"),
    _o("server_protocol", str, "grpc", "Protocol of the cluster's servers.", group="cluster"),
    _o("cross_replica_sync", bool, True, "Synchronous updates across workers (parameter-server "
       "modes; collective_all_reduce is always synchronous).", group="cluster"),
    _o("horovod_device", str, "", "--variable_update=horovod: device of Horovod's all-reduce "
       "(empty: Horovod's default).", group="cluster"),
    _planned("gpu_memory_frac_for_testing", float, 0, "GPU memory fraction.", _MULTI,
             min=0, max=1),
)

# The tf.data input pipeline of real data.
INPUT_PIPELINE_OPTIONS: tuple[Option, ...] = (
    _o("datasets_use_prefetch", bool, True, "Prefetch input batches to the (GPU) device."),
    _o("datasets_num_private_threads", int, None, "Threads of a private tf.data thread pool.",
       min=1),
    _o("datasets_use_caching", bool, False, "Cache the raw input records in memory."),
    _o("datasets_parallel_interleave_cycle_length", int, None, "Input files read in parallel "
       "(default 10).", min=1),
    _o("datasets_sloppy_parallel_interleave", bool, False, "Let training input come out of "
       "order (faster)."),
    _o("datasets_repeat_cached_sample", bool, False, "Repeat one cached input record (measures "
       "preprocessing without I/O)."),
    _o("multi_device_iterator_max_buffer_size", int, 1, "Batches buffered on each device.",
       min=1),
    _planned("sparse_to_dense_grads", bool, False, "Dense gradients for embeddings (ncf).", _DATA),
)

NO_TF2_OPTIONS: tuple[Option, ...] = (
    _no_tf2("batch_group_size", int, 1, "TF2 has no staging areas; tf.data prefetches instead."),
    _no_tf2("use_datasets", bool, True, "input always goes through tf.data in TF2."),
    _no_tf2("gpu_thread_mode", str, "gpu_private", "TF_GPU_THREAD_MODE tuning was for TF1."),
    _no_tf2("per_gpu_thread_count", int, 0, "TF_GPU_THREAD_COUNT tuning was for TF1."),
    _no_tf2("use_numa_affinity", bool, False, "NUMA binding is left to the OS (numactl)."),
    _no_tf2("use_chrome_trace_format", bool, True, "the TF2 profiler picks its own format."),
    _no_tf2("partitioned_graph_file_prefix", str, None, "TF2 has no partitioned session graphs."),
    _no_tf2("use_unified_memory", bool, None, "a TF1 GPUOptions experiment."),
    _no_tf2("timestamped_allocator", bool, False, "a TF1 GPUOptions experiment."),
    _no_tf2("gpu_kt_max_interval", int, 0, "a TF1 GPUOptions experiment."),
    _no_tf2("gpu_kt_max_mem", int, 0, "a TF1 GPUOptions experiment."),
    _no_tf2("gpu_kt_max_pending", int, 0, "a TF1 GPUOptions experiment."),
    _no_tf2("use_tf_layers", bool, True, "cnnb always builds with its own layer builder."),
    _no_tf2("use_resource_vars", bool, False, "all TF2 variables are resource variables."),
    _no_tf2("debugger", str, None, "tfdbg's session wrappers are gone; use tf.debugging."),
    _no_tf2("use_python32_barrier", bool, False, "the TF1 staging barrier is gone."),
    _no_tf2("winograd_nonfused", bool, True, "TF_ENABLE_WINOGRAD_NONFUSED was removed."),
    _no_tf2("batchnorm_persistent", bool, True, "cuDNN picks the batch-norm mode itself."),
    _no_tf2("sync_on_finish", bool, False, "TF_SYNC_ON_FINISH was removed."),
    _no_tf2("force_gpu_compatible", bool, False, "a TF1 session option."),
    _no_tf2("enable_optimizations", bool, True, "Grappler runs on every tf.function."),
    _no_tf2("rewriter_config", str, None, "a TF1 session option; use tf.config.optimizer."),
    _no_tf2("compute_lr_on_cpu", bool, False, "the learning rate is a scalar computed in-step."),
    _no_tf2("datasets_prefetch_buffer_size", int, 1, "it was never used by the predecessor."),
    _no_tf2("datasets_parallel_interleave_prefetch", int, None,
            "TF2's parallel interleave buffers its inputs itself."),
    _no_tf2("mkl", bool, False, "oneDNN is on by default in TF2 CPU builds."),
    _no_tf2("kmp_blocktime", int, 0, "only for the TF1 MKL builds."),
    _no_tf2("kmp_affinity", str, "granularity=fine,verbose,compact,1,0", "only for TF1 MKL builds."),
    _no_tf2("kmp_settings", int, 1, "only for the TF1 MKL builds."),
    _no_tf2("ml_perf_compliance_logging", bool, False, "mlperf_compliance targets MLPerf v0.5."),
)

ALL_OPTIONS: tuple[Option, ...] = (CORE_OPTIONS + EVALUATION_OPTIONS + PLANNED_FEATURE_OPTIONS
                                    + MULTI_DEVICE_OPTIONS + INPUT_PIPELINE_OPTIONS
                                    + NO_TF2_OPTIONS)
