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

    Metadata: ``num_classes``, ``image_size``, ``train_examples``,
    ``validation_examples``, ``model_scope`` (which model family it uses).

    .. versionadded:: 0.1
    """


@hookspec
def cnnb_register_preprocessors(registry):
    """Register preprocessors (the ``--input_preprocessor`` names of real data).

    :param registry: the preprocessor :class:`cnnb.registry.KindRegistry`;
        ``scope`` is the dataset name the preprocessor reads.

    .. versionadded:: 0.1
    """


@hookspec
def cnnb_register_variable_managers(registry):
    """Register variable managers (the ``--variable_update`` modes).

    :param registry: the variable-manager :class:`cnnb.registry.KindRegistry`.

    The target is a :class:`cnnb.engine.variables.VariableManager` subclass (or
    its lazy path); it owns where variables live and how each tower's
    gradients become updates.

    .. versionadded:: 0.1
    """


@hookspec
def cnnb_register_allreduce(registry):
    """Register all-reduce algorithms usable in ``--all_reduce_spec``.

    :param registry: the all-reduce :class:`cnnb.registry.KindRegistry`.

    The name is the token used in the spec (``xring``, ``nccl/pscpu``, a
    vendor's own). Metadata: ``devices`` (``"any"``, ``"gpu"``) and
    ``multi_worker`` (bool).

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

    :param config: the frozen :class:`cnnb.config.RunConfig`.
    :param info: dict of what the info block shows (model, dataset, devices...).

    .. versionadded:: 0.1
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
    """A run finished; ``result`` is the flat result record (a dict).

    :param result: constant keys (see :mod:`cnnb.results`); reporters write it.

    .. versionadded:: 0.1
    """
