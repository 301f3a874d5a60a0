/* neuropaint — the MPI module (train-mpi.h): MPI_COMM_WORLD's calls, and
 * nothing else, so that only this file links libmpi. */
#include "config.h"
#include "train-mpi.h"

#include <gmodule.h>
#include <mpi.h>

static void
join (gint *rank, gint *size, gint *local_size)
{
  MPI_Comm local;

  MPI_Init (NULL, NULL);
  MPI_Comm_rank (MPI_COMM_WORLD, rank);
  MPI_Comm_size (MPI_COMM_WORLD, size);
  MPI_Comm_split_type (MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &local);
  MPI_Comm_size (local, local_size);
  MPI_Comm_free (&local);
}

static void
leave (void)
{
  MPI_Finalize ();
}

static void
alltoallv (const gfloat *send, const int *send_counts, const int *send_offsets,
           gfloat *receive, const int *receive_counts, const int *receive_offsets)
{
  MPI_Alltoallv (send, send_counts, send_offsets, MPI_FLOAT,
                 receive, receive_counts, receive_offsets, MPI_FLOAT, MPI_COMM_WORLD);
}

static void
allgatherv (gfloat *data, const int *counts, const int *offsets)
{
  MPI_Allgatherv (MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, data, counts, offsets, MPI_FLOAT, MPI_COMM_WORLD);
}

static gboolean
any (gboolean value)
{
  int mine = value != FALSE, result = 0;

  MPI_Allreduce (&mine, &result, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return result != 0;
}

G_MODULE_EXPORT const CliMpi *cli_mpi_table (void);

const CliMpi *
cli_mpi_table (void)
{
  static const CliMpi table = { join, leave, alltoallv, allgatherv, any };
  return &table;
}
