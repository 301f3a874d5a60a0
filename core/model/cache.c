/* neuropaint — the process-wide cache of loaded models (np-model.h: what a
 * file is known by, and why).
 *
 * An entry is a model loaded with np_model_load, whose network never runs:
 * each shared model runs a view of it (np_net_new_view). Entries are listed
 * most recently used first; a lookup matches the file's identity, never its
 * name. An entry leaves the list when a newer file is loaded from its path
 * (a lookup could never match it again) or when it is idle beyond
 * NP_MODEL_CACHE_IDLE, and is freed once no shared model holds it. One
 * mutex guards the list and the counts; the entries' models are read only.
 *
 * The kernel stamps the change time at its clock's coarse tick (a few
 * milliseconds): a file written in place twice within one tick, at the
 * same size, with its modification time put back between, would look the
 * same. Our writers never write in place (NpOutput, np_safetensors_write:
 * a new file renamed over the old, a new inode). */
#define _POSIX_C_SOURCE 200809L   /* st_mtim, st_ctim */
#include "model-private.h"

#include <string.h>
#include <sys/stat.h>

/* What stat says of a file that changes when its bytes may have. */
typedef struct
{
  dev_t           dev;
  ino_t           ino;
  off_t           size;
  struct timespec mtime, ctime;
} FileId;

struct _NpModelCached
{
  NpModel *model;
  gchar   *path;     /* absolute, as resolved when loaded */
  FileId   id;       /* taken before the file was read */
  gint     users;    /* shared models holding it */
  gboolean listed;   /* in `entries`, found by lookups */
};

static GMutex lock;
static GQueue entries = G_QUEUE_INIT;   /* NpModelCached*, most recently used first */

static gboolean
file_id (const char *path, FileId *id)
{
  struct stat st;

  if (stat (path, &st) != 0 || !S_ISREG (st.st_mode))
    return FALSE;
  *id = (FileId) { st.st_dev, st.st_ino, st.st_size, st.st_mtim, st.st_ctim };
  return TRUE;
}

static gboolean
same_id (const FileId *a, const FileId *b)
{
  return a->dev == b->dev && a->ino == b->ino && a->size == b->size
         && a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec
         && a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

static void
entry_free (NpModelCached *e)
{
  np_model_free (e->model);
  g_free (e->path);
  g_free (e);
}

/* Takes e off the list; frees it if no one holds it. Under the lock. */
static void
unlist (NpModelCached *e)
{
  g_queue_remove (&entries, e);
  e->listed = FALSE;
  if (e->users == 0)
    entry_free (e);
}

/* Frees the idle entries beyond the NP_MODEL_CACHE_IDLE used last. Under
 * the lock. */
static void
trim (void)
{
  guint idle = 0;

  for (GList *l = entries.head, *next; l; l = next)
    {
      NpModelCached *e = l->data;

      next = l->next;
      if (e->users == 0 && ++idle > NP_MODEL_CACHE_IDLE)
        unlist (e);
    }
}

/* The listed entry of the file id, held and made the most recently used,
 * or NULL. Under the lock. */
static NpModelCached *
hold (const FileId *id)
{
  for (GList *l = entries.head; l; l = l->next)
    {
      NpModelCached *e = l->data;

      if (same_id (&e->id, id))
        {
          e->users++;
          g_queue_unlink (&entries, l);
          g_queue_push_head_link (&entries, l);
          return e;
        }
    }
  return NULL;
}

static void
entry_release (NpModelCached *e)
{
  g_mutex_lock (&lock);
  if (--e->users == 0)
    {
      if (e->listed)
        trim ();
      else
        entry_free (e);
    }
  g_mutex_unlock (&lock);
}

NpModel *
np_model_load_shared (const char *name_or_path, GError **error)
{
  g_autofree gchar   *resolved = np_model_resolve (name_or_path, error);
  g_autofree gchar   *path = NULL;
  g_autoptr(NpModel)  loaded = NULL;
  NpModelCached      *e;
  NpModel            *m;
  FileId              id;

  if (resolved == NULL)
    return NULL;
  path = g_canonicalize_filename (resolved, NULL);
  /* Missing or not a regular file: the loader says which, as for any load. */
  if (!file_id (path, &id))
    return np_model_load (path, error);

  g_mutex_lock (&lock);
  e = hold (&id);
  g_mutex_unlock (&lock);
  if (e == NULL)
    {
      /* Read without the lock, so loads of other files never wait for it.
       * The identity is older than the bytes read: a file changed while
       * being read no longer matches it, and is read again next time. */
      if ((loaded = np_model_load (path, error)) == NULL)
        return NULL;
      g_mutex_lock (&lock);
      /* Another thread may have read the same file meanwhile: one copy. */
      if ((e = hold (&id)) == NULL)
        {
          for (GList *l = entries.head, *next; l; l = next)
            {
              NpModelCached *old = l->data;

              next = l->next;
              if (strcmp (old->path, path) == 0)
                unlist (old);
            }
          e = g_new0 (NpModelCached, 1);
          e->model = g_steal_pointer (&loaded);
          e->path = g_steal_pointer (&path);
          e->id = id;
          e->users = 1;
          e->listed = TRUE;
          g_queue_push_head (&entries, e);
          trim ();
        }
      g_mutex_unlock (&lock);
    }

  m = g_new0 (NpModel, 1);
  if ((m->net = np_net_new_view (e->model->net, error)) == NULL)
    {
      g_free (m);
      entry_release (e);
      return NULL;
    }
  m->info = e->model->info;
  m->cached = e, m->release = entry_release;
  return m;
}

gboolean
np_model_is_current (const NpModel *m)
{
  FileId id;

  return m->cached == NULL || (file_id (m->cached->path, &id) && same_id (&id, &m->cached->id));
}

guint
np_model_cache_drop_idle (void)
{
  guint n = 0;

  g_mutex_lock (&lock);
  for (GList *l = entries.head, *next; l; l = next)
    {
      NpModelCached *e = l->data;

      next = l->next;
      if (e->users == 0)
        unlist (e), n++;
    }
  g_mutex_unlock (&lock);
  return n;
}
