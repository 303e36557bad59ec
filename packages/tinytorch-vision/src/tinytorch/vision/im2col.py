"""im2col and col2im: how a convolution becomes one matrix multiplication.

What it teaches: a 2-D convolution slides a (C, kh, kw) kernel over the image and takes a
dot product at every position. im2col ("image to columns") copies the (kh, kw, C) patch
under every output position into one row of a matrix, so all those dot products become a
single matrix product with the (kh*kw*C, out_channels) weight matrix, which BLAS runs
near the machine's peak. col2im is its adjoint: it adds every row back onto the pixels the
patch came from, which is exactly the backward of im2col.

How it is done without loops over pixels: `windows()` builds the patches as a *strided
view* (np.lib.stride_tricks.as_strided): shape (N, Ho, Wo, kh, kw, C) over the padded
image, no copy. Copying that view into a contiguous array is the whole im2col. col2im
cannot be a view (patches overlap), so it loops over the kh*kw kernel offsets only: for
offset (i, j) the (N, Ho, Wo, C) slab of gradients lands on one strided slice of the
padded input and is added with one vectorized `+=`. Nine adds for a 3x3 kernel, however
large the batch or image.

Layout: internally everything is channels-last (NHWC), as in PyTorch's
`channels_last` memory format. Then a patch row is kh runs of kw*C contiguous numbers,
the weight matrix is (K, out_channels) and the product lands directly as the next
layer's NHWC input. The public API stays NCHW: an NHWC array transposed to (N, C, H, W)
is a free view with the right shape and the channels-last memory.

Systems lessons:
- Memory: the column matrix holds kh*kw copies of every input pixel. A 3x3 conv on a
  batch of 128 images of 32x32x64 floats needs 128*32*32*9*64*4 bytes = 302 MB of columns
  for an input of 34 MB. im2col trades memory (and memory bandwidth) for BLAS speed.
- FLOPs: the product is (N*Ho*Wo, kh*kw*C/groups) x (kh*kw*C/groups, out/groups) per
  group, i.e. 2*N*Ho*Wo*kh*kw*(C/groups)*out FLOPs forward; backward costs twice that
  (one product for the weight gradient, one for the input gradient).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from tinytorch.core import parallel
from tinytorch.core.nn.sizes import Pair

Pads = tuple[Pair, Pair]  # ((top, bottom), (left, right))


# ---------------------------------------------------------------- geometry


def span(kernel: Pair, dilation: Pair) -> Pair:
    """How many input pixels a dilated kernel covers along each axis."""
    return tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))


def output_hw(padded_hw: Pair, kernel: Pair, stride: Pair, dilation: Pair) -> Pair:
    """Output height and width of a window sliding over an already padded input."""
    # BEGIN SOLUTION
    return tuple((p - s) // st + 1
                 for p, s, st in zip(padded_hw, span(kernel, dilation), stride))
    # END SOLUTION


def symmetric(padding: Pair) -> Pads:
    return (padding[0], padding[0]), (padding[1], padding[1])


# ---------------------------------------------------------------- layout


def to_nhwc(x: np.ndarray) -> np.ndarray:
    """(N, C, H, W) -> contiguous (N, H, W, C); free when x already has NHWC memory."""
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1))


def as_nchw(x_nhwc: np.ndarray) -> np.ndarray:
    """View an (N, H, W, C) array as (N, C, H, W) without moving any data."""
    return x_nhwc.transpose(0, 3, 1, 2)


def pad_nhwc(x: np.ndarray, pads: Pads, fill: float = 0.0) -> np.ndarray:
    """NCHW input -> padded, contiguous NHWC, in one copy (none if there is nothing to do)."""
    (top, bottom), (left, right) = pads
    if top == bottom == left == right == 0:
        return to_nhwc(x)
    n, c, h, w = x.shape
    padded = np.empty((n, h + top + bottom, w + left + right, c), dtype=x.dtype)
    if top or bottom:
        padded[:, :top] = fill
        padded[:, top + h:] = fill
    if left or right:
        padded[:, :, :left] = fill
        padded[:, :, left + w:] = fill
    padded[:, top:top + h, left:left + w] = x.transpose(0, 2, 3, 1)
    return padded


def crop(x_padded: np.ndarray, pads: Pads, hw: Pair) -> np.ndarray:
    """The un-padded (N, H, W, C) part of a padded NHWC array (a view)."""
    (top, _), (left, _) = pads
    return x_padded[:, top:top + hw[0], left:left + hw[1]]


# ---------------------------------------------------------------- im2col / col2im


def windows(x_padded: np.ndarray, kernel: Pair, stride: Pair, dilation: Pair,
            out_hw: Pair) -> np.ndarray:
    """Every kernel-sized patch of a padded NHWC array, as a (N, Ho, Wo, kh, kw, C) view.

    No data moves: the view's strides say "one output step = `stride` pixels, one kernel
    step = `dilation` pixels". Writing through it would be a bug (patches overlap), so it
    is read-only.
    """
    # BEGIN SOLUTION
    sn, sh, sw, sc = x_padded.strides
    n, _, _, c = x_padded.shape
    shape = (n, out_hw[0], out_hw[1], kernel[0], kernel[1], c)
    strides = (sn, sh * stride[0], sw * stride[1], sh * dilation[0], sw * dilation[1], sc)
    # END SOLUTION
    return as_strided(x_padded, shape, strides, writeable=False)


def im2col(x_padded: np.ndarray, kernel: Pair, stride: Pair, dilation: Pair,
           out_hw: Pair, groups: int = 1) -> np.ndarray:
    """Copy every patch into a contiguous (N*Ho*Wo, groups, kh*kw*C/groups) matrix.

    Row m holds the patch under output pixel m; for grouped convolutions each group's
    channels are kept together so that each group's product is one matmul.
    """
    patches = windows(x_padded, kernel, stride, dilation, out_hw)
    n, ho, wo, kh, kw, c = patches.shape
    per_group = c // groups
    grouped = patches.reshape(n, ho, wo, kh, kw, groups, per_group).transpose(
        0, 1, 2, 5, 3, 4, 6)
    cols = np.empty(grouped.shape, dtype=x_padded.dtype)

    def copy_images(images):  # the one big copy of im2col, a batch block at a time
        np.copyto(cols[images], grouped[images])

    parallel.for_each_block(copy_images, n, cols[0].nbytes)
    return cols.reshape(n * ho * wo, groups, kh * kw * per_group)


def im2col_channel_major(x_padded: np.ndarray, kernel: Pair, stride: Pair, dilation: Pair,
                         out_hw: Pair) -> np.ndarray:
    """The transposed column matrix (C*kh*kw, N*Ho*Wo), copied from padded NCHW memory.

    Row (c, i, j) holds input channel c at kernel offset (i, j) for every output position,
    so the weight matrix is simply weight.reshape(out, C*kh*kw).T. Why a second layout:
    im2col's copy moves runs of kw*C contiguous numbers, only 9 for an RGB image's 3x3
    patches, and numpy pays a fixed cost per run. Here each run is a row of the output (Wo
    numbers at stride 1), which is why a network's first layer, whose input arrives
    channels-first with 3 channels, builds its columns this way.
    """
    sn, sc, sh, sw = x_padded.strides
    n, c = x_padded.shape[:2]
    shape = (c, kernel[0], kernel[1], n, out_hw[0], out_hw[1])
    strides = (sc, sh * dilation[0], sw * dilation[1], sn, sh * stride[0], sw * stride[1])
    patches = as_strided(x_padded, shape, strides, writeable=False)
    return patches.reshape(c * kernel[0] * kernel[1], n * out_hw[0] * out_hw[1])


def kernel_offsets(kernel: Pair, stride: Pair, dilation: Pair, out_hw: Pair):
    """Yield (i, j, rows, cols): for kernel offset (i, j), the slices of the padded input
    that offset touches across all output positions."""
    for i in range(kernel[0]):
        rows = slice(i * dilation[0], i * dilation[0] + stride[0] * (out_hw[0] - 1) + 1,
                     stride[0])
        for j in range(kernel[1]):
            cols = slice(j * dilation[1], j * dilation[1] + stride[1] * (out_hw[1] - 1) + 1,
                         stride[1])
            yield i, j, rows, cols


def col2im(cols: np.ndarray, padded_shape: tuple, kernel: Pair, stride: Pair,
           dilation: Pair, out_hw: Pair, groups: int = 1) -> np.ndarray:
    """Adjoint of im2col: sum every patch row back onto the padded NHWC input it came from.

    `cols` is (N*Ho*Wo, groups, kh*kw*C/groups) as im2col returns it (any strides).
    The images of a batch are independent, so blocks of them run on all cores
    (tinytorch.core.parallel); add_patches does the work for one block.
    """
    n, _, _, c = padded_shape
    patches = cols.reshape(n, out_hw[0], out_hw[1], groups, kernel[0], kernel[1], c // groups)
    out = np.empty(padded_shape, dtype=cols.dtype)

    def block(images):
        add_patches(out[images], patches[images], kernel, stride, dilation)

    parallel.for_each_block(block, n, out[0].nbytes)
    return out


def add_patches(out: np.ndarray, patches: np.ndarray, kernel: Pair, stride: Pair,
                dilation: Pair) -> None:
    """col2im for a block of images: out (n, Hp, Wp, C) = the sum of the patch gradients
    `patches` (n, Ho, Wo, groups, kh, kw, C/groups) over the pixels each came from.

    Overlapping patches add up: one vectorized add per kernel offset, kh*kw in all.
    """
    n, ho, wo = patches.shape[:3]
    c = out.shape[3]
    out[...] = 0
    # BEGIN SOLUTION
    for i, j, rows, columns in kernel_offsets(kernel, stride, dilation, (ho, wo)):
        slab = patches[:, :, :, :, i, j, :]
        out[:, rows, columns, :] += slab.reshape(n, ho, wo, c)
    # END SOLUTION
