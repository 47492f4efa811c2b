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
    """A stem and stages of residual blocks (each stage after the first at half the resolution
    and twice the width), global average pooling, one hidden dense layer, one logit per class.

    ``blocks``: residual blocks per stage. The default, two stages of one block, has 6
    activation calls; ``(2, 2, 3)`` has 16 (the real-size benchmark's network,
    ``tests/benchmarks/bench_user_network.py``).
    """

    def __init__(
        self,
        n_classes: int,
        width: int = 16,
        in_channels: int = 3,
        hidden: int = 64,
        blocks: tuple[int, ...] | list[int] = (1, 1),
    ) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),
        )
        channels = width
        for index, count in enumerate(blocks):
            out = width * 2**index
            made = [
                ResidualBlock(channels if i == 0 else out, out, 2 if index and not i else 1)
                for i in range(count)
            ]
            # one block is the stage itself: the default network's layer names stay stage1.relu1
            self.add_module(f"stage{index + 1}", made[0] if count == 1 else nn.Sequential(*made))
            channels = out
        self.stages = len(blocks)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(channels, hidden),
            nn.ReLU(),
            nn.Linear(hidden, n_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        x = self.stem(x)
        for index in range(self.stages):
            x = getattr(self, f"stage{index + 1}")(x)
        return self.head(x)
