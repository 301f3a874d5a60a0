"""Every XML graph in graphs/ runs through the `gegl` command and writes a
non-empty image of the input's size. The gegl command exits 0 even when it
fails, so the file, its size and stderr are what is checked."""
import glob
import os
import subprocess
import tempfile
import unittest

import nptest


class Graphs(unittest.TestCase):
    def test_each_graph_through_gegl(self):
        import cv2
        if not os.path.exists(nptest.ASTRONAUT):
            self.skipTest("graphs read Debian's astronaut.png: install python3-skimage")
        graphs = sorted(glob.glob(os.path.join(nptest.SOURCE_ROOT, "graphs", "*.xml")))
        self.assertTrue(graphs, "no graphs found")
        want = cv2.imread(nptest.ASTRONAUT).shape[:2]
        for graph in graphs:
            with self.subTest(graph=os.path.basename(graph)), tempfile.TemporaryDirectory() as tmp:
                out = os.path.join(tmp, "out.png")
                proc = subprocess.run(["gegl", graph, "-o", out], capture_output=True, text=True, timeout=300)
                self.assertNotIn("WARNING", proc.stderr, proc.stderr)
                self.assertNotIn("CRITICAL", proc.stderr, proc.stderr)
                self.assertTrue(os.path.exists(out), "no output; stderr: " + proc.stderr)
                self.assertGreater(os.path.getsize(out), 1000)
                img = cv2.imread(out, cv2.IMREAD_UNCHANGED)
                self.assertEqual(img.shape[:2], want)
                self.assertGreater(int(img[..., :3].max()), 0, "the result is black")

    def test_each_builtin_graph_through_neuropaint(self):
        if not os.path.exists(nptest.ASTRONAUT):
            self.skipTest("needs Debian's astronaut.png: install python3-skimage")
        with tempfile.TemporaryDirectory() as tmp:
            proc = nptest.run(["demo", "-o", tmp])
            self.assertIn(tmp, proc.stdout)
            names = sorted(os.path.basename(p)[:-4] for p in glob.glob(os.path.join(nptest.SOURCE_ROOT, "graphs", "seed-*.xml")))
            self.assertEqual(sorted(f[:-4] for f in os.listdir(tmp)), names)


if __name__ == "__main__":
    nptest.main()
