"""pathways: activation signatures and paths of classes through a neural network.

Importing the package does no work: submodules load their heavy dependencies (torch,
pandas, pyarrow) only when they are imported themselves.
"""

__version__ = "0.1.0"
