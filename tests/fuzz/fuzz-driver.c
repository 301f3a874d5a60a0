/* A stand-in for libFuzzer, so every fuzz target also runs in the ordinary
 * test suite (built with GCC under ASan+UBSan): the target's seed files first,
 * then a bounded, reproducible series of mutations of them.
 *
 * Mutations aim at what breaks parsers: truncation, flipped bytes, numbers
 * swapped for huge or negative ones, duplicated and deleted spans.
 * NP_FUZZ_ITERATIONS sets the count (default 3000). For real coverage-guided
 * fuzzing build with clang and -Dfuzz=true instead. */
#include <glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static guint64 rng_state = 0x9E3779B97F4A7C15ull;

static guint64
next_random (void)
{
  /* splitmix64: tiny and good enough to pick mutation sites */
  guint64 z = (rng_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static GByteArray *
mutate (const guint8 *seed, gsize size)
{
  static const char *const numbers[] = {
    "0", "-1", "2147483647", "-2147483648", "4294967296", "99999999999999999999",
    "1e308", "nan", "-0", "65536", "18446744073709551615",
  };
  GByteArray *out = g_byte_array_new ();
  gsize       pos = size ? next_random () % size : 0;

  g_byte_array_append (out, seed, size);
  switch (next_random () % 6)
    {
    case 0: /* truncate */
      g_byte_array_set_size (out, pos);
      break;
    case 1: /* flip a few bytes */
      for (int i = 0; i < 4 && out->len; i++)
        out->data[next_random () % out->len] ^= (guint8) (1u << (next_random () % 8));
      break;
    case 2: /* replace the digits at or after pos with a hostile number */
      {
        gsize a = pos, b;
        const char *n = numbers[next_random () % G_N_ELEMENTS (numbers)];
        while (a < out->len && !g_ascii_isdigit (out->data[a]))
          a++;
        b = a;
        while (b < out->len && g_ascii_isdigit (out->data[b]))
          b++;
        if (a < out->len)
          {
            g_byte_array_remove_range (out, a, b - a);
            g_byte_array_insert (out, a, (const guint8 *) n, strlen (n));
          }
      }
      break;
    case 3: /* delete a span */
      if (out->len)
        g_byte_array_remove_range (out, pos, MIN (out->len - pos, next_random () % 64 + 1));
      break;
    case 4: /* duplicate a span */
      if (size)
        {
          gsize len = MIN (size - pos, next_random () % 128 + 1);
          g_byte_array_insert (out, next_random () % (out->len + 1), seed + pos, len);
        }
      break;
    default: /* overwrite 8 bytes with random ones (binary headers) */
      for (int i = 0; i < 8 && pos + i < out->len; i++)
        out->data[pos + i] = (guint8) next_random ();
      break;
    }
  return out;
}

int
main (int argc, char **argv)
{
  const char *env = g_getenv ("NP_FUZZ_ITERATIONS");
  long        iterations = env ? strtol (env, NULL, 10) : 3000;
  GPtrArray  *seeds = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);

  for (int i = 1; i < argc; i++)
    {
      gchar  *data;
      gsize   size;
      GError *error = NULL;

      if (!g_file_get_contents (argv[i], &data, &size, &error))
        {
          g_printerr ("fuzz-driver: %s\n", error->message);
          return 1;
        }
      g_ptr_array_add (seeds, g_bytes_new_take (data, size));
    }
  if (seeds->len == 0)
    {
      g_print ("1..0 # SKIP no seed files\n");
      return 77;
    }

  for (guint i = 0; i < seeds->len; i++)
    {
      gsize size;
      const guint8 *data = g_bytes_get_data (seeds->pdata[i], &size);
      LLVMFuzzerTestOneInput (data, size);
    }
  for (long k = 0; k < iterations; k++)
    {
      gsize size;
      const guint8 *data = g_bytes_get_data (seeds->pdata[next_random () % seeds->len], &size);
      g_autoptr(GByteArray) input = mutate (data, size);
      LLVMFuzzerTestOneInput (input->data, input->len);
    }
  g_print ("fuzz-driver: %u seeds, %ld mutations, no sanitizer report\n", seeds->len, iterations);
  g_ptr_array_unref (seeds);
  return 0;
}
