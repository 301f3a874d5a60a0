/* neuropaint — what the files of core/model/ share: the model's insides,
 * for the process-wide cache of loaded models (cache.c). Nothing outside
 * core/model/ includes this. */
#pragma once

#include "np-model.h"

G_BEGIN_DECLS

typedef struct _NpModelCached NpModelCached;

struct _NpModel
{
  NpNet         *net;
  NpModelInfo    info;
  /* A shared model (np_model_load_shared): the cache's entry it holds, whose
   * model's weights its net views (np_net_new_view) and whose description
   * info copies (the strings and tables are the entry's); NULL for a model
   * of its own. */
  NpModelCached *cached;
  /* Gives that hold back, for np_model_free: the cache's own function,
   * handed over so that model.c needs nothing of cache.c. */
  void         (*release) (NpModelCached *entry);
};

G_END_DECLS
