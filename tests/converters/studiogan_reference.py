"""A faithful local re-creation of PyTorch-StudioGAN's SAGAN (``src/models/resnet.py``,
``src/utils/ops.py`` at commit 947b35e, MIT licence), used only to test the converter.

Same module names, parameter shapes, SN ε (1e-6), BatchNorm ε (1e-4), in-place ReLUs and forward order as
StudioGAN's cBN generator (``g_cond_mtd: cBN`` or ``W/O``) and projection discriminator (``d_cond_mtd: PD``)
with self-attention; the branches SAGAN does not use (InfoGAN, ADC/TAC, MH, mixed precision) are left out.
"""
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm

G_IN = {32: [4, 4, 4], 128: [16, 16, 8, 4, 2]}  # × g_conv_dim (resnet.py g_in_dims_collection)
G_OUT = {32: [4, 4, 4], 128: [16, 8, 4, 2, 1]}
D_IN = {32: [2, 2, 2], 128: [1, 2, 4, 8, 16]}  # × d_conv_dim, after the image's 3 channels
D_OUT = {32: [2, 2, 2, 2], 128: [1, 2, 4, 8, 16, 16]}
D_DOWN = {32: [True, True, False, False], 128: [True, True, True, True, True, False]}


def snconv2d(cin, cout, kernel_size, padding=0, bias=True):
    return spectral_norm(nn.Conv2d(cin, cout, kernel_size, stride=1, padding=padding, bias=bias), eps=1e-6)


def snlinear(cin, cout, bias=True):
    return spectral_norm(nn.Linear(cin, cout, bias=bias), eps=1e-6)


class ConditionalBatchNorm2d(nn.Module):  # ops.ConditionalBatchNorm2d

    def __init__(self, in_features, out_features):
        super().__init__()
        self.bn = nn.BatchNorm2d(out_features, eps=1e-4, momentum=0.1, affine=False)
        self.gain = snlinear(in_features, out_features, bias=False)
        self.bias = snlinear(in_features, out_features, bias=False)

    def forward(self, x, y):
        gain = (1 + self.gain(y)).view(y.size(0), -1, 1, 1)
        return self.bn(x) * gain + self.bias(y).view(y.size(0), -1, 1, 1)


class SelfAttention(nn.Module):  # ops.SelfAttention

    def __init__(self, c):
        super().__init__()
        self.conv1x1_theta = snconv2d(c, c // 8, 1, bias=False)
        self.conv1x1_phi = snconv2d(c, c // 8, 1, bias=False)
        self.conv1x1_g = snconv2d(c, c // 2, 1, bias=False)
        self.conv1x1_attn = snconv2d(c // 2, c, 1, bias=False)
        self.maxpool = nn.MaxPool2d(2, stride=2, padding=0)
        self.sigma = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        _, ch, h, w = x.size()
        theta = self.conv1x1_theta(x).view(-1, ch // 8, h * w)
        phi = self.maxpool(self.conv1x1_phi(x)).view(-1, ch // 8, h * w // 4)
        attn = torch.softmax(torch.bmm(theta.permute(0, 2, 1), phi), dim=-1)
        g = self.maxpool(self.conv1x1_g(x)).view(-1, ch // 2, h * w // 4)
        attn_g = self.conv1x1_attn(torch.bmm(g, attn.permute(0, 2, 1)).view(-1, ch // 2, h, w))
        return x + self.sigma * attn_g


class GenBlock(nn.Module):  # resnet.GenBlock

    def __init__(self, cin, cout, num_classes):
        super().__init__()
        self.conditional = num_classes > 0
        bn = (lambda c: ConditionalBatchNorm2d(num_classes, c)) if self.conditional else (
            lambda c: nn.BatchNorm2d(c, eps=1e-4))
        self.bn1, self.bn2 = bn(cin), bn(cout)
        self.activation = nn.ReLU(inplace=True)
        self.conv2d0 = snconv2d(cin, cout, 1)
        self.conv2d1 = snconv2d(cin, cout, 3, padding=1)
        self.conv2d2 = snconv2d(cout, cout, 3, padding=1)

    def forward(self, x, affine):
        x0 = x
        x = self.bn1(x, affine) if self.conditional else self.bn1(x)
        x = self.conv2d1(F.interpolate(self.activation(x), scale_factor=2, mode='nearest'))
        x = self.bn2(x, affine) if self.conditional else self.bn2(x)
        x = self.conv2d2(self.activation(x))
        return x + self.conv2d0(F.interpolate(x0, scale_factor=2, mode='nearest'))


class Generator(nn.Module):  # resnet.Generator

    def __init__(self, img_size, g_conv_dim, attn_g_loc, num_classes, z_dim=128):
        super().__init__()
        self.num_classes, self.in_dims = num_classes, [m * g_conv_dim for m in G_IN[img_size]]
        out_dims = [m * g_conv_dim for m in G_OUT[img_size]]
        self.linear0 = snlinear(z_dim, self.in_dims[0] * 4 * 4)
        blocks = []
        for index, (cin, cout) in enumerate(zip(self.in_dims, out_dims)):
            blocks.append([GenBlock(cin, cout, num_classes)])
            if index + 1 in attn_g_loc:
                blocks.append([SelfAttention(cout)])
        self.blocks = nn.ModuleList([nn.ModuleList(b) for b in blocks])
        self.bn4 = nn.BatchNorm2d(out_dims[-1], eps=1e-4)
        self.activation = nn.ReLU(inplace=True)
        self.conv2d5 = snconv2d(out_dims[-1], 3, 3, padding=1)
        # (StudioGAN then calls ops.init_weights(..., 'ortho'); PyTorch's default init serves the layout test
        # as well, and QR-orthogonalising 128x128 layers costs tens of seconds on two cores.)

    def forward(self, z, label):
        affine = F.one_hot(label, num_classes=self.num_classes).float() if self.num_classes else None
        act = self.linear0(z).view(-1, self.in_dims[0], 4, 4)
        for blocklist in self.blocks:
            for block in blocklist:
                act = block(act) if isinstance(block, SelfAttention) else block(act, affine)
        return torch.tanh(self.conv2d5(self.activation(self.bn4(act))))


class DiscOptBlock(nn.Module):  # resnet.DiscOptBlock (apply_d_sn=True)

    def __init__(self, cin, cout):
        super().__init__()
        self.conv2d0 = snconv2d(cin, cout, 1)
        self.conv2d1 = snconv2d(cin, cout, 3, padding=1)
        self.conv2d2 = snconv2d(cout, cout, 3, padding=1)
        self.activation = nn.ReLU(inplace=True)
        self.average_pooling = nn.AvgPool2d(2)

    def forward(self, x):
        x0 = x
        x = self.average_pooling(self.conv2d2(self.activation(self.conv2d1(x))))
        return x + self.conv2d0(self.average_pooling(x0))


class DiscBlock(nn.Module):  # resnet.DiscBlock (apply_d_sn=True)

    def __init__(self, cin, cout, downsample):
        super().__init__()
        self.downsample, self.ch_mismatch = downsample, cin != cout
        self.activation = nn.ReLU(inplace=True)
        if self.ch_mismatch or downsample:
            self.conv2d0 = snconv2d(cin, cout, 1)
        self.conv2d1 = snconv2d(cin, cout, 3, padding=1)
        self.conv2d2 = snconv2d(cout, cout, 3, padding=1)
        self.average_pooling = nn.AvgPool2d(2)

    def forward(self, x):
        x0 = x
        x = self.activation(x)  # in place: x0 is rewritten too, as in StudioGAN
        x = self.conv2d2(self.activation(self.conv2d1(x)))
        if self.downsample:
            x = self.average_pooling(x)
        if self.downsample or self.ch_mismatch:
            x0 = self.conv2d0(x0)
            if self.downsample:
                x0 = self.average_pooling(x0)
        return x + x0


class Discriminator(nn.Module):  # resnet.Discriminator, d_cond_mtd 'PD' (or 'W/O' with num_classes=0)

    def __init__(self, img_size, d_conv_dim, attn_d_loc, num_classes):
        super().__init__()
        in_dims = [3] + [m * d_conv_dim for m in D_IN[img_size]]
        out_dims = [m * d_conv_dim for m in D_OUT[img_size]]
        blocks = []
        for index, (cin, cout) in enumerate(zip(in_dims, out_dims)):
            blocks.append(
                [DiscOptBlock(cin, cout) if index == 0 else DiscBlock(cin, cout, D_DOWN[img_size][index])])
            if index + 1 in attn_d_loc:
                blocks.append([SelfAttention(cout)])
        self.blocks = nn.ModuleList([nn.ModuleList(b) for b in blocks])
        self.activation = nn.ReLU(inplace=True)
        self.linear1 = snlinear(out_dims[-1], 1)
        self.num_classes = num_classes
        if num_classes:
            self.embedding = spectral_norm(nn.Embedding(num_classes, out_dims[-1]), eps=1e-6)

    def forward(self, x, label):
        h = x
        for blocklist in self.blocks:
            for block in blocklist:
                h = block(h)
        h = torch.sum(self.activation(h), dim=[2, 3])
        adv_output = torch.squeeze(self.linear1(h))
        if self.num_classes:
            adv_output = adv_output + torch.sum(torch.mul(self.embedding(label), h), 1)
        return adv_output
