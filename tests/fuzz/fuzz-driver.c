/* A stand-in for libFuzzer, so every fuzz target also runs in the ordinary
 * test suite (built with GCC under ASan+UBSan): the target's seed files first,
 * then a bounded, reproducible series of mutations of them.
 *
 * Mutations aim at what breaks parsers: truncation, flipped bytes, numbers
 * swapped for huge or negative ones, duplicated and deleted spans.
 * NP_FUZZ_ITERATIONS sets the count (default 20000). For real coverage-guided
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
            g_array_insert_vals ((GArray *) out, a, (const guint8 *) n, strlen (n));
          }
      }
      break;
    case 3: /* delete a span */
      if (out->len)
        {
          gsize span = next_random () % 64 + 1;   /* not inside MIN: it evaluates twice */
          g_byte_array_remove_range (out, pos, MIN (out->len - pos, span));
        }
      break;
    case 4: /* duplicate a span */
      if (size)
        {
          gsize span = next_random () % 128 + 1;
          gsize len = MIN (size - pos, span);
          g_array_insert_vals ((GArray *) out, next_random () % (out->len + 1), seed + pos, len);
        }
      break;
    default: /* overwrite 8 bytes with random ones (binary headers) */
      for (int i = 0; i < 8 && pos + i < out->len; i++)
        out->data[pos + i] = (guint8) next_random ();
      break;
    }
  return out;
}

static int
compare_paths (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

int
main (int argc, char **argv)
{
  const char *env = g_getenv ("NP_FUZZ_ITERATIONS");
  long        iterations = env ? strtol (env, NULL, 10) : 20000;
  GPtrArray  *seeds = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);

  /* Seeds: files, or folders of them (a libFuzzer corpus). */
  for (int i = 1; i < argc; i++)
    {
      g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
      GDir *dir = g_dir_open (argv[i], 0, NULL);

      if (dir)
        {
          const char *name;
          while ((name = g_dir_read_name (dir)))
            g_ptr_array_add (paths, g_build_filename (argv[i], name, NULL));
          g_dir_close (dir);
          /* Name order, so the mutation series is the same on every machine. */
          g_ptr_array_sort (paths, compare_paths);
        }
      else
        g_ptr_array_add (paths, g_strdup (argv[i]));

      for (guint k = 0; k < paths->len; k++)
        {
          gchar  *data;
          gsize   size;
          GError *error = NULL;

          if (!g_file_get_contents (paths->pdata[k], &data, &size, &error))
            {
              g_printerr ("fuzz-driver: %s\n", error->message);
              return 1;
            }
          g_ptr_array_add (seeds, g_bytes_new_take (data, size));
        }
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
