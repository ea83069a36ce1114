"""Image classifiers: a small residual CNN for small images, torchvision families for larger ones.

Every image model takes uint8 (N, C, H, W) tensors and normalises inside, so
the service ships 8-bit pixels to the device (four times less than float32).
"""

from __future__ import annotations

import torch
import torchvision
from torch import nn

SMALL_RESNET = "resnet-small"
TORCHVISION_ARCHS = ("resnet18", "resnet34", "mobilenet_v3_small", "efficientnet_b0")
IMAGE_ARCHS = (SMALL_RESNET, *TORCHVISION_ARCHS)


class ResidualBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class SmallResNet(nn.Module):
    """A ResNet for images of about 32x32: three stages of `width`, 2x and 4x channels."""

    def __init__(self, channels: int, num_classes: int, width: int = 32, blocks: int = 1) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(channels, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU()
        )
        stages: list[nn.Module] = []
        in_channels = width
        for stage, out_channels in enumerate((width, width * 2, width * 4)):
            for block in range(blocks):
                stride = 2 if stage > 0 and block == 0 else 1
                stages.append(ResidualBlock(in_channels, out_channels, stride))
                in_channels = out_channels
        self.stages = nn.Sequential(*stages)
        self.head = nn.Linear(in_channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.stages(self.stem(x))  # (N, 4*width, H/4, W/4)
        return self.head(features.mean(dim=(2, 3)))


def _torchvision_backbone(arch: str, channels: int, num_classes: int) -> nn.Module:
    # No pretrained weights: they would be downloaded, and the service must run offline.
    model = getattr(torchvision.models, arch)(weights=None, num_classes=num_classes)
    if channels == 1:
        first = _first_conv(model)
        first.weight = nn.Parameter(first.weight.detach().sum(dim=1, keepdim=True))
        first.in_channels = 1
    return model


def _first_conv(model: nn.Module) -> nn.Conv2d:
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            return module
    raise ValueError("model has no convolution")


class ImageClassifier(nn.Module):
    """Wraps a backbone: uint8 pixels in, normalised float inside, logits out."""

    def __init__(self, backbone: nn.Module, mean: list[float], std: list[float]) -> None:
        super().__init__()
        self.backbone = backbone
        self.register_buffer("scale", 1.0 / (255.0 * torch.tensor(std).view(1, -1, 1, 1)))
        self.register_buffer("shift", torch.tensor(mean).view(1, -1, 1, 1) * 255.0)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        x = (pixels.float() - self.shift) * self.scale
        return self.backbone(x)


def build_image_model(
    arch: str, channels: int, num_classes: int, mean: list[float], std: list[float], width: int
) -> ImageClassifier:
    if arch == SMALL_RESNET:
        backbone: nn.Module = SmallResNet(channels, num_classes, width=width)
    elif arch in TORCHVISION_ARCHS:
        backbone = _torchvision_backbone(arch, channels, num_classes)
    else:
        raise ValueError(f"unknown image architecture {arch!r}; choose one of {IMAGE_ARCHS}")
    return ImageClassifier(backbone, mean, std)
