"""PointNet++ multi-scale-grouping encoder in plain PyTorch (no compiled extension).

Layer sizes follow GenPose's ScoreNet encoder (`EncoderConfig` below; BENCHMARKS.md, "Encoder
roofline", counts each layer's work): four set-abstraction layers with farthest-point-sampled
centres and ball-query neighbourhoods; grouped xyz are relative to their centre (in metres,
not divided by the radius) and concatenated to the features before every first per-point layer.

The features stay channels-last, (B, S, K, C), so every shared-MLP layer is one matrix
product over all grouped points (a 1x1 convolution on permuted channels-first tensors
spent most of its time copying). The first layer of each MLP is linear in
[xyz - centre | feature], so it is applied once per point and gathered, instead of once
per (centre, neighbour) pair: W [p - c | f] = (W_xyz p + W_f f) - W_xyz c. That is the
same arithmetic up to rounding, 8-16x fewer first-layer products, and narrower gathers.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn


def farthest_point_sample(xyz: torch.Tensor, num_centres: int) -> torch.Tensor:
    """Indices (B, S) of `num_centres` farthest-point-sampled points of xyz (B, N, 3).

    Starts from point 0 (the points arrive in random order, so this is a random start
    that stays deterministic for a given input). The first k indices of the result are
    themselves a farthest-point sample of size k, which lets the encoder run this loop
    once for all layers. The loop is sequential with tiny steps, so on the CPU it runs
    in NumPy, whose per-call overhead is a third of PyTorch's (measured 0.7 vs 1.9 ms for
    one object); on a GPU it stays on the device, without a host sync.
    """
    if xyz.device.type == "cpu":
        return torch.from_numpy(_farthest_point_sample_numpy(xyz.detach().float().numpy(), num_centres))
    return _farthest_point_sample_torch(xyz, num_centres)


def _farthest_point_sample_torch(xyz: torch.Tensor, num_centres: int) -> torch.Tensor:
    B, N, _ = xyz.shape
    coordinates = xyz.transpose(1, 2).contiguous()  # (B, 3, N): the reduction runs over a short axis
    nearest = torch.full((B, N), float("inf"), dtype=xyz.dtype, device=xyz.device)
    farthest = torch.zeros(B, 1, 1, dtype=torch.long, device=xyz.device)
    chosen = []
    for _ in range(num_centres):
        chosen.append(farthest)
        centre = coordinates.gather(2, farthest.expand(B, 3, 1))  # (B, 3, 1)
        torch.minimum(nearest, (coordinates - centre).square_().sum(1), out=nearest)
        farthest = nearest.argmax(-1).view(B, 1, 1)
    return torch.cat(chosen, 1).view(B, num_centres)


def _farthest_point_sample_numpy(xyz: np.ndarray, num_centres: int) -> np.ndarray:
    B, N, _ = xyz.shape
    coordinates = np.ascontiguousarray(xyz.transpose(0, 2, 1))
    nearest = np.full((B, N), np.inf, dtype=np.float32)
    difference = np.empty_like(coordinates)
    index = np.empty((B, num_centres), dtype=np.int64)
    farthest, batch = np.zeros(B, dtype=np.int64), np.arange(B)
    for i in range(num_centres):
        index[:, i] = farthest
        np.subtract(coordinates, coordinates[batch, :, farthest][:, :, None], out=difference)
        np.square(difference, out=difference)
        np.minimum(nearest, difference.sum(1), out=nearest)
        farthest = nearest.argmax(1)
    return index


def ball_query(xyz: torch.Tensor, centres: torch.Tensor, radius: float, num_neighbours: int) -> torch.Tensor:
    """Indices (B, S, K) of up to K points of xyz (B, N, 3) within `radius` of each centre (B, S, 3)."""
    return ball_query_from_distances(torch.cdist(centres, xyz), radius, num_neighbours)


def ball_query_from_distances(distances: torch.Tensor, radius: float, num_neighbours: int) -> torch.Tensor:
    """Ball query on given centre-to-point distances (B, S, N): the K lowest-index points
    inside the ball, padded by repeating the first one (the usual PointNet++ rule; the centre
    itself is always inside, so no ball is empty). One distance matrix serves every radius."""
    N = distances.shape[-1]
    order = torch.arange(N, device=distances.device).expand_as(distances)
    candidate = torch.where(distances.le(radius), order, N)
    index = candidate.topk(min(num_neighbours, N), dim=-1, largest=False, sorted=True).values
    if index.shape[-1] < num_neighbours:
        index = torch.cat((index, index[..., :1].expand(*index.shape[:-1], num_neighbours - index.shape[-1])), -1)
    return torch.where(index == N, index[..., :1], index)


def gather(values: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """values (B, N, C) gathered by index (B, *S) -> (B, *S, C): one row copy per index."""
    B, N, C = values.shape
    offset = torch.arange(B, device=index.device).view(B, *([1] * (index.dim() - 1))) * N
    return values.reshape(B * N, C)[(index + offset).reshape(-1)].reshape(*index.shape, C)


class SharedMLP(nn.Sequential):
    """Per-point MLP on channels-last features: Linear (no bias), BatchNorm and ReLU per layer.

    Its input is [xyz - centre | features]; the first layer is split (`project`, then `tail`)
    so that a set-abstraction layer applies it once per point. Checkpoints from before the
    channels-last layout hold the same weights as 1x1 convolutions, (C_out, C_in, 1, 1):
    they load as they are (`_conv_weights_as_linear`).
    """

    def __init__(self, in_channels: int, widths: list[int]):
        layers: list[nn.Module] = []
        for width in widths:
            layers += [nn.Linear(in_channels, width, bias=False), nn.BatchNorm1d(width), nn.ReLU(inplace=True)]
            in_channels = width
        super().__init__(*layers)
        self.register_load_state_dict_pre_hook(_conv_weights_as_linear)

    @property
    def xyz_weight(self) -> torch.Tensor:
        """The first layer's weights on the three xyz inputs (C_1, 3)."""
        return self[0].weight[:, :3]

    def project(self, inputs: torch.Tensor) -> torch.Tensor:
        """First-layer pre-activations (..., C_1) of per-point inputs [xyz | features] (..., 3 + C),
        in float32 even under autocast: the centre is subtracted from them afterwards, and a
        difference of bfloat16 values near an object's size would lose the neighbourhood's detail."""
        with torch.autocast(inputs.device.type, enabled=False):
            return inputs.float() @ self[0].weight.float().T

    def tail(self, x: torch.Tensor) -> torch.Tensor:
        """The layers after the first product: (..., C_1) -> (..., C_out)."""
        shape = x.shape
        x = x.reshape(-1, shape[-1])
        for layer in list(self)[1:]:
            x = layer(x)
        return x.reshape(*shape[:-1], x.shape[-1])


def _conv_weights_as_linear(module: nn.Module, state_dict: dict, prefix: str, *args) -> None:
    for i, layer in enumerate(module):
        key = f"{prefix}{i}.weight"
        if isinstance(layer, nn.Linear) and key in state_dict and state_dict[key].dim() == 4:
            state_dict[key] = state_dict[key].flatten(1)


class FoldedMLP(nn.Module):
    """A SharedMLP for inference: BatchNorm folded into its layer's weights and bias, the layers
    after the first in `dtype` (bfloat16 where the hardware has it). Same interface."""

    def __init__(self, mlp: SharedMLP, dtype: torch.dtype):
        super().__init__()
        weights, biases = [], []
        for linear, norm in zip(list(mlp)[0::3], list(mlp)[1::3], strict=True):
            scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
            weights.append(linear.weight * scale[:, None])
            biases.append(norm.bias - norm.running_mean * scale)
        self.register_buffer("first_weight", weights[0].float())
        self.register_buffer("first_bias", biases[0].float())
        self.depth = len(weights) - 1
        for i, (weight, bias) in enumerate(zip(weights[1:], biases[1:], strict=True)):
            self.register_buffer(f"weight{i}", weight.to(dtype).T.contiguous())  # (C_in, C_out) for addmm
            self.register_buffer(f"bias{i}", bias.to(dtype))
        self.dtype = dtype

    @property
    def xyz_weight(self) -> torch.Tensor:
        return self.first_weight[:, :3]

    def project(self, inputs: torch.Tensor) -> torch.Tensor:
        return torch.addmm(self.first_bias, inputs.float().reshape(-1, inputs.shape[-1]), self.first_weight.T).view(
            *inputs.shape[:-1], -1
        )

    def tail(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        x = x.reshape(-1, shape[-1]).relu_().to(self.dtype)
        for i in range(self.depth):
            x = torch.addmm(getattr(self, f"bias{i}"), x, getattr(self, f"weight{i}")).relu_()
        return x.view(*shape[:-1], x.shape[-1])


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
        self.mlps = nn.ModuleList(SharedMLP(in_channels + 3, widths) for widths in mlps)
        self.out_channels = sum(widths[-1] for widths in mlps)

    def forward(
        self, xyz: torch.Tensor, features: torch.Tensor | None, centre_index: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """xyz (B, N, 3), features (B, N, C) or None -> centres (B, S, 3), features (B, S, C_out)."""
        inputs = xyz if features is None else torch.cat((xyz, features.to(xyz.dtype)), dim=-1)
        if self.radii is None:  # one group of every point, relative to the origin
            out = [mlp.tail(mlp.project(inputs)).amax(dim=1) for mlp in self.mlps]
            return xyz.new_zeros(xyz.shape[0], 1, 3), torch.cat(out, dim=-1).unsqueeze(1)
        centres = gather(xyz, centre_index)
        distances = torch.cdist(centres, xyz)
        out = []
        for mlp, radius, k in zip(self.mlps, self.radii, self.neighbours, strict=True):
            index = ball_query_from_distances(distances, radius, k)
            grouped = gather(mlp.project(inputs), index) - (centres @ mlp.xyz_weight.float().T).unsqueeze(2)
            out.append(mlp.tail(grouped).amax(dim=2))
        return centres, torch.cat(out, dim=-1)


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
        return self.abstract(points, farthest_point_sample(points, self.centres[0]).to(points.device))

    def abstract(self, points: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
        """The set-abstraction layers on points (B, N, 3) with their farthest-point order (B, S_0).

        One farthest-point pass serves every layer: layer l's centres are the first centres[l]
        of it, which is exactly a farthest-point sample of layer l-1's centres. (Apart from the
        sequential farthest-point loop, this is what inference compiles.)
        """
        xyz, features = points, None
        for i, layer in enumerate(self.layers):
            if i == len(self.centres):
                centre_index = None  # the last layer groups everything
            elif i == 0:
                centre_index = order
            else:  # the previous centres are in farthest-point order: take a prefix
                centre_index = torch.arange(self.centres[i], device=points.device).expand(points.shape[0], -1)
            xyz, features = layer(xyz, features, centre_index)
        return features.squeeze(1).float()

    def folded(self, dtype: torch.dtype = torch.float32) -> PointNet2Encoder:
        """A copy for inference only: BatchNorm folded into the layers, which run in `dtype`
        (the grouping and each first per-point product stay float32)."""
        inference = copy.deepcopy(self).eval()
        for layer in inference.layers:
            layer.mlps = nn.ModuleList(FoldedMLP(mlp, dtype) for mlp in layer.mlps)
        return inference.requires_grad_(False)
