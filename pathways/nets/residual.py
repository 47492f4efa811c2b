"""A small residual CNN, written as a user would write their own network.

The open-set benchmark's ``fashion-rgb`` protocol names it by factory
(``type = "torch"``, ``factory = "pathways.nets.residual:ResidualCNN"``), exactly as an
experiment names a user's module, so the benchmark covers the path every user network takes:
batch norm, residual additions, an activation module per call, global average pooling.
"""

from __future__ import annotations

from torch import Tensor, nn


class ResidualBlock(nn.Module):
    """conv → BN → ReLU → conv → BN, plus the input (a 1×1 conv when the width or stride
    changes), → ReLU."""

    def __init__(self, channels_in: int, channels_out: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels_in, channels_out, 3, stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels_out)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(channels_out, channels_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels_out)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or channels_in != channels_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(channels_in, channels_out, 1, stride, bias=False),
                nn.BatchNorm2d(channels_out),
            )
        self.relu2 = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu1(self.bn1(self.conv1(x)))
        return self.relu2(self.bn2(self.conv2(out)) + self.shortcut(x))


class ResidualCNN(nn.Module):
    """A stem and two stages of residual blocks (the second at half the resolution and twice the
    width), global average pooling, one hidden dense layer, one logit per class."""

    def __init__(
        self, n_classes: int, width: int = 16, in_channels: int = 3, hidden: int = 64
    ) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),
        )
        self.stage1 = ResidualBlock(width, width)
        self.stage2 = ResidualBlock(width, 2 * width, stride=2)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(2 * width, hidden),
            nn.ReLU(),
            nn.Linear(hidden, n_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.stage2(self.stage1(self.stem(x))))
