/* Runs any GEGL op chain on an image from C — here, our ops.
 *
 *   cc apply-op.c $(pkg-config --cflags --libs gegl-0.4) -o apply-op
 *   ./apply-op in.jpg out.png neuropaint:rgb-threshold threshold=150
 */
#include <gegl.h>
#include <stdio.h>

int
main (int argc, char **argv)
{
  GeglNode *graph, *load, *end, *save;
  GError   *error = NULL;

  if (argc < 4)
    {
      fprintf (stderr, "usage: %s IN OUT OP [KEY=VALUE…] [OP…]\n", argv[0]);
      return 1;
    }
  gegl_init (NULL, NULL);

  graph = gegl_node_new ();
  load = gegl_node_new_child (graph, "operation", "gegl:load", "path", argv[1], NULL);
  end = gegl_node_new_child (graph, "operation", "gegl:nop", NULL);
  save = gegl_node_new_child (graph, "operation", "gegl:png-save",
                              "path", argv[2], "bitdepth", 8, NULL);
  gegl_create_chain_argv (argv + 3, load, end, 0.0, 0, NULL, &error);
  if (error)
    {
      fprintf (stderr, "%s\n", error->message);
      return 2;
    }
  gegl_node_link (end, save);
  gegl_node_process (save);

  g_object_unref (graph);
  gegl_exit ();
  return 0;
}
