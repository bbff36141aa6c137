"""The hooks a cnnb plugin may implement. This module is their documentation.

A plugin is a module named in the ``cnnb`` entry-point group of its
distribution's ``pyproject.toml``::

    [project.entry-points.cnnb]
    acme = "acme_cnnb.plugin"

and marks its functions with :data:`cnnb.hookimpl`. cnnb's own models,
datasets, variable managers and all-reduce algorithms are registered by
modules declared in exactly this way.

Two shapes of hook exist:

* **Registration hooks** (``cnnb_register_*``) add named *drivers*, of which a
  run picks one per kind by name. They receive a registry and call
  ``registry.register(name, target, description, **metadata)``. ``target`` is
  the driver, or a ``"module:attribute"`` string imported only when the name is
  chosen. Registering must not import TensorFlow: ``cnnb --help`` and the
  listing commands stay fast. Each plugin's registration hooks are called on
  their own, so a plugin whose hook raises is reported as broken and the
  others keep working.
* **Event hooks** (everything else): every plugin may react.

All hooks take keyword arguments; an implementation may accept any subset.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("cnnb")


@hookspec
def cnnb_register_models(registry):
    """Register models.

    :param registry: the model :class:`cnnb.registry.KindRegistry`.

    Call ``registry.register(name, model, description, scope=DATASET, **metadata)``
    where ``model`` is a :class:`cnnb.model.BuilderModel` (layers written with the
    layer builder, counted without TensorFlow) or a lazy ``"module:callable"``
    returning a ``keras.Model``. ``scope`` is the dataset family the variant is
    for (``"imagenet"`` or ``"cifar10"``): one name may have a variant per family.
    Metadata shown by ``cnnb models``: ``image_size``, ``default_batch_size``,
    ``params`` (only needed for non-builder models).

    .. versionadded:: 0.1
    """


@hookspec
def cnnb_register_datasets(registry):
    """Register datasets.

    :param registry: the dataset :class:`cnnb.registry.KindRegistry`.

    Call ``registry.register(name, spec, description, **metadata)`` with a
    :class:`cnnb.dataset.DatasetSpec` (or a subclass) as the target; it must not
    import TensorFlow. The spec carries ``num_classes``, ``train_examples``,
    ``validation_examples`` (epochs and learning-rate schedules count in them),
    ``model_scope`` (``"imagenet"`` or ``"cifar10"``: which variant of a model
    runs on it) and ``image_size`` (None: the model's). A dataset that reads
    files overrides:

    * ``locate(data_dir, subset) -> DataFiles``: the files of ``"train"`` or
      ``"validation"``; raise :class:`cnnb.errors.ConfigError` naming what is
      missing. Called while planning, before TensorFlow starts.
    * ``recognizes(data_dir) -> bool``: whether the directory holds this
      format (infers ``--data_name`` when the path does not contain a dataset
      name; the predecessor's rule, a dataset name inside the path, comes first).
    * ``bind(data_dir) -> DatasetSpec``: optional; a spec whose counts come from
      the files (an image folder counts its classes and images).

    Set ``fake_writer="module:function"`` to let ``cnnb data fake --format=NAME``
    write test data: the function takes a
    :class:`cnnb.plugins.datasets.fakedata.FakeDataRequest` and returns
    ``{"files": count}``. Listing metadata: ``num_classes``, ``train_examples``,
    ``validation_examples``, ``model_scope``.

    .. versionadded:: 0.1
    """


@hookspec
def cnnb_register_preprocessors(registry):
    """Register preprocessors (the ``--input_preprocessor`` names of real data).

    :param registry: the preprocessor :class:`cnnb.registry.KindRegistry`;
        ``scope`` is the dataset name the preprocessor reads.

    Call ``registry.register(name, "module:Class", description, scope=DATASET)``;
    ``default`` is the name used unless ``--input_preprocessor`` says otherwise.
    The class (its module may import TensorFlow; it is imported only when
    chosen) implements :class:`cnnb.dataset.Preprocessor`: it is built as
    ``Class(dataset_spec, image_size, input_options)`` (a
    :class:`cnnb.dataset.InputOptions`, the ``--resize_method``,
    ``--distortions``, ``--datasets_*``... flags) and
    ``make_dataset(data_files, batch_size, training)`` returns a ``tf.data``
    dataset of ``(images, labels)`` batches that repeats forever: float32
    ``[batch, S, S, 3]`` NHWC images and int32 labels in ``[0, num_classes)``.
    Evaluation batches (``training=False``) must come in a fixed order. To
    report a bad record as one line naming its file, fail a
    ``tf.debugging.Assert`` whose message is wrapped in
    ``cnnb.dataset.DATA_ERROR_MARKER`` / ``DATA_ERROR_END``
    (``cnnb.plugins.datasets.pipeline.check`` does this); problems found while
    building raise :class:`cnnb.dataset.DataError`.

    .. versionadded:: 0.1
    """


@hookspec
def cnnb_register_variable_managers(registry):
    """Register variable managers (the ``--variable_update`` modes).

    :param registry: the variable-manager :class:`cnnb.registry.KindRegistry`.

    Call ``registry.register(name, "module:Class", description, **capabilities)``.
    The name becomes a ``--variable_update`` value and is listed by ``cnnb
    variable-managers``. The target is a
    :class:`cnnb.engine.variables.VariableManager` subclass (best a lazy
    ``"module:Class"`` path, so TensorFlow loads only when a run picks it).

    Capabilities are the manager's promises; core and models read them,
    never its name (:class:`cnnb.replication.Capabilities`):

    * ``gradient_reduction``: ``"mean"`` (default), ``"sum"`` or ``"none"``:
      how the towers' gradients are combined before they are applied. ResNet
      schedules divide their rate by the device count for ``"sum"``.
    * ``all_reduce_spec`` (bool): the manager takes the run's all-reduce plan
      (``ReplicationSettings.all_reduce``); only then are ``--all_reduce_spec``,
      ``--gradient_repacking``, ``--agg_small_grads_max_bytes`` and
      ``--hierarchical_copy`` accepted.
    * ``multi_worker`` (bool): it can span several machines. Its cluster
      rules, checked when planning (:mod:`cnnb.cluster`): ``cluster_jobs``
      (``(required, optional)`` TensorFlow jobs: ``worker``, ``ps``,
      ``chief``), ``needs_cluster``, ``needs_sync`` (refuses
      ``--nocross_replica_sync``), ``chief_computes`` (False: the chief only
      drives the workers, as the parameter-server modes' controller does).
      A single-process manager may name its multi-worker form with
      ``on_cluster={"target": "module:Class", "description": ..., **capabilities}``:
      with a cluster the run uses that under the same name (``parameter_server``
      does).
    * ``options`` (names): run options it reads, e.g. its own from
      :func:`cnnb_add_options`; their values, and only theirs, arrive in
      ``ReplicationSettings.options``.

    The contract (the driver side): ``Class(settings)`` with a
    :class:`cnnb.replication.ReplicationSettings` (devices, gradient clip,
    all-reduce plan, worker, options). Inside ``scope()`` the engine calls
    ``create_towers(make_network)`` (one network per device, built by
    ``make_network(device, index)``) and ``create_optimizers(make_optimizer)``;
    the step's ``tf.function`` calls ``train_towers(tower_fn, lr)``, whose
    default runs ``tower_fn`` on each tower under ``tf.device`` and hands
    the gradients to ``apply_gradients(tower_grads, lr)``; per-tower inputs
    go through ``distribute_inputs``. Checkpoints use ``savable_variables()``
    (one copy, names independent of the device count) and ``sync_copies()``;
    only ``is_chief`` writes files. A ``tf.distribute`` manager overrides
    ``scope``, ``train_towers``/``run_towers`` and ``distribute_inputs``; one
    driven by a coordinator also overrides ``compile_step(body, jit_compile)``
    to schedule the step on its workers (the parameter-server modes schedule
    one per worker per round and, with ``--cross_replica_sync``, wait for the
    round: the predecessor's per-step barrier, not an accumulation of the
    workers' gradients). ``tests/plugins/acme_manager`` is a complete third-party example.

    .. versionadded:: 0.1
    """


@hookspec
def cnnb_register_allreduce(registry):
    """Register all-reduce algorithms usable in ``--all_reduce_spec``.

    :param registry: the all-reduce :class:`cnnb.registry.KindRegistry`.

    Call ``registry.register(name, target, description, devices=..., multi_worker=...)``.
    The name is the token used in the spec (``xring``, ``nccl/pscpu``, a
    vendor's own: letters, digits, ``_.-`` and ``/``; no ``:`` or ``#``). Once
    registered it is valid in ``--all_reduce_spec`` alone (``acme``), with a
    shard count (``acme#2``) and inside size ranges (``pscpu:32k:acme``); it is
    listed by ``cnnb allreduce`` with its distribution.

    The target is a subclass of :class:`cnnb.allreduce.AllReduceAlgorithm`,
    best given as a lazy ``"module:Class"`` path so TensorFlow is imported
    only when a run uses it. The contract (the driver side of it):

    * ``Class(context, shards)`` is constructed eagerly, once per spec range,
      before the step is traced. ``context`` is a
      :class:`cnnb.allreduce.AllReduceContext` (``devices`` in ring order,
      ``cpu_device``, ``reduce_on_cpu``, ``network_topology``, ``options``);
      ``shards`` is the spec's ``#k`` (1 without). Raise
      :class:`cnnb.errors.ConfigError` there for what cannot work (the CLI
      prints it as one line, exit status 2); create state (variables) there.
    * ``reduce(device_tensors)`` is called while the training step's
      ``tf.function`` is traced. ``device_tensors[d][t]`` is tensor ``t`` on
      ``context.devices[d]``: the gradients of one size range, each any rank
      (scalars too) and any size (not necessarily divisible by the device
      count), same shape and dtype on every device. Return
      ``result[d][t]`` = the **sum** over devices (not the mean: replicated
      mode sums, as the predecessor), same shape and dtype, placed on
      ``context.devices[d]``, identical on every device.
    * The core does the rest: the size ranges (limits count elements), and
      the packing of ``--gradient_repacking`` / ``--agg_small_grads_max_bytes``
      before the algorithm sees the tensors.

    Metadata: ``devices`` = ``"any"`` or ``"gpu"`` (GPU-only algorithms are
    rejected with ``--device=cpu`` before TensorFlow starts) and
    ``multi_worker`` (bool, shown in listings). Check the sums with
    :func:`cnnb.allreduce_conformance.check_algorithm` (or ``python -m
    cnnb.allreduce_conformance NAME``), on 2, 3, 4 and 8 logical CPU devices.

    .. versionadded:: 0.1
    """


@hookspec
def cnnb_add_options(options):
    """Add command-line options to ``cnnb run``.

    :param options: a list of :class:`cnnb.options.Option`; append to it.

    Options appear in ``cnnb run --help`` and in the frozen run configuration
    under their name. Check combinations in :func:`cnnb_validate_config`.

    .. versionadded:: 0.1
    """


@hookspec
def cnnb_register_commands(cli):
    """Add sub-commands to the ``cnnb`` command line.

    :param cli: the root :class:`click.Group`; call ``cli.command()`` or
        ``cli.add_command()``.

    .. versionadded:: 0.1
    """


@hookspec
def cnnb_validate_config(config):
    """Reject a configuration before anything is built.

    :param config: the frozen :class:`cnnb.config.RunConfig`.
    :raises cnnb.errors.ConfigError: with a message that says how to fix it.

    Called after cnnb's own rules, before TensorFlow builds anything.

    .. versionadded:: 0.1
    """


@hookspec
def cnnb_run_start(config, info):
    """A benchmark run is about to start its warm-up.

    :param config: the frozen :class:`cnnb.config.RunConfig` (the flags as given).
    :param info: the ``plan`` part of the result record (docs/results.md): the
        run as resolved: model, dataset, mode, devices, ``batch_size`` per
        device and ``global_batch_size``, batches, epochs, variable manager...

    .. versionadded:: 0.1
    .. versionchanged:: 0.2
       ``info`` is the result schema's plan part; its ``batch_size`` is per
       device (it was the global batch).
    """


@hookspec
def cnnb_step_end(step, stats):
    """A timed step finished.

    :param step: 1-based number of the timed step.
    :param stats: :class:`cnnb.timing.StepStats` with the step time, the loss
        and the running images/sec, uncertainty and jitter.

    Called after every timed step; keep it cheap, it runs inside the timed loop's
    bookkeeping (outside the measured step time).

    .. versionadded:: 0.1
    """


@hookspec
def cnnb_run_end(result):
    """A run finished; ``result`` is its :class:`cnnb.results.Result`.

    :param result: the record in namespaced parts, ``result.config`` (options as
        given), ``result.plan`` (as resolved), ``result.measurements`` and
        ``result.environment``, with shortcuts such as ``result.images_per_sec``
        and ``result.options``; ``result.as_dict()`` is the versioned JSON that
        ``--result_json`` holds (docs/results.md). Reporters write it.

    Called before ``--result_json`` is written, also after an interrupted run.

    Up to result schema version 1, ``result`` was a flat dict: read
    ``result.images_per_sec`` instead of ``result["images_per_sec"]`` and
    ``result.options[name]`` for an option's value.

    .. versionadded:: 0.1
    """
