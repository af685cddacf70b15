/* cli: placeholder until the command table lands. */
#include "core/common.h"

#include <stdio.h>

#include "cli/cli.h"

int fs_cli_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "forestall: no commands yet\n");
    return 2;
}
