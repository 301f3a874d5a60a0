"""What every bench/ script gives the peer it times (PyTorch, OpenCV, NumPy,
oneDNN, LIBXSMM): the environment of its process."""
import os


def environment(threads, blas_threads=None):
    """os.environ with the peer's BLAS and OpenMP threads set to the thread
    count, and its OpenMP threads bound to cores (OMP_PROC_BIND): unbound,
    on the 2-core virtual machine the figures come from, they wander between
    the cores and collide. Measured 2026-12-07, idle: oneDNN with 2 threads
    ran slower than with 1 (84 against 106 GFLOP/s on the U-Net's e2 layer;
    bound, 233), PyTorch's pix2pix training step 24 % faster bound. Only the
    peer's process gets it: in ours, binding OpenMP's first thread would pin
    every thread it starts after to the same core."""
    return dict(os.environ, OPENBLAS_NUM_THREADS=str(blas_threads or threads), OMP_NUM_THREADS=str(threads),
                OMP_PROC_BIND="true")
