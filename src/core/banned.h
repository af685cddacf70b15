/* Functions forestall never calls: unbounded copies, hidden shells, non-reentrant tokenizers.
 * Included by every translation unit through core/common.h; using one is a compile error. */
#ifndef FS_BANNED_H
#define FS_BANNED_H

#define FS_BANNED(func) sorry_##func##_is_banned_in_forestall

#undef strcpy
#define strcpy(x, y) FS_BANNED(strcpy)
#undef strcat
#define strcat(x, y) FS_BANNED(strcat)
#undef sprintf
#define sprintf(...) FS_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) FS_BANNED(vsprintf)
#undef strtok
#define strtok(x, y) FS_BANNED(strtok)
#undef gets
#define gets(x) FS_BANNED(gets)
/* object-like, so a call expands to an undeclared identifier: a shell is never reachable */
#undef system
#define system sorry_system_is_banned_in_forestall
#undef popen
#define popen sorry_popen_is_banned_in_forestall

#endif
