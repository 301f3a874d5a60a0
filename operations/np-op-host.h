/* neuropaint — what hosts of our ops (the GIMP plug-ins) read from them,
 * beyond GEGL's own keys. No GEGL or core types: any host can include it. */
#pragma once

/* np_op_fail leaves its message on the failing GeglOperation as object data
 * under this key (g_object_get_data): GEGL goes on with an empty output and
 * reports nothing, so a host that would keep the output checks for it. */
#define NP_OP_FAILURE "neuropaint-failure"

/* A notice of an op that did its work another way than asked (face-crop
 * with no such face crops the centre) goes to GEGL's log domain at message
 * level, which GIMP shows, as NP_OP_NOTICE then the op's name and the text
 * (np_op_notice): a host tells it from a failure, which starts with the
 * op's name. */
#define NP_OP_NOTICE "Note: "
