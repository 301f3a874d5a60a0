/* neuropaint — the processes of a data-parallel training run: MPI when
 * built with it (-Dmpi) and started by an MPI launcher, through the MPI
 * module (train-mpi.h) loaded then; else one process. */
#include "config.h"
#include "train-group.h"
#include "train-mpi.h"

#include <gmodule.h>
#include <stdlib.h>
#include <string.h>

struct _NpGroup
{
  gint          rank, size, local_size;
  gdouble       sum_seconds;
  const CliMpi *mpi;          /* joined (MPI_Init was called): the module's calls */
  gfloat       *received;     /* cli_group_sum: every rank's share of a block */
  gsize         received_size;
};

/* The number of processes an MPI launcher says it started (OpenMPI's
 * mpirun, MPICH's hydra, Slurm's srun with PMI or PMIx), or 0. */
static gint
launched_size (void)
{
  static const char *const vars[] = { "OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", NULL };

  for (gint i = 0; vars[i]; i++)
    if (g_getenv (vars[i]))
      return MAX (1, atoi (g_getenv (vars[i])));
  /* PMIx launchers (srun --mpi=pmix) may give the rank alone. */
  return g_getenv ("PMIX_RANK") ? 1 : 0;
}

/* The tasks of the Slurm job step this process is one of (srun -n N sets
 * SLURM_STEP_NUM_TASKS in each), or 0 outside a step: a batch script's
 * own SLURM_NTASKS is the allocation's, not processes that were started. */
static gint
slurm_step_size (void)
{
  const char *tasks = g_getenv ("SLURM_STEP_NUM_TASKS");

  return g_getenv ("SLURM_STEP_ID") && tasks ? MAX (1, atoi (tasks)) : 0;
}

/* The processes were started as several but do not form one group: each
 * would train alone and write the same files. */
static void
refuse_split (gint started, const char *by, gint joined, GError **error)
{
  g_set_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED,
               "started as one of %d processes (%s) but MPI joins %d: each would train alone and write the "
               "same files. Under Slurm, give srun its MPI plugin (srun --mpi=pmix; `srun --mpi=list` lists "
               "them) or start the ranks with mpirun inside the allocation", started, by, joined);
}

#ifdef NP_HAVE_MPI
/* The MPI module's calls: beside the executable (the build tree's cli/),
 * else where it is installed. Loaded once, and never unloaded (libmpi is
 * not made to be). Its symbols are global: OpenMPI's own plugins, which it
 * loads in turn, look for libmpi's there. */
static const CliMpi *
load_mpi (GError **error)
{
  g_autofree gchar *exe = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree gchar *exe_dir = exe ? g_path_get_dirname (exe) : NULL;
  g_autofree gchar *beside = exe_dir ? g_build_filename (exe_dir, NP_MPI_MODULE_NAME, NULL) : NULL;
  const char       *path = beside && g_file_test (beside, G_FILE_TEST_IS_REGULAR) ? beside : NP_MPI_MODULE;
  GModule          *module = g_module_open (path, 0);
  CliMpiTableFunc   table;

  if (module == NULL || !g_module_symbol (module, CLI_MPI_SYMBOL, (gpointer *) &table))
    {
      g_set_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED, "started by an MPI launcher, but its module %s does "
                   "not load: %s (install OpenMPI's libraries, Debian: libopenmpi3)", path, g_module_error ());
      return NULL;
    }
  g_module_make_resident (module);
  return table ();
}
#endif

CliGroup *
cli_group_new (GError **error)
{
  g_autoptr(CliGroup) g = g_new0 (CliGroup, 1);
  gint launched = launched_size (), step = slurm_step_size ();

  g->size = g->local_size = 1;
#ifdef NP_HAVE_MPI
  if (launched > 0)
    {
      const CliMpi *mpi = load_mpi (error);

      if (mpi == NULL)
        return NULL;
      /* A rank waiting for the others yields its core rather than spin on
       * it: the machine's other processes (a busy node, or our own threads)
       * need it more. Unless the user said otherwise. */
      g_setenv ("OMPI_MCA_mpi_yield_when_idle", "1", FALSE);
      mpi->join (&g->rank, &g->size, &g->local_size);
      g->mpi = mpi;
    }
#else
  if (launched > 1)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED,
                   "started as one of %d processes, but this neuropaint was built without MPI "
                   "(meson setup -Dmpi=enabled, with libopenmpi-dev): each would train alone", launched);
      return NULL;
    }
#endif
  /* srun -n 2 without an MPI plugin (MpiDefault=none) starts two processes
   * that know nothing of each other; so does a launcher of another MPI. */
  if (launched > 1 && g->size != launched)
    {
      refuse_split (launched, "the MPI launcher's variables say so", g->size, error);
      return NULL;
    }
  if (launched == 0 && step > 1)
    {
      g_autofree gchar *by = g_strdup_printf ("SLURM_STEP_NUM_TASKS=%d: srun -n %d with no MPI plugin", step, step);
      refuse_split (step, by, g->size, error);
      return NULL;
    }
  return g_steal_pointer (&g);
}

void
cli_group_free (CliGroup *g)
{
  if (g == NULL)
    return;
  if (g->mpi)
    g->mpi->leave ();
  g_free (g->received);
  g_free (g);
}

gint
cli_group_rank (const CliGroup *g)
{
  return g->rank;
}

gint
cli_group_size (const CliGroup *g)
{
  return g->size;
}

gint
cli_group_local_size (const CliGroup *g)
{
  return g->local_size;
}

gdouble
cli_group_sum_seconds (const CliGroup *g)
{
  return g->sum_seconds;
}

gboolean
cli_group_sum (gfloat *data, gsize n, gpointer group, GError **error)
{
  CliGroup *g = group;

  if (g->size == 1)
    return TRUE;
  {
    gint64  start = g_get_monotonic_time ();
    gint    size = g->size, me = g->rank;
    g_autofree int *counts = g_new (int, size), *offsets = g_new (int, size);
    g_autofree int *mine = g_new (int, size), *mine_at = g_new (int, size);
    g_autoptr(NpTreeSum) sum = NULL;
    gsize   share;
    gfloat *result;

    if (n > G_MAXINT)
      {
        g_set_error (error, NP_ERROR, NP_ERROR_TOO_LARGE, "MPI: %" G_GSIZE_FORMAT " floats in one sum", n);
        return FALSE;
      }
    /* Rank r owns the block's share r: [r·n/R, (r + 1)·n/R). */
    for (gint r = 0; r < size; r++)
      {
        offsets[r] = (int) (n * r / size);
        counts[r] = (int) (n * (r + 1) / size) - offsets[r];
      }
    share = counts[me];
    for (gint r = 0; r < size; r++)
      mine[r] = (int) share, mine_at[r] = (int) (share * r);
    if (g->received_size < share * size)
      {
        g_free (g->received);
        g->received = g_new (gfloat, share * size);
        g->received_size = share * size;
      }
    /* Every rank's copy of my share, in rank order; summed in the tree's
     * order; then every share to every rank. */
    g->mpi->alltoallv (data, counts, offsets, g->received, mine, mine_at);
    if (share > 0)
      {
        sum = np_tree_sum_new (share);
        for (gint r = 0; r < size; r++)
          np_tree_sum_add (sum, g->received + share * r);
        result = np_tree_sum_result (sum);
        memcpy (data + offsets[me], result, share * sizeof (gfloat));
      }
    g->mpi->allgatherv (data, counts, offsets);
    g->sum_seconds += (g_get_monotonic_time () - start) / 1e6;
  }
  return TRUE;
}

gboolean
cli_group_any (CliGroup *g, gboolean value)
{
  return g->size > 1 ? g->mpi->any (value) : value;
}
