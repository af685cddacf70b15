/* Common includes for cmocka unit tests (cmocka needs these before cmocka.h). */
#ifndef FS_UNIT_H
#define FS_UNIT_H

#include "core/common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#endif
