/* The version of forestall, reported by `forestall version` and forestall_build_info. */
#ifndef FS_VERSION_H
#define FS_VERSION_H

#define FS_VERSION "0.1.0"

#endif
