/* The command table and the helpers commands share (option parsing, output, exit codes). */
#ifndef FS_CLI_H
#define FS_CLI_H

int fs_cli_main(int argc, char **argv);

#endif
