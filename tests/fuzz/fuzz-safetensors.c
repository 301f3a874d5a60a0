/* libFuzzer target: a model file from memory (safetensors header, tensors,
 * the network description in its metadata) must load or fail with a GError,
 * never crash, leak or read out of bounds.
 *
 *   CC=clang meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false
 *   ninja -C build-fuzz tests/fuzz-safetensors
 *   build-fuzz/tests/fuzz-safetensors -max_total_time=60 tests/fuzz/corpus-safetensors
 */
#include "neuropaint.h"

int LLVMFuzzerTestOneInput (const guint8 *data, gsize size);

int
LLVMFuzzerTestOneInput (const guint8 *data, gsize size)
{
  GError *error = NULL;
  NpNet  *net = np_net_load_from_data (data, size, &error);

  if (net)
    {
      /* A model that loads must also run (tiny input: keep runs fast). */
      gint m = np_net_size_multiple (net), n = np_net_n_inputs (net);
      if (m <= 64 && n <= 2)
        {
          NpTensor *in[2] = { NULL, NULL };
          for (gint i = 0; i < n; i++)
            in[i] = np_tensor_new (m, m, np_net_input_channels (net, i), 1, NULL);
          if (np_net_flops (net, m, m, 1) < 1e7)
            np_net_forward (net, (const NpTensor *const *) in, n, &(NpCompute) { .n_threads = 1 }, NULL);
          g_clear_error (&error);
          for (gint i = 0; i < n; i++)
            np_tensor_free (in[i]);
        }
      np_net_free (net);
    }
  g_clear_error (&error);
  return 0;
}
