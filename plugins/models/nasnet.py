"""NASNet-A (Zoph et al. 2018): mobile (224), large (331) and CIFAR-10 (32).

A cell is data, as in the reference TF-slim definition: five combinations,
each adds two operations applied to earlier hidden states (0 = this cell's
input after a 1x1 conv, 1 = the previous cell's output, 2+ = earlier
combinations); the states no combination used are concatenated. Separable
ops are two (relu, separable conv, batch norm) layers. A previous-cell output
of another size is brought to this cell's grid and width by a factorized
reduction (two strided 1x1 convs on pixel grids offset by one) or a 1x1 conv.

Drop path (whole-example dropout of each op's output) uses the slim keep
probability scaled by depth; slim also ramps it in over its total training
steps, which the engine's network does not see (over a benchmark's first
steps slim's keep probability is ~1). The mobile model has none.

Trainable parameters with 1000 classes equal keras.applications' trainable
counts: NASNetMobile 5,289,978 and NASNetLarge 88,753,150 (their totals,
5,326,716 and 88,949,818, add the batch-norm moving statistics). CIFAR-10:
3.3M (the paper's NASNet-A 6@768). Forward FLOPs (2 per multiply-add):
mobile 1.13e9 at 224 (paper: 564M multiply-adds), large 47.6e9 at 331
(paper: 23.8B multiply-adds).
"""

from __future__ import annotations

import dataclasses

from cnnb.model import BuilderModel


@dataclasses.dataclass(frozen=True)
class Cell:
    """Operations and the hidden state each is applied to, in (left, right) pairs."""

    operations: tuple
    inputs: tuple
    used: tuple     # hidden states some combination consumed (not concatenated)


NORMAL = Cell(("sep5", "sep3", "sep5", "sep3", "avg3", "none", "avg3", "avg3", "sep3", "none"),
              (0, 1, 1, 1, 0, 1, 1, 1, 0, 0), (1, 0, 0, 0, 0, 0, 0))
REDUCTION = Cell(("sep5", "sep7", "max3", "sep7", "avg3", "sep5", "none", "avg3", "sep3",
                  "max3"), (0, 1, 0, 1, 0, 1, 3, 2, 2, 0), (1, 1, 1, 0, 0, 0, 0))


@dataclasses.dataclass(frozen=True)
class Config:
    filters: int                 # the normal cells' width at the first grid
    num_cells: int               # normal cells, in three equal stacks
    stem: str                    # "imagenet" (3x3/2 conv + two reduction cells) or "cifar"
    stem_multiplier: float
    drop_path_keep_prob: float
    skip_reduction_input: bool   # the cell after a reduction sees the cell before it
    batch_norm: dict


MOBILE = Config(44, 12, "imagenet", 1.0, 1.0, False,
                {"decay": 0.9997, "epsilon": 0.001, "scale": True})
LARGE = Config(168, 18, "imagenet", 3.0, 0.7, True,
               {"decay": 0.9997, "epsilon": 0.001, "scale": True})
CIFAR = Config(32, 18, "cifar", 3.0, 0.6, False, {"decay": 0.9, "epsilon": 1e-5, "scale": True})


class State:
    """A hidden state: its layer and channel count."""

    def __init__(self, layer, channels):
        self.layer, self.channels = layer, channels


def _width(cnn, state):
    dims = cnn.backend.shape(state.layer)
    return dims[2] if cnn.data_format == "NHWC" else dims[3]


def _relu(cnn, state):
    return State(cnn.activate(state.layer, "relu"), state.channels)


def _conv1x1_bn(cnn, state, filters, stride=1):
    return State(cnn.conv(filters, 1, 1, stride, stride, input_layer=state.layer,
                          num_channels_in=state.channels, activation=None, bias=None,
                          use_batch_norm=True), filters)


def _batch_norm(cnn, state):
    cnn.top_layer, cnn.top_size = state.layer, state.channels
    return State(cnn.batch_norm(**cnn.batch_norm_config), state.channels)


def factorized_reduction(cnn, state, filters, stride):
    """Halve the grid without losing every other pixel: two strided 1x1 convs, the
    second on the grid shifted by one pixel, concatenated, then batch norm."""
    if stride == 1:
        return _conv1x1_bn(cnn, state, filters)
    paths = []
    shifted = cnn.crop(1, 1, cnn.zero_pad((0, 1), (0, 1), input_layer=state.layer))
    for layer, width in ((state.layer, filters // 2), (shifted, filters - filters // 2)):
        pooled = cnn.apool(1, 1, stride, stride, input_layer=layer,
                           num_channels_in=state.channels)
        paths.append(cnn.conv(width, 1, 1, input_layer=pooled, num_channels_in=state.channels,
                              activation=None, bias=None, use_batch_norm=False))
    return _batch_norm(cnn, State(cnn.concat(paths, [filters // 2, filters - filters // 2]),
                                  filters))


def _adjust_previous(cnn, previous, current, filters):
    """The previous cell's output on this cell's grid with ``filters`` channels."""
    if previous is None:
        return current
    if _width(cnn, previous) != _width(cnn, current):
        return factorized_reduction(cnn, _relu(cnn, previous), filters, 2)
    if previous.channels != filters:
        return _conv1x1_bn(cnn, _relu(cnn, previous), filters)
    return previous


def _separable_stack(cnn, state, kernel, filters, stride):
    """Twice: relu, separable conv (only the first strided), batch norm."""
    for _ in range(2):
        state = _relu(cnn, state)
        state = State(cnn.separable_conv(filters, kernel, kernel, stride, stride,
                                         input_layer=state.layer,
                                         num_channels_in=state.channels, activation=None,
                                         bias=None, use_batch_norm=True), filters)
        stride = 1
    return state


def apply_operation(cnn, operation, state, filters, stride, keep_prob):
    """One named operation; every result has ``filters`` channels."""
    if operation.startswith("sep"):
        state = _separable_stack(cnn, state, int(operation[3:]), filters, stride)
    elif operation == "none":
        if stride > 1 or state.channels != filters:
            state = _conv1x1_bn(cnn, _relu(cnn, state), filters, stride)
        return state
    else:
        pool = cnn.mpool if operation == "max3" else cnn.apool
        state = State(pool(3, 3, stride, stride, mode="SAME", input_layer=state.layer,
                           num_channels_in=state.channels), state.channels)
        if state.channels != filters:
            state = _conv1x1_bn(cnn, state, filters)
    return State(cnn.drop_path(keep_prob, state.layer), filters)


def _combine_unused(cnn, cell, states):
    """Concatenate the unused states, first bringing odd ones to the last one's shape."""
    last = states[-1]
    parts = []
    for state, used in zip(states, cell.used):
        if used:
            continue
        other_grid = _width(cnn, state) != _width(cnn, last)
        if other_grid or state.channels != last.channels:
            state = factorized_reduction(cnn, state, last.channels, 2 if other_grid else 1)
        parts.append(state)
    return State(cnn.concat([p.layer for p in parts], [p.channels for p in parts]),
                 sum(p.channels for p in parts))


def nasnet_cell(cnn, cell, net, previous, filters, stride, keep_prob):
    """States [1x1(relu(net)), adjusted previous], five combinations, the concat."""
    previous = _adjust_previous(cnn, previous, net, filters)
    states = [_conv1x1_bn(cnn, _relu(cnn, net), filters), previous]
    for pair in range(0, len(cell.operations), 2):
        outputs = [apply_operation(cnn, operation, states[index], filters,
                                   stride if index < 2 else 1, keep_prob)
                   for operation, index in zip(cell.operations[pair:pair + 2],
                                               cell.inputs[pair:pair + 2])]
        states.append(State(cnn.add(outputs[0].layer, outputs[1].layer), filters))
    return _combine_unused(cnn, cell, states)


def _stem(cnn, config, keep_prob):
    """(net, outputs so far): ImageNet: 3x3/2 conv then two reduction cells at 1/4 and
    1/2 of the width; CIFAR: one 3x3 conv."""
    stem_filters = int((32 if config.stem == "imagenet" else config.filters)
                       * config.stem_multiplier)
    stride, mode = (2, "VALID") if config.stem == "imagenet" else (1, "SAME")
    net = State(cnn.conv(stem_filters, 3, 3, stride, stride, mode=mode, activation=None,
                         bias=None, use_batch_norm=True), stem_filters)
    outputs = [None, net]
    if config.stem == "imagenet":
        for index, scaling in enumerate((0.25, 0.5)):
            net = nasnet_cell(cnn, REDUCTION, net, outputs[-2], int(config.filters * scaling),
                              2, keep_prob(index))
            outputs.append(net)
    return net, outputs


def nasnet(cnn, config):
    """The stem, then three stacks of ``num_cells / 3`` normal cells with a reduction
    cell (doubling the width) before the second and third; relu and global mean."""
    cnn.batch_norm_config = config.batch_norm
    stem_cells = 2 if config.stem == "imagenet" else 0
    total_cells = config.num_cells + 2 + stem_cells

    def keep_prob(cell_number):
        return 1 - (cell_number + 1) / total_cells * (1 - config.drop_path_keep_prob)

    net, outputs = _stem(cnn, config, keep_prob)
    number, filters = stem_cells, config.filters
    reductions = [config.num_cells * k // 3 for k in (1, 2)]
    for index in range(config.num_cells):
        previous = outputs[-2]
        if index in reductions:
            filters *= 2
            net = nasnet_cell(cnn, REDUCTION, net, outputs[-2], filters, 2, keep_prob(number))
            number += 1
            outputs.append(net)
        if not config.skip_reduction_input:
            previous = outputs[-2]
        net = nasnet_cell(cnn, NORMAL, net, previous, filters, 1, keep_prob(number))
        number += 1
        outputs.append(net)
    cnn.top_layer, cnn.top_size = cnn.activate(net.layer, "relu"), net.channels
    cnn.spatial_mean()


IMAGENET = {
    "nasnet": BuilderModel("nasnet", nasnet, 224, 32, "NASNet-A mobile (4 @ 1056)",
                           options={"config": MOBILE}),
    "nasnetlarge": BuilderModel("nasnetlarge", nasnet, 331, 16, "NASNet-A large (6 @ 4032)",
                                options={"config": LARGE}, display_name="nasnet"),
}
CIFAR10 = {
    "nasnet": BuilderModel("nasnet", nasnet, 32, 32, "NASNet-A for CIFAR-10 (6 @ 768)",
                           learning_rate=0.025, options={"config": CIFAR}),
}
