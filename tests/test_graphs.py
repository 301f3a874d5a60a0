"""Every XML graph in graphs/ runs through the `gegl` command and writes a
non-empty image of the expected size: the input's for a graph that loads a
photo, the size the graph's source node declares for one that renders (a
source graph). The gegl command exits 0 even when it fails, so the file, its
size and stderr are what is checked."""
import glob
import os
import subprocess
import tempfile
import unittest
import xml.etree.ElementTree as ET

import nptest


def expected_size(graph, photo_size):
    """(height, width) the graph must produce: a source graph (no gegl:load)
    must name its size on its source node; anything else keeps the photo's."""
    nodes = ET.parse(graph).getroot().iter("node")
    ops = {n.get("operation"): n for n in nodes}
    if "gegl:load" in ops:
        return photo_size
    sized = [n for n in ops.values() if n.get("width") and n.get("height")]
    if len(sized) != 1:
        raise AssertionError("%s: a source graph must give width and height on one node" % graph)
    return int(sized[0].get("height")), int(sized[0].get("width"))


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
                self.assertEqual(img.shape[:2], expected_size(graph, want))
                self.assertGreater(int(img[..., :3].max()), 0, "the result is black")

    def test_each_builtin_graph_through_neuropaint(self):
        if not os.path.exists(nptest.ASTRONAUT):
            self.skipTest("needs Debian's astronaut.png: install python3-skimage")
        with tempfile.TemporaryDirectory() as tmp:
            proc = nptest.run(["demo", "-o", tmp])
            self.assertIn(tmp, proc.stdout)
            names = sorted(os.path.basename(p)[:-4] for p in glob.glob(os.path.join(nptest.SOURCE_ROOT, "graphs", "seed-*.xml")))
            # The demo also renders the CPPN art graph.
            self.assertEqual(sorted(f[:-4] for f in os.listdir(tmp)), sorted(names + ["cppn-art"]))
            self.assertEqual(nptest.read_rgb(os.path.join(tmp, "cppn-art.png")).shape[:2], (512, 512))


if __name__ == "__main__":
    nptest.main()
