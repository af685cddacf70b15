/* main: the entry point of the one forestall binary; hands argv to the command table. */
#include "core/common.h"

#include "cli/cli.h"

int main(int argc, char **argv)
{
    return fs_cli_main(argc, argv);
}
