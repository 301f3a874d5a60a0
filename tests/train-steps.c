/* train-steps CHECKPOINT BATCHES OUTPUT [THREADS [MICRO]] — resumes a
 * training checkpoint, takes one step per batch ("source.K", "target.K" in
 * the safetensors file BATCHES, K = 0, 1, ...), each in MICRO micro-batches
 * (default 1), and writes the checkpoint after
 * them to OUTPUT, with each step's losses in its metadata ("run.loss.K" =
 * "d_real d_fake g_gan g_recon g_colour"): the bridge the PyTorch parity tests
 * (tests/oracle/test_train_torch.py) drive our trainer through. */
#include "neuropaint.h"

#include <stdio.h>
#include <stdlib.h>

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NpTrainer) trainer = NULL;
  g_autoptr(NpSafetensors) batches = NULL;
  g_autoptr(GHashTable) meta = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  gint threads = argc > 4 ? atoi (argv[4]) : 1, micro = argc > 5 ? atoi (argv[5]) : 1;

  if (argc < 4)
    {
      fprintf (stderr, "usage: train-steps CHECKPOINT BATCHES OUTPUT [THREADS [MICRO]]\n");
      return 1;
    }
  if ((trainer = np_trainer_load (argv[1], NULL, &error)) == NULL
      || (batches = np_safetensors_read (argv[2], &error)) == NULL)
    goto fail;
  for (gint k = 0;; k++)
    {
      g_autofree gchar *sname = g_strdup_printf ("source.%d", k), *tname = g_strdup_printf ("target.%d", k);
      NpTensor     *source = np_safetensors_get (batches, sname), *target = np_safetensors_get (batches, tname);
      NpTrainLosses l;

      if (source == NULL || target == NULL)
        break;
      if (!np_trainer_step (trainer, source, target, micro, threads, &l, &error))
        goto fail;
      g_hash_table_insert (meta, g_strdup_printf ("loss.%d", k),
                           g_strdup_printf ("%.9g %.9g %.9g %.9g %.9g", l.d_real, l.d_fake, l.g_gan, l.g_recon,
                                            l.g_colour));
    }
  if (!np_trainer_save (trainer, argv[3], meta, &error))
    goto fail;
  return 0;

fail:
  fprintf (stderr, "train-steps: %s\n", error->message);
  return 2;
}
