"""PointNet++ multi-scale-grouping encoder in plain PyTorch (no compiled extension).

Layer sizes follow GenPose's ScoreNet encoder (baseline-facts.md): four set-abstraction
layers with farthest-point-sampled centres and ball-query neighbourhoods; grouped xyz are
relative to their centre (in metres, not divided by the radius) and concatenated to the
features before every first 1x1 convolution.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn


def farthest_point_sample(xyz: torch.Tensor, num_centres: int) -> torch.Tensor:
    """Indices (B, S) of `num_centres` farthest-point-sampled points of xyz (B, N, 3).

    Starts from point 0 (the points arrive in random order, so this is a random start
    that stays deterministic for a given input). The first k indices of the result are
    themselves a farthest-point sample of size k, which lets the encoder run this loop
    once for all layers.
    """
    B, N, _ = xyz.shape
    index = torch.zeros(B, num_centres, dtype=torch.long, device=xyz.device)
    nearest = torch.full((B, N), float("inf"), dtype=xyz.dtype, device=xyz.device)
    farthest = torch.zeros(B, dtype=torch.long, device=xyz.device)
    batch = torch.arange(B, device=xyz.device)
    coordinates = xyz.transpose(1, 2).contiguous()  # (B, 3, N): the reduction runs over a short axis
    for i in range(num_centres):
        index[:, i] = farthest
        centre = xyz[batch, farthest].unsqueeze(-1)  # (B, 3, 1)
        torch.minimum(nearest, (coordinates - centre).square_().sum(1), out=nearest)
        farthest = nearest.argmax(-1)
    return index


def ball_query(xyz: torch.Tensor, centres: torch.Tensor, radius: float, num_neighbours: int) -> torch.Tensor:
    """Indices (B, S, K) of up to K points of xyz (B, N, 3) within `radius` of each centre (B, S, 3).

    The K lowest-index points inside the ball, padded by repeating the first one (the
    usual PointNet++ rule; the centre itself is always inside, so no ball is empty).
    """
    N = xyz.shape[1]
    inside = torch.cdist(centres, xyz).le(radius)  # (B, S, N)
    order = torch.arange(N, device=xyz.device).expand_as(inside)
    candidate = torch.where(inside, order, N)
    index = candidate.topk(min(num_neighbours, N), dim=-1, largest=False, sorted=True).values
    if index.shape[-1] < num_neighbours:
        index = torch.cat((index, index[..., :1].expand(*index.shape[:-1], num_neighbours - index.shape[-1])), -1)
    return torch.where(index == N, index[..., :1], index)


def gather(values: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """values (B, N, C) gathered by index (B, *S) -> (B, *S, C)."""
    B = values.shape[0]
    flat = index.reshape(B, -1)
    out = torch.gather(values, 1, flat.unsqueeze(-1).expand(-1, -1, values.shape[-1]))
    return out.reshape(*index.shape, values.shape[-1])


def shared_mlp(in_channels: int, widths: list[int]) -> nn.Sequential:
    """1x1 convolutions without bias, each followed by BatchNorm and ReLU."""
    layers: list[nn.Module] = []
    for width in widths:
        layers += [nn.Conv2d(in_channels, width, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
        in_channels = width
    return nn.Sequential(*layers)


class SetAbstraction(nn.Module):
    """One multi-scale-grouping set-abstraction layer.

    With `radii=None` the layer groups all points around their origin (the last layer),
    running every MLP on the same single group.
    """

    def __init__(
        self, in_channels: int, radii: list[float] | None, neighbours: list[int] | None, mlps: list[list[int]]
    ):
        super().__init__()
        if radii is not None and not len(radii) == len(neighbours) == len(mlps):
            raise ValueError(
                f"a set-abstraction layer needs one radius, neighbour count and MLP per scale, "
                f"got {len(radii)}, {len(neighbours)} and {len(mlps)}"
            )
        self.radii = radii
        self.neighbours = neighbours
        self.mlps = nn.ModuleList(shared_mlp(in_channels + 3, widths) for widths in mlps)
        self.out_channels = sum(widths[-1] for widths in mlps)

    def forward(
        self, xyz: torch.Tensor, features: torch.Tensor | None, centre_index: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """xyz (B, N, 3), features (B, N, C) or None -> centres (B, S, 3), features (B, S, C_out)."""
        if self.radii is None:
            centres = xyz.new_zeros(xyz.shape[0], 1, 3)
            group = self._group(xyz.unsqueeze(1), features.unsqueeze(1) if features is not None else None)
            groups = [group] * len(self.mlps)
        else:
            centres = gather(xyz, centre_index)
            groups = []
            for radius, k in zip(self.radii, self.neighbours, strict=True):
                index = ball_query(xyz, centres, radius, k)
                grouped_xyz = gather(xyz, index) - centres.unsqueeze(2)
                groups.append(self._group(grouped_xyz, gather(features, index) if features is not None else None))
        out = [mlp(group).amax(dim=-1) for mlp, group in zip(self.mlps, groups, strict=True)]
        return centres, torch.cat(out, dim=1).transpose(1, 2)

    @staticmethod
    def _group(grouped_xyz: torch.Tensor, grouped_features: torch.Tensor | None) -> torch.Tensor:
        """(B, S, K, 3) and (B, S, K, C) -> the conv layout (B, 3 + C, S, K)."""
        group = grouped_xyz if grouped_features is None else torch.cat((grouped_xyz, grouped_features), dim=-1)
        return group.permute(0, 3, 1, 2)


@dataclass
class EncoderConfig:
    centres: list[int] = field(default_factory=lambda: [512, 256, 128])
    radii: list[list[float]] = field(default_factory=lambda: [[0.02, 0.04], [0.04, 0.08], [0.08, 0.16]])
    neighbours: list[list[int]] = field(default_factory=lambda: [[16, 32], [16, 32], [16, 32]])
    mlps: list[list[list[int]]] = field(
        default_factory=lambda: [
            [[16, 16, 32], [32, 32, 64]],
            [[64, 64, 128], [64, 96, 128]],
            [[128, 196, 256], [128, 196, 256]],
            [[256, 256, 512], [256, 384, 512]],
        ]
    )


class PointNet2Encoder(nn.Module):
    """(B, N, 3) centred points in metres -> (B, 1024) global feature."""

    def __init__(self, config: EncoderConfig | None = None):
        super().__init__()
        config = config or EncoderConfig()
        if sorted(config.centres, reverse=True) != config.centres:
            raise ValueError("set-abstraction centre counts must not increase (nested farthest-point samples)")
        self.centres = config.centres
        layers, channels = [], 0
        for radii, neighbours, mlps in zip(config.radii, config.neighbours, config.mlps[:-1], strict=True):
            layers.append(SetAbstraction(channels, radii, neighbours, mlps))
            channels = layers[-1].out_channels
        layers.append(SetAbstraction(channels, None, None, config.mlps[-1]))
        self.layers = nn.ModuleList(layers)
        self.out_channels = layers[-1].out_channels

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        # One farthest-point pass serves every layer: layer l's centres are the first
        # centres[l] of it, which is exactly a farthest-point sample of layer l-1's centres.
        order = farthest_point_sample(points, self.centres[0])
        xyz, features = points, None
        for i, layer in enumerate(self.layers):
            if i == len(self.centres):
                centre_index = None  # the last layer groups everything
            elif i == 0:
                centre_index = order[:, : self.centres[0]]
            else:  # the previous centres are in farthest-point order: take a prefix
                centre_index = torch.arange(self.centres[i], device=points.device).expand(points.shape[0], -1)
            xyz, features = layer(xyz, features, centre_index)
        return features.squeeze(1)
