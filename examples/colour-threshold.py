#!/usr/bin/python3
"""Runs a neuropaint op from Python through GEGL's GObject introspection.

    GEGL_PATH=... examples/colour-threshold.py in.jpg out.png [threshold]

Needs python3-gi and gir1.2-gegl-0.4 (Debian). The ops are found where GEGL
looks for plug-ins: installed, or GEGL_PATH (see the README)."""
import sys

import gi

gi.require_version("Gegl", "0.4")
from gi.repository import Gegl  # noqa: E402


def main(argv):
    if len(argv) not in (3, 4):
        print(__doc__.strip(), file=sys.stderr)
        return 1
    Gegl.init(None)
    if not Gegl.has_operation("neuropaint:rgb-threshold"):
        print("neuropaint ops not found: install them or set GEGL_PATH", file=sys.stderr)
        return 2
    graph = Gegl.Node()
    load = graph.create_child("gegl:load")
    load.set_property("path", argv[1])
    threshold = graph.create_child("neuropaint:rgb-threshold")
    threshold.set_property("threshold", int(argv[3]) if len(argv) == 4 else 200)
    save = graph.create_child("gegl:png-save")
    save.set_property("path", argv[2])
    save.set_property("bitdepth", 8)
    load.link(threshold)
    threshold.link(save)
    save.process()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
