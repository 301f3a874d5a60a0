# Runs inside GIMP 3 (gimp-3.0 --batch-interpreter=python-fu-eval, which
# exec()s this file with NP_JOB naming a JSON job), for tests/test_gimp3.py:
#   - each case applies an op to a photo as GIMP users do, through
#     Gimp.DrawableFilter merged into the layer (with a layer as its aux
#     input when the case has one), and exports the result;
#   - the Crop Face procedure makes a new image, which is exported;
#   - the Batch procedure runs over a folder;
#   - the one-click Colorize Photo runs on a Grayscale scan;
#   - the menu paths of our procedures are noted, and the models each model
#     op's installed-model combo offers.
# Everything it finds goes into report.json beside the outputs; a failing
# case is recorded there and the rest still run.
import json
import os
import traceback

from gi.repository import Gimp, Gio

job = json.load(open(os.environ["NP_JOB"]))
report = {"errors": {}, "menus": {}, "status": {}, "base-type": {}, "filters": {}}
pdb = Gimp.get_pdb()


def load(path):
    return Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(path))


def export(image, path):
    if not Gimp.file_save(Gimp.RunMode.NONINTERACTIVE, image, Gio.File.new_for_path(path), None):
        raise RuntimeError("cannot export " + path)


def run(name, values):
    """Runs procedure name with values; returns its return values."""
    procedure = pdb.lookup_procedure(name)
    config = procedure.create_config()
    for key, value in values.items():
        if key == "drawables":
            config.set_core_object_array(key, value)
        else:
            config.set_property(key, value)
    return procedure.run(config)


for case in job["cases"]:
    try:
        image = load(case["input"])
        layer = image.get_layers()[0]
        drawable_filter = Gimp.DrawableFilter.new(layer, case["op"], case["name"])
        config = drawable_filter.get_config()
        for key, value in case["properties"].items():
            config.set_property(key, value)
        # An aux input: a layer of its own, as a user picks in the dialog,
        # removed before the export.
        hint = None
        if case.get("aux"):
            hint = Gimp.file_load_layer(Gimp.RunMode.NONINTERACTIVE, image, Gio.File.new_for_path(case["aux"]))
            image.insert_layer(hint, None, 0)
            drawable_filter.set_aux_input("aux", hint)
        drawable_filter.update()
        layer.merge_filter(drawable_filter)
        if hint:
            image.remove_layer(hint)
        export(image, os.path.join(job["out"], case["name"] + ".png"))
        image.delete()
    except Exception:
        report["errors"][case["name"]] = traceback.format_exc()

# The values each model op's installed-model combo offers (a choice in
# libgimp, as GEGL enums are).
try:
    image = load(job["choices"]["input"])
    report["choices"] = {}
    for op in job["choices"]["op"]:
        drawable_filter = Gimp.DrawableFilter.new(image.get_layers()[0], op, op)
        pspec = drawable_filter.get_config().find_property("installed-model")
        report["choices"][op] = list(Gimp.param_spec_choice_get_choice(pspec).list_nicks())
    image.delete()
except Exception:
    report["errors"]["choices"] = traceback.format_exc()

try:
    image = load(job["crop"]["input"])
    values = run("plug-in-neuropaint-crop-face",
                 {"run-mode": Gimp.RunMode.NONINTERACTIVE, "image": image,
                  "drawables": [image.get_layers()[0]], **job["crop"]["properties"]})
    report["status"]["crop"] = values.index(0).value_nick
    if values.index(0) == Gimp.PDBStatusType.SUCCESS:
        export(values.index(1), os.path.join(job["out"], "crop.png"))
    else:
        report["errors"]["crop"] = values.index(1)
except Exception:
    report["errors"]["crop"] = traceback.format_exc()

# The one-click procedures on a Grayscale image: their status, the image's
# mode after, the filters left on the layer, and the export.
for case in job["onto-rgb"]:
    try:
        image = load(case["input"])
        layer = image.get_layers()[0]
        values = run(case["procedure"], {"run-mode": Gimp.RunMode.NONINTERACTIVE, "image": image,
                                         "drawables": [layer]})
        report["status"][case["name"]] = values.index(0).value_nick
        report["base-type"][case["name"]] = image.get_base_type().value_nick
        report["filters"][case["name"]] = [f.get_operation_name() for f in layer.get_filters()]
        export(image, os.path.join(job["out"], case["name"] + ".png"))
        image.delete()
    except Exception:
        report["errors"][case["name"]] = traceback.format_exc()

try:
    values = run("plug-in-neuropaint-batch",
                 {"run-mode": Gimp.RunMode.NONINTERACTIVE, "filter": job["batch"]["filter"],
                  "properties": job["batch"]["properties"],
                  "input-folder": Gio.File.new_for_path(job["batch"]["input"]),
                  "output-folder": Gio.File.new_for_path(job["batch"]["output"])})
    report["status"]["batch"] = values.index(0).value_nick
    report["batch-message"] = values.index(1) if values.length() > 1 and isinstance(values.index(1), str) else ""
except Exception:
    report["errors"]["batch"] = traceback.format_exc()

for name in ("plug-in-neuropaint-crop-face", "plug-in-neuropaint-batch", "plug-in-neuropaint-upscale",
             "plug-in-neuropaint-colorize-photo"):
    procedure = pdb.lookup_procedure(name)
    report["menus"][name] = [procedure.get_menu_label()] + list(procedure.get_menu_paths()) if procedure else None

with open(os.path.join(job["out"], "report.json"), "w") as f:
    json.dump(report, f, indent=1)
