/* neuropaint — what hosts of our ops (the GIMP plug-ins) read from them,
 * beyond GEGL's own keys. No GEGL or core types: any host can include it. */
#pragma once

/* np_op_fail leaves its message on the failing GeglOperation as object data
 * under this key (g_object_get_data): GEGL goes on with an empty output and
 * reports nothing, so a host that would keep the output checks for it. */
#define NP_OP_FAILURE "neuropaint-failure"
