"""The same operation written several ways, to measure what the implementation costs.

    from tinytorch.perf.kernels import matmul_loops, matmul_blas, conv2d_im2col, kernel_report
"""

from .conv import CONV_KERNELS, conv2d_direct, conv2d_im2col, conv2d_naive, im2col, im2col_bytes
from .fusion import FUSION_KERNELS, gelu_chunked, gelu_inplace, gelu_unfused
from .matmul import MATMUL_KERNELS, matmul_blas, matmul_blocked, matmul_loops, matmul_rows
from .memory_access import row_sums, strided_sum, transpose_blocked, transpose_naive
from .report import KernelResult, kernel_report, render

__all__ = [name for name in dir() if not name.startswith("_")]
