/* embed: lookup of the files scripts/gen-embed compiled into the binary. */
#include "core/common.h"

#include "core/embed.h"

const struct fs_embed_file *fs_embed_find(const char *name)
{
    for (const struct fs_embed_file *f = fs_embed_files; f->name; f++)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}
