/* neuropaint — the MPI calls of a data-parallel training run, in a module of
 * their own (neuropaint-mpi.so, built with -Dmpi) that train-group.c loads
 * only when an MPI launcher started the process: the command itself does
 * not link libmpi, so `run`, `crop` and the rest need no MPI on a node.
 *
 * The module exports one symbol, CLI_MPI_SYMBOL, a function returning this
 * table; every call works on MPI_COMM_WORLD, with floats and ints. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  /* MPI_Init; this rank, the ranks, and the ranks on this machine. */
  void     (*join)       (gint *rank, gint *size, gint *local_size);
  /* MPI_Finalize. */
  void     (*leave)      (void);
  /* MPI_Alltoallv of floats. */
  void     (*alltoallv)  (const gfloat *send, const int *send_counts, const int *send_offsets,
                          gfloat *receive, const int *receive_counts, const int *receive_offsets);
  /* MPI_Allgatherv of floats in place: rank r's block is data + offsets[r]. */
  void     (*allgatherv) (gfloat *data, const int *counts, const int *offsets);
  /* TRUE on every rank when value is TRUE on any (MPI_Allreduce, MPI_MAX). */
  gboolean (*any)        (gboolean value);
} CliMpi;

#define CLI_MPI_SYMBOL "cli_mpi_table"
typedef const CliMpi *(*CliMpiTableFunc) (void);

G_END_DECLS
