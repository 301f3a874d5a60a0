/* neuropaint — the processes of a data-parallel training run.
 *
 * `mpirun -np R neuropaint train …` starts R processes (ranks); each takes
 * its part of every step's batch, and the trainer sums their gradients
 * through cli_group_sum (np_trainer_set_group). Without MPI (not built with
 * it, or not started by an MPI launcher) the group is this process alone,
 * and every call here is free. MPI lives in train-mpi.c only, a module
 * loaded when a launcher started the process: core/train knows a sum
 * function, not MPI, and the command does not link libmpi. */
#pragma once

#include "neuropaint.h"

G_BEGIN_DECLS

typedef struct _NpGroup CliGroup;

/* Joins the run's processes (MPI_Init) when an MPI launcher started this
 * one, with OpenMPI's waiting ranks yielding their core
 * (OMPI_MCA_mpi_yield_when_idle=1 unless set); else a group of one. Fails when a launcher started several
 * processes that MPI does not join (built without MPI, another MPI's
 * launcher, or srun -n N with no MPI plugin: SLURM_STEP_NUM_TASKS > 1 and
 * no MPI variables): each would train alone and write the same files. */
CliGroup  *cli_group_new          (GError **error);
/* Leaves the group (MPI_Finalize). */
void      cli_group_free         (CliGroup *group);

gint      cli_group_rank         (const CliGroup *group);
gint      cli_group_size         (const CliGroup *group);
/* Ranks on this machine (threads are shared out among them). */
gint      cli_group_local_size   (const CliGroup *group);

/* An NpTrainSumFunc (user_data: the group): data becomes the sum over the
 * ranks, the ranks' blocks added in np_tree_sum's order in rank order, so
 * every rank and every run gets the same bits. MPI_Allreduce promises no
 * order (OpenMPI picks its algorithm, and its segments, by size and rank
 * count): a reduce-scatter (MPI_Alltoallv, then each rank sums its share
 * of every block in rank order) and an MPI_Allgatherv instead, which move
 * the bytes of a ring all-reduce. */
gboolean  cli_group_sum          (gfloat *data, gsize n, gpointer group, GError **error);
/* Seconds spent in cli_group_sum so far (waiting for the others included). */
gdouble   cli_group_sum_seconds  (const CliGroup *group);

/* TRUE on every rank when it is TRUE on any: the ranks agree to stop at the
 * same step (a signal reaches them at different moments). */
gboolean  cli_group_any          (CliGroup *group, gboolean value);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CliGroup, cli_group_free)

G_END_DECLS
