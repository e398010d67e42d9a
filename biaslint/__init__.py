"""biaslint: find, classify and check bias initialisations in TensorFlow and PyTorch code."""

__version__ = "0.1.0"
