"""A user's own network, as a user would write it: copied into an experiment's folder by
tests/integration/test_user_model.py and named there as ``factory = "user_nets:SmallResNet"``.

It has what makes real networks awkward to open up: batch norm, a residual addition, and one
``ReLU(inplace=True)`` module called twice per forward pass (``block.relu#0``, ``block.relu#1``).
"""

from __future__ import annotations

from torch import Tensor, nn


class ResidualBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)  # called twice below

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + x)


class SmallResNet(nn.Module):
    def __init__(self, width: int = 8, n_classes: int = 3, in_channels: int = 3) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU()
        )
        self.block = ResidualBlock(width)
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(width, 16),
            nn.ReLU(),
            nn.Linear(16, n_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.pool(self.block(self.stem(x))))


def plain_cnn(width: int = 4, n_classes: int = 3) -> nn.Sequential:
    """A function factory: convolutions, ReLUs and max-pooling only (the DeconvNet applies)."""
    return nn.Sequential(
        nn.Conv2d(3, width, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(width, width, 3, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(width * 8 * 8, n_classes),
    )
