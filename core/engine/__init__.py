"""The TensorFlow engine. Importing this package imports TensorFlow."""
