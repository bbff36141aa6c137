"""Example cnnb plugins, one module per behaviour the test suite checks.

``models`` registers a working model, ``broken`` cannot be imported,
``dup_a`` and ``dup_b`` both register ``example_dup``, and ``extras`` adds a
command, an option and run hooks. None of them imports TensorFlow.
"""
