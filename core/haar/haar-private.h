/* neuropaint — the in-memory cascade shared by the loader and the detector.
 *
 * The layout is OpenCV's after loading: every weak classifier is a small
 * decision tree whose nodes compare one feature with a threshold, stumps being
 * trees of one node; a stage sums the leaf values of its trees. */
#pragma once

#include "np-haar.h"

G_BEGIN_DECLS

#define NP_HAAR_MAX_RECTS 3

typedef struct
{
  gint   x, y, width, height;
  gfloat weight;
} NpHaarRect;

typedef struct
{
  NpHaarRect rects[NP_HAAR_MAX_RECTS];  /* unused ones have weight 0 and size 0 */
  gint       n_rects;
  gboolean   tilted;                    /* 45° rectangles on the tilted integral */
} NpHaarFeature;

/* A child > 0 is a node index inside the same tree (always greater than the
 * parent's, which the loader checks, so evaluation terminates); a child <= 0
 * is leaf −child of the tree. child[0] is taken when the feature is below
 * the threshold (OpenCV's "left"), child[1] otherwise; as an array the
 * choice is an index, not a branch the CPU would mispredict half the time. */
typedef struct
{
  gint   feature;
  gfloat threshold;
  gint   child[2];
} NpHaarNode;

typedef struct
{
  guint first_node, n_nodes;   /* n_nodes + 1 leaves from first_leaf */
  guint first_leaf;
} NpHaarTree;

typedef struct
{
  gfloat threshold;            /* as OpenCV keeps it: the file's, minus 1e-5 */
  guint  first_tree, n_trees;
} NpHaarStage;

struct _NpHaarCascade
{
  gint      width, height;     /* the detection window */
  GArray   *features;          /* NpHaarFeature */
  GArray   *nodes;             /* NpHaarNode */
  GArray   *leaves;            /* gfloat */
  GArray   *trees;             /* NpHaarTree */
  GArray   *stages;            /* NpHaarStage */
  guint     max_nodes;         /* nodes of the largest tree; 1 = stumps only */
  gboolean  has_tilted;
};

/* The sum, squared-sum and (when tilted is not NULL) 45° tilted integrals of
 * an 8-bit image as OpenCV's cv::integral defines them, each height + 1 rows
 * of `stride` >= width + 1 cells; 32-bit and wrapping, as OpenCV keeps them.
 * scratch holds NP_HAAR_INTEGRAL_SCRATCH (width) cells. */
#define NP_HAAR_INTEGRAL_SCRATCH(width) (5 * ((gsize) (width) + 2))
void np_haar_integrals (const guint8 *img, gint width, gint height, gsize img_stride,
                        gint stride, guint32 *sum, guint32 *sq, guint32 *tilted,
                        guint32 *scratch);

G_END_DECLS
